"""Every page in every language: no text left in another language, Arabic right-to-left, the
language switch everywhere, the order of language choice, WTForms' own messages translated,
CLDR dates and country names, and e-mails in the recipient's language."""

import io
import os
import re
import shutil
from html import escape as html_escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po

from portal import i18n_tools
from portal.db import database
from portal.models import Account

from .conftest import ROOT, csrf_token, deliver_mail

PYTHON_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[#0 +-]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")
BRACE_PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
LATIN = re.compile(r"[A-Za-z]")
CODE = re.compile(r"^[a-z_]+(\.[a-z_]+)+$")


@pytest.fixture(scope="session")
def compiled_translations(tmp_path_factory):
    """The catalogues of this checkout, compiled once for the session."""
    target = tmp_path_factory.mktemp("catalogues") / "translations"
    shutil.copytree(
        os.path.join(ROOT, "translations"),
        target,
        ignore=shutil.ignore_patterns("*.mo", ".tmp-*"),
    )
    out = io.StringIO()
    assert i18n_tools.compile_all(str(target), out=out) == 0, out.getvalue()
    return str(target)


@pytest.fixture
def app_config(app_config, compiled_translations):
    return {**app_config, "BABEL_TRANSLATION_DIRECTORIES": compiled_translations}


def _catalog(language):
    with open(i18n_tools.po_path(language), "rb") as fh:
        return read_po(fh, locale=language)


def _fragments(text):
    """The literal pieces of a message between its placeholders, long enough to be telling."""
    for piece in re.split(PYTHON_PLACEHOLDER.pattern + "|" + BRACE_PLACEHOLDER.pattern, text):
        piece = piece.strip(" :;,.()«»“”'\"\n")
        if len(piece) >= 4 and LATIN.search(piece):
            yield piece


@pytest.fixture(scope="session")
def foreign_fragments():
    """For each page language, the texts that must not appear on its pages: the English source
    of every translated entry (French and Arabic pages) or the French wording (English pages),
    left out where both languages write the same ("Photo", "Participants")."""
    result = {"fr": set(), "ar": set(), "en": set()}
    for language in ("fr", "ar"):
        for message in _catalog(language):
            if not message.id:
                continue
            ids = message.id if isinstance(message.id, (list, tuple)) else (message.id,)
            strings = (
                message.string if isinstance(message.string, (list, tuple)) else (message.string,)
            )
            translated = " ".join(strings)
            for source in ids:
                for piece in _fragments(source):
                    if piece not in translated:
                        result[language].add(piece)
            if language == "fr":
                english = " ".join(ids)
                for text in strings:
                    for piece in _fragments(text):
                        if piece not in english and not piece.isupper():
                            result["en"].add(piece)
    return {
        language: [
            (piece, re.compile(r"(?<![A-Za-zÀ-ÿ])%s(?![A-Za-zÀ-ÿ])" % re.escape(piece)))
            for piece in sorted(pieces, key=len, reverse=True)
        ]
        for language, pieces in result.items()
    }


class VisibleText(HTMLParser):
    """The text a reader sees or hears: text nodes and the attributes read out (placeholder,
    title, aria-label, alt, button values), without scripts, styles, the language switch, and
    noting whether names are isolated for bidi (<bdi> or a dir attribute around them)."""

    # <code>: technical identifiers shown as such (audit actions, JSON details).
    SKIP = {"script", "style", "template", "code"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []
        self.chunks = []
        self.unisolated = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in self.SKIP or "langs" in (attrs.get("class") or "").split()
        isolated = tag in ("bdi", "input", "textarea") or "dir" in attrs
        if tag != "html":
            for name in ("placeholder", "title", "aria-label", "alt"):
                if attrs.get(name) and not self._skipping():
                    self.chunks.append(attrs[name])
            if tag == "input" and attrs.get("type") in ("submit", "button") and attrs.get("value"):
                self.chunks.append(attrs["value"])
        if tag not in self.VOID:
            self.stack.append((tag, skip, isolated))

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break

    def _skipping(self):
        return any(skip for _, skip, _ in self.stack)

    def handle_data(self, data):
        if self._skipping() or not data.strip():
            return
        if self.stack and self.stack[-1][0] == "option" and CODE.match(data.strip()):
            return  # an audit action code offered as a filter ("signin.failed")
        if self.stack and self.stack[-1][0] == "title":
            return  # the document title cannot hold <bdi>; it is checked as text below
        if any(tag == "bdi" for tag, _, _ in self.stack):
            return  # a name someone entered (a person, an organization): a proper name
        self.chunks.append(data)
        if not any(isolated for _, _, isolated in self.stack):
            self.unisolated.append(data)


def visible(html, names=()):
    parser = VisibleText()
    parser.feed(html)
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    title = title.group(1) if title else ""
    for name in sorted(names, key=len, reverse=True):
        title = title.replace(html_escape(name), " ")  # names are proper names
    chunks = parser.chunks + [title]
    return " ".join(" ".join(chunks).split()), parser.unisolated


def leftovers(text, fragments):
    found = []
    for piece, pattern in fragments:
        if pattern.search(text):
            found.append(piece)
            text = pattern.sub(" ", text)
    return found


SKIP_PATHS = ("/language/", "/logout", "/static/", "/photos/", "/healthz")


def internal_links(html, attribute="href"):
    for href in re.findall(r'%s="([^"]+)"' % attribute, html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue
        path = parts.path + ("?" + parts.query if parts.query else "")
        if path.startswith(SKIP_PATHS) or re.search(r"\.(csv|xlsx|jpg|png|css|js)$", parts.path):
            continue
        yield path


def crawl(client, starts, limit=120, variants_per_path=3):
    """Follow every link of the portal from ``starts`` (GET only). Return {path: html} for the
    pages, and {url: html} for the fragments HTMX would fetch (``hx-get``, with HX-Request)."""
    pages, fragments, queue, per_path = {}, {}, list(starts), {}
    while queue and len(pages) < limit:
        path = queue.pop(0)
        if path in pages:
            continue
        base = urlsplit(path).path
        if per_path.get(base, 0) >= variants_per_path:
            continue
        response = client.get(path)
        if response.status_code in (301, 302, 303):
            queue.append(urlsplit(response.headers["Location"]).path)
            continue
        if response.mimetype != "text/html":
            continue
        per_path[base] = per_path.get(base, 0) + 1
        html = response.get_data(as_text=True)
        pages[path] = html
        queue.extend(link for link in internal_links(html) if link not in pages)
        for url in internal_links(html, "hx-get"):
            if url not in fragments and len(fragments) < limit:
                answer = client.get(url, headers={"HX-Request": "true"})
                assert answer.status_code < 500, url
                fragments[url] = answer.get_data(as_text=True)
    return pages, fragments


@pytest.fixture
def demo(app, runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        names = set()
        from portal.models import Organization, Participant

        for p in Participant.select():
            names.update(filter(None, (p.family_name, p.given_names, p.full_name, p.function)))
        for o in Organization.select():
            names.update(filter(None, (o.name_fr, o.name_en)))
        for a in Account.select():
            names.update(filter(None, (a.full_name, a.username if "." in a.username else "")))
    return {"names": names}


def choose(client, language):
    response = client.get("/language/%s?next=/" % language)
    assert response.status_code == 303


def assert_page_language(path, html, language, fragments, names, whole_page=True):
    text, unisolated = visible(html, names)
    found = leftovers(text, fragments[language])
    assert not found, "%s (%s): text in another language: %s" % (path, language, found[:10])
    if whole_page:
        direction = "rtl" if language == "ar" else "ltr"
        assert '<html lang="%s" dir="%s">' % (language, direction) in html, path
        # The switch: a plain link to each other language, back to this very page.
        for other in {"fr", "en", "ar"} - {language}:
            assert 'href="/language/%s?next=' % other in html, (path, other)
    if language == "ar":
        # Latin names inside Arabic text are isolated (<bdi> or dir), so they read right.
        for data in unisolated:
            for name in names:
                assert name not in data, "%s: %r not in <bdi> or dir=auto: %r" % (path, name, data)


ROLES = [
    ("coordinator", "unesco.dfp", "Tunis2005!", "/delegation"),
    ("coordinator (Arabic)", "las.coord", "Qahira2005", "/delegation"),
    ("secretariat", "secretariat", "Secretariat-2005", "/secretariat/"),
]


@pytest.mark.parametrize("role,username,password,start", ROLES, ids=[r[0] for r in ROLES])
def test_every_page_and_fragment_is_in_the_page_language(
    app, client, auth, demo, foreign_fragments, role, username, password, start
):
    response = auth.login(username, password)
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    checked = {"pages": 0, "fragments": 0}
    for language in ("fr", "ar", "en"):
        choose(client, language)
        pages, fragments = crawl(client, [start, "/account/password", "/no-such-page"])
        assert len(pages) >= 3, pages.keys()
        for path, html in pages.items():
            assert_page_language(path, html, language, foreign_fragments, demo["names"])
            checked["pages"] += 1
        for url, body in fragments.items():
            assert "<html" not in body, url  # HTMX gets the fragment, not a whole page
            assert_page_language(
                url, body, language, foreign_fragments, demo["names"], whole_page=False
            )
            checked["fragments"] += 1
    assert checked["pages"] >= 9 and checked["fragments"] >= 1, checked


@pytest.mark.parametrize("language", ["fr", "ar", "en"])
def test_sign_in_and_error_pages_are_in_the_page_language(
    client, demo, foreign_fragments, language
):
    choose(client, language)
    for path, status in (("/login", 200), ("/nowhere", 404), ("/secretariat/", 303)):
        response = client.get(path)
        assert response.status_code == status
        if status == 303:
            continue
        assert_page_language(path, response.get_data(as_text=True), language, foreign_fragments, [])
    fragment = client.get("/nowhere", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.get_data(as_text=True)
    body = fragment.get_data(as_text=True)
    assert_page_language("/nowhere (HTMX)", body, language, foreign_fragments, [], whole_page=False)
    assert {"fr": "Page introuvable", "ar": "الصفحة غير موجودة", "en": "Page not found"}[
        language
    ] in body
    # A sign-in sent empty: WTForms' own "required" message in the page's language.
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert_page_language("/login (422)", html, language, foreign_fragments, [])
    required = {
        "fr": "Ce champ est obligatoire.",
        "ar": "هذا الحقل مطلوب.",
        "en": "This field is required.",
    }
    assert html.count(required[language]) == 2  # username and password
    # The same through HTMX: the fragment only, translated.
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page)}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert response.get_data(as_text=True).count(required[language]) == 2


def test_the_participant_form_sent_empty_is_answered_in_the_page_language(
    client, auth, demo, foreign_fragments
):
    assert auth.login("las.coord", "Qahira2005").status_code == 303
    for language, required in (("ar", "هذا الحقل مطلوب."), ("fr", "Ce champ est obligatoire.")):
        choose(client, language)
        page = client.get("/delegation/participants/new")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        response = client.post(
            "/delegation/participants/new",
            data={"csrf_token": csrf_token(html), "action": "submit"},
        )
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert required in body
        assert_page_language("participant form (422)", body, language, foreign_fragments, [])


# -- Choosing the language ---------------------------------------------------------------------


def _lang(response):
    return re.search(r'<html lang="(\w+)" dir="(\w+)">', response.get_data(as_text=True)).groups()


def test_without_any_choice_the_page_is_french(client, demo):
    assert _lang(client.get("/login")) == ("fr", "ltr")
    assert _lang(client.get("/login", headers={"Accept-Language": "de-CH, it;q=0.8"})) == (
        "fr",
        "ltr",
    )


def test_accept_language_comes_before_french(client, demo):
    assert _lang(client.get("/login", headers={"Accept-Language": "ar-TN,ar;q=0.9"})) == (
        "ar",
        "rtl",
    )
    assert _lang(client.get("/login", headers={"Accept-Language": "en-GB, fr;q=0.5"})) == (
        "en",
        "ltr",
    )


def test_the_account_language_comes_before_accept_language(app, client, auth, demo):
    # las.coord prefers Arabic (PrepCom export); the browser asks for English.
    headers = {"Accept-Language": "en"}
    page = client.get("/login", headers=headers)
    token = csrf_token(page.get_data(as_text=True))
    client.post(
        "/login",
        data={"csrf_token": token, "username": "las.coord", "password": "Qahira2005"},
        headers=headers,
    )
    assert _lang(client.get("/delegation", headers=headers)) == ("ar", "rtl")


def test_the_session_choice_comes_first_and_leaves_the_account_alone(app, auth, demo):
    first = app.test_client()
    assert AuthOnClient(first).login("las.coord", "Qahira2005").status_code == 303
    page = first.get("/delegation")
    assert _lang(page) == ("ar", "rtl")
    html = page.get_data(as_text=True)
    # The switch is a plain link back to the same page.
    assert 'href="/language/fr?next=/delegation"' in html
    switched = first.get("/language/fr?next=/delegation")
    assert switched.status_code == 303 and switched.headers["Location"] == "/delegation"
    assert _lang(first.get("/delegation", headers={"Accept-Language": "ar"})) == ("fr", "ltr")
    # The account's language (its e-mails) is not changed by browsing in another one.
    with app.app_context(), database.connection_context():
        assert Account.get(Account.username_key == "las.coord").language == "ar"
    second = app.test_client()
    AuthOnClient(second).login("las.coord", "Qahira2005")
    assert _lang(second.get("/delegation", headers={"Accept-Language": "fr"})) == ("ar", "rtl")
    # A choice made before signing in is kept through the sign-in.
    third = app.test_client()
    third.get("/language/en?next=/login")
    AuthOnClient(third).login("las.coord", "Qahira2005")
    assert _lang(third.get("/delegation")) == ("en", "ltr")


def test_the_language_of_e_mails_is_chosen_on_the_account_page(app, demo):
    client = app.test_client()
    AuthOnClient(client).login("unesco.dfp", "Tunis2005!")
    client.get("/language/ar?next=/delegation")
    page = client.get("/account/password").get_data(as_text=True)
    assert re.search(
        r"<option[^>]*selected[^>]*value=\"fr\"|<option[^>]*value=\"fr\"[^>]*selected", page
    )
    answer = client.post(
        "/account/language", data={"csrf_token": csrf_token(page), "language": "en"}
    )
    assert answer.status_code == 303
    with app.app_context(), database.connection_context():
        assert Account.get(Account.username_key == "unesco.dfp").language == "en"
    refused = client.post(
        "/account/language", data={"csrf_token": csrf_token(page), "language": "de"}
    )
    assert refused.status_code == 422


def test_the_switch_goes_back_only_to_this_site(client):
    response = client.get("/language/ar?next=https://evil.example/")
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert client.get("/language/de?next=/").status_code == 404


class AuthOnClient:
    def __init__(self, client):
        self.client = client

    def login(self, username, password):
        page = self.client.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post(
            "/login", data={"csrf_token": token, "username": username, "password": password}
        )


def test_dates_numbers_and_country_names_follow_the_page_language(app, client, auth, demo):
    auth.login("unesco.dfp", "Tunis2005!")
    choose(client, "ar")
    html = client.get("/delegation").get_data(as_text=True)
    assert "16 نوفمبر 2005" in html  # CLDR's Arabic month name
    choose(client, "fr")
    html = client.get("/delegation").get_data(as_text=True)
    assert "16 novembre 2005" in html
    from portal.i18n import country_choices, country_name

    with app.test_request_context():
        assert country_name("TN", "ar") == "تونس"
        assert country_name("TN", "fr") == "Tunisie"
        assert country_name("CH", "en") == "Switzerland"
        choices = dict(country_choices("fr"))
        assert choices["DZ"] == "Algérie" and "EU" not in choices and "001" not in choices
        names = [name for _, name in country_choices("fr")]
        # Accented names sort with their letter: Égypte after Danemark, before Espagne.
        assert names.index("Danemark") < names.index("Égypte") < names.index("Espagne")
    # The participant form's country list is in the page language.
    choose(client, "ar")
    form = client.get("/delegation/participants/new").get_data(as_text=True)
    assert ">تونس<" in form
    choose(client, "fr")
    form = client.get("/delegation/participants/new").get_data(as_text=True)
    assert ">Tunisie<" in form


# -- One stylesheet for both directions ----------------------------------------------------------


def test_the_stylesheet_uses_logical_properties_only():
    with open(os.path.join(ROOT, "portal", "static", "style.css"), encoding="utf-8") as fh:
        css = re.sub(r"/\*.*?\*/", "", fh.read(), flags=re.S)
    physical = re.findall(
        r"(?:margin|padding|border)-(?:left|right)\b[^;{}]*|(?<![-\w])(?:left|right)\s*:[^;{}]*"
        r"|(?:text-align|float|clear)\s*:\s*(?:left|right)\b",
        css,
    )
    assert physical == []


ARROWS = re.compile("[←→↔⇐⇒‹›⟵⟶➔➜▸◂▶◀]")


def test_directional_glyphs_are_marked_for_mirroring(app, client, auth, demo):
    """An arrow or chevron in a page is wrapped in <span class="icon-arrow"> (the stylesheet
    mirrors it in right-to-left pages; tests/browser/test_arabic_layout.py checks that)."""
    pages = {}
    for username, password, start in (
        ("unesco.dfp", "Tunis2005!", "/delegation"),
        ("secretariat", "Secretariat-2005", "/secretariat/"),
    ):
        auth.login(username, password)
        choose(client, "ar")
        pages.update(crawl(client, [start])[0])
        auth.logout()
    assert len(pages) >= 5
    for path, html in pages.items():
        body = html.split("<body", 1)[1]
        body = re.sub(r'<span class="icon-arrow"[^>]*>[^<]*</span>', "", body)
        assert not ARROWS.findall(body), path


# -- E-mail in the recipient's language (what it must show, 4) -----------------------------------


def test_an_email_triggered_in_french_reaches_an_arabic_coordinator_in_arabic(
    app, client, auth, demo, smtp_server
):
    with app.app_context(), database.connection_context():
        coordinator = Account.get(Account.username_key == "las.coord")
        assert coordinator.language == "ar" and coordinator.email
        coordinator_id = coordinator.id
    assert auth.login("secretariat", "Secretariat-2005").status_code == 303
    choose(client, "fr")
    page = client.get("/secretariat/accounts")
    assert _lang(page) == ("fr", "ltr")
    response = client.post(
        "/secretariat/accounts/%d/password-link" % coordinator_id,
        data={"csrf_token": csrf_token(page.get_data(as_text=True)), "send_email": "y"},
    )
    assert response.status_code == 200
    assert _lang(response) == ("fr", "ltr")  # the secretariat's page stays in French
    deliver_mail(app)
    assert len(smtp_server) == 1
    message = smtp_server[0]
    catalog = _catalog("ar")
    subject = catalog.get("WSIS Tunis registration: set your password").string
    assert message["Subject"] == subject
    body = message.get_content()
    intro = catalog.get(
        "The ITU secretariat has made a link for you to set the password of your registration "
        "account (username: %(username)s):"
    ).string
    assert intro % {"username": "\u2068las.coord\u2069"} in body  # isolated (FSI, PDI)
    assert "أمانة الاتحاد الدولي للاتصالات" in body
    french = _catalog("fr")
    assert french.get("WSIS Tunis registration service").string not in body
    assert not leftovers(body, [(p, re.compile(re.escape(p))) for p in ("secretariat has made",)])


def test_a_decision_by_a_french_speaking_secretariat_reaches_an_arabic_coordinator_in_arabic(
    app, client, auth, demo, smtp_server
):
    from portal.models import SUBMITTED, Organization, Participant, utcnow

    with app.app_context(), database.connection_context():
        las = Organization.get(Organization.code == "LAS")
        participant = Participant.create(
            organization=las,
            family_name="BEN SALEM",
            given_names="Amira",
            courtesy_title="ms",
            status=SUBMITTED,
            submitted_at=utcnow(),
        )
    assert auth.login("secretariat", "Secretariat-2005").status_code == 303
    choose(client, "fr")
    page = client.get("/secretariat/participants/%d" % participant.id)
    assert _lang(page) == ("fr", "ltr")
    response = client.post(
        "/secretariat/participants/%d/decision" % participant.id,
        data={
            "csrf_token": csrf_token(page.get_data(as_text=True)),
            "decision": "reject",
            "reason": "passport_invalid",
            "version": participant.version,
        },
    )
    assert response.status_code == 303
    flashed = client.get(response.headers["Location"]).get_data(as_text=True)
    # The reviewer's French, without an elision to get wrong before a name.
    assert "Accréditation refusée\u00a0: Amira BEN SALEM." in flashed
    deliver_mail(app)
    assert len(smtp_server) == 1
    message = smtp_server[0]
    arabic = _catalog("ar")
    subject = arabic.get("WSIS Tunis registration: %(name)s is not accredited").string
    # The name isolated (FSI, PDI): the Arabic subject reads right to left around it.
    assert message["Subject"] == subject % {"name": "\u2068Amira BEN SALEM\u2069"}
    body = message.get_content()
    assert arabic.get("The passport is not valid for the dates of the summit.").string in body
    assert arabic.get("You can correct the registration and submit it again.").string in body
    assert "جامعة الدول العربية" in body and "Ligue des États arabes" not in body  # in Arabic
    french = _catalog("fr")
    assert french.get("The passport is not valid for the dates of the summit.").string not in body


def test_the_secretariat_sees_country_names_in_the_page_language(client, auth, demo):
    auth.login("secretariat", "Secretariat-2005")
    for language, japan in (("ar", "اليابان"), ("fr", "Japon"), ("en", "Japan")):
        choose(client, language)
        html = client.get("/secretariat/queue").get_data(as_text=True)
        assert "MATSUURA" in html  # the demo's head of delegation, born in Japan
        assert "· %s" % japan in html, language
