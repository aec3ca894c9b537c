"""The list of participants: accredited only, by organization, head of delegation first, names
in both scripts; a delegation's page and PDF for its coordinators (another organization's: 404),
any for the secretariat; the summit's page a few rows at a time, its PDF made by the documents
worker in chunks."""

import io
import re
import shutil
import subprocess

import pytest

from portal.db import database
from portal.models import JOB_DONE, ROLE_SECRETARIAT, DocumentFile
from portal.services import jobs

from .conftest import csrf_token

BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")
needs_poppler = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils' pdftotext is needed (make test)"
)


def pdf_text(data):
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return BIDI.sub("", result.stdout.decode("utf-8"))


@pytest.fixture
def delegation(world, make_participant):
    org = world["org"]
    people = {
        "adams": make_participant(
            org, family_name="Adams", given_names="Ann", status="accredited", function="Adviser"
        ),
        "head": make_participant(
            org,
            family_name="Zayed",
            given_names="Omar",
            family_name_original="زايد",
            given_names_original="عمر",
            function="Director",
            is_head=True,
            status="accredited",
        ),
        "draft": make_participant(org, family_name="Brown", status="draft"),
        "submitted": make_participant(org, family_name="Clark", status="submitted"),
    }
    make_participant(world["other"], family_name="Elsewhere", status="accredited")
    return people


def rows_of(page):
    return re.findall(r"<tr(?: class=\"head\")?><td><bdi>(?:[^<]* )?([A-Z]+),", page)


def test_a_coordinator_sees_the_delegations_accredited_head_first(client, auth, delegation):
    auth.login("coord", "Correct-horse-42")
    page = client.get("/delegation/list").get_data(as_text=True)
    assert rows_of(page) == ["ZAYED", "ADAMS"]  # the head first, then by name
    assert "عمر زايد" in page and "Director" in page
    for absent in ("BROWN", "CLARK", "ELSEWHERE"):
        assert absent not in page
    assert 'href="/delegation/list.pdf?lang=ar"' in page


def test_a_coordinator_reaches_no_other_organizations_list(client, auth, world, delegation):
    auth.login("coord", "Correct-horse-42")
    other = world["other"].id
    for url in ("/secretariat/organizations/%d/list", "/secretariat/organizations/%d/list.pdf"):
        assert client.get(url % other).status_code == 404
    assert client.get("/secretariat/list").status_code == 404


def test_the_list_service_refuses_another_organization(app, world):
    from portal.services import NotFound, lists

    with app.app_context(), database.connection_context():
        with pytest.raises(NotFound):
            lists.organization_for(world["first"], world["other"].id)
        assert lists.organization_for(world["first"], world["org"].id).id == world["org"].id


@needs_poppler
def test_the_delegations_pdf_in_arabic(client, auth, delegation):
    auth.login("coord", "Correct-horse-42")
    response = client.get("/delegation/list.pdf?lang=ar")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    assert "قائمة المشاركين" in text
    assert text.index("ZAYED") < text.index("ADAMS")
    assert "عمر زايد" in text
    assert "BROWN" not in text


@pytest.fixture
def secretariat(client, auth, make_account):
    make_account("sec", role=ROLE_SECRETARIAT)
    auth.login("sec", "Correct-horse-42")
    return client


def test_the_summit_list_page_by_organization_a_page_at_a_time(
    app, secretariat, delegation, world, make_participant, monkeypatch
):
    from portal.services import lists

    page = secretariat.get("/secretariat/list").get_data(as_text=True)
    # By the organization's name in the page's language (Organization ITU, Organization WHO).
    assert rows_of(page) == ["ZAYED", "ADAMS", "ELSEWHERE"]
    assert "3 participants" in page
    monkeypatch.setattr(lists, "PAGE_SIZE", 1)
    pages = [secretariat.get("/secretariat/list").get_data(as_text=True)]
    for number in (2, 3):
        answer = secretariat.get("/secretariat/list?page=%d" % number, headers={"HX-Request": "1"})
        pages.append(answer.get_data(as_text=True))
        assert pages[-1].lstrip().startswith('<div id="rows">')  # the fragment HTMX swaps
    assert [rows_of(p) for p in pages] == [["ZAYED"], ["ADAMS"], ["ELSEWHERE"]]
    # A delegation going on from the previous page says so; a new one does not.
    assert "(continued)" in pages[1] and "(continued)" not in pages[2]
    assert 'href="/secretariat/list?page=2"' in pages[0]
    org_page = secretariat.get("/secretariat/organizations/%d/list" % world["org"].id)
    assert rows_of(org_page.get_data(as_text=True)) == ["ZAYED", "ADAMS"]


@needs_poppler
def test_the_summit_pdf_is_made_by_the_worker_in_chunks(app, secretariat, delegation, world):
    from pypdf import PdfReader

    app.config["DOCUMENTS_LIST_CHUNK"] = 2  # three participants: two chunks
    page = secretariat.get("/secretariat/list").get_data(as_text=True)
    response = secretariat.post(
        "/secretariat/list", data={"csrf_token": csrf_token(page), "language": "fr"}
    )
    job_url = response.headers["Location"]
    with app.test_request_context(), database.connection_context():
        job = jobs.run_one()
        assert job.state == JOB_DONE, job.error
        assert (job.progress_done, job.progress_total) == (3, 3)
        stored = DocumentFile.get(DocumentFile.job == job.id)
    pdf = secretariat.get(job_url + "/document.pdf")
    assert pdf.data == bytes(stored.data)
    reader = PdfReader(io.BytesIO(pdf.data))
    assert len(reader.pages) == 2  # one page per chunk here, joined
    text = pdf_text(pdf.data)
    assert text.index("ZAYED") < text.index("ADAMS") < text.index("ELSEWHERE")
    assert "Liste des participants" in text
    # Pages numbered across the chunks.
    numbers = [p.extract_text().strip().splitlines()[-1] for p in reader.pages]
    assert numbers == ["1 / 2", "2 / 2"]
