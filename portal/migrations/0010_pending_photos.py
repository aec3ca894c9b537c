"""Badge photos kept from a form that could not be saved, against the form's submission key
(portal/services/pending_photos.py): the corrected form uses them without sending them again."""

from peewee import (
    BlobField,
    CharField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
)


def up(migrator, db):
    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class PendingPhoto(Model):
        key = CharField(max_length=64, primary_key=True)
        account = ForeignKeyField(Account, backref="+", on_delete="CASCADE")
        data = BlobField()
        thumbnail = BlobField()
        width = IntegerField()
        height = IntegerField()
        digest = CharField(max_length=64)
        created_at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "pending_photo"

    db.create_tables([PendingPhoto])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("pending_photo"))
