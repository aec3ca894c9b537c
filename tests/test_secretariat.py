"""The secretariat's side, through HTTP as a browser uses it: with HTMX and without JavaScript."""

import datetime as dt
import logging
import re

import pytest
from flask_babel import force_locale, format_date, format_decimal, lazy_pgettext

from portal.db import database
from portal.lifecycle import quota_refusal
from portal.models import (
    ACCREDITED,
    DRAFT,
    REJECTED,
    REJECTION_REASONS,
    ROLE_SECRETARIAT,
    SUBMITTED,
    WITHDRAWN,
    Account,
    AuditLog,
    Event,
    Organization,
    Participant,
    utcnow,
)
from portal.services import Conflict, decisions, listings, settings

from .conftest import csrf_token, deliver_mail

SECRETARIAT_PASSWORD = "Registry-2005-ok"
HX = {"HX-Request": "true"}


@pytest.fixture
def secretariat(make_account):
    return make_account(
        "registry", SECRETARIAT_PASSWORD, role=ROLE_SECRETARIAT, given_name="Rita", language="en"
    )


@pytest.fixture
def as_secretariat(secretariat, auth, client):
    response = auth.login("registry", SECRETARIAT_PASSWORD)
    assert response.status_code == 303
    return client


@pytest.fixture
def submitted(make_participant):
    counter = {"n": 0}

    def make(organization, **values):
        counter["n"] += 1
        values.setdefault("submitted_at", utcnow() - dt.timedelta(minutes=1000 - counter["n"]))
        return make_participant(organization, status=SUBMITTED, **values)

    return make


def fetch(app, model, pk):
    with app.app_context(), database.connection_context():
        return model.get_by_id(pk)


def token_of(client, url="/secretariat/queue"):
    return csrf_token(client.get(url).get_data(as_text=True))


def texts_in(app, language, *messages):
    """The messages as the catalogues render them in ``language``."""
    with app.test_request_context(), force_locale(language):
        return [str(m) for m in messages]


# -- 1. As a new user would --------------------------------------------------------------------


