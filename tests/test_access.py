"""The access matrix: every route x method x role, with a status expected in each cell, and no
leak.

HOW TO ADD A ROUTE: add one line to ``MATRIX`` below (``METHOD endpoint`` then one cell per
role, in the order of ``ROLES``). A route of ``app.url_map`` without its line fails
``test_every_route_has_a_row`` with the lines to add; a line whose route is gone fails it too.
A new role in ``portal.models.ROLES`` fails ``test_every_role_has_a_column``: add a column
(and a signed-in client for it in ``clients``).

A cell is what the route answers that role, without JavaScript:

- a status code (``200``, ``303``, ``404``, ``422``...);
- ``login``: sent to sign in (303 to /login; with HTMX, 204 and ``HX-Redirect`` to /login);
- for a route about a participant, one code per status of the participant where they differ:
  ``303|s=422|w=404`` is 303 for every status but submitted (422) and withdrawn (404). Initials:
  d(raft), s(ubmitted), a(ccredited), r(ejected), w(ithdrawn).

Every request is a real one: signed in through /login, a valid CSRF token in the form and the
``X-CSRFToken`` header, and real ids: organization A's participant (a fresh one, in each status,
for every cell about a participant), A's coordinator, A itself, A's badge photo and a photo kept
from A's form. The roles are: ``anonymous``; ``other``, the coordinator of organization B; ``own``,
the coordinator of organization A (the objects' organization); ``secretariat``.

No leak: names of A (its organization, participants, coordinator) never appear in what B or an
anonymous visitor gets, names of B never in what A gets, and a 404 never names the object.
Runs on SQLite and, with ``PORTAL_TEST_DB=postgresql``, on PostgreSQL.
"""

import io
import re
from collections import Counter

import pytest
from PIL import Image

from portal import models
from portal.db import database
from portal.models import (
    ROLE_SECRETARIAT,
    AuditLog,
    DocumentFile,
    DocumentJob,
    PaperScan,
    Participant,
    ParticipantImport,
    Photo,
)
from portal.services import pending_photos, verification
from portal.services.accounts import issue_password_link
from portal.services.photos import BadgePhoto

from .conftest import csrf_token, summary

ROLES = ("anonymous", "other", "own", "secretariat")

