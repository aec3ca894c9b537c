"""Page-weight budgets, checked over HTTP against a real gunicorn as a phone's browser sees it:
compressed bytes on the wire (headers included), requests per page, cached static files,
validators on pages, compressed fragments and error pages.

Budgets (see README, Performance): a cold sign-in page under 10 KB and no script; a cold
dashboard and participant form under 30 KB in at most 4 requests; those pages warm (static files
cached) under 8 KB in 1 request; every HTMX fragment under 3 KB.
"""

import gzip
import http.client
import re
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

import brotli
import pytest

KB = 1000
BR_GZIP = "br, gzip"
ASSET_RE = re.compile(
    r'<(?:link[^>]+rel="stylesheet"[^>]+href|script[^>]+src|img[^>]+src)="([^"]+)"'
)
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

pytestmark = pytest.mark.slow


class Wire:
    """What crossed the wire for one response: status line, headers and (compressed) body."""

    def __init__(self, raw, body):
        self.status = raw.status
        self.headers = {k.lower(): v for k, v in raw.getheaders() if k.lower() != "set-cookie"}
        self.cookies = [v for k, v in raw.getheaders() if k.lower() == "set-cookie"]
        self.body = body
        head = "HTTP/1.1 %d %s\r\n" % (raw.status, raw.reason)
        head += "".join("%s: %s\r\n" % kv for kv in raw.getheaders()) + "\r\n"
        self.bytes = len(head.encode("latin-1")) + len(body)

    @property
    def encoding(self):
        return self.headers.get("content-encoding")

    def text(self):
        data = self.body
        if self.encoding == "br":
            data = brotli.decompress(data)
        elif self.encoding == "gzip":
            data = gzip.decompress(data)
        return data.decode("utf-8")