def test_secretariat_decides_and_the_arabic_coordinator_sees_it(
    app, runner, client, auth, smtp_server, submitted
):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    with app.app_context(), database.connection_context():
        las = Organization.get(Organization.code == "LAS")
        assert Account.get(Account.username_key == "las.coord").language == "ar"
    amr = submitted(las, family_name="MOUSSA", given_names="Amr", is_head=True)
    hoda = submitted(las, family_name="EL-SAYED", given_names="Hoda")
    karim = submitted(las, family_name="BENNANI", given_names="Karim")

    # The secretariat signs in and finds the delegation.
    response = auth.login("secretariat", "Secretariat-2005")
    assert response.headers["Location"] == "/"
    overview = client.get("/secretariat/?q=arab+states").get_data(as_text=True)
    assert "/secretariat/organizations/%d" % las.id in overview
    assert "UNESCO" not in overview
    page = client.get("/secretariat/organizations/%d" % las.id).get_data(as_text=True)
    for person in ("Amr MOUSSA", "Hoda EL-SAYED", "Karim BENNANI"):
        assert person in page
    # It gives the organization its Arabic name (the PrepCom export has none).
    token = csrf_token(page)
    response = client.post(
        "/secretariat/organizations/%d" % las.id,
        data={"csrf_token": token, "name_ar": "جامعة الدول العربية", "quota": ""},
    )
    assert response.status_code == 303

    # Accredits two (one from the queue with HTMX, one without JavaScript) and rejects one.
    queue = client.get("/secretariat/queue?q=LAS").get_data(as_text=True)
    token = csrf_token(queue)
    response = client.post(
        "/secretariat/participants/%d/decision" % amr.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
        headers=HX,
    )
    assert response.status_code == 200
    assert 'id="p-%d"' % amr.id in response.get_data(as_text=True)
    response = client.post(
        "/secretariat/participants/%d/decision" % hoda.id,
        data={
            "csrf_token": token,
            "decision": "accredit",
            "version": 1,
            "next": "/secretariat/queue",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/secretariat/queue"
    response = client.post(
        "/secretariat/participants/%d/decision" % karim.id,
        data={
            "csrf_token": token,
            "decision": "reject",
            "reason": "passport_invalid",
            "version": 1,
        },
    )
    assert response.status_code == 303
    assert fetch(app, Participant, amr.id).status == ACCREDITED
    assert fetch(app, Participant, hoda.id).status == ACCREDITED
    assert fetch(app, Participant, karim.id).rejection_code == "passport_invalid"

    # The coordinator gets three e-mails, in Arabic, once the sender has run.
    assert smtp_server == []
    deliver_mail(app)
    to_las = [m for m in smtp_server if "las" in m["To"].lower()]
    assert len(to_las) == 3
    reason_ar, accredited_ar, rejected_ar = texts_in(
        app,
        "ar",
        REJECTION_REASONS["passport_invalid"],
        lazy_pgettext("status", "Accredited"),
        lazy_pgettext("status", "Rejected"),
    )
    with app.test_request_context(), force_locale("ar"):
        today_ar = format_date(fetch(app, Participant, karim.id).decided_at, "long")
    arabic_script = re.compile("[\u0600-\u06ff]")
    assert all(arabic_script.search(t) for t in (reason_ar, accredited_ar, rejected_ar))
    rejection = next(m for m in to_las if "BENNANI" in m["Subject"])
    body = rejection.get_content()
    assert reason_ar in body
    assert today_ar in body  # the date, written the Arabic way (Babel's CLDR data)
    assert "جامعة الدول العربية" in body  # the organization's Arabic name
    assert (
        "جامعة الدول العربية" in next(m for m in to_las if "MOUSSA" in m["Subject"]).get_content()
    )

    # The coordinator signs in and sees the new statuses and the reason, in Arabic.
    auth.logout()
    response = auth.login("las.coord", "Qahira2005")
    assert response.status_code == 303
    dashboard = client.get("/delegation").get_data(as_text=True)
    assert 'dir="rtl"' in dashboard
    assert "جامعة الدول العربية" in dashboard
    with app.test_request_context(), force_locale("ar"):
        two, one = format_decimal(2), format_decimal(1)
    assert re.search(r"%s: (<strong>)?%s\b" % (accredited_ar, two), dashboard)
    assert re.search(r"%s: (<strong>)?%s\b" % (rejected_ar, one), dashboard)
    listing = client.get("/delegation/participants").get_data(as_text=True)
    assert 'dir="rtl"' in listing

    def row(p):
        return re.search(r'<tr id="p-%d"[^>]*>.*?</tr>' % p.id, listing, re.S).group(0)

    for p in (amr, hoda):
        assert "accredited" in row(p).split(">")[0] and accredited_ar in row(p)
    assert "rejected" in row(karim).split(">")[0]
    assert rejected_ar in row(karim) and reason_ar in row(karim)


# -- 4. Only the secretariat -------------------------------------------------------------------


def _secretariat_urls(app):
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/secretariat"):
            continue
        values = {arg: ("abc" if arg == "digest" else 1) for arg in rule.arguments}
        path = rule.rule
        for arg, value in values.items():
            path = re.sub(r"<(?:[^:<>]+:)?%s>" % arg, str(value), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            urls.append((method, path))
    return urls


def test_every_secretariat_url_is_closed_to_coordinators_and_visitors(
    app, client, auth, make_org, make_account, make_participant
):
    org = make_org("UNDP")
    make_participant(org)
    make_account("undp.coord", organization=org)
    urls = _secretariat_urls(app)
    assert len(urls) >= 15
    assert ("POST", "/secretariat/queue/decide") in urls
    anonymous_token = csrf_token(client.get("/login").get_data(as_text=True))
    for method, path in urls:
        data = {"csrf_token": anonymous_token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert response.status_code in (302, 303), (method, path)
        assert response.headers["Location"].startswith("/login"), (method, path)
    auth.login("undp.coord", "Correct-horse-42")
    token = csrf_token(client.get("/delegation").get_data(as_text=True))
    for method, path in urls:
        data = {"csrf_token": token} if method == "POST" else None
        response = client.open(path, method=method, data=data)
        assert response.status_code == 404, (method, path)
    with app.app_context(), database.connection_context():
        assert Participant.get().status == DRAFT


# -- Overview ----------------------------------------------------------------------------------


def test_overview_filters_sorts_and_pages(
    app, as_secretariat, make_org, make_account, submitted, make_participant
):
    client = as_secretariat
    unesco = make_org("UNESCO", name_en="UNESCO", acronym="UNESCO", category="SA")
    itu = make_org("ITU", name_en="International Telecommunication Union", category="SA")
    oif = make_org("OIF", name_en="Organisation internationale de la Francophonie", category="IGO")
    make_account("itu.coord", organization=itu, given_name="Hamadoun", family_name="TOURÉ")
    submitted(
        itu,
        family_name="ZHAO",
        given_names="Houlin",
        passport_number="G 123 456",
        passport_key="G123456",
        is_head=True,
    )
    make_participant(itu, family_name="JOHNSON", given_names="Doreen")
    make_participant(oif, family_name="DIOUF", given_names="Abdou", status=ACCREDITED)

    page = client.get("/secretariat/").get_data(as_text=True)
    assert "Hamadoun TOURÉ" in page
    row = re.search(r'<tr id="org-%d">.*?</tr>' % itu.id, page, re.S).group(0)
    assert re.findall(r'class="num[^"]*">(\d+)<', row) == ["2", "1", "1", "0", "0", "0"]
    assert "not named" not in row
    assert "not named" in re.search(r'<tr id="org-%d">.*?</tr>' % oif.id, page, re.S).group(0)

    def orgs(query, headers=None):
        body = client.get("/secretariat/?" + query, headers=headers or {}).get_data(as_text=True)
        return re.findall(r'<tr id="org-(\d+)">', body), body

    assert orgs("category=IGO")[0] == [str(oif.id)]
    assert orgs("status=accredited")[0] == [str(oif.id)]
    assert orgs("status=submitted")[0] == [str(itu.id)]
    assert orgs("q=houlin")[0] == [str(itu.id)]  # a participant's name, any case
    assert orgs("q=g123+456")[0] == [str(itu.id)]  # a passport number, however typed
    assert orgs("q=francophonie")[0] == [str(oif.id)]
    assert orgs("q=50%25")[0] == []  # wildcards are taken literally
    assert orgs("sort=total&dir=desc")[0][:2] == [str(itu.id), str(oif.id)]
    assert orgs("sort=name")[0] == [str(itu.id), str(oif.id), str(unesco.id)]
    ids, fragment = orgs("q=unesco", headers=HX)
    assert ids == [str(unesco.id)]
    assert "<html" not in fragment and fragment.lstrip().startswith('<section id="results"')


def test_overview_pages_and_asks_the_same_number_of_queries_per_page(
    app, as_secretariat, make_org, make_participant, make_account
):
    client = as_secretariat
    for n in range(listings.PAGE_SIZE + 5):
        org = make_org("O%03d" % n, name_en="Org %03d" % n)
        make_participant(org, family_name="P%d" % n)
        make_account("coord%d" % n, organization=org)
    first = client.get("/secretariat/").get_data(as_text=True)
    assert first.count('<tr id="org-') == listings.PAGE_SIZE
    assert "Org 000" in first and "Org 054" not in first
    second = client.get("/secretariat/?page=2").get_data(as_text=True)
    assert second.count('<tr id="org-') == 5 and "Org 054" in second

    few, many = _queries(client, "/secretariat/?page=2"), _queries(client, "/secretariat/")
    assert len(many) == len(few) <= 6  # 50 rows cost no more queries than 5


def _queries(client, path):
    """The SQL statements one request runs."""
    queries = []

    class Counter(logging.Handler):
        def emit(self, record):
            if isinstance(record.msg, tuple):
                queries.append(record.msg[0])

    handler = Counter(logging.DEBUG)
    logger = logging.getLogger("peewee")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        response = client.get(path)
        response.get_data()  # a streamed body runs its queries as it is read
        assert response.status_code == 200
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    return queries


def test_other_lists_ask_no_query_per_row(app, as_secretariat, make_org, make_account, submitted):
    client = as_secretariat
    orgs = [make_org("Q%02d" % n) for n in range(listings.QUEUE_PAGE_SIZE + 3)]
    for n, org in enumerate(orgs):
        submitted(org, family_name="P%d" % n, passport_key="K%d" % n)
        make_account("coordinator%d" % n, organization=org)
    token = token_of(client)
    client.post(
        "/secretariat/queue/decide",
        data={"csrf_token": token, "decision": "accredit", "participant": ["1:1", "2:1"]},
    )
    for first, second in (
        ("/secretariat/queue?page=2", "/secretariat/queue"),
        ("/secretariat/accounts?q=coordinator1", "/secretariat/accounts"),
        ("/secretariat/audit?action=participant", "/secretariat/audit"),
        (
            "/secretariat/exports/participants.csv?status=accredited",
            "/secretariat/exports/participants.csv",
        ),
    ):
        assert len(_queries(client, first)) == len(_queries(client, second)), second


# -- Review queue ------------------------------------------------------------------------------


def test_queue_shows_what_a_decision_needs_and_flags_duplicates(
    app, as_secretariat, make_org, make_event, submitted, make_participant
):
    client = as_secretariat
    make_event()  # ends on 18 November 2005
    a = make_org("AAA")
    b = make_org("BBB")
    old = submitted(
        a,
        family_name="Older",
        given_names="Omar",
        submitted_at=utcnow() - dt.timedelta(days=3),
        passport_expiry=dt.date(2005, 11, 1),
        visa_required=True,
        visa_place="Genève",
        is_head=True,
    )
    new = submitted(
        a,
        family_name="Newer",
        given_names="Nora",
        passport_expiry=dt.date(2009, 1, 1),
        visa_required=False,
    )
    twin = submitted(
        a, family_name="Dupont", given_names="Marie", date_of_birth=dt.date(1970, 5, 1)
    )
    other_twin = make_participant(
        b,
        family_name="DUPONT",
        given_names="marie",
        date_of_birth=dt.date(1970, 5, 1),
        status=DRAFT,
    )
    same_passport = submitted(
        a,
        family_name="Ali",
        given_names="Sami",
        passport_number="XA1234567",
        passport_key="XA1234567",
    )
    other_passport = make_participant(
        b,
        family_name="Aly",
        given_names="Samy",
        passport_number="xa 1234567",
        passport_key="XA1234567",
        status=ACCREDITED,
    )
    not_a_twin = make_participant(
        a,
        family_name="Dupont",
        given_names="Marie",
        date_of_birth=dt.date(1970, 5, 1),
        status=DRAFT,
    )
    make_participant(a, family_name="Drafty", given_names="Dan")  # not submitted: not in the queue

    page = client.get("/secretariat/queue").get_data(as_text=True)
    rows = re.findall(r'<tr id="p-(\d+)"', page)
    assert rows == [str(p.id) for p in (old, new, twin, same_passport)]
    old_row = re.search(r'<tr id="p-%d".*?</tr>' % old.id, page, re.S).group(0)
    assert "Head of delegation" in old_row and "Needs a visa" in old_row and "Genève" in old_row
    assert "before the end of the summit" in old_row
    new_row = re.search(r'<tr id="p-%d".*?</tr>' % new.id, page, re.S).group(0)
    assert "valid until" in new_row and "No visa needed" in new_row
    assert "No photo" in new_row
    twin_row = re.search(r'<tr id="p-%d".*?</tr>' % twin.id, page, re.S).group(0)
    assert 'class=" dup"' in twin_row or "dup" in twin_row.split(">")[0]
    assert "/secretariat/participants/%d" % other_twin.id in twin_row
    assert "/secretariat/participants/%d" % not_a_twin.id not in twin_row  # same organization
    passport_row = re.search(r'<tr id="p-%d".*?</tr>' % same_passport.id, page, re.S).group(0)
    assert "/secretariat/participants/%d" % other_passport.id in passport_row
    assert "XA1234567" not in passport_row  # masked

    # Flagged on both records.
    for mine, theirs in ((twin, other_twin), (other_twin, twin), (other_passport, same_passport)):
        record = client.get("/secretariat/participants/%d" % mine.id).get_data(as_text=True)
        assert "Possible duplicates" in record
        assert "/secretariat/participants/%d" % theirs.id in record
    org_page = client.get("/secretariat/organizations/%d" % b.id).get_data(as_text=True)
    assert org_page.count("Possible duplicate:") == 3  # the twin is two people in AAA
    assert "Possible duplicates" not in client.get(
        "/secretariat/participants/%d" % new.id
    ).get_data(as_text=True)


def test_queue_pages_and_filters(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    a, b = make_org("AAA"), make_org("BBB", name_en="Bravo")
    people = [submitted(a, family_name="A%02d" % n) for n in range(listings.QUEUE_PAGE_SIZE + 2)]
    bravo = submitted(b, family_name="Zulu")
    first = client.get("/secretariat/queue").get_data(as_text=True)
    assert first.count('<tr id="p-') == listings.QUEUE_PAGE_SIZE
    assert 'id="p-%d"' % people[0].id in first
    second = client.get("/secretariat/queue?page=2", headers=HX).get_data(as_text=True)
    assert second.count('<tr id="p-') == 3 and "<html" not in second
    filtered = client.get("/secretariat/queue?q=bravo").get_data(as_text=True)
    assert re.findall(r'<tr id="p-(\d+)"', filtered) == [str(bravo.id)]


def test_accredit_in_the_queue_with_htmx_swaps_the_row(
    app, as_secretariat, secretariat, make_org, submitted
):
    client = as_secretariat
    org = make_org()
    p, other = submitted(org), submitted(org, given_names="John")
    token = token_of(client)
    response = client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
        headers={
            **HX,
            "X-Forwarded-For": "ignored",
            "HX-Current-URL": "http://x/secretariat/queue",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    # The row gives way to the confirmation; the count changes as a reload would show it.
    assert body.lstrip().startswith('<tr id="p-%d" class="done">' % p.id)
    assert "<html" not in body and "Jane DOE is accredited." in body
    assert 'name="participant"' not in body  # a decided row has no checkbox any more
    assert '<p id="queue-count" hx-swap-oob="true">1 participant waits' in body
    # The last one: the page left empty comes whole, in place of the queue.
    last = client.post(
        "/secretariat/participants/%d/decision" % other.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
        headers=HX,
    )
    assert last.headers["HX-Retarget"] == "#queue" and last.headers["HX-Reswap"] == "outerHTML"
    assert "John DOE is accredited." in last.get_data(as_text=True)
    assert "Nothing to review." in last.get_data(as_text=True)
    fresh = fetch(app, Participant, p.id)
    assert (fresh.status, fresh.decided_by_id, fresh.version) == (ACCREDITED, secretariat.id, 2)
    with app.app_context(), database.connection_context():
        row = AuditLog.get(AuditLog.action == "participant.accredit")
        assert (row.actor, row.object_id, row.address) == ("registry", p.id, "127.0.0.1")
    assert 'id="p-%d"' % p.id not in client.get("/secretariat/queue").get_data(as_text=True)


def test_a_decision_in_a_full_queue_page_brings_the_next_pages_first_row(
    app, as_secretariat, make_org, submitted
):
    client = as_secretariat
    org = make_org()
    people = [submitted(org, family_name="P%02d" % n) for n in range(listings.QUEUE_PAGE_SIZE + 5)]
    token = token_of(client)
    screen = {**HX, "HX-Current-URL": "http://x/secretariat/queue?page=1"}
    response = client.post(
        "/secretariat/participants/%d/decision" % people[3].id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
        headers=screen,
    )
    body = response.get_data(as_text=True)
    # What was the next page's first row now ends this page, as a reload would show it.
    arrived = people[listings.QUEUE_PAGE_SIZE]
    assert (
        '<hx-partial hx-target="#queue-body" hx-swap="beforeend">\n<tr id="p-%d"' % arrived.id
        in body
    )
    assert body.count("<tr ") == 2
    assert '<p id="queue-count" hx-swap-oob="true">24 participants wait' in body
    assert '<div id="queue-pages" hx-swap-oob="true">' in body and "Page 1 of 2" in body
    # A bulk decision answers with the queue as reloaded: its form blank again.
    bulk = client.post(
        "/secretariat/queue/decide",
        data={
            "csrf_token": token,
            "decision": "accredit",
            "participant": ["%d:1" % people[0].id, "%d:1" % people[1].id],
        },
        headers=HX,
    )
    html = bulk.get_data(as_text=True)
    assert "2 participants accredited." in html and "22 participants wait" in html
    assert 'value="accredit" checked' not in html


def test_reject_without_javascript_and_reasons(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    org = make_org()
    p, q = submitted(org), submitted(org, given_names="John")
    token = token_of(client)
    # No reason: the form again with its error, 422, with and without HTMX.
    response = client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "reject", "version": 1},
    )
    assert response.status_code == 422
    assert "Give a reason for the rejection." in response.get_data(as_text=True)
    assert "<html" in response.get_data(as_text=True)
    response = client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "reject", "version": 1},
        headers=HX,
    )
    assert response.status_code == 422
    assert response.get_data(as_text=True).lstrip().startswith('<tr id="p-%d"' % p.id)
    assert fetch(app, Participant, p.id).status == SUBMITTED
    # A free-text reason, without JavaScript: Post/Redirect/Get.
    response = client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={
            "csrf_token": token,
            "decision": "reject",
            "text": "  Wrong delegation  ",
            "version": 1,
            "next": "/secretariat/queue",
        },
    )
    assert response.status_code == 303 and response.headers["Location"] == "/secretariat/queue"
    page = client.get("/secretariat/queue").get_data(as_text=True)
    assert "Jane DOE is rejected." in page
    fresh = fetch(app, Participant, p.id)
    assert (fresh.status, fresh.rejection_code, fresh.rejection_text) == (
        REJECTED,
        "",
        "Wrong delegation",
    )
    # A standard reason from the participant's page; an unknown code is not accepted.
    response = client.post(
        "/secretariat/participants/%d/decision" % q.id,
        data={"csrf_token": token, "decision": "reject", "reason": "made_up", "version": 1},
    )
    assert response.status_code == 422
    response = client.post(
        "/secretariat/participants/%d/decision" % q.id,
        data={
            "csrf_token": token,
            "decision": "reject",
            "reason": "photo_unsuitable",
            "version": 1,
        },
    )
    assert response.headers["Location"] == "/secretariat/participants/%d" % q.id
    record = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The photo is not suitable for a badge." in record
    assert fetch(app, Participant, q.id).rejection_code == "photo_unsuitable"


def test_bulk_decisions_with_and_without_javascript(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    org = make_org()
    people = [submitted(org, given_names="P%d" % n) for n in range(5)]
    token = token_of(client)
    response = client.post(
        "/secretariat/queue/decide",
        data={
            "csrf_token": token,
            "decision": "accredit",
            "participant": ["%d:1" % p.id for p in people[:3]],
        },
    )
    assert response.status_code == 303
    assert "3 participants accredited." in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    response = client.post(
        "/secretariat/queue/decide",
        data={
            "csrf_token": token,
            "decision": "reject",
            "text": "Not in the list",
            "participant": ["%d:1" % p.id for p in people[3:]],
        },
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith('<section id="queue"')
    assert "2 participants rejected." in body and "Nothing to review." in body
    statuses = [fetch(app, Participant, p.id).status for p in people]
    assert statuses == [ACCREDITED] * 3 + [REJECTED] * 2
    with app.app_context(), database.connection_context():
        assert AuditLog.select().where(AuditLog.action == "participant.accredit").count() == 3
        assert AuditLog.select().where(AuditLog.action == "participant.reject").count() == 2
    # Nothing ticked, or a rejection without a reason: 422, nothing changes.
    more = submitted(org)
    for data in ({"decision": "accredit"}, {"decision": "reject", "participant": "%d:1" % more.id}):
        response = client.post("/secretariat/queue/decide", data={"csrf_token": token, **data})
        assert response.status_code == 422
    assert fetch(app, Participant, more.id).status == SUBMITTED


def test_a_participant_decided_meanwhile_is_not_decided_twice(
    app, as_secretariat, make_account, make_org, submitted
):
    client = as_secretariat
    colleague = make_account("colleague", role=ROLE_SECRETARIAT)
    org = make_org()
    p, q, r = submitted(org), submitted(org, given_names="Quinn"), submitted(org, given_names="Rae")
    token = token_of(client)  # the reviewer's screen shows version 1 of each
    with app.test_request_context(), database.connection_context():
        decisions.decide(p.id, colleague, "reject", text="Colleague said no")
        decisions.decide(q.id, colleague, "accredit")
    # HTMX: the row answers 409 with a clear message; the colleague's decision stands.
    response = client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
        headers=HX,
    )
    assert response.status_code == 409
    assert "changed by someone else meanwhile" in response.get_data(as_text=True)
    assert fetch(app, Participant, p.id).status == REJECTED
    # Without JavaScript: back to the queue with the message.
    response = client.post(
        "/secretariat/participants/%d/decision" % q.id,
        data={
            "csrf_token": token,
            "decision": "reject",
            "reason": "duplicate",
            "version": 1,
            "next": "/secretariat/queue",
        },
    )
    assert response.status_code == 303
    assert "changed by someone else meanwhile" in client.get("/secretariat/queue").get_data(
        as_text=True
    )
    assert fetch(app, Participant, q.id).status == ACCREDITED
    # In a bulk decision, the others go through.
    response = client.post(
        "/secretariat/queue/decide",
        data={
            "csrf_token": token,
            "decision": "accredit",
            "participant": ["%d:1" % p.id, "%d:1" % r.id],
        },
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert "1 participant accredited." in body and "changed by someone else meanwhile" in body
    assert fetch(app, Participant, r.id).status == ACCREDITED
    assert fetch(app, Participant, p.id).status == REJECTED
    # The service itself refuses a move the lifecycle does not allow (a withdrawn participant);
    # a decision repeated as it was (the same version) changes nothing.
    with app.test_request_context(), database.connection_context():
        again = decisions.decide(r.id, colleague, "accredit", version=2)
        assert (again.status, again.version) == (ACCREDITED, 2)
        Participant.update(status=WITHDRAWN).where(Participant.id == r.id).execute()
        with pytest.raises(Conflict):
            decisions.decide(r.id, colleague, "accredit")


def test_participant_page_shows_its_history(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    p = submitted(make_org())
    token = token_of(client)
    client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
    )
    client.post(
        "/secretariat/participants/%d/decision" % p.id,
        data={"csrf_token": token, "decision": "reject", "reason": "not_eligible", "version": 2},
    )
    page = client.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    history = page[page.index("History") :]
    assert history.index("Accreditation refused") < history.index("Accreditation granted")
    assert "participant.reject" not in history  # words, not codes
    assert history.count("registry") == 2
    assert "This person is not eligible" in page
    assert client.get("/secretariat/participants/999999").status_code == 404


# -- Settings ----------------------------------------------------------------------------------


def _event_form(event, **changes):
    values = {
        name: getattr(event, name).isoformat()
        if isinstance(getattr(event, name), dt.date)
        else getattr(event, name)
        for name in settings.EVENT_FIELDS
    }
    values.update(changes)
    return values


def test_settings_change_the_window_for_the_next_coordinator_request(
    app, as_secretariat, make_event, make_org, make_account
):
    from flask.testing import FlaskClient

    from .conftest import AuthActions

    event = make_event("open")
    org = make_org()
    make_account("coord", organization=org)
    coordinator = FlaskClient(app, use_cookies=True)
    AuthActions(coordinator).login("coord", "Correct-horse-42")
    assert 'class="state open"' in coordinator.get("/delegation").get_data(as_text=True)

    client = as_secretariat
    page = client.get("/secretariat/settings").get_data(as_text=True)
    assert 'value="%s"' % event.registration_opens_on.isoformat() in page
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/secretariat/settings",
        data={
            "csrf_token": csrf_token(page),
            **_event_form(
                event,
                registration_closes_on=yesterday,
                registration_opens_on="2005-09-01",
                name_fr="Sommet de Tunis",
            ),
        },
    )
    assert response.status_code == 303
    assert 'class="state closed"' in coordinator.get("/delegation").get_data(as_text=True)
    fresh = fetch(app, Event, event.id)
    assert (fresh.registration_opens_on, fresh.name_fr) == (dt.date(2005, 9, 1), "Sommet de Tunis")
    with app.app_context(), database.connection_context():
        row = AuditLog.get(AuditLog.action == "event.update")
        assert "registration_closes_on" in row.details and row.actor == "registry"

    # Closing before opening: 422 with the form, with and without HTMX.
    bad = _event_form(fresh, registration_closes_on="2005-08-01")
    response = client.post("/secretariat/settings", data={"csrf_token": csrf_token(page), **bad})
    assert response.status_code == 422 and "cannot close before it opens" in response.get_data(
        as_text=True
    )
    response = client.post(
        "/secretariat/settings", data={"csrf_token": csrf_token(page), **bad}, headers=HX
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and body.lstrip().startswith('<form id="event-form"')
    # HTMX success: sent to the page with HX-Redirect.
    response = client.post(
        "/secretariat/settings",
        data={"csrf_token": csrf_token(page), **_event_form(fresh, notification_mode="digest")},
        headers=HX,
    )
    assert response.headers["HX-Redirect"] == "/secretariat/settings"
    assert fetch(app, Event, event.id).notification_mode == "digest"


def test_settings_form_proposes_the_tunis_defaults_when_there_is_no_event(as_secretariat):
    page = as_secretariat.get("/secretariat/settings").get_data(as_text=True)
    assert 'value="2005-09-01"' in page and 'value="2005-11-18"' in page


def test_quota_and_arabic_name(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    org = make_org(
        "WMO",
        name_fr="Organisation météorologique mondiale",
        name_en="World Meteorological Organization",
    )
    submitted(org)
    page = client.get("/secretariat/organizations/%d" % org.id).get_data(as_text=True)
    token = csrf_token(page)
    with app.app_context(), database.connection_context():
        assert quota_refusal(org.id) is None  # no quota: no limit
    response = client.post(
        "/secretariat/organizations/%d" % org.id,
        data={"csrf_token": token, "quota": "1", "name_ar": ""},
    )
    assert response.status_code == 303
    with app.test_request_context(), database.connection_context():
        # The next submission, by any worker, is refused at once.
        assert quota_refusal(org.id) is not None
    response = client.post(
        "/secretariat/organizations/%d" % org.id, data={"csrf_token": token, "quota": "-2"}
    )
    assert response.status_code == 422
    assert fetch(app, Organization, org.id).quota == 1

    # Until an Arabic name is entered, Arabic pages show the French one.
    client.get("/language/ar")
    page = client.get("/secretariat/?q=WMO").get_data(as_text=True)
    assert 'dir="rtl"' in page and "Organisation météorologique mondiale" in page
    client.post(
        "/secretariat/organizations/%d" % org.id,
        data={"csrf_token": token, "quota": "", "name_ar": "المنظمة العالمية للأرصاد الجوية"},
    )
    page = client.get("/secretariat/?q=WMO").get_data(as_text=True)
    assert "المنظمة العالمية للأرصاد الجوية" in page and "météorologique" not in page
    assert fetch(app, Organization, org.id).quota is None


# -- Accounts ----------------------------------------------------------------------------------


def test_accounts_search_lock_and_unlock(app, as_secretariat, auth, make_org, make_account):
    from flask.testing import FlaskClient

    from .conftest import AuthActions

    org = make_org("FAO", name_en="Food and Agriculture Organization")
    coord = make_account("fao.coord", organization=org, email="focal@fao.example")
    make_account("other.coord", organization=make_org())
    coordinator = FlaskClient(app, use_cookies=True)
    AuthActions(coordinator).login("fao.coord", "Correct-horse-42")
    assert coordinator.get("/delegation").status_code == 200

    client = as_secretariat
    page = client.get("/secretariat/accounts?q=agriculture").get_data(as_text=True)
    assert "fao.coord" in page and "other.coord" not in page
    assert "focal@fao.example" in client.get("/secretariat/accounts?q=FOCAL", headers=HX).get_data(
        as_text=True
    )
    token = csrf_token(page)
    response = client.post(
        "/secretariat/accounts/%d/access" % coord.id,
        data={"csrf_token": token, "action": "lock", "next": "/secretariat/accounts?q=fao"},
    )
    assert (
        response.status_code == 303
        and response.headers["Location"] == "/secretariat/accounts?q=fao"
    )
    assert "may not sign in any more" in client.get(response.headers["Location"]).get_data(
        as_text=True
    )
    # The coordinator's session ends at once, and signing in again is refused.
    assert coordinator.get("/delegation").status_code in (302, 303)
    refused = AuthActions(coordinator).login("fao.coord", "Correct-horse-42")
    assert refused.status_code != 303
    response = client.post(
        "/secretariat/accounts/%d/access" % coord.id,
        data={"csrf_token": token, "action": "unlock"},
        headers=HX,
    )
    assert response.headers["HX-Redirect"] == "/secretariat/accounts"
    assert AuthActions(coordinator).login("fao.coord", "Correct-horse-42").status_code == 303
    # A lock-out after failed sign-ins is lifted the same way.
    with app.app_context(), database.connection_context():
        Account.update(locked_until=utcnow() + dt.timedelta(hours=1), failed_logins=5).where(
            Account.id == coord.id
        ).execute()
    assert "locked out after failed sign-ins" in client.get("/secretariat/accounts?q=fao").get_data(
        as_text=True
    )
    client.post(
        "/secretariat/accounts/%d/access" % coord.id, data={"csrf_token": token, "action": "unlock"}
    )
    fresh = fetch(app, Account, coord.id)
    assert (fresh.locked_until, fresh.failed_logins, fresh.is_active) == (None, 0, True)
    with app.app_context(), database.connection_context():
        assert AuditLog.select().where(AuditLog.action == "account.lock").count() == 1
        assert AuditLog.select().where(AuditLog.action == "account.unlock").count() == 2


def test_password_link_from_the_accounts_screen(
    app, as_secretariat, make_org, make_account, smtp_server
):
    # The accounts screen posts to the sign-in part's one-time link route (one implementation).
    client = as_secretariat
    coord = make_account("who.coord", password=None, organization=make_org("WHO"), language="fr")
    page = client.get("/secretariat/accounts?q=who").get_data(as_text=True)
    action = "/secretariat/accounts/%d/password-link" % coord.id
    assert 'action="%s"' % action in page
    response = client.post(action, data={"csrf_token": csrf_token(page)})
    assert response.status_code == 200 and "no-store" in response.headers["Cache-Control"]
    assert "/password/" in response.get_data(as_text=True)
    deliver_mail(app)
    assert smtp_server == []
    response = client.post(action, data={"csrf_token": csrf_token(page), "send_email": "y"})
    assert response.status_code == 200
    assert smtp_server == []  # queued by the request, sent by the sender
    deliver_mail(app)
    assert len(smtp_server) == 1 and smtp_server[0]["To"].endswith("<who.coord@example.org>")
    with app.app_context(), database.connection_context():
        assert AuditLog.select().where(AuditLog.action == "password_link.create").count() == 2


def test_add_a_coordinator_to_an_organization(app, as_secretariat, make_org, smtp_server):
    client = as_secretariat
    org = make_org("ILO")
    page = client.get("/secretariat/organizations/%d" % org.id).get_data(as_text=True)
    data = {
        "csrf_token": csrf_token(page),
        "username": "ilo.focal",
        "given_name": "Juan",
        "family_name": "SOMAVÍA",
        "email": "focal@ilo.example",
        "language": "es",
    }
    assert (
        client.post("/secretariat/organizations/%d/coordinators" % org.id, data=data).status_code
        == 422
    )  # no Spanish
    data["language"] = "fr"
    data["send_link"] = "y"
    response = client.post("/secretariat/organizations/%d/coordinators" % org.id, data=data)
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "ilo.focal")
        assert (account.organization_id, account.role, account.password_scheme) == (
            org.id,
            "coordinator",
            "none",
        )
    deliver_mail(app)
    assert [m["To"] for m in smtp_server] == ["Juan SOMAVÍA <focal@ilo.example>"]
    page = client.get("/secretariat/organizations/%d" % org.id).get_data(as_text=True)
    assert "Juan SOMAVÍA" in page
    response = client.post("/secretariat/organizations/%d/coordinators" % org.id, data=data)
    assert response.status_code == 422 and "exists already" in response.get_data(as_text=True)


def test_import_a_prepcom_export_from_the_browser(app, as_secretariat):
    import io
    import os

    from .conftest import DATA

    client = as_secretariat
    token = token_of(client, "/secretariat/accounts/import")
    with open(os.path.join(DATA, "accounts-sample.csv"), "rb") as fh:
        sample = fh.read()
    with open(os.path.join(DATA, "accounts-bad.csv"), "rb") as fh:
        bad = fh.read()

    def upload(data, **extra):
        return client.post(
            "/secretariat/accounts/import",
            data={"csrf_token": token, "file": (io.BytesIO(data), "export.csv"), **extra},
            content_type="multipart/form-data",
        )

    def coordinators():
        with app.app_context(), database.connection_context():
            return Account.select().where(Account.role == "coordinator").count()

    response = upload(bad)
    assert response.status_code == 422
    assert "nothing imported" in response.get_data(as_text=True) and "line " in response.get_data(
        as_text=True
    )
    assert coordinators() == 0
    response = upload(sample, dry_run="y")
    assert response.status_code == 200 and "Dry run, nothing written" in response.get_data(
        as_text=True
    )
    assert coordinators() == 0
    response = upload(sample)
    created = coordinators()
    assert created > 0 and "accounts: %d created" % created in response.get_data(as_text=True)
    response = client.post(
        "/secretariat/accounts/import",
        data={"csrf_token": token, "file": (io.BytesIO(sample), "export.csv")},
        content_type="multipart/form-data",
        headers=HX,
    )
    body = response.get_data(as_text=True)
    assert body.lstrip().startswith('<section id="result"') and "%d unchanged" % created in body
    with app.app_context(), database.connection_context():
        assert AuditLog.get(AuditLog.action == "accounts.import").actor == "registry"


# -- Audit -------------------------------------------------------------------------------------


def test_audit_log_is_searchable(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    a, b = make_org("AAA"), make_org("BBB")
    pa, pb = submitted(a), submitted(b)
    token = token_of(client)
    client.post(
        "/secretariat/participants/%d/decision" % pa.id,
        data={"csrf_token": token, "decision": "accredit", "version": 1},
    )
    client.post(
        "/secretariat/participants/%d/decision" % pb.id,
        data={"csrf_token": token, "decision": "reject", "reason": "incomplete", "version": 1},
    )

    def entries(query, headers=None):
        return client.get("/secretariat/audit?" + query, headers=headers or {}).get_data(
            as_text=True
        )

    page = entries("")
    assert "participant.accredit" in page and "participant.reject" in page and "signin" in page
    only = entries("action=participant.reject")
    assert "participant.reject" in only and "participant.accredit</code>" not in only
    assert "/secretariat/participants/%d" % pb.id in only
    by_org = entries("organization=%d" % a.id)
    assert "participant.accredit" in by_org and "participant.reject</code>" not in by_org
    assert "signin</code>" not in entries("account=nobody")
    assert "registry" in entries("account=REGISTRY")
    today = dt.date.today()
    assert "participant.accredit" in entries("since=%s&until=%s" % (today, today))
    assert "participant.accredit</code>" not in entries("until=%s" % (today - dt.timedelta(days=1)))
    fragment = entries("action=participant", headers=HX)
    assert fragment.lstrip().startswith('<section id="results"') and "2 entries" in fragment


# -- Weight ------------------------------------------------------------------------------------


def test_pages_stay_small(app, as_secretariat, make_org, submitted):
    client = as_secretariat
    orgs = [make_org("O%02d" % n) for n in range(60)]
    for org in orgs:
        submitted(org, family_name="Person", given_names=org.code)
    for url in ("/secretariat/", "/secretariat/queue"):
        response = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert response.headers.get("Content-Encoding") == "gzip"
        assert len(response.data) < 8 * 1024, url
        fragment = client.get(url, headers={**HX, "Accept-Encoding": "gzip"})
        assert fragment.headers.get("Content-Encoding") == "gzip"
        assert len(fragment.data) < 3 * 1024, url


# -- Photos ------------------------------------------------------------------------------------


def _jpeg():
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (30, 40), (200, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def test_queue_shows_the_badge_photo(app, as_secretariat, make_org, submitted):
    from portal.models import Photo

    client = as_secretariat
    p = submitted(make_org())
    data = _jpeg()
    with app.app_context(), database.connection_context():
        Photo.create(
            participant=p.id, data=data, thumbnail=data, width=30, height=40, digest="d" * 64
        )
    page = client.get("/secretariat/queue").get_data(as_text=True)
    src = re.search(r'<img class="thumb" src="([^"]+)"', page).group(1)
    assert str(p.id) in src and "d" * 16 in src
    response = client.get(src)
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "image/jpeg"
    # The secretariat's own fallback route serves it as well.
    fallback = "/secretariat/participants/%d/photo/%s" % (p.id, "d" * 16)
    assert client.get(fallback).data == data
    assert client.get("/secretariat/participants/%d/photo/x" % (p.id + 1)).status_code == 404


# -- Every worker sees a change at once ----------------------------------------------------------


@pytest.mark.slow
def test_a_window_change_is_seen_by_every_gunicorn_worker(
    app, gunicorn_server, make_event, make_org, make_account, as_secretariat
):
    import http.cookiejar
    import urllib.parse
    import urllib.request

    event = make_event("open")
    make_account("coord", organization=make_org())
    server = gunicorn_server(workers=3, threads=2)
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )

    def get(path):
        with opener.open(server.url + path, timeout=10) as response:
            return response.read().decode()

    token = csrf_token(get("/login"))
    body = urllib.parse.urlencode(
        {"csrf_token": token, "username": "coord", "password": "Correct-horse-42"}
    ).encode()
    opener.open(server.url + "/login", data=body, timeout=10).read()
    # Every worker has served the open window (and could have kept it, if it cached).
    assert all('class="state open"' in get("/delegation") for _ in range(12))

    client = as_secretariat
    page = client.get("/secretariat/settings").get_data(as_text=True)
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    response = client.post(
        "/secretariat/settings",
        data={
            "csrf_token": csrf_token(page),
            **_event_form(
                event,
                registration_closes_on=yesterday,
                registration_opens_on=(dt.date.today() - dt.timedelta(days=30)).isoformat(),
            ),
        },
    )
    assert response.status_code == 303
    assert all('class="state closed"' in get("/delegation") for _ in range(12))
