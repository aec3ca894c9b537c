"""Test fixtures, after flaskr's: an app on a fresh database, a client, a CLI runner, a
``login`` helper, and small factories. The whole suite runs on SQLite by default and on
PostgreSQL with ``PORTAL_TEST_DB=postgresql`` and ``TEST_DATABASE_URL`` (see the Makefile)."""

import contextlib
import datetime as dt
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.parse import urlparse, urlunparse

import pytest

from portal import clock as portal_clock
from portal import create_app, schema
from portal.crypto import new_key
from portal.db import database
from portal.models import MODELS, ROLE_COORDINATOR, Account, Event, Organization, Participant
from portal.services import passwords

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
USE_POSTGRES = os.environ.get("PORTAL_TEST_DB") == "postgresql"

# Low argon2 cost in tests, except where a test asks for the real one.
FAST_ARGON2 = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024, "ARGON2_PARALLELISM": 1}


def _admin_connect(url):
    import psycopg2

    parsed = urlparse(url)
    conn = psycopg2.connect(
        dbname=parsed.path.lstrip("/") or "postgres",
        user=parsed.username or "postgres",
        password=parsed.password,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
    )
    conn.autocommit = True
    return conn


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.fail("PORTAL_TEST_DB=postgresql needs TEST_DATABASE_URL (see README)")
    name = "portal_test_%d_%s" % (os.getpid(), secrets.token_hex(3))
    conn = _admin_connect(base)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE %s" % name)
    parsed = urlparse(base)
    url = urlunparse(parsed._replace(path="/" + name))
    yield url
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute("DROP DATABASE IF EXISTS %s" % name)
    conn.close()


@pytest.fixture
def database_url(tmp_path, request):
    """The database for one test: a new SQLite file, or the session's PostgreSQL database
    emptied."""
    if USE_POSTGRES:
        url = request.getfixturevalue("postgres_url")
        return url
    return "sqlite:///" + str(tmp_path / "portal.sqlite3")


def _empty_postgres():
    tables = [m._meta.table_name for m in MODELS]
    existing = set(database.get_tables())
    tables = [t for t in tables if t in existing]
    if tables:
        database.execute_sql(
            "TRUNCATE %s RESTART IDENTITY CASCADE" % ", ".join('"%s"' % t for t in tables)
        )


@pytest.fixture
def app_config(database_url, tmp_path):
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-" + secrets.token_hex(8),
        "DATA_KEY": new_key(),
        "DATABASE_URL": database_url,
        "SMTP_HOST": "",
        **FAST_ARGON2,
    }


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    with app.app_context():
        database.connect(reuse_if_open=True)
        schema.upgrade()
        if USE_POSTGRES:
            _empty_postgres()
        database.close()
    yield app
    if not database.is_closed():
        database.close()
    db = database.obj
    if hasattr(db, "close_all"):
        db.close_all()


@pytest.fixture
def clock():
    """The portal's clock (portal/clock.py), for a test to move with ``clock.shift(...)``
    instead of waiting; back to the real time afterwards.

    It moves the portal's own readings only. Flask-WTF signs CSRF tokens with itsdangerous,
    which reads ``time.time()`` and offers no public hook; a test about a token's age moves
    that time too, with ``time_machine.travel``."""
    portal_clock.reset()
    yield portal_clock
    portal_clock.reset()


@pytest.fixture
def db(app):
    """An open connection inside an app context, for tests that use the models directly."""
    with app.test_request_context():
        database.connect(reuse_if_open=True)
        yield database
        if not database.is_closed():
            database.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(html):
    match = CSRF_RE.search(html if isinstance(html, str) else html.decode())
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username, password, follow=False, **extra):
        page = self.client.get("/login")
        token = csrf_token(page.get_data(as_text=True))
        data = {"csrf_token": token, "username": username, "password": password, **extra}
        return self.client.post("/login", data=data, follow_redirects=follow)

    def logout(self):
        page = self.client.get("/")
        if page.status_code in (301, 302, 303):
            page = self.client.get(page.headers["Location"])
        token = csrf_token(page.get_data(as_text=True))
        return self.client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


# -- Factories ------------------------------------------------------------------------------


@pytest.fixture
def make_event(app):
    def make(state="open", **values):
        today = dt.date.today()
        windows = {
            "open": (today - dt.timedelta(days=5), today + dt.timedelta(days=30)),
            "not_open": (today + dt.timedelta(days=5), today + dt.timedelta(days=30)),
            "closed": (today - dt.timedelta(days=30), today - dt.timedelta(days=5)),
        }
        opens, closes = windows[state]
        with app.app_context(), database.connection_context():
            from portal.demo import TUNIS_EVENT

            Event.delete().execute()
            return Event.create(
                registration_opens_on=opens,
                registration_closes_on=closes,
                **{**TUNIS_EVENT, **values},
            )

    return make


