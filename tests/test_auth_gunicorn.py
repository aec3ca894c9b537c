"""Sign-in over HTTP in a real gunicorn: every sample account with its documented password and
the real argon2 cost, across a restart; lock-outs counted across worker processes."""

import html
import os
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from portal.db import database
from portal.models import Account

from .conftest import csrf_token

# FORMAT.md's sample accounts and their passwords.
SAMPLE = {
    "unesco.dfp": ("Tunis2005!", "UNESCO"),
    "unesco.deputy": ("Tunis2005!", "UNESCO"),
    "wipo-focal": ("Geneva#WSIS", "WIPO"),
    "las.coord": ("Qahira2005", "LAS"),
    "oif_coord": ("Francophonie-05", "OIF"),
    "escwa.dfp": ("Beyrouth_2005", "ESCWA"),
    "au.dfp": ("Addis+2005", "AU"),
}
REAL_ARGON2 = {"PORTAL_ARGON2_TIME_COST": 2, "PORTAL_ARGON2_MEMORY_KIB": 19456}

pytestmark = pytest.mark.slow


class Browser:
    """A visitor without JavaScript: a cookie jar, forms posted as a browser posts them."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        # The assertions read English messages.
        self.opener.addheaders = [("Accept-Language", "en")]

    def get(self, path):
        return self._open(path)

    def _open(self, path, data=None):
        try:
            response = self.opener.open(self.base + path, data=data, timeout=60)
            return response.status, response.geturl(), response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.geturl(), exc.read().decode()

    def sign_in(self, username, password):
        _status, _url, page = self.get("/login")
        data = urllib.parse.urlencode(
            {"csrf_token": csrf_token(page), "username": username, "password": password}
        ).encode()
        started = time.perf_counter()
        status, url, body = self._open("/login", data)
        return status, url, body, time.perf_counter() - started


def organization_names(app):
    with app.app_context(), database.connection_context():
        return {
            a.username: a.organization.name(a.language)
            for a in Account.select()
            if a.organization_id
        }


def stop(server):
    os.killpg(server.process.pid, signal.SIGTERM)
    server.process.wait(timeout=30)


def test_each_sample_account_signs_in_over_http_and_after_a_restart(
    app, runner, gunicorn_server, capsys
):
    """What it must show, 1."""
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    names = organization_names(app)
    server = gunicorn_server(workers=2, threads=4, **REAL_ARGON2)
    timings = {}
    for username, (password, _code) in SAMPLE.items():
        browser = Browser(server.url)
        status, url, body, seconds = browser.sign_in(username, password)
        timings[username] = seconds
        assert status == 200 and url.endswith("/delegation"), (username, status, url)
        assert html.escape(names[username]) in body or names[username] in html.unescape(body)
        # Signed in for the pages that follow too.
        status, url, body = browser.get("/delegation")
        assert status == 200 and names[username] in html.unescape(body)
    # undp.wsis has no usable password: nothing signs it in.
    for attempt in ("", "undp", "Programme2005"):
        status, url, body, _s = Browser(server.url).sign_in("undp.wsis", attempt)
        assert status in (400, 422) and url.endswith("/login"), (attempt, status)
    listing = runner.invoke(args=["accounts", "list"]).output
    rows = {line.split("\t")[0]: line.split("\t") for line in listing.splitlines()}
    for username in SAMPLE:
        assert rows[username][3] == "argon2id", rows[username]
        assert rows[username][4] != "never"
    assert rows["undp.wsis"][3] == "none"
    with app.app_context(), database.connection_context():
        for account in Account.select().where(Account.username_key.in_(list(SAMPLE))):
            assert "$m=19456,t=2,p=1$" in account.password_hash  # the real cost
    # A restart: the same passwords still work (now against the argon2id hashes).
    stop(server)
    server = gunicorn_server(workers=2, threads=4, **REAL_ARGON2)
    again = {}
    for username, (password, _code) in SAMPLE.items():
        status, url, body, seconds = Browser(server.url).sign_in(username, password)
        again[username] = seconds
        assert status == 200 and url.endswith("/delegation"), username
        assert names[username] in html.unescape(body)
        status, url, _body, _s = Browser(server.url).sign_in(username, password + "x")
        assert status == 422
    log = server.log()
    assert "Traceback" not in log
    for password, _code in SAMPLE.values():
        assert password not in log
    with capsys.disabled():
        print(
            "\nsign-in with real argon2 cost (s): first (legacy check + re-hash) median %.3f, "
            "max %.3f; after restart (argon2id) median %.3f, max %.3f"
            % (
                sorted(timings.values())[len(timings) // 2],
                max(timings.values()),
                sorted(again.values())[len(again) // 2],
                max(again.values()),
            )
        )


def test_repeated_wrong_passwords_lock_the_account_across_worker_processes(
    app, runner, gunicorn_server
):
    """What it must show, 4 (second part): two gunicorn masters of one worker each on the
    same database (two worker processes for certain, as on two hosts), plus a two-worker
    server."""
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    settings = {"PORTAL_LOCKOUT_THRESHOLD": 5, "PORTAL_LOCKOUT_MINUTES": 15}
    first = gunicorn_server(workers=1, threads=2, **settings)
    second = gunicorn_server(workers=1, threads=2, **settings)
    both = gunicorn_server(workers=2, threads=2, **settings)
    servers = [first, second, first, second, both]
    for server in servers:
        status, _url, body, _s = Browser(server.url).sign_in("wipo-focal", "Geneva#wsis")
        assert status == 422 and "Try again" not in body
    for server in (first, second, both, both, both, both):
        status, _url, body, _s = Browser(server.url).sign_in("wipo-focal", "Geneva#WSIS")
        assert status == 422, server.url
        assert "Try again in 15 minutes" in html.unescape(body)
    # Another account, from the same address, is not affected.
    status, url, _body, _s = Browser(both.url).sign_in("unesco.dfp", "Tunis2005!")
    assert status == 200 and url.endswith("/delegation")
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "wipo-focal")
        assert account.failed_logins == 5 and account.locked_until is not None


def test_password_link_token_never_reaches_the_server_log(app, runner, gunicorn_server):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    from portal.services.accounts import issue_password_link

    with app.test_request_context(), database.connection_context():
        url = issue_password_link(Account.get(Account.username_key == "undp.wsis"), None)
    token = url.split("token=")[1]
    server = gunicorn_server(workers=1, threads=2)
    browser = Browser(server.url)
    status, _url, page = browser.get("/password/set?token=" + token)
    assert status == 200
    data = urllib.parse.urlencode(
        {
            "csrf_token": csrf_token(page),
            "token": token,
            "new_password": "Programme-2005",
            "confirm": "Programme-2005",
        }
    ).encode()
    status, url, _body = browser._open("/password/set", data)
    assert status == 200 and url.endswith("/login")
    assert Browser(server.url).sign_in("undp.wsis", "Programme-2005")[0] == 200
    log = server.log()
    assert "/password/set" in log  # the requests were logged...
    assert token not in log  # ...without the token
    assert "Programme-2005" not in log
