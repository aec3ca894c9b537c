"""Roles: every registered route, walked as an anonymous visitor, as a coordinator of another
organization, and as the secretariat.

The walk reads ``app.url_map``, so routes added later are covered without touching this file.
URL parameters are filled from objects of organization A created here: ``<int:participant_id>``
gets A's participant, ``<int:account_id>`` A's coordinator, ``<int:organization_id>`` A itself,
and so on for every model (by the name before ``_id``); any other integer gets A's participant's
id, any other text a harmless word. The expectations do not come from the routes' own access
declarations (that would let a route wrongly marked public pass): only the routes listed in
PUBLIC may answer an anonymous visitor.
"""

import io
import re

import pytest
from PIL import Image
from werkzeug.routing import IntegerConverter

from portal import models
from portal.db import database
from portal.models import (
    ROLE_SECRETARIAT,
    AuditLog,
    Participant,
    ParticipantImport,
    Photo,
    utcnow,
)
from portal.services import verification
from portal.services.accounts import issue_password_link

from .conftest import csrf_token

PASSWORD = "Correct-horse-42"
# The only routes an anonymous visitor may use.
PUBLIC = {"/", "/login", "/healthz", "/language/<code>", "/password/set", "/verify/<token>"}
TEXT_VALUES = {
    "code": "en",
    "lang": "en",
    "language": "en",
    "format": "csv",
    "ext": "csv",
    "extension": "csv",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
EMPTY_REPORT = '{"rows": [], "counts": {"create": 0, "update": 0, "same": 0, "error": 0}}'


@pytest.fixture
def world(app, make_org, make_account, make_participant, make_event):
    make_event("open")
    org_a = make_org("ORGA", name_en="Organization A")
    org_b = make_org("ORGB", name_en="Organization B")
    coord_a = make_account("coord.a", organization=org_a)
    make_account("coord.b", organization=org_b)
    make_account("secretariat.x", role=ROLE_SECRETARIAT)
    person_a = make_participant(org_a, family_name="ALPHA", email="a@example.org")
    make_participant(org_b, family_name="BRAVO")
    with app.test_request_context(), database.connection_context():
        buffer = io.BytesIO()
        Image.new("RGB", (60, 80), "white").save(buffer, "JPEG")
        photo = Photo.create(
            participant=person_a,
            data=buffer.getvalue(),
            thumbnail=buffer.getvalue(),
            width=60,
            height=80,
            digest="0" * 64,
        )
        audit_row = AuditLog.create(action="test", organization=org_a, object_id=person_a.id)
        ParticipantImport.create(
            id="a" * 32, organization=org_a, rows="[]", report=EMPTY_REPORT, created_at=utcnow()
        )
        url = issue_password_link(coord_a, None)
        with database.atomic():
            badge = verification.issue(person_a, "badge")
        # A document job, done (the secretariat's print runs and lists).
        job = models.DocumentJob.create(kind="summit_list", parameters="{}", state="done")
        models.DocumentFile.create(job=job, filename="list.pdf", data=b"%PDF-1.7")
    objects = {
        "organization": org_a,
        "org": org_a,
        "account": coord_a,
        "participant": person_a,
        "person": person_a,
        "photo": photo,
        "audit": audit_row,
        "audit_log": audit_row,
        "job": job,
    }
    return {
        "objects": objects,
        "token": url.split("token=")[1],
        "badge": badge,
        "person_a": person_a,
    }


def value_for(rule, name, world):
    converter = rule._converters[name]
    if name == "token":
        # A live badge's verification token for the page that checks them.
        return world["badge"] if rule.endpoint == "documents.verify" else world["token"]
    if name in ("digest", "etag"):
        return world["objects"]["photo"].digest
    if name == "id" or name.endswith("_id") or isinstance(converter, IntegerConverter):
        prefix = name[:-3] if name.endswith("_id") else name
        obj = world["objects"].get(prefix)
        if obj is None:
            for model in models.MODELS:
                if model._meta.table_name == prefix and model is not Participant:
                    with database.connection_context():
                        obj = _object_of_org_a(model, world)
                    break
        return (obj or world["person_a"]).id
    return TEXT_VALUES.get(name, "x")


def _object_of_org_a(model, world):
    fields = model._meta.fields
    if "organization" in fields:
        return model.get_or_none(model.organization == world["objects"]["organization"].id)
    if "participant" in fields:
        return model.get_or_none(model.participant == world["person_a"].id)
    if "account" in fields:
        return model.get_or_none(model.account == world["objects"]["account"].id)
    return None


def has_object(rule):
    return any(
        name == "id" or name.endswith("_id") or isinstance(rule._converters[name], IntegerConverter)
        for name in rule.arguments
    )


def has_free_text(rule):
    """A text parameter we can only guess (a status name, a file name...): a 404 is fair."""
    return any(
        not (name == "id" or name.endswith("_id"))
        and not isinstance(rule._converters[name], IntegerConverter)
        and name not in TEXT_VALUES
        and name not in ("token", "digest", "etag")
        for name in rule.arguments
    )


def routes(app, world):
    """Yield (rule, method, url) for every route and method, sign-out last."""
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static":
                continue
            values = {name: value_for(rule, name, world) for name in rule.arguments}
            url = rule.build(values, append_unknown=False)[1]
            if rule.endpoint == "auth.password_link":
                url += "?token=" + world["token"]  # a live one-time link
            for method in METHODS:
                if method in rule.methods:
                    found.append((rule, method, url))
    found.sort(key=lambda item: item[0].endpoint == "auth.logout")
    return found


def request(client, method, url, token, htmx=False):
    headers = {"X-CSRFToken": token} if token else {}
    if htmx:
        headers.update({"HX-Request": "true", "HX-Current-URL": "http://localhost" + url})
    data = {"csrf_token": token} if method != "GET" and token else None
    return client.open(url, method=method, data=data, headers=headers)


def signed_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303
    client.token = csrf_token(client.get("/account/password").get_data(as_text=True))
    return client


def test_the_walk_sees_every_route(app, world):
    walked = {rule.rule for rule, _m, _u in routes(app, world)}
    assert {"/login", "/logout", "/account/password", "/delegation", "/secretariat/"} <= walked
    assert "/secretariat/accounts/<int:account_id>/password-link" in walked


def test_anonymous_visitor_is_sent_to_sign_in_everywhere_but_public_routes(app, world):
    client = app.test_client()
    token = csrf_token(client.get("/login").get_data(as_text=True))
    for rule, method, url in routes(app, world):
        where = "%s %s" % (method, url)
        response = request(client, method, url, token)
        assert response.status_code < 500, where
        if rule.rule in PUBLIC:
            assert response.status_code not in (401, 403, 404), where
            if rule.rule != "/":
                location = response.headers.get("Location", "")
                assert not location.startswith("/login"), where
            continue
        assert response.status_code in (302, 303), where
        assert response.headers["Location"].startswith("/login"), where
        htmx = request(client, method, url, token, htmx=True)
        assert htmx.status_code == 204, where
        assert htmx.headers["HX-Redirect"].startswith("/login"), where
    assert client.get("/login").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/password/set?token=" + world["token"]).status_code == 200
    css = re.search(r'href="(/static/[^"]+)"', client.get("/login").get_data(as_text=True))
    assert client.get(css.group(1)).status_code == 200


def test_coordinator_of_another_organization_gets_404(app, world):
    """What it must show, 4 (last part): every object of organization A, and every
    secretariat URL, is a 404 for the coordinator of organization B."""
    client = signed_in(app, "coord.b")
    checked = 0
    for rule, method, url in routes(app, world):
        where = "%s %s" % (method, url)
        if rule.endpoint == "auth.logout":
            continue
        response = request(client, method, url, client.token)
        assert response.status_code < 500, where
        if rule.rule.startswith("/secretariat") or has_object(rule):
            assert response.status_code == 404, where
            checked += 1
            htmx = request(client, method, url, client.token, htmx=True)
            assert htmx.status_code == 404, where
        elif not has_free_text(rule):
            assert response.status_code != 404, where
        # Still signed in as B: nothing along the walk signed the coordinator out.
        assert client.get("/delegation").status_code == 200, where
    assert checked >= 2
    # And B's own dashboard shows B, never A.
    page = client.get("/delegation").get_data(as_text=True)
    assert "Organization B" in page and "Organization A" not in page


def test_secretariat_reaches_every_secretariat_route(app, world):
    client = signed_in(app, "secretariat.x")
    for rule, method, url in routes(app, world):
        where = "%s %s" % (method, url)
        if rule.endpoint == "auth.logout":
            continue
        response = request(client, method, url, client.token)
        assert response.status_code < 500, where
        if rule.rule.startswith("/secretariat"):
            assert response.status_code not in (401, 403), where
            assert not response.headers.get("Location", "").startswith("/login"), where
            if not has_free_text(rule):
                assert response.status_code != 404, where
        if client.get("/secretariat/").status_code != 200:
            client = signed_in(app, "secretariat.x")  # a route signed us out (sign-out itself)


def test_a_signed_in_account_signs_out_with_a_post_only(app, world):
    client = signed_in(app, "coord.a")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", data={"csrf_token": client.token}).status_code == 303
    assert client.get("/delegation").status_code == 303
