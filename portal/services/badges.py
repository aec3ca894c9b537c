"""Printing badges through the lifecycle: ``print_badges`` lays the badges out, then in one
short transaction takes "print_badge" (or "reprint_badge") for each participant whose record
did not change meanwhile, and returns the PDF of the badges it marked printed.

The layout (the long part: about 20 ms a badge) runs before the transaction, so that a print
run of 500 badges does not hold the delegations' locks (SQLite's single write lock) for
seconds: the tokens printed in the QR codes are made first, and stored (hashed) by the
transaction. A participant whose record changed between the two (a name corrected, withdrawn,
printed by someone else) is left out of the PDF and reported: printing again picks it up.
"""

from flask_babel import lazy_gettext as _l

from .. import lifecycle
from ..db import database
from ..documents import badges as documents
from ..models import BADGE_PRINTED, Participant
from . import DomainError, verification
from .participants import _apply, lock_organization

CHANGED = _l("The participant changed while the badges were prepared: print this badge again.")

#: What must not have moved between the layout and the transaction.
_SNAPSHOT = ("status", "version", "badge_state", "badge_issue", "organization_id")


def _snapshot(participant):
    return tuple(getattr(participant, name) for name in _SNAPSHOT)


def print_badges(participant_ids, actor, size="cr80", *, reprint=False, language="fr"):
    """Print the badges of ``participant_ids`` (accredited, with a photo; an already printed
    badge only with ``reprint``, which revokes the badge it replaces): return
    ``(pdf_bytes, printed_ids, problems)``. ``problems`` are ``documents.Problem`` rows: the
    participants left out and why, and those printed with something left off."""
    ids = sorted({int(i) for i in participant_ids})
    people = list(
        Participant.select()
        .where(Participant.id.in_(ids))
        .order_by(
            Participant.organization,
            Participant.is_head.desc(),
            Participant.family_name,
            Participant.given_names,
            Participant.id,
        )
    )
    problems = []
    candidates = []
    for participant in people:
        if participant.badge_state == BADGE_PRINTED and not reprint:
            message = lifecycle.refusal(participant, "print_badge", actor).message
            problems.append(_problem(participant, message))
        else:
            candidates.append(participant)
    snapshots = {p.id: _snapshot(p) for p in candidates}
    tokens = {p.id: verification.new_token() for p in candidates}
    for participant in candidates:
        # The number the badge will carry once printed.
        participant.badge_issue += 1
    laid_out = documents.layout(
        candidates,
        size,
        {pid: verification.verification_url(raw) for pid, raw in tokens.items()},
        language,
    )
    problems.extend(laid_out.problems)
    on_pages = [p.id for p, _page in laid_out.pages]
    printed = []
    with database.atomic():
        organizations = sorted({snapshots_org(snapshots[pid]) for pid in on_pages})
        for organization_id in organizations:
            lock_organization(organization_id)
        current = {p.id: p for p in Participant.select().where(Participant.id.in_(on_pages))}
        for pid in on_pages:
            participant = current.get(pid)
            if participant is None or _snapshot(participant) != snapshots[pid]:
                problems.append(documents.Problem(pid, _name(participant, pid), CHANGED))
                continue
            action = documents.badge_action(participant)
            refusal = lifecycle.refusal(participant, action, actor)
            if refusal is not None:
                problems.append(_problem(participant, refusal.message))
                continue
            _apply(participant, action, actor, badge_token=tokens[pid])
            printed.append(pid)
    return laid_out.write(set(printed)), printed, problems


def snapshots_org(snapshot):
    return snapshot[_SNAPSHOT.index("organization_id")]


def _name(participant, pid):
    if participant is None:
        return "no. %d" % pid
    return participant.full_name or participant.family_name


def _problem(participant, message):
    return documents.Problem(participant.id, _name(participant, participant.id), message)


def print_one(participant, actor, size="cr80", *, reprint=False, language="fr"):
    """Print one participant's badge on demand: the PDF's bytes, or DomainError saying why
    there is none."""
    pdf, printed, problems = print_badges(
        [participant.id], actor, size, reprint=reprint, language=language
    )
    if not printed:
        reason = next((p.message for p in problems if not p.printed), None)
        raise DomainError(reason or _l("No badge was printed."))
    return pdf


def preview(participant, size="cr80", language="fr"):
    """A specimen of the participant's badge (no QR code, nothing marked): the PDF's bytes, or
    DomainError saying why there is none."""
    pdf, problems = documents.render_badges([participant], size, None, language)
    if not pdf:
        reason = next((p.message for p in problems if not p.printed), None)
        raise DomainError(reason or _l("No badge was printed."))
    return pdf