# fmt: off
MATRIX = """
# METHOD endpoint                           anonymous other  own          secretariat
GET    home                                 302       302    302          302
GET    healthz                              200       200    200          200
GET    i18n.switch                          303       303    303          303
GET    auth.login                           200       302    302          302
POST   auth.login                           422       422    422          422
POST   auth.logout                          login     303    303          303
GET    auth.change_password                 login     200    200          200
POST   auth.change_password                 login     422    422          422
POST   auth.change_language                 login     422    422          422
GET    auth.password_link                   200       200    200          200
POST   auth.password_link                   422       422    422          422
POST   auth.create_password_link            login     404    404          200
GET    delegation.dashboard                 login     200    200          404
GET    delegation.participant_list          login     200    200          404
GET    delegation.participant_new           login     200    200          404
POST   delegation.participant_new           login     422    422          404
GET    delegation.participant_edit          login     404    200          404
POST   delegation.participant_edit          login     404    422          404
POST   delegation.validate_field            login     200    200          200
GET    delegation.country_options           login     200    200          200
POST   delegation.participant_submit        login     404    303          404
GET    delegation.participant_withdraw      login     404    200          404
POST   delegation.participant_withdraw      login     404    303|d=409    404
GET    delegation.participant_delete        login     404    200          404
POST   delegation.participant_delete        login     404    303|s=409|a=409|r=409|w=409  404
GET    delegation.photo                     login     404    200          200
GET    delegation.photo_thumb               login     404    200          200
GET    delegation.pending_photo             login     404    200          404
GET    secretariat.overview                 login     404    404          200
GET    secretariat.queue                    login     404    404          200
POST   secretariat.decide_many              login     404    404          422
POST   secretariat.decide                   login     404    404          422
GET    secretariat.participant              login     404    404          200
GET    secretariat.photo                    login     404    404          200
GET    secretariat.organization             login     404    404          200
POST   secretariat.organization_update      login     404    404          303
POST   secretariat.add_coordinator          login     404    404          422
GET    secretariat.settings                 login     404    404          200
POST   secretariat.settings                 login     404    404          422
GET    secretariat.accounts                 login     404    404          200
POST   secretariat.account_access           login     404    404          303
GET    secretariat.accounts_import          login     404    404          200
POST   secretariat.accounts_import          login     404    404          422
GET    secretariat.exports_page             login     404    404          200
GET    secretariat.export_csv               login     404    404          200
GET    secretariat.export_xlsx              login     404    404          200
GET    secretariat.audit                    login     404    404          200
GET    secretariat.mail_queue               login     404    404          200
POST   secretariat.mail_retry               login     404    404          303
GET    delegation.accredited_list           login     200    200          404
GET    delegation.accredited_list_pdf       login     200    200          404
POST   delegation.import_photos             login     422    422          404
GET    delegation.import_preview            login     404    200          404
POST   delegation.import_preview            login     404    422          404
GET    delegation.import_start              login     200    200          404
GET    delegation.import_template           login     200    200          404
POST   delegation.import_upload             login     422    422          404
GET    delegation.paper_scan                login     404    200          200
GET    delegation.participant_letter        login     404    409|a=200    404
GET    documents.badge_specimen             login     404    200|w=422    200|w=422
POST   documents.print_badge                login     404    404          422
GET    documents.verify                     200       200    200          200
POST   secretariat.attach_scan              login     404    404          422
GET    secretariat.document_file            login     404    404          200
GET    secretariat.document_job             login     404    404          200
GET    secretariat.entry_edit               login     404    404          200
POST   secretariat.entry_edit               login     404    404          422
GET    secretariat.entry_new                login     404    404          200
POST   secretariat.entry_new                login     404    404          422
POST   secretariat.import_photos            login     404    404          422
GET    secretariat.import_preview           login     404    404          200
POST   secretariat.import_preview           login     404    404          422
GET    secretariat.import_start             login     404    404          200
GET    secretariat.import_template          login     404    404          200
POST   secretariat.import_upload            login     404    404          422
GET    secretariat.organization_list        login     404    404          200
GET    secretariat.organization_list_pdf    login     404    404          200
GET    secretariat.participant_letter       login     404    404          409|a=200
POST   secretariat.print_run_queue          login     404    404          422
GET    secretariat.print_runs_page          login     404    404          200
GET    secretariat.summit_list              login     404    404          200
POST   secretariat.summit_list_queue        login     404    404          422
"""
# fmt: on

PASSWORD = "Correct-horse-42"
STATUS_INITIALS = {"d": "draft", "s": "submitted", "a": "accredited", "r": "rejected",
                   "w": "withdrawn"}  # fmt: skip
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
#: Names that only organization A's objects carry, and only B's.
A_NAMES = ("Xylophonia", "XYLOPHONE", "Xenobia", "xylo.coord", "Xavierre")
B_NAMES = ("Quokkaland", "QUOKKA", "Quintessa", "quokka.coord", "Quillon")
#: The names of the objects in the URLs (A's participants): never in a 404.
OBJECT_NAMES = ("XYLOPHONE", "Xenobia")
#: What a route shows by design to whoever holds its URL: the one-time password link's page
#: names the account it sets the password of.
SHOWN_BY_DESIGN = {
    "auth.password_link": ("xylo.coord",),
    # The verification page tells whoever holds a badge's or a letter's code whose it is.
    "documents.verify": ("Xylophonia", "XYLOPHONE", "Xenobia"),
}
#: URL arguments that name a participant (a fresh one of A in each status, per cell).
PARTICIPANT_ARGS = ("pid", "participant_id")
#: Other URL arguments: what fills them (``world`` keys), or a plain value.
TEXT_VALUES = {"code": "en", "lang": "en", "name": "family_name", "extension": "csv"}
#: A's spreadsheet waiting for confirmation (its preview and confirmation routes).
IMPORT_ID = "a" * 32


