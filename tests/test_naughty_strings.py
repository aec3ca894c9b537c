"""The Big List of Naughty Strings (tests/data/blns) through every text field of every form, the
search and filter parameters, and the PrepCom accounts import.

``make test`` sends a sample (one string from each section of the list, and the portal's own
extras: very long, zero-width, ideographic space, right-to-left override, NUL...); ``make
test-hostile`` (``PORTAL_HOSTILE=full``) sends all of it and prints the counts.

For each string and field, with every other field valid, as a browser would (signed in, CSRF
token): never a 500; a refusal is a 422 that says what is wrong; what is stored is the string
normalized (``portal.forms.normalize``: NFC, trimmed, and what the field itself does, such as a
name's blanks collapsed); and every page that shows it back shows it escaped: no markup that the
string brought (a ``<script>``, an ``on...=`` handler, an ``<svg>``, a ``javascript:`` link)
appears in any page.
"""

import datetime as dt
import io
import os
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from markupsafe import escape

from portal.db import database
from portal.forms import normalize
from portal.models import ROLE_SECRETARIAT, Account, Event, Organization, Participant

from .conftest import DATA, csrf_token, summary

FULL = os.environ.get("PORTAL_HOSTILE") == "full"
PASSWORD = "Correct-horse-42"

#: Hostile strings of the portal's own, beside the list's.
EXTRAS = [
    ("Very long", "A" * 2001),
    ("Long name", "É" * 151),
    ("Zero-width space", "\u200b"),
    ("Zero-width inside a name", "Jo\u200bhn"),
    ("Ideographic space", "\u3000"),
    ("Right-to-left override", "\u202eDOE"),
    ("NUL", "DO\x00E"),
    ("Line break", "DOE\r\nSMITH"),
    ("Combining accent (NFD)", "Jose\u0301"),
    ("Blanks around", "\u00a0\u2003 DOE \t"),
    ("HTMX attribute", '" hx-get="/logout" hx-trigger="load" x="'),
    ("Template", "{{ 7*7 }}{% raw %}"),
    ("Arabic", "محمد عبد الله"),
]


def load_blns(path=os.path.join(DATA, "blns", "blns.txt")):
    """Return [(section, string)] from the list, in its order (comment lines give sections)."""
    strings, section, after_comment = [], "", False
    with open(path, encoding="utf-8") as fh:
        for line in fh.read().split("\n"):
            if line.startswith("#"):
                text = line.lstrip("#").strip()
                if text and not after_comment:
                    section = text
                after_comment = True
                continue
            after_comment = False
            if line:
                strings.append((section, line))
    return strings


def hostile_strings():
    """The whole list (full run), or the first string of each section (the sample), with the
    extras."""
    everything = load_blns()
    if FULL:
        chosen = everything
    else:
        seen, chosen = set(), []
        for section, string in everything:
            if section not in seen:
                seen.add(section)
                chosen.append((section, string))
    return chosen + EXTRAS


def for_field(rule, strings, number):
    """The strings a field gets: all of them for a text field; for a choice, a date or a number
    (which refuse all but their own values the same way), every fourth."""
    return rule is not None or number % 4 == 0


# -- Markup a string may have brought -----------------------------------------------------------

#: Tags no page of the portal has: a string that brings one is an injection.
FOREIGN_TAGS = {"iframe", "object", "embed", "svg", "math", "base", "frame", "frameset",
                "applet", "marquee", "isindex", "xss", "video", "audio", "body"}  # fmt: skip


