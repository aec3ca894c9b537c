"""The portal's data, all in one module: organizations, accounts, the event, participants,
badge photos, the audit log, one-time submission keys and the outbox of e-mails.

Models answer the questions templates ask (``participant.can("save")``, ``event.is_open``);
a participant's life is declared in ``portal.lifecycle``; state changes live in
``portal.services``.
"""

import secrets

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from peewee import (
    AutoField,
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from . import clock
from .crypto import EncryptedDateField, EncryptedTextField, birth_key, passport_key
from .db import database


def utcnow():
    """Return the current time in UTC, without tzinfo (as stored), by the portal's clock."""
    return clock.now()


def new_token():
    return secrets.token_urlsafe(24)


# Organization categories, as in the PrepCom export.
CATEGORY_UN = "UN"
CATEGORY_SA = "SA"
CATEGORY_IGO = "IGO"
CATEGORIES = {
    CATEGORY_UN: _l("UN Secretariat, funds, programmes and regional commissions"),
    CATEGORY_SA: _l("Specialized agency"),
    CATEGORY_IGO: _l("Other intergovernmental organization"),
}

ROLE_COORDINATOR = "coordinator"
ROLE_SECRETARIAT = "secretariat"
ROLES = {ROLE_COORDINATOR: _l("Coordinator"), ROLE_SECRETARIAT: _l("Secretariat")}

LANGUAGES = {"fr": "Français", "en": "English", "ar": "العربية"}

# A participant's statuses. Who moves a participant where: portal/lifecycle.py.
DRAFT = "draft"
SUBMITTED = "submitted"
ACCREDITED = "accredited"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
STATUSES = {
    # Translators: status of a participant's registration.
    DRAFT: _lp("status", "Draft"),
    SUBMITTED: _lp("status", "Submitted"),
    ACCREDITED: _lp("status", "Accredited"),
    REJECTED: _lp("status", "Rejected"),
    WITHDRAWN: _lp("status", "Withdrawn"),
}

#: Standard reasons for a rejection, shown to the coordinator in their own language.
REJECTION_REASONS = {
    # Translators: reason given to a coordinator when a participant is not accredited.
    "photo_unsuitable": _l("The photo is not suitable for a badge."),
    # Translators: reason given to a coordinator when a participant is not accredited.
    "passport_invalid": _l("The passport is not valid for the dates of the summit."),
    # Translators: reason given to a coordinator when a participant is not accredited.
    "not_eligible": _l("This person is not eligible for this organization's delegation."),
    # Translators: reason given to a coordinator when a participant is not accredited.
    "duplicate": _l("This person is already registered with another delegation."),
    # Translators: reason given to a coordinator when a participant is not accredited.
    "incomplete": _l("Information is missing or incorrect."),
}

# A participant's badge (portal/lifecycle.py: the badge actions).
BADGE_TO_PRINT = "to_print"
BADGE_PRINTED = "printed"
BADGE_STATES = {
    # Translators: state of a participant's badge.
    BADGE_TO_PRINT: _lp("badge", "To print"),
    # Translators: state of a participant's badge.
    BADGE_PRINTED: _lp("badge", "Printed"),
}

COURTESY_TITLES = {
    # Translators: courtesy title of a person (His/Her Excellency).
    "he": _lp("person title", "H.E."),
    "mr": _lp("person title", "Mr."),
    "ms": _lp("person title", "Ms."),
    "dr": _lp("person title", "Dr."),
    "prof": _lp("person title", "Prof."),
}

GENDERS = {"f": _l("Female"), "m": _l("Male"), "x": _l("Other")}


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Organization(BaseModel):
    """An invited organization, named and abbreviated in each of the portal's languages.

    Fallbacks, when a language has no value of its own:

    - name: Arabic falls back to French, then English; French to English; English to French
      (``name_en`` and ``name_fr`` are required, so a name is always found);
    - acronym: none. An acronym means something in its own language only (PNUD is UNDP,
      CESAO is ESCWA): without one in the page's language, the name stands in for it.

    A name shown in another language than the page's says so (``name_with_lang``), so that a
    screen reader reads it in its own language.
    """

    id = AutoField()
    code = CharField(max_length=32, unique=True)
    name_en = CharField(max_length=300)
    name_fr = CharField(max_length=300)
    name_ar = CharField(max_length=300, null=True)
    acronym_en = CharField(max_length=32, default="")
    acronym_fr = CharField(max_length=32, default="")
    acronym_ar = CharField(max_length=32, default="")
    category = CharField(max_length=8)
    quota = IntegerField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    #: Raised by the database whenever a participant of the organization or a photo changes
    #: (triggers of migration 0006): what the pages' fragment cache is keyed on.
    data_version = BigIntegerField(default=0)

    def save(self, force_insert=False, only=None):
        """Save without writing ``data_version`` back: the database keeps it, and an old copy
        written over a newer one would let the cache serve pages from before a change."""
        if only is None and not force_insert and self._pk is not None:
            only = [f for f in self._meta.sorted_fields if f.name not in ("id", "data_version")]
        return super().save(force_insert=force_insert, only=only)

    NAME_FALLBACKS = {"ar": ("ar", "fr", "en"), "fr": ("fr", "en"), "en": ("en", "fr")}

    def name_with_lang(self, language=None):
        """Return ``(name, language it is written in)`` for ``language`` (the page's by default),
        falling back as the class says."""
        language = language or str(get_locale() or "fr")
        for candidate in self.NAME_FALLBACKS.get(language, ("fr", "en")):
            value = getattr(self, "name_" + candidate, None)
            if value:
                return value, candidate
        return self.code, language

    def name(self, language=None):
        """Return the name in ``language`` (the page's by default), falling back as the class
        says."""
        return self.name_with_lang(language)[0]

    def acronym_in(self, language=None):
        """Return the acronym in ``language`` (the page's by default), or "" (no fallback)."""
        language = language or str(get_locale() or "fr")
        return getattr(self, "acronym_" + language, "") or ""

    def short_name_with_lang(self, language=None):
        """Return ``(acronym or name, its language)``: the acronym in ``language`` when there is
        one, else the name."""
        language = language or str(get_locale() or "fr")
        acronym = self.acronym_in(language)
        return (acronym, language) if acronym else self.name_with_lang(language)

    @property
    def display_name(self):
        return self.name()

    @property
    def names_key(self):
        """Every name and acronym: a key part for cached pages that show any of them."""
        return (
            self.name_en,
            self.name_fr,
            self.name_ar,
            self.acronym_en,
            self.acronym_fr,
            self.acronym_ar,
        )


class Account(BaseModel):
    id = AutoField()
    username = CharField(max_length=150)
    #: ``username`` stripped and lower-cased: what sign-in matches on.
    username_key = CharField(max_length=150, unique=True)
    password_hash = CharField(max_length=300, default="")
    #: md5, md5-crypt, ldap-sha1, ldap-ssha, none, or argon2id.
    password_scheme = CharField(max_length=16, default="none")
    #: The hash last imported from PrepCom, to notice a password changed there.
    prepcom_hash = CharField(max_length=300, default="")
    role = CharField(max_length=16, default=ROLE_COORDINATOR)
    organization = ForeignKeyField(
        Organization, backref="accounts", null=True, on_delete="RESTRICT"
    )
    title = CharField(max_length=32, default="")
    given_name = CharField(max_length=150, default="")
    family_name = CharField(max_length=150, default="")
    email = CharField(max_length=254, default="")
    phone = CharField(max_length=64, default="")
    language = CharField(max_length=2, default="fr")
    #: Part of every session cookie; changing it ends every session of the account.
    session_token = CharField(max_length=64, default=new_token)
    is_active = BooleanField(default=True)
    failed_logins = IntegerField(default=0)
    last_failed_at = DateTimeField(null=True)
    locked_until = DateTimeField(null=True)
    last_login_at = DateTimeField(null=True)
    password_changed_at = DateTimeField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)

    @staticmethod
    def key(username):
        return (username or "").strip().casefold()

    @property
    def full_name(self):
        return " ".join(p for p in (self.given_name, self.family_name) if p)

    @property
    def is_secretariat(self):
        return self.role == ROLE_SECRETARIAT

    @property
    def is_coordinator(self):
        return self.role == ROLE_COORDINATOR

    # Flask-Login: the session carries the id and the account's current session token.
    is_authenticated = True
    is_anonymous = False

    def get_id(self):
        return "%d:%s" % (self.id, self.session_token)


