"""The first schema: organizations, accounts, the event, participants, photos, audit, keys."""

from peewee import *


def up(migrator, db):
    class Organization(Model):
        code = CharField(unique=True, max_length=32)
        name_en = CharField(max_length=300)
        name_fr = CharField(max_length=300)
        name_ar = CharField(null=True, max_length=300)
        acronym = CharField(max_length=32, default="")
        category = CharField(max_length=8)
        quota = IntegerField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "organization"

    db.create_tables([Organization])

    class Account(Model):
        username = CharField(max_length=150)
        username_key = CharField(unique=True, max_length=150)
        password_hash = CharField(max_length=300, default="")
        password_scheme = CharField(max_length=16, default="none")
        prepcom_hash = CharField(max_length=300, default="")
        role = CharField(max_length=16, default="coordinator")
        organization = ForeignKeyField(Organization, null=True, on_delete="RESTRICT")
        title = CharField(max_length=32, default="")
        given_name = CharField(max_length=150, default="")
        family_name = CharField(max_length=150, default="")
        email = CharField(max_length=254, default="")
        phone = CharField(max_length=64, default="")
        language = CharField(max_length=2, default="fr")
        session_token = CharField(max_length=64)
        is_active = BooleanField(default=True)
        failed_logins = IntegerField(default=0)
        last_failed_at = DateTimeField(null=True)
        locked_until = DateTimeField(null=True)
        last_login_at = DateTimeField(null=True)
        password_changed_at = DateTimeField(null=True)
        created_at = DateTimeField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "account"

    db.create_tables([Account])

    class AuditLog(Model):
        at = DateTimeField(index=True)
        account = ForeignKeyField(Account, null=True, on_delete="SET NULL")
        actor = CharField(max_length=150, default="")
        address = CharField(max_length=64, default="")
        action = CharField(index=True, max_length=64)
        object_type = CharField(max_length=32, default="")
        object_id = BigIntegerField(null=True)
        organization = ForeignKeyField(Organization, null=True, on_delete="SET NULL")
        details = TextField(default="")

        class Meta:
            database = db
            table_name = "audit_log"
            indexes = ((("object_type", "object_id"), False),)

    db.create_tables([AuditLog])

    class Event(Model):
        name_en = CharField(max_length=300)
        name_fr = CharField(max_length=300)
        name_ar = CharField(max_length=300)
        venue_en = CharField(max_length=300)
        venue_fr = CharField(max_length=300)
        venue_ar = CharField(max_length=300)
        starts_on = DateField()
        ends_on = DateField()
        registration_opens_on = DateField()
        registration_closes_on = DateField()
        updated_at = DateTimeField()

        class Meta:
            database = db
            table_name = "event"

    db.create_tables([Event])

    class Participant(Model):
        organization = ForeignKeyField(Organization, on_delete="RESTRICT")
        status = CharField(max_length=16, default="draft")
        courtesy_title = CharField(max_length=8, default="")
        family_name = CharField(max_length=150, default="")
        given_names = CharField(max_length=150, default="")
        family_name_original = CharField(max_length=150, default="")
        given_names_original = CharField(max_length=150, default="")
        gender = CharField(max_length=1, default="")
        function = CharField(max_length=200, default="")
        is_head = BooleanField(default=False)
        nationality = CharField(max_length=2, default="")
        date_of_birth = DateField(null=True)
        passport_number = CharField(max_length=32, default="")
        passport_key = CharField(index=True, max_length=32, default="")
        passport_country = CharField(max_length=2, default="")
        passport_expiry = DateField(null=True)
        email = CharField(max_length=254, default="")
        mobile = CharField(max_length=32, default="")
        arrival_date = DateField(null=True)
        departure_date = DateField(null=True)
        visa_required = BooleanField(null=True)
        visa_place = CharField(max_length=200, default="")
        special_needs = TextField(default="")
        rejection_code = CharField(max_length=32, default="")
        rejection_text = TextField(default="")
        version = IntegerField(default=1)
        created_by = ForeignKeyField(Account, null=True, on_delete="SET NULL")
        created_at = DateTimeField()
        updated_by = ForeignKeyField(Account, null=True, on_delete="SET NULL")
        updated_at = DateTimeField()
        submitted_at = DateTimeField(null=True)
        decided_by = ForeignKeyField(Account, null=True, on_delete="SET NULL")
        decided_at = DateTimeField(null=True)

        class Meta:
            database = db
            table_name = "participant"
            indexes = (
                (("organization", "status"), False),
                (("status", "submitted_at"), False),
                (("family_name", "given_names", "date_of_birth"), False),
            )

    db.create_tables([Participant])

    class Photo(Model):
        participant = ForeignKeyField(Participant, unique=True, on_delete="CASCADE")
        data = BlobField()
        thumbnail = BlobField()
        content_type = CharField(max_length=32, default="image/jpeg")
        width = IntegerField()
        height = IntegerField()
        digest = CharField(max_length=64)
        created_at = DateTimeField()

        class Meta:
            database = db
            table_name = "photo"

    db.create_tables([Photo])

    class SubmissionKey(Model):
        key = CharField(unique=True, max_length=64)
        account = ForeignKeyField(Account, on_delete="CASCADE")
        action = CharField(max_length=64, default="")
        object_type = CharField(max_length=32, default="")
        object_id = BigIntegerField(null=True)
        created_at = DateTimeField(index=True)

        class Meta:
            database = db
            table_name = "submission_key"

    db.create_tables([SubmissionKey])

    # One head of delegation per organization, enforced by the database itself.
    db.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS participant_one_head "
        "ON participant (organization_id) WHERE is_head AND status <> 'withdrawn'"
    )


def down(migrator, db):
    migrator.migrate(migrator.drop_table("submission_key"))
    migrator.migrate(migrator.drop_table("photo"))
    migrator.migrate(migrator.drop_table("participant"))
    migrator.migrate(migrator.drop_table("event"))
    migrator.migrate(migrator.drop_table("audit_log"))
    migrator.migrate(migrator.drop_table("account"))
    migrator.migrate(migrator.drop_table("organization"))
