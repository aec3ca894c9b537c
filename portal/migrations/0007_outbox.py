"""The outbox: every e-mail is written as a row in the transaction of its cause, and sent
afterwards by ``flask --app portal mail send`` (portal/services/mail.py)."""

from peewee import CharField, DateTimeField, IntegerField, Model, TextField


def up(migrator, db):
    class OutboxMessage(Model):
        message_id = CharField(unique=True, max_length=255)
        to_address = CharField(max_length=254)
        to_name = CharField(max_length=300, default="")
        language = CharField(max_length=2, default="fr")
        template = CharField(max_length=64)
        subject = TextField()
        body = TextField()
        state = CharField(max_length=16, default="pending")
        attempts = IntegerField(default=0)
        next_attempt_at = DateTimeField()
        claimed_at = DateTimeField(null=True)
        sent_at = DateTimeField(null=True)
        last_error = TextField(default="")
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "outbox_message"
            indexes = (
                (("state", "next_attempt_at"), False),
                (("state", "claimed_at"), False),
            )

    db.create_tables([OutboxMessage])


def down(migrator, db):
    migrator.migrate(migrator.drop_table("outbox_message"))