class Event(BaseModel):
    """The summit phase that delegations register for (one row)."""

    id = AutoField()
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
    #: "immediate": one e-mail per decision; "digest": one daily e-mail per coordinator.
    notification_mode = CharField(max_length=16, default="immediate")
    updated_at = DateTimeField(default=utcnow)

    def save(self, *args, **kwargs):
        """Save, marking the time: cached parts of pages showing the event are keyed on it."""
        self.updated_at = utcnow()
        return super().save(*args, **kwargs)

    @classmethod
    def current(cls):
        """Return the event (the first row), or None before one is set up."""
        return cls.select().order_by(cls.id).first()

    def name(self, language=None):
        language = language or str(get_locale() or "fr")
        return getattr(self, "name_" + language, None) or self.name_fr

    def venue(self, language=None):
        language = language or str(get_locale() or "fr")
        return getattr(self, "venue_" + language, None) or self.venue_fr

    def registration_state(self, today=None):
        """Return "not_open", "open" or "closed"."""
        today = today or utcnow().date()
        if today < self.registration_opens_on:
            return "not_open"
        if today > self.registration_closes_on:
            return "closed"
        return "open"

    @property
    def is_open(self):
        return self.registration_state() == "open"

    @property
    def is_closed(self):
        return self.registration_state() == "closed"


