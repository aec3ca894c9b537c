"""Spreadsheets of participants checked and waiting for confirmation (portal/services/imports.py):
kept in the database between the preview and the confirmation, applied once; and the scans of
registrations sent on paper (portal/services/scans.py)."""

from peewee import BlobField, CharField, DateTimeField, ForeignKeyField, Model, TextField


def up(migrator, db):
    class Organization(Model):
        class Meta:
            database = db
            table_name = "organization"

    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class ParticipantImport(Model):
        id = CharField(max_length=32, primary_key=True)
        organization = ForeignKeyField(Organization, backref="+", on_delete="CASCADE")
        account = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
        filename = CharField(max_length=200, default="")
        rows = TextField()
        report = TextField(default="")
        created_at = DateTimeField(index=True)
        applied_at = DateTimeField(null=True)
        result = TextField(default="")

        class Meta:
            database = db
            table_name = "participant_import"

    class Participant(Model):
        class Meta:
            database = db
            table_name = "participant"

    class PaperScan(Model):
        participant = ForeignKeyField(Participant, backref="+", unique=True, on_delete="CASCADE")
        filename = CharField(max_length=200, default="")
        content_type = CharField(max_length=64)
        data = BlobField()
        digest = CharField(max_length=64)
        attached_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
        attached_at = DateTimeField()

        class Meta:
            database = db
            table_name = "paper_scan"

    db.create_tables([ParticipantImport, PaperScan])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("paper_scan"), migrator.drop_table("participant_import"))
