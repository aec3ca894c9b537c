"""The secretariat's decisions: accredit or reject one participant, or many at once, through
the lifecycle (``participants.take``); the coordinators' e-mails are queued with them."""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from ..models import REJECTION_REASONS
from . import DomainError
from .participants import take

ACCREDIT = "accredit"
REJECT = "reject"


def decide(participant_id, actor, decision, code="", text="", version=None):
    """Accredit or reject one participant, in one transaction.

    ``version`` is the version the reviewer saw: if the participant changed meanwhile (decided
    by someone else, edited, withdrawn) nothing is written and ChangedMeanwhile says so.
    """
    if decision not in (ACCREDIT, REJECT):
        raise DomainError(_l("Choose a decision."))
    try:
        version = int(version) if version is not None else None
    except (TypeError, ValueError):
        raise DomainError(_l("Choose a decision.")) from None
    code = code if code in REJECTION_REASONS else ""
    outcome = take(decision, participant_id, actor, version=version, code=code, text=text or "")
    return outcome.participant


@dataclass
class BulkResult:
    done: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (participant_id, message)


def decide_many(items, actor, decision, code="", text=""):
    """Decide each ``(participant_id, version)`` in turn, each in its own transaction.

    One participant changed meanwhile does not stop the others; the result says which failed.
    """
    result = BulkResult()
    for participant_id, version in items:
        try:
            result.done.append(decide(participant_id, actor, decision, code, text, version))
        except DomainError as error:
            result.failed.append((participant_id, error.message))
    return result