class MarkupCheck(HTMLParser):
    """Collect what in a page could run a script."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.bodies = 0

    def handle_starttag(self, tag, attrs):
        if tag == "body":
            self.bodies += 1
            if self.bodies == 1:
                return
        if tag in FOREIGN_TAGS:
            self.problems.append("<%s>" % tag)
        if tag == "script" and not (dict(attrs).get("src") or "").startswith("/static/"):
            self.problems.append("<script> not the portal's")
        if tag == "img" and not re.match(r"(/photos/|/static/|/secretariat/|/delegation/|data:,)", dict(attrs).get("src") or ""):  # fmt: skip
            self.problems.append("<img src=%r>" % dict(attrs).get("src"))
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append("%s= on <%s>" % (name, tag))
            if name in ("href", "src", "action", "formaction", "hx-get", "hx-post") and re.match(
                r"\s*(javascript|vbscript|data:text)", value or "", re.I
            ):
                self.problems.append("%s=%r" % (name, value))


def unsafe_markup(body):
    check = MarkupCheck()
    check.feed(body)
    return check.problems


def test_the_markup_check_finds_an_injection():
    page = '<html><body><p>Hi</p><img src=x onerror="alert(1)"><script>alert(1)</script>'
    assert len(unsafe_markup(page)) == 3
    assert unsafe_markup('<body><a href="/x">a</a><script src="/static/htmx.js"></script>') == []


def test_the_list_is_read_whole():
    strings = load_blns()
    assert len(strings) > 450
    sections = {section for section, _s in strings}
    assert {"Script Injection", "SQL Injection", "Right-To-Left Strings", "Emoji"} <= sections
    assert len(hostile_strings()) >= 40


# -- The forms ----------------------------------------------------------------------------------


def signed_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303, username
    client.token = csrf_token(client.get("/account/password").get_data(as_text=True))
    return client


@pytest.fixture
def people(app, make_event, make_org, make_account):
    make_event("open")
    org = make_org("ORGA", name_en="Organization A")
    coordinator = make_account("coord.a", organization=org)
    make_account("secretariat.x", role=ROLE_SECRETARIAT)
    return {
        "org": org,
        "coordinator": coordinator,
        "own": signed_in(app, "coord.a"),
        "secretariat": signed_in(app, "secretariat.x"),
    }


def _names(n):
    return " ".join(n.split())


def _passport(n):
    return "".join(n.split()).upper()


#: What each stored field holds for a string accepted: the string normalized, then what the
#: field itself does. None: not compared (a choice, a date, a number in its own format).
PARTICIPANT_FIELDS = {
    "family_name": lambda n: _names(n).upper(),
    "given_names": _names,
    "family_name_original": _names,
    "given_names_original": _names,
    "function": _names,
    "passport_number": _passport,
    "email": lambda n: n,
    "mobile": None,
    "visa_place": _names,
    "special_needs": "lines",
    "courtesy_title": None,
    "gender": None,
    "nationality": None,
    "passport_country": None,
    "date_of_birth": None,
    "passport_expiry": None,
    "arrival_date": None,
    "departure_date": None,
    "visa_required": None,
    "is_head": None,
    "version": None,
    "submission_key": None,
    "photo_choice": None,
}


class Tally:
    def __init__(self):
        self.statuses = Counter()
        self.cases = 0
        self.stored = 0
        self.shown = 0
        self.problems = []

    def check(self, where, response, pages=()):
        self.cases += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.problems.append("%s: %d" % (where, response.status_code))
        if response.status_code == 422 and b"error" not in response.get_data().lower():
            self.problems.append("%s: a 422 that says nothing" % where)
        self.check_pages(where, [("(answer)", response), *pages])

    def check_pages(self, where, pages):
        for url, page in pages:
            if page.status_code >= 500:
                self.problems.append("%s, %s: %d" % (where, url, page.status_code))
            if page.mimetype != "text/html":
                continue
            problems = unsafe_markup(page.get_data(as_text=True))
            if problems:
                self.problems.append("%s, %s: %s" % (where, url, problems))

    def report(self, name):
        summary(
            "naughty strings, %s: %d strings (%s), %d cases, statuses %s, %d stored and "
            "compared, %d shown back escaped"
            % (
                name,
                len(hostile_strings()),
                "whole list" if FULL else "sample",
                self.cases,
                dict(sorted(self.statuses.items())),
                self.stored,
                self.shown,
            )
        )
        assert not self.problems, "\n".join(self.problems[:50])


def expected_value(rule, string):
    try:
        n = normalize(string, multiline=rule in ("lines", "import"))
    except ValueError:
        return "refused"
    if rule == "import":  # a line break in a quoted value is a space (FORMAT.md)
        return " ".join(n.split())
    return n if rule == "lines" else rule(n)


def shown_escaped(value, pages):
    if not value or not value.strip():
        return False
    escaped = str(escape(value))
    return any(escaped in page.get_data(as_text=True) for _url, page in pages)


def _views(client, urls):
    return [(url, client.get(url)) for url in urls]


def participant_base():
    return {
        "courtesy_title": "ms",
        "family_name": "DOE",
        "given_names": "Jane",
        "gender": "f",
        "function": "Delegate",
        "email": "jane@example.org",
        "special_needs": "",
    }


def test_participant_form(app, people):
    """Every field of the participant form, on a new participant (no JavaScript); the pages
    that show them, once per string: the list, each one's form, the secretariat's page of the
    organization and of each participant."""
    own, secretariat, org_id = people["own"], people["secretariat"], people["org"].id
    tally = Tally()
    for number, (section, string) in enumerate(hostile_strings()):
        saved = []
        for field, rule in PARTICIPANT_FIELDS.items():
            if not for_field(rule, PARTICIPANT_FIELDS, number):
                continue
            where = "participant.%s <- %s %r" % (field, section, string[:40])
            data = {**participant_base(), "csrf_token": own.token, "submission_key": ""}
            if field == "visa_place":
                data["visa_required"] = "yes"
            data[field] = string
            if field != "submission_key":
                data["submission_key"] = os.urandom(8).hex()
            response = own.post("/delegation/participants/new", data=data)
            tally.check(where, response)
            if response.status_code == 303:
                pid = int(re.search(r"#p-(\d+)", response.headers["Location"]).group(1))
                with app.app_context(), database.connection_context():
                    stored = getattr(Participant.get_by_id(pid), field, None)
                saved.append((pid, field, rule, stored, where))
                if rule is not None:
                    tally.stored += 1
                    want = expected_value(rule, string)
                    if want == "refused" or stored != want:
                        tally.problems.append("%s: stored %r, not %r" % (where, stored, want))
            elif response.status_code != 422:
                tally.problems.append("%s: %d" % (where, response.status_code))
        pages = _views(own, ["/delegation/participants"])
        pages += _views(secretariat, ["/secretariat/organizations/%d" % org_id])
        for pid, field, rule, stored, where in saved:
            one = _views(own, ["/delegation/participants/%d" % pid])
            one += _views(secretariat, ["/secretariat/participants/%d" % pid])
            tally.check_pages(where, one + pages)
            if rule is not None:
                tally.shown += shown_escaped(stored, one + pages)
        with app.app_context(), database.connection_context():
            Participant.delete().where(Participant.organization == org_id).execute()
    tally.report("participant form")


def test_live_field_checks(app, people):
    own = people["own"]
    tally = Tally()
    from portal.delegation.forms import LIVE_FIELDS

    for section, string in hostile_strings():
        for field in LIVE_FIELDS:
            response = own.post(
                "/delegation/participants/validate/%s" % field,
                data={"csrf_token": own.token, field: string},
                headers={"HX-Request": "true"},
            )
            tally.check("validate %s <- %s %r" % (field, section, string[:40]), response)
    tally.report("live field checks")


SECRETARIAT_TEXT = {
    "event": ("name_en", "name_fr", "name_ar", "venue_en", "venue_fr", "venue_ar"),
    "organization": ("name_en", "name_fr", "name_ar", "acronym_en", "acronym_fr", "acronym_ar"),
}


def event_base():
    return {
        "name_en": "World Summit",
        "name_fr": "Sommet mondial",
        "name_ar": "القمة العالمية",
        "venue_en": "Kram",
        "venue_fr": "Kram",
        "venue_ar": "الكرم",
        "starts_on": "2005-11-16",
        "ends_on": "2005-11-18",
        "registration_opens_on": dt.date.today().isoformat(),
        "registration_closes_on": (dt.date.today() + dt.timedelta(days=30)).isoformat(),
        "notification_mode": "immediate",
    }


def one_object_form(app, tally, client, url, base, fields, read, views):
    """A form that changes one object (the event, an organization): each field in turn gets
    the string, the fields accepted keep it; the pages that show the object are read once per
    string, with every accepted field in them."""
    for number, (section, string) in enumerate(hostile_strings()):
        data, accepted = dict(base), []
        for field, rule in fields.items():
            if not for_field(rule, fields, number):
                continue
            where = "%s.%s <- %s %r" % (url, field, section, string[:40])
            response = client.post(url, data={**data, "csrf_token": client.token, field: string})
            tally.check(where, response)
            if response.status_code == 303:
                data[field] = string
                if rule is not None:
                    stored = read(field)
                    tally.stored += 1
                    want = expected_value(rule, string)
                    if (stored or "") != want:
                        tally.problems.append("%s: stored %r, not %r" % (where, stored, want))
                    accepted.append(stored)
            elif response.status_code != 422:
                tally.problems.append("%s: %d" % (where, response.status_code))
        pages = views()
        tally.check_pages("%s <- %s %r" % (url, section, string[:40]), pages)
        tally.shown += sum(shown_escaped(value, pages) for value in accepted)


def test_event_settings(app, people):
    secretariat, own = people["secretariat"], people["own"]
    tally = Tally()
    fields = {**dict.fromkeys(SECRETARIAT_TEXT["event"], lambda n: n)}
    fields.update(dict.fromkeys(("starts_on", "registration_closes_on", "notification_mode")))

    def read(field):
        with app.app_context(), database.connection_context():
            return getattr(Event.select().order_by(Event.id).first(), field)

    def views():
        return _views(secretariat, ["/secretariat/settings"]) + _views(own, ["/delegation"])

    one_object_form(
        app, tally, secretariat, "/secretariat/settings", event_base(), fields, read, views
    )
    tally.report("event settings")


def test_organization_form(app, people):
    secretariat, own = people["secretariat"], people["own"]
    org_id = people["org"].id
    tally = Tally()
    fields = {**dict.fromkeys(SECRETARIAT_TEXT["organization"], lambda n: n), "quota": None}
    base = {"name_en": "Organization A", "name_fr": "Organisation A", "quota": "10"}
    url = "/secretariat/organizations/%d" % org_id

    def read(field):
        with app.app_context(), database.connection_context():
            return getattr(Organization.get_by_id(org_id), field)

    def views():
        return _views(secretariat, [url, "/secretariat/"]) + _views(own, ["/delegation"])

    one_object_form(app, tally, secretariat, url, base, fields, read, views)
    tally.report("organization form")


def test_new_coordinator_form(app, people):
    secretariat = people["secretariat"]
    org_id = people["org"].id
    tally = Tally()
    fields = {"username": lambda n: n, "given_name": lambda n: n, "family_name": lambda n: n}
    fields.update({"email": None, "language": None})
    for number, (section, string) in enumerate(hostile_strings()):
        for field, rule in fields.items():
            where = "coordinator.%s <- %s %r" % (field, section, string[:40])
            data = {
                "csrf_token": secretariat.token,
                "username": "new.coord%d%s" % (number, field),
                "given_name": "Ann",
                "family_name": "Lee",
                "email": "ann@example.org",
                "language": "fr",
                field: string,
            }
            url = "/secretariat/organizations/%d/coordinators" % org_id
            response = secretariat.post(url, data=data)
            pages = []
            if response.status_code in (200, 303):
                pages = _views(secretariat, ["/secretariat/organizations/%d" % org_id])
                with app.app_context(), database.connection_context():
                    account = (
                        Account.select().where(Account.organization == org_id)
                        .order_by(Account.id.desc()).first()
                    )  # fmt: skip
                    stored = getattr(account, field)
                    Account.delete().where(Account.id == account.id).execute()
                if rule is not None:
                    tally.stored += 1
                    want = expected_value(rule, string)
                    if stored != want:
                        tally.problems.append("%s: stored %r, not %r" % (where, stored, want))
                    tally.shown += shown_escaped(stored, pages)
            tally.check(where, response, pages)
    tally.report("new coordinator form")


def test_rejection_reason(app, people):
    """The reason the secretariat writes, shown to the coordinator."""
    secretariat, own, org = people["secretariat"], people["own"], people["org"]
    tally = Tally()
    for section, string in hostile_strings():
        with app.app_context(), database.connection_context():
            person = Participant.create(
                organization=org, status="submitted", family_name="DOE", given_names="Jane"
            )
        where = "rejection text <- %s %r" % (section, string[:40])
        data = {
            "csrf_token": secretariat.token,
            "decision": "reject",
            "reason": "",
            "text": string,
            "version": "1",
        }
        url = "/secretariat/participants/%d/decision" % person.id
        response = secretariat.post(url, data=data)
        pages = []
        if response.status_code == 303:
            pages = _views(secretariat, ["/secretariat/participants/%d" % person.id])
            pages += _views(
                own, ["/delegation/participants", "/delegation/participants/%d" % person.id]
            )
            with app.app_context(), database.connection_context():
                stored = Participant.get_by_id(person.id).rejection_text
            tally.stored += 1
            want = expected_value("lines", string)
            if stored != want:
                tally.problems.append("%s: stored %r, not %r" % (where, stored, want))
            tally.shown += shown_escaped(stored, pages)
        with app.app_context(), database.connection_context():
            Participant.delete().where(Participant.id == person.id).execute()
        tally.check(where, response, pages)
    tally.report("rejection reason")


def test_sign_in_and_password_forms(app, people):
    tally = Tally()
    for section, string in hostile_strings():
        client = app.test_client()
        token = csrf_token(client.get("/login").get_data(as_text=True))
        for field in ("username", "password", "next"):
            data = {"csrf_token": token, "username": "coord.a", "password": "wrong-password-1"}
            data[field] = string
            response = client.post("/login", data=data)
            tally.check("login %s <- %s %r" % (field, section, string[:40]), response)
        own = people["own"]
        for field in ("current_password", "new_password", "confirm"):
            data = {
                "csrf_token": own.token,
                "current_password": "wrong-password-1",
                "new_password": "Another-horse-43",
                "confirm": "Another-horse-43",
                field: string,
            }
            response = own.post("/account/password", data=data)
            tally.check("password %s <- %s %r" % (field, section, string[:40]), response)
    tally.report("sign-in and password forms")


#: Every search and filter parameter, and the ``next`` of the forms that take one.
QUERIES = {
    "secretariat": [
        "/secretariat/?q={}",
        "/secretariat/?category={}&status={}&sort={}&dir={}",
        "/secretariat/?page={}",
        "/secretariat/queue?q={}",
        "/secretariat/queue?organization={}",
        "/secretariat/accounts?q={}",
        "/secretariat/audit?action={}&account={}",
        "/secretariat/audit?since={}&until={}&organization={}",
        "/secretariat/exports?status={}",
        "/secretariat/exports?organization={}",
        "/secretariat/participants/1/photo/x?size={}",
    ],
    "own": [
        "/delegation/participants?page={}",
        "/delegation/countries/en?selected={}",
        "/language/fr?next={}",
        "/login?next={}",
    ],
}


def test_search_and_filter_parameters(app, people):
    from urllib.parse import quote

    tally = Tally()
    for section, string in hostile_strings():
        for role, urls in QUERIES.items():
            client = people[role]
            for url in urls:
                full = url.replace("{}", quote(string, safe=""))
                response = client.get(full)
                tally.check("%s <- %s %r" % (url, section, string[:40]), response)
                if response.status_code in (301, 302, 303):
                    location = response.headers["Location"]
                    if not location.startswith("/") or location.startswith("//"):
                        tally.problems.append("%s: sent to %r" % (url, location))
    tally.report("search and filter parameters")


# -- The PrepCom import -------------------------------------------------------------------------

IMPORT_COLUMNS = (
    "username",
    "org_name_en",
    "org_name_fr",
    "org_name_ar",
    "org_acronym",
    "title",
    "given_name",
    "family_name",
    "phone",
)


def _csv(values):
    import csv

    from portal.services.prepcom import decode

    with open(os.path.join(DATA, "accounts-sample.csv"), "rb") as fh:
        rows = list(csv.reader(io.StringIO(decode(fh.read()), newline="")))
    header, first = rows[0], rows[1]
    row = dict(zip(header, first, strict=True))
    row.update(values)
    out = io.StringIO()
    writer = csv.writer(out)
    header = list(dict.fromkeys([*header, *values]))
    writer.writerow(header)
    writer.writerow([row.get(name, "") for name in header])
    return out.getvalue().encode("utf-8"), row


def test_prepcom_import(app, people):
    """Each text column of the import, in a file sent through the secretariat's page."""
    secretariat = people["secretariat"]
    tally = Tally()
    for number, (section, string) in enumerate(hostile_strings()):
        for column in IMPORT_COLUMNS:
            values = {column: string}
            if column != "username":
                values["username"] = "naughty%d.%s" % (number, column)
            data, row = _csv(values)
            where = "import %s <- %s %r" % (column, section, string[:40])
            response = secretariat.post(
                "/secretariat/accounts/import",
                data={"csrf_token": secretariat.token, "file": (io.BytesIO(data), "accounts.csv")},
                content_type="multipart/form-data",
            )
            pages = []
            if response.status_code == 200:
                pages = _views(secretariat, ["/secretariat/accounts?q=naughty%d" % number])
                pages += _views(secretariat, ["/secretariat/"])
                want = expected_value("import", string)
                with app.app_context(), database.connection_context():
                    key = Account.key(row["username"] if column != "username" else want)
                    account = Account.get_or_none(Account.username_key == key)
                    if column.startswith("org_"):
                        stored = getattr(
                            Organization.get(Organization.code == row["org_code"]),
                            {"org_acronym": "acronym_fr"}.get(column, column[4:]),
                        )
                    elif column in ("username", "title", "given_name", "family_name", "phone"):
                        stored = getattr(account, column) if account else None
                tally.stored += 1
                if (stored or "") != want:
                    tally.problems.append("%s: stored %r, not %r" % (where, stored, want))
                tally.shown += shown_escaped(stored, pages)
            elif response.status_code != 422:
                tally.problems.append("%s: %d" % (where, response.status_code))
            tally.check(where, response, pages)
    tally.report("PrepCom import")


