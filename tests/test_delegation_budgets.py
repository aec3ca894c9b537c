"""A delegation of 300 stays usable and within the page budgets: a warm page under 8 KB
compressed, an HTMX fragment under 3 KB, a query count that does not grow with the list."""

import datetime as dt
import gzip
import re

import pytest

from portal.db import database
from portal.models import DRAFT, SUBMITTED, Participant
from portal.services.photos import process, store
from tests.test_delegation_helpers import HX, PASSWORD, jpeg

PAGE_BUDGET = 8 * 1024
FRAGMENT_BUDGET = 3 * 1024


@pytest.fixture
def big_delegation(app, client, auth, make_event, make_org, make_account):
    make_event("open")
    org = make_org(
        "LAS", name_fr="Ligue des États arabes", name_ar="جامعة الدول العربية", name_en="League"
    )
    make_account("coord", organization=org)
    with app.test_request_context(), database.connection_context(), database.atomic():
        photo = process(jpeg(), 5 * 1024 * 1024)
        for i in range(300):
            p = Participant.create(
                organization=org,
                courtesy_title="mr",
                family_name="AL-DELEGATE-%s" % chr(65 + i % 26) * 2,
                given_names="Person %s" % chr(65 + i // 26),
                family_name_original="مندوب",
                function="Delegate",
                nationality="EG",
                date_of_birth=dt.date(1950 + i % 40, 1 + i % 12, 1 + i % 28),
                passport_number="A%07d" % i,
                passport_key="A%07d" % i,
                status=SUBMITTED if i % 3 else DRAFT,
                is_head=i == 0,
            )
            if i % 2:
                store(p, photo)
    auth.login("coord", PASSWORD)
    return client


def compressed(response):
    body = response.get_data()
    if response.headers.get("Content-Encoding") in ("gzip", "br"):
        return len(body)
    return len(gzip.compress(body, 6))


@pytest.mark.parametrize("language", ["fr", "en", "ar"])
def test_three_hundred_participants_within_budgets(big_delegation, language, capsys):
    client = big_delegation
    client.get("/language/%s" % language)
    figures = {}
    page = client.get("/delegation/participants").get_data(as_text=True)
    for name, url, headers, budget in (
        ("dashboard", "/delegation", {}, PAGE_BUDGET),
        ("list page 1", "/delegation/participants", {}, PAGE_BUDGET),
        ("list page 12", "/delegation/participants?page=12", {}, PAGE_BUDGET),
        ("form page", "/delegation/participants/new", {}, PAGE_BUDGET),
        ("edit page", "/delegation/participants/2", {}, PAGE_BUDGET),
        ("counts fragment", "/delegation", HX, FRAGMENT_BUDGET),
        ("list fragment", "/delegation/participants?page=2", HX, FRAGMENT_BUDGET),
        ("form fragment", "/delegation/participants/new?in_list=1", HX, FRAGMENT_BUDGET),
        ("field fragment", None, HX, FRAGMENT_BUDGET),
        ("country options", "/delegation/countries/%s" % language, HX, FRAGMENT_BUDGET),
    ):
        if url is None:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
            response = client.post(
                "/delegation/participants/validate/passport_number",
                data={"csrf_token": token, "passport_number": "12"},
                headers={**headers, "Accept-Encoding": "gzip"},
            )
        else:
            response = client.get(url, headers={**headers, "Accept-Encoding": "gzip"})
        assert response.status_code == 200, url
        size = compressed(response)
        figures[name] = size
        assert size < budget, (name, size)
    page = client.get("/delegation/participants").get_data(as_text=True)
    assert page.count("<tr id=") == 25
    assert "page 1 of 12" in page or "12" in page
    with capsys.disabled():
        print("\n%s: " % language + ", ".join("%s %d B" % kv for kv in figures.items()))


def test_saved_row_fragment_under_budget(big_delegation):
    client = big_delegation
    page = client.get("/delegation/participants").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(
        "/delegation/participants/3/withdraw",
        data={"csrf_token": token},
        headers={**HX, "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert compressed(response) < FRAGMENT_BUDGET
