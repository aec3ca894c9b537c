"""A participant's life, in one place: which delegation an account may see, and the state
machine draft -> submitted -> accredited / rejected, withdrawn, that both the coordinators'
and the secretariat's screens call.
"""

from flask import abort
from flask_babel import lazy_gettext as _l

from ..db import database, is_sqlite
from ..models import (
    ACCREDITED,
    DRAFT,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    Organization,
    Participant,
    utcnow,
)
from . import DomainError, audit

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
    """Serialize writes to one delegation for the rest of the transaction.

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


def submit(participant, actor, event):
    """Submit a complete participant for accreditation (coordinator)."""
    from .registration import missing_for_submission  # noqa: PLC0415 - avoid a cycle

    if not event.is_open:
        raise DomainError(_l("Registration is not open: participants cannot be submitted now."))
    missing = missing_for_submission(participant)
    if missing:
        raise DomainError(
            _l(
                "This participant is not complete: %(missing)s.",
                missing=", ".join(str(m) for m in missing),
            )
        )
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        if participant.status not in COUNTED:
            check_quota(participant.organization_id)
        return _move(participant, SUBMITTED, actor, COORDINATOR_MOVES, "participant.submit")


def withdraw(participant, actor):
    """Withdraw a participant: the record and its history stay (coordinator)."""
    with database.atomic():
        participant = Participant.get_by_id(participant.id)
        participant.is_head = False
        return _move(participant, WITHDRAWN, actor, COORDINATOR_MOVES, "participant.withdraw")


def delete_draft(participant, actor):
    """Delete a participant that is still a draft (coordinator)."""
    with database.atomic():
        participant = Participant.get_by_id(participant.id)
        if participant.status != DRAFT:
            raise DomainError(_l("Only drafts can be deleted; withdraw this participant instead."))
        audit.record("participant.delete", account=actor, obj=participant)
        participant.delete_instance(recursive=True)


def accredit(participant, actor):
    """Accredit a submitted participant (secretariat)."""
    with database.atomic():
        participant = Participant.get_by_id(participant.id)
        return _move(participant, ACCREDITED, actor, SECRETARIAT_MOVES, "participant.accredit")


def reject(participant, actor, code="", text=""):
    """Reject a submitted participant with a standard reason code or free text (secretariat)."""
    if not (code or text.strip()):
        raise DomainError(_l("Give a reason for the rejection."), field="reason")
    with database.atomic():
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