def test_an_import_row_goes_through_the_forms_normalization(app, runner, tmp_path):
    """U+3000 around a name is trimmed as a form trims it; a control character and a
    right-to-left override are the row's errors, named with their column and line; a wrapped
    name is one line."""
    header, good = _csv({})[0].decode().splitlines()[:2]
    columns = header.split(",")

    def line(**values):
        data, _row = _csv(values)
        return data.decode().splitlines()[1]

    lines = [
        header,
        line(username="wide.space", given_name="\u3000Hélène\u3000", family_name="Lefe\u0300vre"),
        line(username="control.char", family_name="Bro\x07wn", org_code="O2"),
        line(username="rtl.override", given_name="\u202eenèléH", org_code="O3"),
    ]
    path = tmp_path / "export.csv"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    result = runner.invoke(args=["accounts", "import", str(path)])
    assert result.exit_code != 0
    errors = [ln for ln in result.output.splitlines() if ": line " in ln]
    assert len(errors) == 2, result.output
    assert "line 3: family_name: Remove the invisible or control characters" in errors[0]
    assert "line 4: given_name: Remove the invisible or control characters" in errors[1]
    # Without the bad rows, the first is imported, normalized.
    path.write_text("\r\n".join(lines[:2]) + "\r\n", encoding="utf-8")
    result = runner.invoke(args=["accounts", "import", str(path)])
    assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "wide.space")
        assert account.given_name == "Hélène"
        assert account.family_name == "Lefèvre"  # NFC: one code point for è
    assert "org_name_en" in columns and good