class Participant(BaseModel):
    id = AutoField()
    organization = ForeignKeyField(Organization, backref="participants", on_delete="RESTRICT")
    status = CharField(max_length=16, default=DRAFT)
    courtesy_title = CharField(max_length=8, default="")
    family_name = CharField(max_length=150, default="")
    given_names = CharField(max_length=150, default="")
    family_name_original = CharField(max_length=150, default="")
    given_names_original = CharField(max_length=150, default="")
    gender = CharField(max_length=1, default="")
    function = CharField(max_length=200, default="")
    is_head = BooleanField(default=False)
    nationality = CharField(max_length=2, default="")
    #: Sealed in the database (portal/crypto.py), clear here; NULL or "" when there is none.
    date_of_birth = EncryptedDateField(null=True)
    passport_number = EncryptedTextField(default="")
    #: Keyed hashes of the normalized passport number and of the date of birth: what
    #: duplicates are found by. ``save`` keeps them in step with the values.
    passport_key = CharField(max_length=64, default="", index=True)
    birth_key = CharField(max_length=64, default="", index=True)
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
    #: Incremented by every change; an edit names the version it started from.
    version = IntegerField(default=1)
    created_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    updated_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    updated_at = DateTimeField(default=utcnow)
    submitted_at = DateTimeField(null=True)
    decided_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    decided_at = DateTimeField(null=True)
    #: The badge: "to_print" or "printed" (BADGE_STATES); the lifecycle's badge actions move it,
    #: and an action that changes what a printed badge says sends it back (portal/lifecycle.py).
    badge_state = CharField(max_length=16, default="to_print")
    #: How many times a badge was printed: the badge number's suffix after a reprint.
    badge_issue = IntegerField(default=0)
    badge_printed_at = DateTimeField(null=True)

    class Meta:
        indexes = (
            (("organization", "status"), False),
            (("status", "submitted_at"), False),
            # Migration 0005: the secretariat's overview figures.
            (("organization", "status", "is_head", "updated_at"), False),
        )

    def save(self, *args, **kwargs):
        """Save, the lookup keys computed from the values whatever the write path."""
        self.passport_key = passport_key(self.passport_number)
        self.birth_key = birth_key(self.date_of_birth)
        return super().save(*args, **kwargs)

    @property
    def full_name(self):
        return " ".join(p for p in (self.given_names, self.family_name) if p)

    @property
    def status_label(self):
        return STATUSES.get(self.status, self.status)

    @property
    def rejection_reason(self):
        """The reason of a rejection in the current language: the standard reason, then the
        secretariat's own words ("" unless rejected)."""
        if self.status != REJECTED:
            return ""
        label = REJECTION_REASONS.get(self.rejection_code)
        return " ".join(part for part in (str(label) if label else "", self.rejection_text) if part)

    @property
    def entered_by_secretariat(self):
        """Whether the secretariat entered this participant, on the organization's behalf
        (a registration sent on paper or by e-mail)."""
        if not self.created_by_id:
            return False
        return (
            Account.select()
            .where((Account.id == self.created_by_id) & (Account.role == ROLE_SECRETARIAT))
            .exists()
        )

    @property
    def has_scan(self):
        """Whether the scan of a paper registration is attached."""
        return PaperScan.select().where(PaperScan.participant == self.id).exists()

    @property
    def masked_passport(self):
        """Return the passport number with all but its last three characters hidden."""
        if not self.passport_number:
            return ""
        return "•••" + self.passport_number[-3:]

    @property
    def badge_number(self):
        """The number printed on the badge: the participant's number, and after a reprint the
        badge's issue ("000123", "000123-2"); "" before a badge was printed."""
        if not self.badge_issue or self.id is None:
            return ""
        number = "%06d" % self.id
        return number if self.badge_issue == 1 else "%s-%d" % (number, self.badge_issue)

    @property
    def badge_state_label(self):
        return BADGE_STATES.get(self.badge_state, self.badge_state)

    def can(self, action):
        """Whether the participant's status admits ``action`` (portal/lifecycle.py decides;
        screens ask ``allowed(p, action)``, which also weighs who asks and the event)."""
        from .lifecycle import ACTIONS  # noqa: PLC0415 - the lifecycle reads these models

        return self.status in ACTIONS[action].sources