def parse_matrix(text=MATRIX):
    rows = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        method, endpoint, *cells = line.split()
        assert len(cells) == len(ROLES), "%s %s: one cell per role %s" % (method, endpoint, ROLES)
        assert (method, endpoint) not in rows, "%s %s: two rows" % (method, endpoint)
        rows[method, endpoint] = dict(zip(ROLES, cells, strict=True))
    return rows


def expected(cell, status=None):
    """The status code (or "login") a cell expects, for a participant in ``status``."""
    default, *exceptions = cell.split("|")
    for exception in exceptions:
        initial, code = exception.split("=")
        if STATUS_INITIALS[initial] == status:
            return code
    return default


# -- The world: two organizations, real objects ------------------------------------------------


@pytest.fixture
def world(app, make_event, make_org, make_account):
    make_event("open")
    org_a = make_org("ORGA", name_en="Xylophonia Union", name_fr="Union de Xylophonia")
    org_b = make_org("ORGB", name_en="Quokkaland Agency", name_fr="Agence de Quokkaland")
    coord_a = make_account("xylo.coord", organization=org_a, family_name="Xavierre")
    coord_b = make_account("quokka.coord", organization=org_b, family_name="Quillon")
    make_account("secretariat.x", role=ROLE_SECRETARIAT)
    world = {"org_a": org_a, "org_b": org_b, "coord_a": coord_a, "coord_b": coord_b, "n": 0}
    person_b = new_participant(app, world, org_b, "submitted", "QUOKKA", "Quintessa")
    with app.test_request_context(), database.connection_context():
        AuditLog.create(action="test", organization=org_a, object_id=person_b.id)
        world["kept"] = pending_photos.keep("k" * 32, coord_a, badge_photo())
        ParticipantImport.create(
            id=IMPORT_ID,
            organization=org_a,
            account=coord_a,
            rows="[]",
            report='{"rows": [], "counts": {"create": 0, "update": 0, "same": 0, "error": 0}}',
        )
        # A print run of the secretariat's, done: its page and its PDF.
        job = DocumentJob.create(kind="summit_list", parameters="{}", state="done")
        DocumentFile.create(job=job, filename="list.pdf", data=b"%PDF-1.7")
        world["job"] = job.id
    return world


def badge_photo():
    buffer = io.BytesIO()
    Image.new("RGB", (300, 400), "white").save(buffer, "JPEG")
    data = buffer.getvalue()
    return BadgePhoto(data=data, thumbnail=data, width=300, height=400, digest="f" * 32)


def new_participant(app, world, organization, status, family="XYLOPHONE", given="Xenobia"):
    """A participant of ``organization`` in ``status``, with a badge photo."""
    world["n"] += 1
    with app.app_context(), database.connection_context():
        person = Participant.create(
            organization=organization,
            status=status,
            family_name="%s-%d" % (family, world["n"]),
            given_names=given,
            courtesy_title="ms",
            version=1,
        )
        photo = badge_photo()
        Photo.create(
            participant=person,
            data=photo.data,
            thumbnail=photo.thumbnail,
            width=300,
            height=400,
            digest="%032x" % person.id,
        )
    return person