#: The spreadsheet import's text columns (the participant form's own fields, row by row).
SPREADSHEET_COLUMNS = ("family_name", "given_names", "function", "passport_number", "visa_place")


def test_spreadsheet_import(app, people):
    """Each text column of a delegation's spreadsheet (CSV, one row per file), through the
    coordinator's upload, preview and confirmation: never a 500, the preview escapes what it
    shows, and a row accepted is stored as the form would store it."""
    from .test_bulk_import import csv_file, person

    own = people["own"]
    tally = Tally()
    for number, (section, string) in enumerate(hostile_strings()):
        for column in SPREADSHEET_COLUMNS:
            where = "spreadsheet %s <- %s %r" % (column, section, string[:40])
            passport = "N%03d%s" % (number, column[:3].upper())
            row = person(number, **{"passport_number": passport, column: string})
            data = csv_file([row])
            response = own.post(
                "/delegation/import",
                data={"csrf_token": own.token, "file": (io.BytesIO(data), "delegation.csv")},
                content_type="multipart/form-data",
            )
            if response.status_code != 303:
                tally.check(where, response)
                continue
            preview_url = response.headers["Location"]
            preview = own.get(preview_url)
            tally.check(where, preview)
            if 'method="post" action="%s"' % preview_url not in preview.get_data(as_text=True):
                continue  # the row is refused: its error is shown, nothing to confirm
            done = own.post(preview_url, data={"csrf_token": own.token})
            tally.check(where, done, _views(own, ["/delegation/participants"]))
            want = expected_value(PARTICIPANT_FIELDS[column], string)
            if want == "refused":
                tally.problems.append("%s: imported, where the form refuses it" % where)
                continue
            with app.app_context(), database.connection_context():
                stored = (
                    Participant.select()
                    .where(Participant.organization == people["org"].id)
                    .order_by(Participant.id.desc())
                    .first()
                )
            tally.stored += 1
            if getattr(stored, column) != want:
                tally.problems.append(
                    "%s: stored %r, not %r" % (where, getattr(stored, column), want)
                )
            tally.shown += shown_escaped(want, _views(own, ["/delegation/participants"]))
    tally.report("spreadsheet import")