class Photo(BaseModel):
    """A participant's badge photo, stored in the database so every host can serve it."""

    id = AutoField()
    participant = ForeignKeyField(Participant, backref="photos", unique=True, on_delete="CASCADE")
    data = BlobField()
    thumbnail = BlobField()
    content_type = CharField(max_length=32, default="image/jpeg")
    width = IntegerField()
    height = IntegerField()
    #: Hash of ``data``: the ETag, and part of the photo's URL so it can be cached for long.
    digest = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow)


class PendingPhoto(BaseModel):
    """A badge photo sent with a form that could not be saved, kept against the form's one-time
    submission key so the corrected form need not send it again (a minute on 2G); taken when the
    form is saved, purged after a day (portal/services/pending_photos.py)."""

    key = CharField(max_length=64, primary_key=True)
    account = ForeignKeyField(Account, backref="+", on_delete="CASCADE")
    data = BlobField()
    thumbnail = BlobField()
    width = IntegerField()
    height = IntegerField()
    digest = CharField(max_length=64)
    created_at = DateTimeField(default=utcnow, index=True)


class ParticipantImport(BaseModel):
    """A delegation's spreadsheet, checked and waiting for confirmation: its rows as the form
    takes them (sealed: passports and dates of birth) and the report of the check, kept in the
    database between the preview and the confirmation (any worker may answer either). Applied
    once: ``applied_at`` is set in the transaction that imports it
    (portal/services/imports.py)."""

    id = CharField(max_length=32, primary_key=True)
    organization = ForeignKeyField(Organization, backref="+", on_delete="CASCADE")
    account = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    filename = CharField(max_length=200, default="")
    #: JSON, sealed: ``[{"n": row number, "data": {field: text}}]``.
    rows = EncryptedTextField()
    #: JSON: the check's report (what each row would do, every error).
    report = TextField(default="")
    created_at = DateTimeField(default=utcnow, index=True)
    applied_at = DateTimeField(null=True)
    #: JSON: what the confirmation did.
    result = TextField(default="")


