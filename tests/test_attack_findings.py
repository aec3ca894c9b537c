"""Findings of an attack on the portal: each test proves one of them fixed (and fails without
the fix). Named after the finding's number in the report."""

import re

import pytest
from werkzeug.routing import IntegerConverter

from portal.models import ROLE_SECRETARIAT

from .conftest import csrf_token

PASSWORD = "Correct-horse-42"
# Past PostgreSQL's integer, past SQLite's 64 bits, and past what int() reads at all.
HUGE = ("2147483648", "9223372036854775808", "99999999999999999999999", "9" * 5000)
METHODS = ("GET", "POST")
TEXT = {"code": "en", "lang": "en"}


@pytest.fixture
def people(app, make_org, make_account, make_participant, make_event):
    make_event("open")
    org = make_org("ORGA", name_en="Organization A")
    make_account("coord.a", organization=org)
    make_account("secretariat.x", role=ROLE_SECRETARIAT)
    return {"org": org, "person": make_participant(org, family_name="ALPHA")}


def signed_in(app, username, password=PASSWORD):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": password}
    )
    assert response.status_code == 303
    client.token = csrf_token(client.get("/account/password").get_data(as_text=True))
    return client


# -- 4. Integers past 64 bits -------------------------------------------------------------------


def _huge_urls(app, huge):
    """Every route with each integer in its path set to ``huge``, and every route with huge
    integers in the query string."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint == "auth.logout":
                continue
            ints = [n for n in rule.arguments if isinstance(rule._converters[n], IntegerConverter)]
            # Written into the rule's text: building would convert the number first.
            url = re.sub(
                r"<(?:(\w+):)?(\w+)>",
                lambda m: huge if m.group(2) in ints else TEXT.get(m.group(2), "x"),
                rule.rule,
            )
            query = "?page=%s&organization=%s&participant=%s" % (huge, huge, huge)
            for method in METHODS:
                if method in rule.methods:
                    if ints:
                        yield rule, method, url
                    yield rule, method, url + query


@pytest.mark.parametrize("role", ["anonymous", "coord.a", "secretariat.x"])
def test_finding_4_integers_past_64_bits_never_answer_500(app, people, role):
    client = app.test_client() if role == "anonymous" else signed_in(app, role)
    token = getattr(client, "token", None) or csrf_token(
        client.get("/login").get_data(as_text=True)
    )
    walked = 0
    for huge in HUGE:
        for rule, method, url in _huge_urls(app, huge):
            data = {"csrf_token": token, "participant": huge + ":" + huge, "version": huge}
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code < 500, "%s %s" % (method, url[:120])
            if "<int:" in rule.rule and "?" not in url and role != "anonymous":
                assert response.status_code in (404, 405), "%s %s" % (method, url[:120])
            walked += 1
    assert walked > 40
    if role == "secretariat.x":
        for path in ("/secretariat/queue", "/secretariat/audit", "/secretariat/accounts"):
            assert client.get(path + "?page=922337203685477580").status_code == 400
            assert client.get(path + "?page=2").status_code == 200
    if role == "coord.a":
        assert client.get("/delegation/participants?page=922337203685477580").status_code == 400
        assert client.get("/delegation/participants/99999999999999999999999").status_code == 404


# -- 3. A newline in next -----------------------------------------------------------------------

BAD_NEXT = ["/\nx", "/\r\nSet-Cookie: a=b", "/x\u2028y", "/\u202eevil", "/ x", "/x\x00"]


def test_finding_3_a_newline_in_next_is_ignored_by_the_language_switch(client):
    for target in ["/%0Ax", "/%0D%0ALocation:%20//evil.example", "/%E2%80%AEx"]:
        response = client.get("/language/en?next=" + target)
        assert response.status_code == 303, target
        assert response.headers["Location"] == "/", target
    response = client.get("/language/en?next=/delegation%3Fpage%3D2")
    assert response.headers["Location"] == "/delegation?page=2"


@pytest.mark.parametrize("target", BAD_NEXT)
def test_finding_3_a_newline_in_next_does_not_lose_the_sign_in(app, people, target):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": csrf_token(page), "username": "coord.a", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/delegation").status_code == 200


@pytest.mark.parametrize("target", BAD_NEXT[:2])
def test_finding_3_a_newline_in_next_after_a_decision(app, people, target):
    from portal.db import database
    from portal.models import Participant

    with app.app_context(), database.connection_context():
        Participant.update(status="submitted").execute()
    client = signed_in(app, "secretariat.x")
    person = people["person"].id
    response = client.post(
        "/secretariat/participants/%d/decision" % person,
        data={"csrf_token": client.token, "decision": "accredit", "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/secretariat/participants/%d" % person
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(person).status == "accredited"


def test_finding_3_one_judge_of_next():
    from portal import access, i18n
    from portal.auth import views as auth_views
    from portal.secretariat import views as secretariat_views

    assert i18n.safe_next is access.safe_next is auth_views.safe_next
    assert secretariat_views.safe_next is access.safe_next
    for target in BAD_NEXT + ["//evil.example", "/\\evil", "https://evil.example/", "x", ""]:
        assert access.safe_next(target, None) is None, target
        local = access._local_path("http://localhost" + target)
        assert local is None or access.safe_next(local, None) == local, target
    assert access.safe_next("/delegation?page=2&q=Ben%20Ali") == "/delegation?page=2&q=Ben%20Ali"
    assert access._local_path("http://localhost/delegation?page=2") == "/delegation?page=2"