def url_for_cell(app, rule, world, person):
    values = {}
    for name in rule.arguments:
        if name in PARTICIPANT_ARGS:
            values[name] = person.id
        elif name == "digest":
            values[name] = world["kept"].digest if "kept" in rule.rule else "%032x" % person.id
        elif name == "key":
            values[name] = world["kept"].key
        elif name == "account_id":
            values[name] = world["coord_a"].id
        elif name == "organization_id":
            values[name] = world["org_a"].id
        elif name == "participant_import_id":
            values[name] = IMPORT_ID
        elif name == "job_id":
            values[name] = world["job"]
        elif name == "token":
            with app.test_request_context(), database.connection_context(), database.atomic():
                values[name] = verification.issue(person, "badge")
        elif name in TEXT_VALUES:
            values[name] = TEXT_VALUES[name]
        else:
            pytest.fail("%s: say in TEXT_VALUES what fills <%s>" % (rule.endpoint, name))
    with app.test_request_context():
        url = rule.build(values, append_unknown=False)[1]
    if rule.endpoint == "delegation.paper_scan":
        with app.app_context(), database.connection_context():
            PaperScan.create(
                participant=person, content_type="application/pdf", data=b"%PDF-1.7", digest="0"
            )
    if rule.endpoint == "auth.password_link":
        with app.test_request_context(), database.connection_context():
            url += "?" + issue_password_link(world["coord_a"], None).split("?", 1)[1]
    return url


def signed_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303, username
    client.token = csrf_token(client.get("/account/password").get_data(as_text=True))
    return client


def clients(app):
    anonymous = app.test_client()
    anonymous.token = csrf_token(anonymous.get("/login").get_data(as_text=True))
    return {
        "anonymous": anonymous,
        "other": signed_in(app, "quokka.coord"),
        "own": signed_in(app, "xylo.coord"),
        "secretariat": signed_in(app, "secretariat.x"),
    }


def send(client, method, url, htmx=False):
    headers = {"X-CSRFToken": client.token}
    if htmx:
        headers.update({"HX-Request": "true", "HX-Current-URL": "http://localhost" + url})
    data = {"csrf_token": client.token} if method != "GET" else None
    return client.open(url, method=method, data=data, headers=headers)


def cells(app, rows):
    """Yield (rule, method, role, participant status or None) for every cell, sign-out last."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in METHODS:
            if method not in rule.methods or (method, rule.endpoint) not in rows:
                continue
            about_participant = any(name in PARTICIPANT_ARGS for name in rule.arguments)
            statuses = list(models.STATUSES) if about_participant else [None]
            for role in ROLES:
                for status in statuses:
                    found.append((rule, method, role, status))
    found.sort(key=lambda cell: cell[0].endpoint == "auth.logout")
    return found


def leaks(endpoint, role, body, status_code):
    """The names in ``body`` that ``role`` must not see."""
    forbidden = {"anonymous": A_NAMES + B_NAMES, "other": A_NAMES, "own": B_NAMES}.get(role, ())
    if status_code == 404:
        forbidden += OBJECT_NAMES
    shown = SHOWN_BY_DESIGN.get(endpoint, ())
    return [n for n in forbidden if n.lower() in body.lower() and n not in shown]


# -- The tests ---------------------------------------------------------------------------------


def test_every_route_has_a_row(app):
    rows = parse_matrix()
    served = {
        (method, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in METHODS
        if method in rule.methods
    }
    missing = sorted(served - set(rows), key=lambda row: (row[1], row[0]))
    assert not missing, "routes without a row in MATRIX (tests/test_access.py):\n" + "\n".join(
        "%-6s %s" % row for row in missing
    )
    gone = sorted(set(rows) - served)
    assert not gone, "rows of MATRIX whose route is gone: %s" % gone


def test_every_role_has_a_column():
    known = {models.ROLE_COORDINATOR, ROLE_SECRETARIAT}
    assert set(models.ROLES) <= known, (
        "a new role: add its column to MATRIX in tests/test_access.py: %s"
        % sorted(set(models.ROLES) - known)
    )


def test_the_matrix(app, world):
    """Every cell answers as its row says, with and without HTMX, and nothing leaks."""
    rows = parse_matrix()
    signed = clients(app)
    wrong, leaked, seen = [], [], Counter()
    for rule, method, role, status in cells(app, rows):
        client = signed[role]
        person = new_participant(app, world, world["org_a"], status or "draft")
        url = url_for_cell(app, rule, world, person)
        where = "%s %s as %s%s" % (method, url, role, " (%s)" % status if status else "")
        want = expected(rows[method, rule.endpoint][role], status)
        response = send(client, method, url)
        seen[response.status_code] += 1
        body = response.get_data(as_text=True) if response.mimetype.startswith("text") else ""
        if want == "login":
            location = response.headers.get("Location", "")
            htmx = send(client, method, url, htmx=True)
            if not (
                response.status_code == 303
                and location.startswith("/login")
                and htmx.status_code == 204
                and htmx.headers.get("HX-Redirect", "").startswith("/login")
            ):
                wrong.append("%s: %s (%s) where login" % (where, response.status_code, location))
        elif str(response.status_code) != want:
            wrong.append("%s: %s where %s" % (where, response.status_code, want))
        elif want == "404" and rule.endpoint != "auth.logout":
            # The same with HTMX: the object stays unknown.
            htmx = send(client, method, url, htmx=True)
            if htmx.status_code != 404:
                wrong.append("%s (HTMX): %s where 404" % (where, htmx.status_code))
        names = leaks(rule.endpoint, role, body, response.status_code)
        if names:
            leaked.append("%s: %s" % (where, names))
        if rule.endpoint == "auth.logout" and role != "anonymous":
            signed[role] = signed_in(app, client_username(role))
    summary(
        "access matrix: %d routes x methods, %d roles, %d cells, statuses %s, %d leaks"
        % (len(rows), len(ROLES), sum(seen.values()), dict(sorted(seen.items())), len(leaked))
    )
    assert not wrong, "%d cells answer otherwise:\n%s" % (len(wrong), "\n".join(wrong))
    assert not leaked, "names leaked:\n" + "\n".join(leaked)


def client_username(role):
    return {"other": "quokka.coord", "own": "xylo.coord", "secretariat": "secretariat.x"}[role]


def test_nothing_along_the_walk_signs_a_coordinator_out(app, world):
    """Only sign-out ends a session: after every other cell of B's column, B is still in."""
    rows = parse_matrix()
    client = signed_in(app, "quokka.coord")
    for rule, method, role, status in cells(app, rows):
        if role != "other" or rule.endpoint == "auth.logout" or status not in (None, "draft"):
            continue
        person = new_participant(app, world, world["org_a"], "draft")
        send(client, method, url_for_cell(app, rule, world, person))
        assert client.get("/delegation").status_code == 200, (method, rule.rule)
    page = client.get("/delegation").get_data(as_text=True)
    assert "Quokkaland" in page and "Xylophonia" not in page


