"""Print runs of badges for the secretariat: which participants a run prints, queued as a
document job (``portal.services.jobs``) and rendered by the documents worker through the badges
service, which marks each printed participant "badge printed" in the lifecycle.

Who is in a run is fixed when it is asked for (the ids are the job's parameters): a run taken
again after its worker stopped prints the same participants.
"""

from flask_babel import lazy_gettext as _l

from ..models import ACCREDITED, Participant
from . import DomainError
from .jobs import Result, enqueue, kind

SCOPE_UNPRINTED = "unprinted"
SCOPE_ORGANIZATION = "organization"
SCOPE_CHOSEN = "chosen"
SIZES = ("cr80", "a6")
#: The most participants one run prints (a box of cards, a long afternoon at the printer).
MAX_RUN = 5000


def to_print(scope, organization_id=None, ids=()):
    """Return the ids of the participants a run of ``scope`` prints, in badge-number order:
    every accredited participant whose badge is not printed yet (of one organization, for
    ``SCOPE_ORGANIZATION``), or the accredited ones among ``ids`` (``SCOPE_CHOSEN``: a reprint
    as well)."""
    query = Participant.select(Participant.id).where(Participant.status == ACCREDITED)
    if scope == SCOPE_CHOSEN:
        query = query.where(Participant.id.in_(sorted(set(ids))))
    else:
        query = query.where(Participant.badge_state == "to_print")
        if scope == SCOPE_ORGANIZATION:
            query = query.where(Participant.organization == organization_id)
    return [pid for (pid,) in query.order_by(Participant.id).limit(MAX_RUN + 1).tuples()]


def queue(actor, scope, size, language, organization_id=None, ids=()):
    """Queue a print run; return the job. DomainError when nobody is to print."""
    chosen = to_print(scope, organization_id, ids)
    if not chosen:
        raise DomainError(_l("No accredited participant is waiting for a badge in this choice."))
    if len(chosen) > MAX_RUN:
        raise DomainError(
            _l("A run prints at most %(count)s badges: choose one organization.", count=MAX_RUN)
        )
    parameters = {
        "participants": chosen,
        "size": size if size in SIZES else "cr80",
        "language": language,
        "scope": scope,
        "reprint": scope == SCOPE_CHOSEN,
    }
    return enqueue("badges", parameters, actor, total=len(chosen))


@kind("badges")
def render_run(job, parameters, progress):
    """Render the run's badges through the badges service; the participants are marked printed
    in the transaction that keeps the PDF."""
    from . import badges  # noqa: PLC0415

    ids = parameters.get("participants") or []
    progress(0, len(ids))
    actor = job.requested_by
    data, printed, problems = badges.print_badges(ids, actor, parameters.get("size", "cr80"))
    progress(len(ids), len(ids))
    return Result(data, "badges-%d.pdf" % job.id, problems=problems)
