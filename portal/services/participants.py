"""A participant's life, in one place: which delegation an account may see, and the state
machine draft -> submitted -> accredited / rejected, withdrawn, that both the coordinators'
and the secretariat's screens call.
"""

import datetime as dt
import logging

from flask import abort
from flask_babel import lazy_gettext as _l
from peewee import JOIN, Case, CharField, TextField, fn

from ..db import database, is_sqlite
from ..models import (
    ACCREDITED,
    DRAFT,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    Organization,
    Participant,
    Photo,
    utcnow,
)
from ..performance.prepared import prepared
from . import DomainError, audit

log = logging.getLogger(__name__)

# Who may move a participant from one status to another.
COORDINATOR_MOVES = {
    (DRAFT, SUBMITTED),
    (REJECTED, SUBMITTED),
    (ACCREDITED, SUBMITTED),  # an accredited participant's badge details were edited
    (SUBMITTED, WITHDRAWN),
    (ACCREDITED, WITHDRAWN),
    (REJECTED, WITHDRAWN),
    (DRAFT, WITHDRAWN),
}
SECRETARIAT_MOVES = {
    (SUBMITTED, ACCREDITED),
    (SUBMITTED, REJECTED),
    (ACCREDITED, REJECTED),
    (REJECTED, ACCREDITED),
}

#: Statuses that count against an organization's quota.
COUNTED = (SUBMITTED, ACCREDITED)


# -- Scope: the one place that decides which participants an account may reach --------------


def participants_for(account):
    """Return a query of the participants ``account`` may see: their own organization's, or
    every one for the secretariat. Every coordinator-side query starts here."""
    query = Participant.select()
    if account.is_secretariat:
        return query
    if not account.organization_id:
        return query.where(Participant.id.is_null())
    return query.where(Participant.organization == account.organization_id)


def get_participant(account, participant_id):
    """Return the participant if ``account`` may see it, else answer 404."""
    try:
        pid = int(participant_id)
    except (TypeError, ValueError):
        abort(404)
    participant = participants_for(account).where(Participant.id == pid).first()
    if participant is None:
        abort(404)
    return participant


def lock_organization(organization_id):
    """Serialize writes to one delegation for the rest of the transaction: every write to a
    participant or a photo takes this lock first (the triggers that raise the organization's
    ``data_version`` update the same row: taken first, it adds no second lock order).

    SQLite's ``BEGIN IMMEDIATE`` already holds the database's single write lock; PostgreSQL
    takes a row lock on the organization.
    """
    if not is_sqlite():
        Organization.select(Organization.id).where(
            Organization.id == organization_id
        ).for_update().execute()


# -- Transitions --------------------------------------------------------------------------------


def _move(participant, new_status, actor, allowed, action, **details):
    if (participant.status, new_status) not in allowed:
        raise DomainError(_l("This participant cannot be changed from this status."))
    old = participant.status
    now = utcnow()
    participant.status = new_status
    participant.version += 1
    participant.updated_by = actor
    participant.updated_at = now
    if new_status == SUBMITTED:
        participant.submitted_at = now
    if new_status in (ACCREDITED, REJECTED):
        participant.decided_by = actor
        participant.decided_at = now
    if new_status != REJECTED:
        participant.rejection_code = ""
        participant.rejection_text = ""
    participant.save()
    audit.record(action, account=actor, obj=participant, old=old, new=new_status, **details)
    return participant


def check_quota(organization_id, adding=1):
    """Raise if ``adding`` more submitted participants would exceed the organization's quota."""
    organization = Organization.get_by_id(organization_id)
    if organization.quota is None:
        return
    used = (
        Participant.select()
        .where((Participant.organization == organization_id) & Participant.status.in_(COUNTED))
        .count()
    )
    if used + adding > organization.quota:
        raise DomainError(
            _l(
                "Your organization's quota of %(quota)s participants is reached.",
                quota=organization.quota,
            )
        )


def check_window(event, submitting=False):
    """Raise unless the delegation may be changed now (and submitted, with ``submitting``)."""
    state = event.registration_state() if event is not None else "open"
    if state == "closed":
        raise DomainError(_l("Registration is closed: the delegation can no longer be changed."))
    if submitting and state == "not_open":
        raise DomainError(
            _l("Registration is not open yet: participants can be saved as drafts, not submitted.")
        )