def test_a_404_for_another_organization_is_the_404_of_no_object(app, world):
    """B cannot tell A's participant from one that does not exist."""
    client = signed_in(app, "quokka.coord")
    person = new_participant(app, world, world["org_a"], "draft")
    theirs = client.get("/delegation/participants/%d" % person.id)
    nobody = client.get("/delegation/participants/%d" % (person.id + 10_000))
    assert theirs.status_code == nobody.status_code == 404
    # The same page but for the address it was asked at (the language links come back to it).
    same = theirs.get_data(as_text=True).replace("participants/%d" % person.id, "P")
    assert same == nobody.get_data(as_text=True).replace(
        "participants/%d" % (person.id + 10_000), "P"
    )


def test_a_signed_in_account_signs_out_with_a_post_only(app, world):
    client = signed_in(app, "xylo.coord")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout", data={"csrf_token": client.token}).status_code == 303
    assert client.get("/delegation").status_code == 303


def test_the_static_files_are_served_to_anyone(app):
    client = app.test_client()
    css = re.search(r'href="(/static/[^"]+)"', client.get("/login").get_data(as_text=True))
    assert client.get(css.group(1)).status_code == 200


def test_a_post_without_its_csrf_token_changes_nothing(app, world):
    """The same requests without the token: refused (400, or the form again), never done."""
    client = signed_in(app, "xylo.coord")
    person = new_participant(app, world, world["org_a"], "draft")
    response = client.post("/delegation/participants/%d/delete" % person.id)
    assert response.status_code in (400, 303, 422)
    with app.app_context(), database.connection_context():
        assert Participant.get_or_none(Participant.id == person.id) is not None