class Browser:
    """A phone's browser over HTTP/1.1: cookies, Accept-Encoding, an HTTP cache for validators."""

    def __init__(self, url, accept_encoding=BR_GZIP):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port
        self.cookies = {}
        self.accept_encoding = accept_encoding

    def request(self, method, path, data=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        sent = {"Accept-Encoding": self.accept_encoding, "Accept-Language": "fr"}
        if self.cookies:
            sent["Cookie"] = "; ".join("%s=%s" % kv for kv in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        sent.update(headers or {})
        conn.request(method, path, body=body, headers=sent)
        raw = conn.getresponse()
        response = Wire(raw, raw.read())
        conn.close()
        for value in response.cookies:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response

    def get(self, path, **headers):
        return self.request("GET", path, headers=headers)

    def post(self, path, data, **headers):
        return self.request("POST", path, data=data, headers=headers)

    def sign_in(self, username, password):
        token = CSRF_RE.search(self.get("/login").text()).group(1)
        response = self.post(
            "/login", {"csrf_token": token, "username": username, "password": password}
        )
        assert response.status == 303, response.status
        return response


def cold_load(browser, path):
    """Load ``path`` and every stylesheet, script and image it links: [(url, Wire)]."""
    page = browser.get(path)
    assert page.status == 200, (path, page.status)
    loads = [(path, page)]
    for url in ASSET_RE.findall(page.text()):
        loads.append((url, browser.get(url)))
    return loads


@pytest.fixture
def server(app, runner, gunicorn_server):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return gunicorn_server(workers=1, threads=4)


@pytest.fixture
def routes(app):
    """The coordinator's routes as portal/delegation declares them."""
    found = {}
    for rule in app.url_map.iter_rules():
        name = rule.endpoint.split(".", 1)[-1]
        if not rule.endpoint.startswith("delegation.") or rule.arguments:
            continue
        if name == "dashboard":
            found["dashboard"] = rule.rule
        elif "participant" in name and "GET" in rule.methods:
            if any(w in name for w in ("new", "add", "create", "form")):
                found.setdefault("form", rule.rule)
            elif "export" not in name:
                found.setdefault("list", rule.rule)
    return found


def total(loads):
    return sum(w.bytes for _url, w in loads)


def test_sign_in_page_cold_is_under_10_kb_without_script(server):
    browser = Browser(server.url)
    loads = cold_load(browser, "/login")
    page = loads[0][1]
    assert page.encoding == "br"
    assert "<script" not in page.text()
    assert [url for url, _w in loads[1:]] == [u for u in ASSET_RE.findall(page.text())]
    assert all(w.status == 200 for _u, w in loads)
    assert total(loads) < 10 * KB, [(u, w.bytes) for u, w in loads]


def test_gzip_for_clients_without_brotli(server):
    browser = Browser(server.url, accept_encoding="gzip, deflate")
    loads = cold_load(browser, "/login")
    assert [w.encoding for _u, w in loads] == ["gzip"] * len(loads)
    assert 'name="password"' in loads[0][1].text()
    plain = Browser(server.url, accept_encoding="identity").get(loads[1][0])
    assert plain.encoding is None and plain.body.decode().startswith(":root")


def test_dashboard_cold_under_30_kb_in_4_requests_and_warm_under_8_kb_in_1(server, routes):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    loads = cold_load(browser, routes["dashboard"])
    assert len(loads) <= 4, [u for u, _w in loads]
    assert total(loads) < 30 * KB, [(u, w.bytes) for u, w in loads]
    assert loads[0][1].encoding == "br"
    html = loads[0][1].text()
    # HTMX never blocks the first paint.
    for tag in re.findall(r"<script[^>]*>", html):
        assert " defer" in tag or " async" in tag, tag
    # Warm: the static files are cached (immutable), only the page crosses the wire.
    for url, wire in loads[1:]:
        assert wire.headers["cache-control"] == "public, max-age=31536000, immutable", url
    warm = browser.get(routes["dashboard"])
    assert warm.status == 200
    assert warm.bytes < 8 * KB


def test_participant_list_of_300_warm_under_8_kb(server, routes, app):
    from portal.db import database
    from portal.models import Account, Participant

    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "unesco.dfp")
        have = Participant.select().where(Participant.organization == account.organization).count()
        Participant.insert_many(
            [
                {"organization": account.organization_id, "family_name": "PERSON%03d" % i}
                for i in range(have, 300)
            ]
        ).execute()
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    loads = cold_load(browser, routes["list"])
    # The list has no request budget (its photo thumbnails load lazily), only a byte one.
    assert total(loads) < 30 * KB, [(u, w.bytes) for u, w in loads]
    warm = browser.get(routes["list"])
    assert warm.status == 200 and warm.bytes < 8 * KB
    dashboard = browser.get(routes["dashboard"])
    assert dashboard.status == 200 and dashboard.bytes < 8 * KB


def test_htmx_fragments_are_under_3_kb(server, routes):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    fragment = browser.get(routes["dashboard"], **{"HX-Request": "true"})
    assert fragment.status == 200
    assert "<html" not in fragment.text()
    assert fragment.bytes < 3 * KB
    assert "HX-Request" in fragment.headers["vary"]
    # A fragment lands in a page that has the document's policies: they are not repeated.
    assert "content-security-policy" not in fragment.headers
    assert "content-security-policy" in browser.get(routes["dashboard"]).headers
    # A failed sign-in answers the form with its error (422), compressed like any page.
    anonymous = Browser(server.url)
    token = CSRF_RE.search(anonymous.get("/login").text()).group(1)
    wrong = anonymous.post(
        "/login",
        {"csrf_token": token, "username": "unesco.dfp", "password": "wrong"},
        **{"HX-Request": "true"},
    )
    assert wrong.status == 422
    assert wrong.bytes < 3 * KB
    if len(wrong.text()) >= 500:
        assert wrong.encoding == "br"


def test_participant_form_cold_and_warm(server, routes):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    loads = cold_load(browser, routes["form"])
    assert len(loads) <= 4, [u for u, _w in loads]
    assert total(loads) < 30 * KB, [(u, w.bytes) for u, w in loads]
    warm = browser.get(routes["form"])
    assert warm.status == 200 and warm.bytes < 8 * KB


def test_an_invalid_participant_fragment_is_under_3_kb(server, routes):
    """Saving an invalid participant through HTMX answers 422 with the form: under 3 KB."""
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    page = browser.get(routes["form"]).text()
    action = re.search(r'<form[^>]+action="(/delegation/participants[^"]*)"', page).group(1)
    token = CSRF_RE.search(page).group(1)
    invalid = {"csrf_token": token, "family_name": "Гагарин", "email": "not an address"}
    answer = browser.post(action, invalid, **{"HX-Request": "true"})
    assert answer.status == 422, (action, answer.headers)
    assert 'class="error"' in answer.text()
    assert answer.bytes < 3 * KB
    assert answer.encoding in ("br", None)


def test_error_pages_are_compressed(server):
    browser = Browser(server.url)
    missing = browser.get("/no-such-page")
    assert missing.status == 404
    assert missing.encoding == "br"
    token = CSRF_RE.search(browser.get("/login").text()).group(1)
    wrong = browser.post("/login", {"csrf_token": token, "username": "x", "password": "y"})
    assert wrong.status == 422
    assert wrong.encoding == "br"
    assert "<form" in wrong.text()


def test_static_files_are_immutable_precompressed_and_cookie_free(server):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    html = browser.get("/delegation").text()
    urls = ASSET_RE.findall(html)
    assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls)
    for url in urls:
        assert re.search(r"\.[0-9a-f]{10}\.(css|js)$", url), url
        first = browser.get(url)
        assert first.status == 200
        assert first.encoding == "br"
        assert first.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert first.headers["vary"] == "Accept-Encoding"
        assert first.cookies == []  # no session cookie on a file every page shares
        again = browser.get(url, **{"If-None-Match": first.headers["etag"]})
        assert again.status == 304 and again.body == b""
    # The stylesheet is minified when the portal starts.
    css = Browser(server.url, "identity").get(next(u for u in urls if u.endswith(".css")))
    assert b"/*" not in css.body and b"\n  " not in css.body
    # No web fonts: the system's fonts (Arabic included) are used.
    assert b"@font-face" not in css.body and b"url(" not in css.body


