"""Document jobs: a page queues, the worker (``flask --app portal documents work``) claims,
renders, stores the PDF in the database; a job whose worker was killed is taken again after its
lease, or failed visibly; the job's page shows progress (HTMX polling, a reload without
JavaScript), the problems and the PDF."""

import json

import pytest

from portal.db import database
from portal.models import (
    JOB_DONE,
    JOB_FAILED,
    JOB_QUEUED,
    JOB_RUNNING,
    ROLE_SECRETARIAT,
    DocumentFile,
    DocumentJob,
)
from portal.services import jobs

from .conftest import csrf_token

HX = {"HX-Request": "true"}


@pytest.fixture
def fake_kind(monkeypatch):
    """A kind of job that renders a tiny "PDF" in three steps and reports one problem."""
    calls = []

    def handler(job, parameters, progress):
        calls.append(job.id)
        for step in range(1, 4):
            progress(step, 3)
        return jobs.Result(
            b"%PDF-1.7 fake " + parameters["word"].encode(),
            "fake-%d.pdf" % job.id,
            problems=[{"participant": 7, "name": "Jane DOE", "reason": "no photo"}],
        )

    monkeypatch.setitem(jobs.KINDS, "fake", handler)
    monkeypatch.setitem(jobs.KIND_LABELS, "fake", "Fake document")
    monkeypatch.setattr(jobs, "_load_kinds", lambda: jobs.KINDS)
    return calls


@pytest.fixture
def secretariat(app, client, auth, make_account):
    make_account("sec", role=ROLE_SECRETARIAT)
    auth.login("sec", "Correct-horse-42")
    return client


def queue(app, word="hello"):
    with app.test_request_context(), database.connection_context():
        return jobs.enqueue("fake", {"word": word, "language": "en"}, None, total=3)


def run_one(app):
    with app.test_request_context(), database.connection_context():
        return jobs.run_one()


def fresh(app, job_id):
    with app.app_context(), database.connection_context():
        return DocumentJob.get_by_id(job_id)


def test_the_worker_claims_a_job_and_keeps_its_pdf_in_the_database(app, fake_kind):
    job = queue(app)
    assert fresh(app, job.id).state == JOB_QUEUED
    done = run_one(app)
    assert done.id == job.id and done.state == JOB_DONE
    assert (done.progress_done, done.progress_total, done.attempts) == (3, 3, 1)
    assert done.started_at is not None and done.finished_at is not None
    assert json.loads(done.problems)[0]["reason"] == "no photo"
    with app.app_context(), database.connection_context():
        stored = DocumentFile.get(DocumentFile.job == job.id)
        assert bytes(stored.data) == b"%PDF-1.7 fake hello"
    assert run_one(app) is None  # nothing left
    assert fake_kind == [job.id]


def test_two_workers_never_take_the_same_job(app, fake_kind):
    job = queue(app)
    with app.test_request_context(), database.connection_context():
        first = jobs._claim(jobs.utcnow())
        second = jobs._claim(jobs.utcnow())
    assert first.id == job.id
    assert second is None


def test_a_killed_workers_job_is_taken_again_after_its_lease(app, fake_kind, clock):
    job = queue(app)
    with app.test_request_context(), database.connection_context():
        jobs._claim(jobs.utcnow())  # a worker takes it, then is killed
    assert fresh(app, job.id).state == JOB_RUNNING
    assert run_one(app) is None  # its lease still runs: nobody else takes it
    clock.shift(app.config["DOCUMENTS_LEASE_SECONDS"] + 1)
    done = run_one(app)
    assert done.id == job.id and done.state == JOB_DONE and done.attempts == 2


def test_a_job_whose_worker_keeps_dying_fails_visibly(app, fake_kind, clock, secretariat):
    app.config["DOCUMENTS_MAX_ATTEMPTS"] = 2
    job = queue(app)
    for _ in range(2):
        with app.test_request_context(), database.connection_context():
            assert jobs._claim(jobs.utcnow()).id == job.id
        clock.shift(app.config["DOCUMENTS_LEASE_SECONDS"] + 1)
    assert run_one(app) is None
    failed = fresh(app, job.id)
    assert failed.state == JOB_FAILED and failed.error == jobs.STOPPED
    page = secretariat.get("/secretariat/documents/%d" % job.id).get_data(as_text=True)
    assert "Its worker stopped 2 times" in page
    assert "every 2s" not in page and 'http-equiv="refresh"' not in page
    assert secretariat.get("/secretariat/documents/%d/document.pdf" % job.id).status_code == 404


