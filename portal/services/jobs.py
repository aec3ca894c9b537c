"""Document jobs: long PDFs (a print run of badges, the summit's list of participants) rendered
by a worker process, never inside a web request.

A page only queues a ``DocumentJob`` row (``enqueue``) and shows its progress. The worker,
``flask --app portal documents work [--watch]`` (beside the mail sender: ``make run``, the
Procfile), claims one job at a time in a short transaction (``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite: two workers never take the same job) with a lease,
renews the lease at each step of progress, and stores the PDF and the outcome in the database
(any host serves it). A job left "running" past its lease (its worker was killed) is taken
again from the start, and failed, visibly, once it was started ``DOCUMENTS_MAX_ATTEMPTS``
times. A kind's handler may return ``on_done``: what to write in the same transaction as the
PDF (participants marked "badge printed" only if their badges are kept).
"""

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from ..db import database, is_sqlite
from ..models import (
    JOB_DONE,
    JOB_FAILED,
    JOB_QUEUED,
    JOB_RUNNING,
    DocumentFile,
    DocumentJob,
    utcnow,
)
from . import NotFound, audit

log = logging.getLogger(__name__)

ERROR_LENGTH = 1000
#: ``DocumentJob.error`` of a job whose worker stopped too many times.
STOPPED = "stopped"

#: kind -> its handler and its name on the screens.
KINDS = {}

STATE_LABELS = {
    # Translators: state of a document being made in the background.
    JOB_QUEUED: _l("Waiting for the worker"),
    # Translators: state of a document being made in the background.
    JOB_RUNNING: _l("Being made"),
    # Translators: state of a document being made in the background.
    JOB_DONE: _l("Ready"),
    # Translators: state of a document being made in the background.
    JOB_FAILED: _l("Failed"),
}

KIND_LABELS = {
    # Translators: a kind of document rendered in the background.
    "badges": _l("Print run of badges"),
    # Translators: a kind of document rendered in the background.
    "summit_list": _l("List of participants of the summit"),
}


def kind(name):
    """Declare the handler of jobs of kind ``name``: ``handler(job, parameters, progress)``
    returns a ``Result``; ``progress(done, total)`` records the progress and renews the lease."""

    def register(handler):
        KINDS[name] = handler
        return handler

    return register


@dataclass
class Result:
    data: bytes
    filename: str
    #: What could not be rendered: [{"participant": id, "name": str, "reason": str}].
    problems: list = field(default_factory=list)
    #: Called inside the transaction that stores the PDF.
    on_done: object = None


class Nothing(Exception):  # noqa: N818 - what the job made
    """Nothing could be made (every record had a problem): the job fails with its problems."""

    def __init__(self, problems):
        super().__init__("nothing to print")
        self.problems = problems


#: ``DocumentJob.error`` of a job that made nothing.
NOTHING = "nothing"


class LeaseLost(Exception):
    """The job was taken by another worker (this one outlasted its lease)."""


def _lease():
    return dt.timedelta(seconds=int(current_app.config["DOCUMENTS_LEASE_SECONDS"]))


# -- Queueing (pages) ---------------------------------------------------------------------------


def enqueue(kind_name, parameters, actor, total=0):
    """Queue a job of ``kind_name`` with ``parameters`` (JSON-able) for ``actor``; return it."""
    if kind_name not in KIND_LABELS:
        raise ValueError("unknown document kind %r" % kind_name)
    with database.atomic():
        job = DocumentJob.create(
            kind=kind_name,
            parameters=json.dumps(parameters, sort_keys=True),
            progress_total=total,
            requested_by=actor,
            created_at=utcnow(),
        )
        audit.record("document.queue", account=actor, kind=kind_name, job=job.id, total=total)
    return job


def get_job(job_id, kinds=None):
    """Return job ``job_id`` (without its PDF), or raise NotFound."""
    query = DocumentJob.select().where(DocumentJob.id == job_id)
    if kinds is not None:
        query = query.where(DocumentJob.kind.in_(list(kinds)))
    job = query.first()
    if job is None:
        raise NotFound()
    return job


def recent_jobs(kinds, limit=10):
    return list(
        DocumentJob.select()
        .where(DocumentJob.kind.in_(list(kinds)))
        .order_by(DocumentJob.created_at.desc(), DocumentJob.id.desc())
        .limit(limit)
    )


def file_of(job):
    """Return the job's ``DocumentFile`` (when done), or raise NotFound."""
    if job.state != JOB_DONE:
        raise NotFound()
    stored = DocumentFile.get_or_none(DocumentFile.job == job.id)
    if stored is None:
        raise NotFound()
    return stored


def problems_of(job):
    try:
        return json.loads(job.problems or "[]")
    except ValueError:
        return []


# -- Working (the worker process) -----------------------------------------------------------------


