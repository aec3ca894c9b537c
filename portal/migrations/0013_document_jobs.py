"""Document jobs: print runs of badges and the summit's list of participants, rendered by
``flask --app portal documents work`` outside any request; their PDF kept in the database."""

from peewee import (
    BlobField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class DocumentJob(Model):
        kind = CharField(max_length=32)
        parameters = TextField(default="{}")
        state = CharField(max_length=16, default="queued")
        progress_done = IntegerField(default=0)
        progress_total = IntegerField(default=0)
        problems = TextField(default="[]")
        error = TextField(default="")
        attempts = IntegerField(default=0)
        requested_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField()
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        lease_token = CharField(max_length=64, default="")
        lease_until = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "document_job"
            indexes = ((("state", "lease_until"), False),)

    class DocumentFile(Model):
        job = ForeignKeyField(DocumentJob, primary_key=True, backref="+", on_delete="CASCADE")
        filename = CharField(max_length=200)
        content_type = CharField(max_length=64, default="application/pdf")
        size = IntegerField(default=0)
        data = BlobField()

        class Meta:
            database = db
            table_name = "document_file"

    db.create_tables([DocumentJob, DocumentFile])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("document_file"), migrator.drop_table("document_job"))