def test_a_worker_past_its_lease_does_not_overwrite_the_new_one(app, fake_kind, clock):
    job = queue(app)
    with app.test_request_context(), database.connection_context():
        old = jobs._claim(jobs.utcnow())
    clock.shift(app.config["DOCUMENTS_LEASE_SECONDS"] + 1)
    assert run_one(app).state == JOB_DONE
    with app.test_request_context(), database.connection_context():
        with pytest.raises(jobs.LeaseLost):
            jobs._progress(old)(1, 3)
        with pytest.raises(jobs.LeaseLost):
            jobs._finish(old, jobs.Result(b"late", "late.pdf"))
        assert bytes(DocumentFile.get(DocumentFile.job == job.id).data).endswith(b"hello")


def test_a_failing_render_fails_the_job_and_the_worker_goes_on(app, fake_kind, monkeypatch):
    def broken(job, parameters, progress):
        raise ValueError("bad record")

    bad = queue(app, "bad")
    good = queue(app, "good")
    with app.app_context(), database.connection_context():
        DocumentJob.update(kind="broken").where(DocumentJob.id == bad.id).execute()
    monkeypatch.setitem(jobs.KINDS, "broken", broken)
    monkeypatch.setitem(jobs.KIND_LABELS, "broken", "Broken")
    with app.test_request_context(), database.connection_context():
        assert jobs.work() == 2
    assert fresh(app, bad.id).state == JOB_FAILED
    assert "bad record" in fresh(app, bad.id).error
    assert fresh(app, good.id).state == JOB_DONE


def test_the_command_runs_the_queued_jobs(app, runner, fake_kind):
    job = queue(app)
    result = runner.invoke(args=["documents", "work"])
    assert result.exit_code == 0, result.output
    assert "1 jobs run" in result.output
    assert fresh(app, job.id).state == JOB_DONE


def test_the_job_page_polls_while_running_and_offers_the_pdf_when_done(app, fake_kind, secretariat):
    job = queue(app)
    url = "/secretariat/documents/%d" % job.id
    page = secretariat.get(url).get_data(as_text=True)
    assert "Waiting for the worker" in page
    assert 'hx-trigger="every 2s"' in page
    # Without JavaScript: the page reloads itself, and says how to.
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in page
    assert 'href="%s">Refresh</a>' % url in page
    fragment = secretariat.get(url, headers=HX)
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="job"')
    assert len(fragment.data) < 3000
    run_one(app)
    page = secretariat.get(url).get_data(as_text=True)
    assert "every 2s" not in page and "refresh" not in page.lower().split("<main")[0]
    assert "Ready" in page and "Download the PDF" in page
    assert "1 participant not printed" in page and "no photo" in page
    # The fragment HTMX polls last: no trigger left, so the polling stops.
    assert "every 2s" not in secretariat.get(url, headers=HX).get_data(as_text=True)
    pdf = secretariat.get(url + "/document.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == b"%PDF-1.7 fake hello"
    assert "fake-%d.pdf" % job.id in pdf.headers["Content-Disposition"]


def test_job_pages_are_the_secretariats_only(app, fake_kind, client, auth, world):
    job = queue(app)
    auth.login("coord", "Correct-horse-42")
    assert client.get("/secretariat/documents/%d" % job.id).status_code == 404
    assert client.get("/secretariat/documents/%d/document.pdf" % job.id).status_code == 404


def test_a_request_only_queues(app, secretariat, make_event, make_org, make_participant):
    """Asking for the summit's list renders nothing in the request: a job waits."""
    make_event()
    org = make_org("ITU")
    make_participant(org, status="accredited")
    page = secretariat.get("/secretariat/list").get_data(as_text=True)
    response = secretariat.post(
        "/secretariat/list", data={"csrf_token": csrf_token(page), "language": "ar"}
    )
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        job = DocumentJob.get()
        assert (job.kind, job.state, job.progress_total) == ("summit_list", JOB_QUEUED, 1)
        assert json.loads(job.parameters) == {"language": "ar"}
        assert not DocumentFile.select().exists()
    assert response.headers["Location"].endswith("/secretariat/documents/%d" % job.id)
