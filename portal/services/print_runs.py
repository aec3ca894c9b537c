"""Print runs of badges for the secretariat: which participants a run prints, queued as a
document job (``portal.services.jobs``) and rendered by the documents worker through the badges
service, which marks each printed participant "badge printed" in the lifecycle.

Who is in a run is fixed when it is asked for (the ids are the job's parameters): a run taken
again after its worker stopped prints the same participants.
"""

import io

from flask_babel import lazy_gettext as _l

from ..models import ACCREDITED, BADGE_TO_PRINT, Participant
from . import DomainError
from .jobs import Nothing, Result, enqueue, kind

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
        query = query.where(Participant.badge_state == BADGE_TO_PRINT)
        if scope == SCOPE_ORGANIZATION:
            query = query.where(Participant.organization == organization_id)
    return [pid for (pid,) in query.order_by(Participant.id).limit(MAX_RUN + 1).tuples()]


def waiting_count():
    """How many accredited participants wait for their first badge."""
    return (
        Participant.select()
        .where((Participant.status == ACCREDITED) & (Participant.badge_state == BADGE_TO_PRINT))
        .count()
    )


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


#: Badges laid out and marked printed at once: the run's steps of progress.
STEP = 50


def _problem(problem):
    return {
        "participant": problem.participant_id,
        "name": problem.name,
        "reason": str(problem.message),
        "printed": bool(problem.printed),
    }


@kind("badges")
def render_run(job, parameters, progress):
    """Print the run's badges through the badges service, ``STEP`` at a time (each step marks
    its participants "badge printed" in its own short transaction), joined into one PDF.

    A run taken again after its worker stopped (``job.attempts`` > 1) reprints the badges that
    the stopped worker had marked printed: their PDF was lost with it, and a reprint revokes the
    codes it carried."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415

    from . import badges  # noqa: PLC0415

    ids = parameters.get("participants") or []
    reprint = bool(parameters.get("reprint")) or job.attempts > 1
    size = parameters.get("size", "cr80")
    language = parameters.get("language", "fr")
    writer = PdfWriter()
    problems = []
    printed = 0
    progress(0, len(ids))
    for start in range(0, len(ids), STEP):
        part = ids[start : start + STEP]
        data, done, found = badges.print_badges(
            part, job.requested_by, size, reprint=reprint, language=language
        )
        if data:
            writer.append(PdfReader(io.BytesIO(data)))
        printed += len(done)
        problems.extend(_problem(p) for p in found)
        progress(min(start + STEP, len(ids)), len(ids))
    if not printed:
        raise Nothing(problems)
    output = io.BytesIO()
    writer.write(output)
    return Result(output.getvalue(), "badges-%d.pdf" % job.id, problems=problems)