def _submit_locked(participant, actor, event):
    """Submit ``participant`` (fresh, inside a transaction holding the organization's lock)."""
    from .registration import missing_for_submission  # noqa: PLC0415 - avoid a cycle

    check_window(event, submitting=True)
    missing = missing_for_submission(participant)
    if missing:
        raise DomainError(
            _l(
                "This participant is not complete: %(missing)s.",
                missing=", ".join(str(m) for m in missing),
            ),
            field="submit",
        )
    if participant.status == SUBMITTED:
        return participant  # a repeated submission changes nothing
    if participant.status not in COUNTED:
        check_quota(participant.organization_id)
    return _move(participant, SUBMITTED, actor, COORDINATOR_MOVES, "participant.submit")


def submit(participant, actor, event):
    """Submit a complete participant for accreditation (coordinator)."""
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        return _submit_locked(participant, actor, event)


def withdraw(participant, actor, event=None):
    """Withdraw a participant: the record and its history stay (coordinator)."""
    check_window(event)
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        if participant.status == WITHDRAWN:
            return participant  # a repeated request changes nothing
        participant.is_head = False
        return _move(participant, WITHDRAWN, actor, COORDINATOR_MOVES, "participant.withdraw")


def delete_draft(participant, actor, event=None):
    """Delete a participant that is still a draft (coordinator)."""
    check_window(event)
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        if participant.status != DRAFT:
            raise DomainError(_l("Only drafts can be deleted; withdraw this participant instead."))
        audit.record("participant.delete", account=actor, obj=participant)
        participant.delete_instance(recursive=True)


def accredit(participant, actor):
    """Accredit a submitted participant (secretariat)."""
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        return _move(participant, ACCREDITED, actor, SECRETARIAT_MOVES, "participant.accredit")


def reject(participant, actor, code="", text=""):
    """Reject a submitted participant with a standard reason code or free text (secretariat)."""
    if not (code or text.strip()):
        raise DomainError(_l("Give a reason for the rejection."), field="reason")
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        participant.rejection_code = code
        participant.rejection_text = text.strip()
        return _move(
            participant,
            REJECTED,
            actor,
            SECRETARIAT_MOVES,
            "participant.reject",
            reason=code or "text",
        )


# -- Creating and editing (coordinator) ----------------------------------------------------------

#: What a coordinator's form may change, nothing else (never the organization or the status).
EDITABLE = (
    "courtesy_title",
    "family_name",
    "given_names",
    "family_name_original",
    "given_names_original",
    "gender",
    "function",
    "is_head",
    "nationality",
    "date_of_birth",
    "passport_number",
    "passport_country",
    "passport_expiry",
    "email",
    "mobile",
    "arrival_date",
    "departure_date",
    "visa_required",
    "visa_place",
    "special_needs",
)
#: What is printed on the badge: changing it sends an accredited participant back for review.
BADGE_FIELDS = (
    "courtesy_title",
    "family_name",
    "given_names",
    "family_name_original",
    "given_names_original",
    "function",
)


class VersionConflict(DomainError):
    """The participant changed since the form was opened; ``current`` is the newer version."""

    def __init__(self, current):
        super().__init__(
            _l(
                "Someone else changed this participant while you were editing it. Compare the "
                "two versions below, then save again to keep yours."
            ),
            field="version",
        )
        self.current = current


def passport_key(number):
    """Return ``number`` upper-cased without blanks or dashes: what duplicates match on."""
    return "".join(c for c in (number or "").upper() if c.isalnum())


def _name_key(value):
    return " ".join((value or "").casefold().split())


def find_duplicate(organization_id, values, exclude_id=None):
    """Return the first other participant of the delegation (not withdrawn) with the same
    passport number, or the same names and date of birth; None when there is none."""
    query = Participant.select().where(
        (Participant.organization == organization_id) & (Participant.status != WITHDRAWN)
    )
    if exclude_id:
        query = query.where(Participant.id != exclude_id)
    key = passport_key(values.get("passport_number"))
    if key:
        found = query.where(Participant.passport_key == key).order_by(Participant.id).first()
        if found:
            return found
    dob = values.get("date_of_birth")
    family = _name_key(values.get("family_name"))
    given = _name_key(values.get("given_names"))
    if dob and family:
        for other in query.where(Participant.date_of_birth == dob).order_by(Participant.id):
            if _name_key(other.family_name) == family and _name_key(other.given_names) == given:
                return other
    return None


