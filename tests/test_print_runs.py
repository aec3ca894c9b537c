# ruff: noqa: F811 - pytest fixtures named as arguments
"""Print runs of badges, through the secretariat's pages: the request only queues; the documents
worker prints (one bad record reported, the rest printed), marks each printed participant
"badge printed", keeps the PDF; a reprint of chosen participants revokes the old codes."""

import io
import json

import pytest
from pypdf import PdfReader

from portal.db import database
from portal.models import (
    BADGE_PRINTED,
    BADGE_TO_PRINT,
    JOB_DONE,
    JOB_FAILED,
    JOB_QUEUED,
    DocumentJob,
    Participant,
    VerificationToken,
)
from portal.services import jobs

from .conftest import csrf_token
from .test_badges import summit  # noqa: F401 - the fixture, shared with the badges tests

HX = {"HX-Request": "true"}


@pytest.fixture
def registry(app, client, auth, summit):
    auth.login("registry", "Correct-horse-42")
    return client


def start_run(client, **fields):
    page = client.get("/secretariat/badges").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "scope": "unprinted", "size": "cr80", **fields}
    return client.post("/secretariat/badges", data=data)


def work(app):
    with app.test_request_context(), database.connection_context():
        return jobs.run_one()


def state(app, pid):
    with app.app_context(), database.connection_context():
        return Participant.get_by_id(pid).badge_state


def test_a_run_prints_the_waiting_badges_and_reports_the_bad_record(
    app,
    registry,
    summit,
):
    good = [summit["participant"](family_name=name) for name in ("Adams", "Baker")]
    no_photo = summit["participant"](family_name="Nophoto", with_photo=False)
    waiting = summit["participant"](family_name="Waiting", status="submitted")
    page = registry.get("/secretariat/badges").get_data(as_text=True)
    assert "3 accredited participants are waiting for a badge." in page

    response = start_run(registry)
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        job = DocumentJob.get()
        assert job.state == JOB_QUEUED  # the request rendered nothing
        ids = json.loads(job.parameters)["participants"]
    assert sorted(ids) == sorted([good[0].id, good[1].id, no_photo.id])
    assert state(app, good[0].id) == BADGE_TO_PRINT

    done = work(app)
    assert done.state == JOB_DONE, done.error
    assert (done.progress_done, done.progress_total) == (3, 3)
    for p in good:
        assert state(app, p.id) == BADGE_PRINTED
    assert state(app, no_photo.id) == BADGE_TO_PRINT
    assert state(app, waiting.id) == BADGE_TO_PRINT

    job_page = registry.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 participant not printed" in job_page
    assert "/secretariat/participants/%d" % no_photo.id in job_page
    pdf = registry.get(response.headers["Location"] + "/document.pdf")
    assert pdf.mimetype == "application/pdf"
    assert len(PdfReader(io.BytesIO(pdf.data)).pages) == 2

    # Nobody left but the bad record: the run fails visibly, saying why.
    again = start_run(registry)
    failed = work(app)
    assert failed.state == JOB_FAILED
    page = registry.get(again.headers["Location"]).get_data(as_text=True)
    assert "Nothing was printed" in page and "Nophoto" in page


def test_a_run_of_one_organization_leaves_the_others(
    app,
    registry,
    summit,
    make_participant,
):
    ours = summit["participant"](family_name="Ours")
    page = registry.get("/secretariat/organizations/%d" % summit["org"].id).get_data(as_text=True)
    assert "/secretariat/badges?organization=LAS" in page
    prefilled = registry.get("/secretariat/badges?organization=LAS").get_data(as_text=True)
    assert 'value="LAS"' in prefilled
    theirs = make_participant(summit["other"], status="accredited", family_name="Theirs")
    page = registry.get("/secretariat/badges").get_data(as_text=True)
    response = registry.post(
        "/secretariat/badges",
        data={
            "csrf_token": csrf_token(page),
            "scope": "organization",
            "organization": "las",  # the code, in any case
            "size": "a6",
        },
    )
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        parameters = json.loads(DocumentJob.get().parameters)
    assert parameters["participants"] == [ours.id] and parameters["size"] == "a6"
    work(app)
    assert state(app, ours.id) == BADGE_PRINTED
    assert state(app, theirs.id) == BADGE_TO_PRINT


def test_reprinting_chosen_participants_revokes_their_old_codes(
    app,
    registry,
    summit,
):
    p = summit["participant"]()
    start_run(registry)
    work(app)
    with app.app_context(), database.connection_context():
        first = VerificationToken.get(VerificationToken.participant == p.id)
        assert first.revoked_at is None
    response = start_run(registry, scope="chosen", participants="%06d" % p.id)
    assert response.status_code == 303
    assert work(app).state == JOB_DONE
    with app.app_context(), database.connection_context():
        tokens = list(
            VerificationToken.select()
            .where(VerificationToken.participant == p.id)
            .order_by(VerificationToken.id)
        )
        assert [t.revoked_at is None for t in tokens] == [False, True]
        assert Participant.get_by_id(p.id).badge_issue == 2


def test_invalid_choices_are_refused_with_their_reason(app, registry, summit):
    response = start_run(registry, scope="chosen", participants="12, abc")
    assert response.status_code == 422
    assert "Give the numbers of the participants" in response.get_data(as_text=True)
    response = start_run(registry, scope="organization", organization="NOPE")
    assert response.status_code == 422
    assert "No organization has this code." in response.get_data(as_text=True)
    response = start_run(registry)  # nobody accredited yet
    assert response.status_code == 422
    assert "No accredited participant is waiting" in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert not DocumentJob.select().exists()


def test_print_runs_are_the_secretariats_only(app, client, auth, summit):
    auth.login("coord", "Correct-horse-42")
    assert client.get("/secretariat/badges").status_code == 404
    assert client.post("/secretariat/badges", data={}).status_code in (400, 404)