class PaperScan(BaseModel):
    """The scan of a registration sent on paper (PDF or image), attached by the secretariat to
    the participant it entered; served as a download to the secretariat and the organization's
    coordinators only (portal/services/scans.py)."""

    participant = ForeignKeyField(Participant, backref="+", unique=True, on_delete="CASCADE")
    filename = CharField(max_length=200, default="")
    content_type = CharField(max_length=64)
    data = BlobField()
    digest = CharField(max_length=64)
    attached_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    attached_at = DateTimeField(default=utcnow)


class AuditLog(BaseModel):
    id = AutoField()
    at = DateTimeField(default=utcnow, index=True)
    account = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    #: Username at the time, kept if the account is later renamed.
    actor = CharField(max_length=150, default="")
    address = CharField(max_length=64, default="")
    action = CharField(max_length=64, index=True)
    object_type = CharField(max_length=32, default="")
    object_id = BigIntegerField(null=True)
    organization = ForeignKeyField(Organization, null=True, backref="+", on_delete="SET NULL")
    #: JSON: what changed (field names, never passport numbers or passwords).
    details = TextField(default="")

    class Meta:
        indexes = (
            (("object_type", "object_id"), False),
            # Migration 0012: a client address's recent verifications (the rate limit).
            (("action", "address", "at"), False),
        )


class SubmissionKey(BaseModel):
    """A form's one-time key: a POST repeated with the same key returns the first result."""

    id = AutoField()
    key = CharField(max_length=64, unique=True)
    account = ForeignKeyField(Account, backref="+", on_delete="CASCADE")
    action = CharField(max_length=64, default="")
    object_type = CharField(max_length=32, default="")
    object_id = BigIntegerField(null=True)
    created_at = DateTimeField(default=utcnow, index=True)


class PasswordLink(BaseModel):
    """A one-time link, valid for a limited time, to set an account's password."""

    id = AutoField()
    #: SHA-256 of the token sent in the link; the token itself is never stored.
    token_hash = CharField(max_length=64, unique=True)
    account = ForeignKeyField(Account, backref="+", on_delete="CASCADE")
    created_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    expires_at = DateTimeField()
    used_at = DateTimeField(null=True)


class Notification(BaseModel):
    """A decision waiting to go out in a coordinator's daily digest."""

    id = AutoField()
    account = ForeignKeyField(Account, backref="+", on_delete="CASCADE")
    participant = ForeignKeyField(Participant, backref="+", on_delete="CASCADE")
    status = CharField(max_length=16)
    created_at = DateTimeField(default=utcnow)
    sent_at = DateTimeField(null=True, index=True)


DOCUMENT_BADGE = "badge"
DOCUMENT_LETTER = "letter"
DOCUMENT_KINDS = (DOCUMENT_BADGE, DOCUMENT_LETTER)


class VerificationToken(BaseModel):
    """What the QR code of a badge or the code of a letter points to (``/verify/<token>``):
    the random token itself is printed, never stored; only its SHA-256 is
    (portal/services/verification.py issues, revokes and looks them up)."""

    id = AutoField()
    participant = ForeignKeyField(Participant, backref="+", on_delete="CASCADE")
    #: "badge" or "letter".
    kind = CharField(max_length=16)
    token_hash = CharField(max_length=64, unique=True)
    created_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    revoked_at = DateTimeField(null=True)
    #: A letter's dates of stay (what an embassy checks); none for a badge.
    valid_from = DateField(null=True)
    valid_until = DateField(null=True)

    class Meta:
        indexes = ((("participant", "kind"), False),)

    def state(self, participant=None, today=None):
        """ "valid", "revoked" (revoked, or the participant no longer accredited) or "expired"
        (a letter past its last date)."""
        participant = participant or self.participant
        if self.revoked_at is not None or participant.status != ACCREDITED:
            return "revoked"
        today = today or utcnow().date()
        if self.valid_until is not None and today > self.valid_until:
            return "expired"
        return "valid"