def test_revisiting_an_unchanged_page_costs_a_304_and_its_form_still_works(server, routes):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    first = browser.get(routes["dashboard"])
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert first.headers["cache-control"] == "private, no-cache"
    assert {"Cookie", "HX-Request", "Accept-Encoding"} <= {
        v.strip() for v in first.headers["vary"].split(",")
    }
    again = browser.get(routes["dashboard"], **{"If-None-Match": etag})
    assert again.status == 304
    assert again.body == b"" and again.bytes < 1 * KB
    # The page the browser kept still works: its CSRF token signs the user out.
    token = CSRF_RE.search(first.text()).group(1)
    out = browser.post("/logout", {"csrf_token": token})
    assert out.status == 303
    # Signed out, the same validator no longer matches: the page is not served from cache.
    after = browser.get(routes["dashboard"], **{"If-None-Match": etag})
    assert after.status == 303


def test_a_changed_page_gets_a_new_validator(server, routes, app):
    browser = Browser(server.url)
    browser.sign_in("unesco.dfp", "Tunis2005!")
    first = browser.get(routes["dashboard"])
    from portal.db import database
    from portal.models import Organization

    with app.app_context(), database.connection_context():
        Organization.update(name_fr="UNESCO (renommée)").where(
            Organization.code == "UNESCO"
        ).execute()
    changed = browser.get(routes["dashboard"], **{"If-None-Match": first.headers["etag"]})
    assert changed.status == 200
    assert "renommée" in changed.text()
    assert changed.headers["etag"] != first.headers["etag"]
    # Another session (another CSRF secret) never matches the first session's validator.
    other = Browser(server.url)
    other.sign_in("unesco.dfp", "Tunis2005!")
    mine = browser.get(routes["dashboard"])
    theirs = other.get(routes["dashboard"], **{"If-None-Match": mine.headers["etag"]})
    assert theirs.status == 200