def _claim(now):
    """Take the oldest job waiting, or one whose worker's lease ran out, in one short
    transaction; return it (state running, a new lease) or None. A job started too many times
    already is failed instead."""
    max_attempts = int(current_app.config["DOCUMENTS_MAX_ATTEMPTS"])
    waiting = DocumentJob.state == JOB_QUEUED
    abandoned = (DocumentJob.state == JOB_RUNNING) & (DocumentJob.lease_until <= now)
    while True:
        query = (
            DocumentJob.select()
            .where(waiting | abandoned)
            .order_by(DocumentJob.created_at, DocumentJob.id)
            .limit(1)
        )
        if not is_sqlite():
            query = query.for_update(skip_locked=True)
        with database.atomic():
            job = query.first()
            if job is None:
                return None
            if job.state == JOB_RUNNING and job.attempts >= max_attempts:
                DocumentJob.update(
                    state=JOB_FAILED, error=STOPPED, finished_at=now, lease_token=""
                ).where(DocumentJob.id == job.id).execute()
                log.warning(
                    "document job %d failed: its worker stopped %d times", job.id, job.attempts
                )
                continue
            token = secrets.token_hex(16)
            values = {
                "state": JOB_RUNNING,
                "attempts": job.attempts + 1,
                "lease_token": token,
                "lease_until": now + _lease(),
                "started_at": now,
                "progress_done": 0,
            }
            DocumentJob.update(**values).where(DocumentJob.id == job.id).execute()
            for name, value in values.items():
                setattr(job, name, value)
            return job


def _still_ours(job):
    return (DocumentJob.id == job.id) & (DocumentJob.lease_token == job.lease_token)


def _progress(job):
    def progress(done, total):
        now = utcnow()
        with database.atomic():
            changed = (
                DocumentJob.update(
                    progress_done=done, progress_total=total, lease_until=now + _lease()
                )
                .where(_still_ours(job) & (DocumentJob.state == JOB_RUNNING))
                .execute()
            )
        if not changed:
            raise LeaseLost()
        job.progress_done, job.progress_total = done, total

    return progress


def _finish(job, result):
    now = utcnow()
    with database.atomic():
        changed = (
            DocumentJob.update(
                state=JOB_DONE,
                progress_done=job.progress_total or job.progress_done,
                problems=json.dumps(result.problems, ensure_ascii=False),
                finished_at=now,
                lease_token="",
                lease_until=None,
            )
            .where(_still_ours(job) & (DocumentJob.state == JOB_RUNNING))
            .execute()
        )
        if not changed:
            raise LeaseLost()
        DocumentFile.delete().where(DocumentFile.job == job.id).execute()
        DocumentFile.create(
            job=job.id, filename=result.filename, size=len(result.data), data=result.data
        )
        if result.on_done is not None:
            result.on_done()
        audit.record(
            "document.done",
            actor="documents worker",
            kind=job.kind,
            job=job.id,
            problems=len(result.problems),
        )


def _fail(job, error, problems=None):
    values = {"state": JOB_FAILED, "error": error[:ERROR_LENGTH], "finished_at": utcnow()}
    if problems is not None:
        values["problems"] = json.dumps(problems, ensure_ascii=False)
    with database.atomic():
        DocumentJob.update(lease_token="", **values).where(_still_ours(job)).execute()


def run_one():
    """Claim one job and render it; return the job (its outcome recorded), or None when no job
    is waiting."""
    job = _claim(utcnow())
    if job is None:
        return None
    _load_kinds()
    handler = KINDS.get(job.kind)
    parameters = json.loads(job.parameters or "{}")
    log.info("document job %d (%s): started, try %d", job.id, job.kind, job.attempts)
    try:
        if handler is None:
            raise RuntimeError("no handler for documents of kind %r" % job.kind)
        with force_locale(parameters.get("language") or "fr"):
            result = handler(job, parameters, _progress(job))
            _finish(job, result)
    except LeaseLost:
        log.warning("document job %d: taken by another worker meanwhile", job.id)
        return job
    except Nothing as exc:
        log.warning("document job %d: nothing made", job.id)
        _fail(job, NOTHING, exc.problems)
    except Exception as exc:  # noqa: BLE001 - one bad job must not end the worker
        log.exception("document job %d failed", job.id)
        _fail(job, "%s: %s" % (type(exc).__name__, exc))
    else:
        log.info("document job %d: done", job.id)
    return DocumentJob.get_by_id(job.id)


def _load_kinds():
    """Import the modules that declare the kinds of jobs (they import this one)."""
    from . import lists, print_runs  # noqa: F401, PLC0415

    return KINDS


def work(stop=None):
    """Run jobs until none is waiting (or ``stop``, an Event, is set); return how many ran."""
    number = 0
    while stop is None or not stop.is_set():
        if run_one() is None:
            break
        number += 1
    return number


# -- What the screens say -----------------------------------------------------------------------


def failure_text(job):
    """Why a failed job failed, in the page's language."""
    if job.error == NOTHING:
        return _l("Nothing was printed: each participant of the run has a problem, listed below.")
    if job.error == STOPPED:
        return _l(
            "Its worker stopped %(count)s times before finishing (the process was ended or the "
            "host restarted). Start it again; if it fails again, tell the portal's operators.",
            count=job.attempts,
        )
    return _l(
        "The rendering failed: %(detail)s. Tell the portal's operators.", detail=job.error or "?"
    )