def save_participant(
    actor, participant_id, values, event, expected_version=None, photo=None, submit_now=False
):
    """Create (``participant_id`` None) or change a participant of the actor's organization.

    ``values`` holds only EDITABLE fields. Runs in one transaction holding the delegation's
    lock: the version check, duplicates, the head of delegation's mark (moved from the previous
    head first: the database allows one), the badge photo, an accredited participant's return
    to "submitted" when its badge details change, and the audit row (field names only).

    With ``submit_now``, the participant is then submitted; if that is refused (incomplete,
    registration not open, quota), the changes are kept as saved and ``submit_error`` on the
    returned participant says why.
    """
    check_window(event)
    values = {k: v for k, v in values.items() if k in EDITABLE}
    organization_id = actor.organization_id
    with database.atomic():
        lock_organization(organization_id)
        if participant_id is None:
            participant = Participant(
                organization=organization_id, created_by=actor, status=DRAFT, version=0
            )
        else:
            participant = participants_for(actor).where(Participant.id == participant_id).first()
            if participant is None:
                abort(404)
            if not participant.can_edit:
                raise DomainError(
                    _l("This participant was withdrawn and can no longer be changed.")
                )
            if expected_version is not None and participant.version != expected_version:
                raise VersionConflict(participant)
        duplicate = find_duplicate(
            organization_id, {**participant.__data__, **values}, participant.id
        )
        if duplicate is not None:
            raise DomainError(
                _l(
                    "This person is already in your delegation: %(name)s (no. %(id)s).",
                    name=duplicate.full_name or duplicate.family_name,
                    id=duplicate.id,
                ),
                field="duplicate",
            )
        changed = sorted(
            k for k, v in values.items() if participant.id is None or getattr(participant, k) != v
        )
        for name in changed:
            setattr(participant, name, values[name])
        participant.passport_key = passport_key(participant.passport_number)
        if participant.is_head and participant.status == WITHDRAWN:
            participant.is_head = False
        if "is_head" in changed and participant.is_head:
            # The partial unique index allows one head: take the mark from the previous one.
            query = Participant.update(is_head=False, updated_at=utcnow()).where(
                (Participant.organization == organization_id) & Participant.is_head
            )
            if participant.id is not None:
                query = query.where(Participant.id != participant.id)
            query.execute()
        back_to_review = participant.status == ACCREDITED and (
            photo is not None or any(k in BADGE_FIELDS for k in changed)
        )
        created = participant.id is None
        participant.version += 1
        participant.updated_by = actor
        participant.updated_at = utcnow()
        participant.save()
        if photo is not None:
            from .photos import store  # noqa: PLC0415

            store(participant, photo)
        audit.record(
            "participant.create" if created else "participant.update",
            account=actor,
            obj=participant,
            fields=changed,
            photo=photo is not None,
        )
        if back_to_review:
            # Already counted against the quota: no quota check.
            _move(participant, SUBMITTED, actor, {(ACCREDITED, SUBMITTED)}, "participant.resubmit")
        participant.submit_error = None
        if submit_now and participant.status in (DRAFT, REJECTED):
            try:
                with database.atomic():  # a savepoint: a refused submission keeps the save
                    _submit_locked(participant, actor, event)
            except DomainError as exc:
                participant = Participant.get_by_id(participant.id)
                participant.submit_error = exc.message
        participant.changed_fields = changed
        participant.was_created = created
    return participant


class Summary(dict):
    """The delegation's figures, each worked out when a page first asks for it: ``counts``
    (per status), ``total``, ``head``, and ``missing``. A page served from the fragment cache
    (portal/cache.py) asks for none of them and runs none of their queries."""

    def __init__(self, account, version=None):
        super().__init__()
        self.account = account
        #: What the figures are at least as new as: ``(organization id, data_version)``, read
        #: before them (the key of their cached rendering).
        self.version = version

    def __missing__(self, key):
        if key == "counts":
            value = dict(_status_counts(self.account))
        elif key == "total":
            value = sum(self["counts"].values())
        elif key == "head":
            value = next(iter(_head(self.account)), None)
        elif key == "missing":
            value = _missing(self.account)
        else:
            raise KeyError(key)
        self[key] = value
        return value


class _Coordinator:
    """What ``participants_for`` looks at in a coordinator's account: for prepared queries."""

    is_secretariat = False

    def __init__(self, organization_id):
        self.organization_id = organization_id


def _per_organization(build):
    """Return ``run(account, *values)``: ``build(scope, *values)`` with its SQL built once for
    coordinators (portal/prepared.py), or built every time for other accounts."""
    query = prepared(
        lambda organization_id, *values: build(
            participants_for(_Coordinator(organization_id)), *values
        )
    )

    def run(account, *values):
        if account.is_secretariat or not account.organization_id:
            return build(participants_for(account), *values).execute()
        return query.cursor_wrapper(account.organization_id, *values)

    return run


#: How many of the participants still missing something the dashboard lists (and loads).
MISSING_SHOWN = 50


