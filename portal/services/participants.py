"""A participant's life, taken through the table of ``portal.lifecycle``: which participants an
account may reach, the actions (submit, withdraw, delete, accredit, reject, ...) and the one save
path of the coordinator's form. Both the coordinators' and the secretariat's screens call here.

Every action runs in one transaction that holds the delegation's lock, reads the participant
once, asks ``lifecycle.refusal``, writes, records an audit row and queues its e-mail.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from peewee import JOIN, Case, fn

from .. import lifecycle
from ..crypto import birth_key, passport_key
from ..db import database, is_sqlite
from ..lifecycle import ACTIONS, BADGE_FIELDS, GONE
from ..models import (
    ACCREDITED,
    BADGE_PRINTED,
    DOCUMENT_BADGE,
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
from . import Conflict, DomainError, NotFound, audit, idempotency, notifications

# -- Scope: the one place that decides which participants an account may reach --------------


def participants_for(account):
    """Return a query of the participants ``account`` may see: their own organization's, or
    every one for the secretariat. Every query about participants starts here."""
    query = Participant.select()
    if account.is_secretariat:
        return query
    if not account.organization_id:
        return query.where(Participant.id.is_null())
    return query.where(Participant.organization == account.organization_id)


def _valid_id(participant_id):
    """Return ``participant_id`` as a row id (a number the database can hold), else NotFound."""
    try:
        pid = int(participant_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    if not 0 < pid < 2**63:
        raise NotFound()
    return pid


def organization_for(account, organization_id=None):
    """Return the id of the delegation an action of ``account`` is about: a coordinator's own
    (naming another is NotFound), or for the secretariat the one it names (it enters
    registrations on an organization's behalf)."""
    if account.is_secretariat:
        if not organization_id:
            raise NotFound()
        return organization_id
    if not account.organization_id or organization_id not in (None, account.organization_id):
        raise NotFound()
    return account.organization_id


def get_participant(account, participant_id, organization_id=None):
    """Return the participant if ``account`` may see it (and it belongs to the organization
    ``organization_id``, when named); raise NotFound otherwise."""
    pid = _valid_id(participant_id)
    query = participants_for(account).where(Participant.id == pid)
    if organization_id is not None:
        query = query.where(Participant.organization == organization_id)
    participant = query.first()
    if participant is None:
        raise NotFound()
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


# -- Actions --------------------------------------------------------------------------------------


class ChangedMeanwhile(Conflict):
    """The participant changed after the screen was drawn (decided, edited, withdrawn)."""


class VersionConflict(Conflict):
    """The participant changed since the form was opened, or the form does not say which
    version it started from (422); ``current`` is what is saved now."""

    def __init__(self, current, missing=False):
        if missing:
            self.status = 422
            message = _l(
                "This form does not say which version of the participant it changes. Compare "
                "it with what is saved now, then save again to keep yours."
            )
        else:
            message = _l(
                "Someone else changed this participant while you were editing it. Compare the "
                "two versions below, then save again to keep yours."
            )
        super().__init__(message, field="version")
        self.current = current


def _lock_delegation_of(actor, participant_id):
    """Take the lock of the delegation ``participant_id`` belongs to, before reading it: a
    coordinator's own; for the secretariat, the participant's (one column read first)."""
    organization_id = actor.organization_id
    if actor.is_secretariat:
        organization_id = (
            Participant.select(Participant.organization)
            .where(Participant.id == _valid_id(participant_id))
            .scalar()
        )
    if organization_id is None:
        raise NotFound()
    lock_organization(organization_id)


def _raise(refusal):
    if refusal.kind == "role":
        raise NotFound(refusal.message)
    if refusal.kind == "status":
        raise Conflict(refusal.message)
    raise DomainError(refusal.message, field=refusal.field)


def _apply(participant, name, actor, **inputs):
    """Move ``participant`` as action ``name`` says (already allowed), with its audit row."""
    action = ACTIONS[name]
    old = participant.status
    now = utcnow()
    if action.badge_only:
        _badge(participant, action, actor, now, inputs.get("badge_token"))
        participant.save(only=BADGE_COLUMNS)
        audit.record(
            action.audited_as,
            account=actor,
            obj=participant,
            badge=participant.badge_state,
            number=participant.badge_number,
        )
        return participant
    if action.target is GONE:
        audit.record(action.audited_as, account=actor, obj=participant)
        participant.delete_instance(recursive=True)
        return participant
    if action.target is not None:
        participant.status = action.target
    if participant.status == WITHDRAWN:
        participant.is_head = False
    if participant.status == SUBMITTED and old != SUBMITTED:
        participant.submitted_at = now
    if action.target in (ACCREDITED, REJECTED):
        participant.decided_by = actor
        participant.decided_at = now
    if participant.status == REJECTED:
        participant.rejection_code = inputs.get("code") or ""
        participant.rejection_text = (inputs.get("text") or "").strip()
    else:
        participant.rejection_code = participant.rejection_text = ""
    if action.badge is not None:
        _badge(participant, action, actor, now, inputs.get("badge_token"))
    participant.version += 1
    participant.updated_by = actor
    participant.updated_at = now
    participant.save()
    details = {"reason": inputs.get("code") or "text"} if name == "reject" else {}
    audit.record(
        action.audited_as,
        account=actor,
        obj=participant,
        old=old,
        new=participant.status,
        **details,
    )
    _ANNOUNCE.get(name, lambda p, a: None)(participant, actor)
    return participant


BADGE_COLUMNS = [Participant.badge_state, Participant.badge_issue, Participant.badge_printed_at]


def _badge(participant, action, actor, now, raw_token=None):
    """Move the badge as ``action`` says. Printed: the badge's next issue, with a new
    verification token (``raw_token`` if the caller made it already; kept on
    ``participant.badge_token`` for the caller to print; any older one revoked). To print: a
    printed badge's token is revoked."""
    from . import verification  # noqa: PLC0415

    verification.revoke_for(participant, DOCUMENT_BADGE)
    if action.badge == BADGE_PRINTED:
        participant.badge_token = verification.issue(
            participant, DOCUMENT_BADGE, actor, raw_token=raw_token
        )
        participant.badge_issue += 1
        participant.badge_printed_at = now
    participant.badge_state = action.badge


@dataclass
class Outcome:
    participant: Participant
    #: False when the participant was already where the action leads (a repeated request).
    changed: bool = True


def take(name, participant_id, actor, event=None, version=None, **inputs):
    """Take action ``name`` of the lifecycle on a participant ``actor`` may reach, in one
    transaction; return an Outcome. ``version`` is the version the actor's screen showed: if the
    participant changed meanwhile, nothing is written. A request repeated after it was done
    (the participant is already where the action leads) changes nothing."""
    action = ACTIONS[name]
    with database.atomic():
        _lock_delegation_of(actor, participant_id)
        participant = get_participant(actor, participant_id)
        if version is not None and version != participant.version:
            raise ChangedMeanwhile(
                _l(
                    "%(name)s was changed by someone else meanwhile (now: %(status)s). "
                    "Nothing was done; check it again.",
                    name=participant.full_name,
                    status=participant.status_label,
                )
            )
        if action.target not in (None, GONE) and participant.status == action.target:
            return Outcome(participant, changed=False)
        refusal = lifecycle.refusal(participant, name, actor, event, **inputs)
        if refusal is not None:
            _raise(refusal)
        return Outcome(_apply(participant, name, actor, **inputs))


# -- The coordinator's form: one save path ------------------------------------------------------

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


def _name_key(value):
    return " ".join((value or "").casefold().split())


class Delegation:
    """Participants of a delegation (not withdrawn), indexed by passport and by date of birth:
    the one rule of what counts as the same person, over one participant or many rows."""

    def __init__(self, participants):
        self.by_passport, self.by_birth = {}, {}
        for p in sorted(participants, key=lambda p: p.id):
            if p.passport_key:
                self.by_passport.setdefault(p.passport_key, []).append(p)
            if p.birth_key:
                self.by_birth.setdefault(p.birth_key, []).append(p)

    def duplicate(self, values, exclude_id=None):
        """The first other participant with the same passport number, or the same names and
        date of birth, as ``values``; None when there is none."""
        key = passport_key(values.get("passport_number"))
        for other in self.by_passport.get(key, ()) if key else ():
            if other.id != exclude_id:
                return other
        dob = values.get("date_of_birth")
        family = _name_key(values.get("family_name"))
        given = _name_key(values.get("given_names"))
        if dob and family:
            for other in self.by_birth.get(birth_key(dob), ()):
                if other.id == exclude_id:
                    continue
                if _name_key(other.family_name) == family and _name_key(other.given_names) == given:
                    return other
        return None


def delegation_of(organization_id, condition=None):
    """The delegation's participants (not withdrawn), indexed (``Delegation``)."""
    query = Participant.select().where(
        (Participant.organization == organization_id) & (Participant.status != WITHDRAWN)
    )
    if condition is not None:
        query = query.where(condition)
    return Delegation(query)


def find_duplicate(organization_id, values, exclude_id=None):
    """Return the first other participant of the delegation (not withdrawn) with the same
    passport number, or the same names and date of birth; None when there is none."""
    key = passport_key(values.get("passport_number"))
    dob = values.get("date_of_birth")
    conditions = []
    if key:
        conditions.append(Participant.passport_key == key)
    if dob and values.get("family_name"):
        conditions.append(Participant.birth_key == birth_key(dob))
    if not conditions:
        return None
    condition = conditions[0] if len(conditions) == 1 else (conditions[0] | conditions[1])
    return delegation_of(organization_id, condition).duplicate(values, exclude_id)


def duplicate_message(duplicate):
    """What a save says of a participant already in the delegation."""
    return _l(
        "This person is already in your delegation: %(name)s (no. %(id)s).",
        name=duplicate.full_name or duplicate.family_name,
        id=duplicate.id,
    )


@dataclass
class SaveResult:
    participant: Participant
    created: bool = False
    #: The names of the fields the save changed.
    changed: list = field(default_factory=list)
    #: Why a requested submission was refused (the save itself is kept), else None.
    not_submitted_because: object = None
    #: The form was sent before with the same submission key: nothing new was written.
    replayed: bool = False
    #: The participant was submitted by this save.
    submitted: bool = False


def save(
    actor,
    participant_id,
    values,
    event,
    *,
    version=None,
    photo=None,
    submit=False,
    key="",
    organization_id=None,
):
    """Create (``participant_id`` None) or change a participant of the actor's organization
    (for the secretariat: of ``organization_id``, entered on its behalf), and submit it with
    ``submit``: one transaction, guarded by the form's one-time ``key``.

    In one transaction holding the delegation's lock: the lifecycle's "create" or "save", the
    version check, duplicates, the head of delegation's mark (moved from the previous head
    first: the database allows one), the badge photo, the "resubmit" of an accredited
    participant whose badge details change, the audit row (field names only), and the
    submission. A refused submission keeps the save and says why.
    """
    values = {k: v for k, v in values.items() if k in EDITABLE}
    result = SaveResult(None)

    def change():
        result.participant = _save_locked(
            actor, participant_id, values, event, version, photo, submit, result, organization_id
        )
        return result.participant

    row, replayed = idempotency.run_once(key, actor, "participant.save", change)
    if replayed:
        return SaveResult(get_participant(actor, row.object_id, organization_id), replayed=True)
    return result


def save_within(actor, organization_id, participant_id, values, event, *, version, submit=False):
    """The same save, inside a transaction the caller holds (an import: all rows or none)."""
    values = {k: v for k, v in values.items() if k in EDITABLE}
    result = SaveResult(None)
    result.participant = _save_locked(
        actor, participant_id, values, event, version, None, submit, result, organization_id
    )
    return result


def submit_within(actor, participant, event):
    """Submit ``participant`` if the lifecycle allows it now, inside a transaction the caller
    holds with the delegation's lock (an import); return whether it was submitted."""
    if lifecycle.refusal(participant, "submit", actor, event) is not None:
        return False
    _apply(participant, "submit", actor)
    return True


def _save_locked(
    actor, participant_id, values, event, version, photo, submit, result, organization_id=None
):
    organization_id = organization_for(actor, organization_id)
    lock_organization(organization_id)
    if participant_id is None:
        participant = Participant(organization=organization_id, created_by=actor, status=DRAFT)
        participant.version = 0
        refusal = lifecycle.refusal(None, "create", actor, event)
    else:
        participant = get_participant(actor, participant_id, organization_id)
        refusal = lifecycle.refusal(participant, "save", actor, event)
    if refusal is not None:
        _raise(refusal)
    if participant.id is not None and participant.version != version:
        # An edit that cannot say what it changes would overwrite anything: never taken.
        raise VersionConflict(participant, missing=version is None)
    duplicate = find_duplicate(organization_id, {**participant.__data__, **values}, participant.id)
    if duplicate is not None:
        raise DomainError(duplicate_message(duplicate), field="duplicate")
    result.created = participant.id is None
    result.changed = sorted(
        k for k, v in values.items() if result.created or getattr(participant, k) != v
    )
    for name in result.changed:
        setattr(participant, name, values[name])
    participant.passport_key = passport_key(participant.passport_number)
    if "is_head" in result.changed and participant.is_head:
        # The partial unique index allows one head: take the mark from the previous one.
        query = Participant.update(is_head=False, updated_at=utcnow()).where(
            (Participant.organization == organization_id) & Participant.is_head
        )
        if participant.id is not None:
            query = query.where(Participant.id != participant.id)
        query.execute()
    participant.version += 1
    participant.updated_by = actor
    participant.updated_at = utcnow()
    participant.save()
    if photo is not None:
        from .photos import store  # noqa: PLC0415 - photos imports this module

        store(participant, photo)
    audit.record(
        "participant.create" if result.created else "participant.update",
        account=actor,
        obj=participant,
        fields=result.changed,
        photo=photo is not None,
        **({"entered_by_secretariat": True} if actor.is_secretariat else {}),
    )
    badge_changed = photo is not None or any(k in BADGE_FIELDS for k in result.changed)
    if badge_changed and lifecycle.refusal(participant, "resubmit", actor, event) is None:
        _apply(participant, "resubmit", actor)  # already counted against the quota
    if submit and participant.status != SUBMITTED:
        refusal = lifecycle.refusal(participant, "submit", actor, event)
        if refusal is None:
            _apply(participant, "submit", actor)
            result.submitted = True
        else:
            result.not_submitted_because = refusal.message
    return participant


# -- E-mails that actions queue ------------------------------------------------------------------


def notify_submission(participant, actor):
    """Queue for the coordinator a summary of the delegation after a submission (inside the
    submission's transaction)."""
    from . import mail  # noqa: PLC0415

    if not actor.email or actor.is_secretariat:
        # The summary lists the sender's delegation: the secretariat entering one has none.
        return
    everyone = list(participants_for(actor).order_by(Participant.family_name, Participant.id))
    mail.enqueue_to_account(
        actor,
        "submission_summary",
        submitted=[participant.id],
        participants=everyone,
        today=utcnow().date(),
    )


def _announce_decision(participant, actor):
    notifications.decision_made(participant)


#: What each action tells people (queued in its transaction).
_ANNOUNCE = {
    "submit": notify_submission,
    "accredit": _announce_decision,
    "reject": _announce_decision,
}


class Summary(dict):
    """The delegation's figures, each worked out when a page first asks for it: ``counts``
    (per status), ``total``, ``head``, and ``missing``. A page served from the fragment cache
    (portal/performance/cache.py) asks for none of them and runs none of their queries."""

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


def delegation_scope(organization_id):
    """What ``summary`` and ``participants_for`` take to mean one delegation's participants
    (the secretariat entering on an organization's behalf sees that delegation's figures)."""
    return _Coordinator(organization_id)


def _per_organization(build):
    """Return ``run(account, *values)``: ``build(scope, *values)`` with its SQL built once for
    coordinators (portal/performance/prepared.py), or built every time for other accounts."""
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


def _missing_columns():
    columns = [Participant.id, Participant.status, Participant.is_head, Participant.given_names]
    columns += [getattr(Participant, r.field) for r in lifecycle.REQUIREMENTS if r.field != "photo"]
    return [*dict.fromkeys(columns), Photo.id.alias("photo_id")]


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
    lambda scope: lifecycle.incomplete(scope).select(fn.COUNT(Participant.id)).tuples()
)
_missing_shown = _per_organization(
    lambda scope: (
        lifecycle.incomplete(scope)
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
    """Return [(participant, groups)] for the participants still missing something to submit,
    ``groups`` naming what ("photo", "passport", "other"); only the first ``MISSING_SHOWN`` are
    loaded, all are counted."""
    count = next(iter(_missing_count(account)))[0]
    shown = []
    for p in _missing_shown(account):
        groups = list(dict.fromkeys(r.group for r in lifecycle.missing(p)))
        shown.append((p, groups))
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