@pytest.fixture
def make_org(app):
    counter = {"n": 0}

    def make(code=None, **values):
        counter["n"] += 1
        code = code or "ORG%d" % counter["n"]
        defaults = {
            "name_en": "Organization %s" % code,
            "name_fr": "Organisation %s" % code,
            "acronym_en": code,
            "acronym_fr": code,
            "category": "IGO",
        }
        if "acronym" in values:  # one acronym, the same in English and French
            values["acronym_en"] = values["acronym_fr"] = values.pop("acronym")
        with app.app_context(), database.connection_context():
            return Organization.create(code=code, **{**defaults, **values})

    return make


@pytest.fixture
def make_account(app):
    def make(
        username, password="Correct-horse-42", organization=None, role=ROLE_COORDINATOR, **values
    ):
        with app.test_request_context(), database.connection_context():
            defaults = {
                "given_name": "Test",
                "family_name": username.upper(),
                "email": "%s@example.org" % username,
                "language": "en",
            }
            return Account.create(
                username=username,
                username_key=Account.key(username),
                password_hash=passwords.hash_password(password) if password else "",
                password_scheme=passwords.ARGON2 if password else passwords.NONE,
                role=role,
                organization=organization,
                **{**defaults, **values},
            )

    return make


@pytest.fixture
def make_participant(app):
    def make(organization, **values):
        defaults = {"family_name": "DOE", "given_names": "Jane", "courtesy_title": "ms"}
        with app.app_context(), database.connection_context():
            return Participant.create(organization=organization, **{**defaults, **values})

    return make


# -- A real gunicorn ------------------------------------------------------------------------


@pytest.fixture
def world(app, make_event, make_org, make_account):
    """An open event; ITU with two coordinators (coord, deputy), WHO with one (who-coord)."""
    event = make_event("open")
    org = make_org("ITU")
    other = make_org("WHO")
    first = make_account("coord", organization=org, language="en")
    second = make_account("deputy", organization=org, language="en")
    make_account("who-coord", organization=other, language="en")
    return {"event": event, "org": org, "other": other, "first": first, "second": second}


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, url, process, log_path):
        self.url = url
        self.process = process
        self.log_path = log_path

    def log(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()


@pytest.fixture
def gunicorn_server(app_config, app, tmp_path):
    """Start gunicorn (as production runs it) on the test database; stop it afterwards."""
    servers = []

    def start(workers=2, threads=4, **env):
        port = free_port()
        log_path = tmp_path / ("gunicorn-%d.log" % port)
        environment = {
            **os.environ,
            "DATABASE_URL": app_config["DATABASE_URL"],
            "SECRET_KEY": app_config["SECRET_KEY"],
            "PORTAL_DATA_KEY": app_config["DATA_KEY"],
            "PORTAL_ARGON2_TIME_COST": str(app_config["ARGON2_TIME_COST"]),
            "PORTAL_ARGON2_MEMORY_KIB": str(app_config["ARGON2_MEMORY_KIB"]),
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "WEB_CONCURRENCY": str(workers),
            "PORTAL_THREADS": str(threads),
            **{k: str(v) for k, v in env.items()},
        }
        log = open(log_path, "wb")  # noqa: SIM115 - closed with the process
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        url = "http://127.0.0.1:%d" % port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
            if process.poll() is not None:
                raise RuntimeError("gunicorn exited:\n" + log_path.read_text())
        else:
            raise RuntimeError("gunicorn did not start:\n" + log_path.read_text())
        server = Server(url, process, log_path)
        servers.append((server, log))
        return server

    yield start
    for server, log in servers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
        log.close()


# -- A real SMTP server on loopback ---------------------------------------------------------


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        import email
        from email import policy

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp_server(app):
    """An aiosmtpd server on 127.0.0.1; the app sends to it. Yields the list of messages."""
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port)
    yield mailbox.messages
    controller.stop()


def deliver_mail(app, now=None):
    """Run the outbox's sender until nothing is due (``flask --app portal mail send``); return
    its report."""
    from portal.services import mail

    with app.app_context(), database.connection_context():
        return mail.send_all(now=now)


# -- Figures of the standing suites ---------------------------------------------------------

SUMMARY = []


def summary(line):
    """Print ``line`` at the end of the run (the counts of the hostile suites, in any mode)."""
    SUMMARY.append(line)


def pytest_terminal_summary(terminalreporter):
    if SUMMARY:
        terminalreporter.section("figures")
        for line in SUMMARY:
            terminalreporter.write_line(line)