def _incomplete(scope):
    """Narrow ``scope`` to the participants still missing something to submit: the same test
    as ``registration.missing_fields`` and the dashboard's photo and passport checks."""
    from .registration import REQUIRED_FIELDS  # noqa: PLC0415

    incomplete = Photo.id.is_null() | Participant.visa_required.is_null()
    incomplete |= (Participant.visa_required == True) & (  # noqa: E712 - SQL, not Python
        fn.TRIM(fn.COALESCE(Participant.visa_place, "")) == ""
    )
    for name in REQUIRED_FIELDS:
        field = getattr(Participant, name)
        if isinstance(field, (CharField, TextField)):
            incomplete |= fn.COALESCE(field, "") == ""
        else:
            incomplete |= field.is_null()
    return scope.join(Photo, JOIN.LEFT_OUTER, on=(Photo.participant == Participant.id)).where(
        Participant.status.not_in((WITHDRAWN, ACCREDITED)) & incomplete
    )


def _missing_columns():
    from .registration import REQUIRED_FIELDS  # noqa: PLC0415

    columns = [Participant.id, Participant.status, Participant.is_head]
    columns += [getattr(Participant, name) for name in REQUIRED_FIELDS]
    return [*columns, Participant.visa_required, Participant.visa_place, Photo.id.alias("photo_id")]


_status_counts = _per_organization(
    lambda scope: (
        scope.select(Participant.status, fn.COUNT(Participant.id))
        .group_by(Participant.status)
        .tuples()
    )
)
_head = _per_organization(
    lambda scope: (
        scope.where(Participant.is_head & (Participant.status != WITHDRAWN))
        .order_by(Participant.family_name.desc(), Participant.id.desc())
        .limit(1)
    )
)
_missing_count = _per_organization(
    lambda scope: _incomplete(scope).select(fn.COUNT(Participant.id)).tuples()
)
_missing_shown = _per_organization(
    lambda scope: (
        _incomplete(scope)
        .select(*_missing_columns())
        .order_by(Participant.family_name, Participant.id)
        .limit(MISSING_SHOWN)
        .objects()
    )
)


def summary(account, version=None):
    """Return the delegation's figures: counts per status, the head, and what is missing.

    Counted in the database, with the SQL built once: every delegation page shows the figures,
    and loading each participant of a 300-person delegation cost more than the rest of the page.
    """
    return Summary(account, version)


class Missing(list):
    """The first ``MISSING_SHOWN`` participants missing something; ``len()`` counts them all."""

    def __init__(self, shown, count):
        super().__init__(shown)
        self.count = count

    def __len__(self):
        return self.count


def _missing(account):
    """Return [(participant, gaps)] for the participants still missing something to submit;
    only the first ``MISSING_SHOWN`` are loaded, all are counted."""
    from .registration import missing_fields  # noqa: PLC0415

    count = next(iter(_missing_count(account)))[0]
    shown = []
    for p in _missing_shown(account):
        gaps = []
        if not p.photo_id:
            gaps.append("photo")
        passport = ("passport_number", "passport_country", "passport_expiry")
        if any(not getattr(p, f) for f in passport):
            gaps.append("passport")
        if gaps or missing_fields(p):
            shown.append((p, gaps))
    return Missing(shown, count)


_page_total = _per_organization(lambda scope: scope.select(fn.COUNT(Participant.id)).tuples())
_page_rows = _per_organization(
    lambda scope, limit, offset: (
        scope.select(Participant, Photo.digest.alias("photo_digest"))
        .join(Photo, JOIN.LEFT_OUTER, on=(Photo.participant == Participant.id))
        .order_by(
            Case(None, [(Participant.status == WITHDRAWN, 1)], 0),
            Participant.is_head.desc(),
            Participant.family_name,
            Participant.given_names,
            Participant.id,
        )
        .limit(limit)
        .offset(offset)
        .objects()
    )
)


def page_of(account, page=1, per_page=25):
    """Return ``(participants, total, pages, page)``: one page of the delegation, the head
    first, then by name, withdrawn last; each with ``photo_digest`` (None without a photo)."""
    total = next(iter(_page_total(account)))[0]
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    rows = list(_page_rows(account, per_page, (page - 1) * per_page))
    return rows, total, pages, page


def notify_submission(account, participants):
    """E-mail the coordinator a summary of the delegation after a submission (after commit)."""
    from . import mail  # noqa: PLC0415

    if not account.email:
        return
    try:
        everyone = list(participants_for(account).order_by(Participant.family_name, Participant.id))
        mail.send_to_account(
            account,
            "submission_summary",
            submitted=[p.id for p in participants],
            participants=everyone,
            today=dt.date.today(),
        )
    except Exception:  # noqa: BLE001 - the submission stands even if the mail cannot go
        log.exception("submission summary not sent to account %s", account.id)