# An outgoing e-mail's life (portal.services.mail).
OUTBOX_PENDING = "pending"
OUTBOX_SENDING = "sending"
OUTBOX_SENT = "sent"
OUTBOX_FAILED = "failed"
OUTBOX_STATES = (OUTBOX_PENDING, OUTBOX_SENDING, OUTBOX_SENT, OUTBOX_FAILED)


class OutboxMessage(BaseModel):
    """An e-mail, written in the transaction of the change that causes it and sent afterwards
    by ``flask --app portal mail send``: a rollback drops it, a crash after the commit never
    loses it. Rendered when queued, in the recipient's language."""

    id = AutoField()
    #: The Message-ID header, fixed when queued: a message sent twice (a sender killed after
    #: the server accepted it) arrives with the same one.
    message_id = CharField(max_length=255, unique=True)
    to_address = CharField(max_length=254)
    to_name = CharField(max_length=300, default="")
    language = CharField(max_length=2, default="fr")
    template = CharField(max_length=64)
    subject = TextField()
    #: Emptied once sent: a password link's token stays in the database no longer than needed.
    body = TextField()
    state = CharField(max_length=16, default=OUTBOX_PENDING)
    attempts = IntegerField(default=0)
    next_attempt_at = DateTimeField(default=utcnow)
    #: When a sender took it; a row left "sending" longer than the lease is taken again.
    claimed_at = DateTimeField(null=True)
    sent_at = DateTimeField(null=True)
    last_error = TextField(default="")
    created_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            # What the sender asks: due rows waiting, and rows whose sender's lease ran out.
            (("state", "next_attempt_at"), False),
            (("state", "claimed_at"), False),
        )


# A document job's life (portal.services.jobs).
JOB_QUEUED = "queued"
JOB_RUNNING = "running"
JOB_DONE = "done"
JOB_FAILED = "failed"
JOB_STATES = (JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED)


class DocumentJob(BaseModel):
    """A long document (a print run of badges, the summit's list of participants) to render
    outside any request: queued by a page, taken by ``flask --app portal documents work`` on
    any host, its progress and outcome kept here. The PDF itself is a ``DocumentFile``."""

    id = AutoField()
    #: "badges" or "summit_list" (portal.services.jobs.KINDS).
    kind = CharField(max_length=32)
    #: JSON: what to render (participant ids, the badge size, the language).
    parameters = TextField(default="{}")
    state = CharField(max_length=16, default=JOB_QUEUED)
    progress_done = IntegerField(default=0)
    progress_total = IntegerField(default=0)
    #: JSON list of what could not be rendered ({"participant": id, "name": ..., "reason": ...}).
    problems = TextField(default="[]")
    #: Why the job failed as a whole ("" unless failed).
    error = TextField(default="")
    attempts = IntegerField(default=0)
    requested_by = ForeignKeyField(Account, null=True, backref="+", on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    #: The worker holding the job, and until when: a job left "running" past its lease (its
    #: worker was killed) is taken again, or failed after ``DOCUMENTS_MAX_ATTEMPTS``.
    lease_token = CharField(max_length=64, default="")
    lease_until = DateTimeField(null=True)

    class Meta:
        indexes = ((("state", "lease_until"), False),)


class DocumentFile(BaseModel):
    """The PDF a document job made, kept in the database so every host can serve it."""

    job = ForeignKeyField(DocumentJob, primary_key=True, backref="+", on_delete="CASCADE")
    filename = CharField(max_length=200)
    content_type = CharField(max_length=64, default="application/pdf")
    size = IntegerField(default=0)
    data = BlobField()


MODELS = [
    Organization,
    Account,
    Event,
    Participant,
    Photo,
    PendingPhoto,
    ParticipantImport,
    PaperScan,
    AuditLog,
    SubmissionKey,
    PasswordLink,
    Notification,
    OutboxMessage,
    VerificationToken,
    DocumentJob,
    DocumentFile,
]

# One head of delegation per organization, enforced by the database itself.
HEAD_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS participant_one_head "
    "ON participant (organization_id) WHERE is_head AND status <> 'withdrawn'"
)
