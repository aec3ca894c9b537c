"""Badges and the verification of printed documents: each participant's badge state, issue and
printing time (portal/lifecycle.py: the badge actions); the hashed tokens that a badge's QR
code and a letter's code carry (portal/services/verification.py); and an index for counting a
client address's recent verifications (the public page's rate limit reads the audit log)."""

from peewee import (
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    Model,
    PostgresqlDatabase,
)


def up(migrator, db):
    # Columns with a default in SQL: no UPDATE of every row (which would also raise every
    # organization's data_version through the triggers of 0006); PostgreSQL keeps such a
    # default without rewriting the table.
    timestamp = "TIMESTAMP" if isinstance(db, PostgresqlDatabase) else "DATETIME"
    for column in (
        "badge_state VARCHAR(16) NOT NULL DEFAULT 'to_print'",
        "badge_issue INTEGER NOT NULL DEFAULT 0",
        "badge_printed_at %s" % timestamp,
    ):
        db.execute_sql("ALTER TABLE participant ADD COLUMN " + column)
    migrator.migrate(migrator.add_index("audit_log", ("action", "address", "at"), False))

    class Account(Model):
        class Meta:
            database = db
            table_name = "account"

    class Participant(Model):
        class Meta:
            database = db
            table_name = "participant"

    class VerificationToken(Model):
        participant = ForeignKeyField(Participant, backref="+", on_delete="CASCADE")
        kind = CharField(max_length=16)
        token_hash = CharField(max_length=64, unique=True)
        created_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
        created_at = DateTimeField()
        revoked_at = DateTimeField(null=True)
        valid_from = DateField(null=True)
        valid_until = DateField(null=True)

        class Meta:
            database = db
            table_name = "verification_token"
            indexes = ((("participant", "kind"), False),)

    db.create_tables([VerificationToken])


def down(migrator, db):
    migrator.migrate(
        migrator.drop_table("verification_token"),
        migrator.drop_index("audit_log", "audit_log_action_address_at"),
        migrator.drop_column("participant", "badge_printed_at"),
        migrator.drop_column("participant", "badge_issue"),
        migrator.drop_column("participant", "badge_state"),
    )
