"""One-time password links, and daily digests of decisions (the event's notification mode)."""

from peewee import CharField, DateTimeField, ForeignKeyField, IntegerField, Model


def up(migrator, db):
    migrator.migrate(
        migrator.add_column(
            "event", "notification_mode", CharField(max_length=16, default="immediate")
        )
    )

    class Account(Model):
        id = IntegerField(primary_key=True)

        class Meta:
            database = db
            table_name = "account"

    class Participant(Model):
        id = IntegerField(primary_key=True)

        class Meta:
            database = db
            table_name = "participant"

    class PasswordLink(Model):
        token_hash = CharField(unique=True, max_length=64)
        account = ForeignKeyField(Account, on_delete="CASCADE")
        created_by = ForeignKeyField(Account, null=True, on_delete="SET NULL", backref="+")
        created_at = DateTimeField()
        expires_at = DateTimeField()
        used_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "password_link"

    class Notification(Model):
        account = ForeignKeyField(Account, on_delete="CASCADE")
        participant = ForeignKeyField(Participant, on_delete="CASCADE")
        status = CharField(max_length=16)
        created_at = DateTimeField()
        sent_at = DateTimeField(null=True, index=True)

        class Meta:
            database = db
            table_name = "notification"

    db.create_tables([PasswordLink, Notification])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("notification"))
    migrator.migrate(migrator.drop_table("password_link"))
    migrator.migrate(migrator.drop_column("event", "notification_mode"))
