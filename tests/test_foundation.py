"""The foundation: configuration, database engines, migrations, health, error pages, demo."""

import concurrent.futures
import datetime as dt
import os
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from portal import create_app, schema
from portal.config import ConfigError
from portal.crypto import birth_key, passport_key
from portal.db import database, make_database, sqlite_version
from portal.models import Account, AuditLog, Organization, Participant

from .conftest import USE_POSTGRES, csrf_token


def test_production_refuses_to_start_without_secret(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")})


def test_development_secret_is_created_once_and_kept(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    from portal.config import _development_secret

    first = _development_secret(str(tmp_path))
    assert len(first) == 64
    assert _development_secret(str(tmp_path)) == first
    assert oct(os.stat(tmp_path / "secret_key").st_mode & 0o777) == "0o600"


def test_environment_configures_the_portal(monkeypatch, tmp_path):
    monkeypatch.setenv("PORTAL_SESSION_IDLE_MINUTES", "7")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///" + str(tmp_path / "env.db"))
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    app = create_app()
    assert app.config["SESSION_IDLE_MINUTES"] == 7
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["DATABASE_URL"].endswith("env.db")


def test_sqlite_is_recent_enough_and_reported(client, runner):
    version = tuple(int(p) for p in sqlite_version().split("."))
    assert version >= (3, 51, 3)
    health = client.get("/healthz")
    assert health.status_code == 200
    engine = "PostgreSQL" if USE_POSTGRES else "SQLite " + sqlite_version()
    assert engine in health.get_json()["database"]
    result = runner.invoke(args=["db", "version"])
    assert engine in result.output


def test_database_settings(db):
    """SQLite: WAL, foreign keys, a busy timeout, BEGIN IMMEDIATE; PostgreSQL: a pool."""
    if USE_POSTGRES:
        assert hasattr(database.obj, "close_all")  # pooled connections
        assert db.execute_sql("SHOW server_version").fetchone()[0]
        return
    assert db.execute_sql("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute_sql("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute_sql("PRAGMA busy_timeout").fetchone()[0] >= 5000
    assert database.obj._lock_type == "IMMEDIATE"


def test_health_answers_503_when_the_database_does_not(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "x",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503


def test_upgrade_twice_is_harmless(app, runner):
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0
    assert "up to date" in result.output
    with app.app_context(), database.connection_context():
        assert schema.pending() == []


def test_migration_upgrades_a_first_version_database_without_losing_rows(app_config, tmp_path):
    url = app_config["DATABASE_URL"]
    db = make_database(url, str(tmp_path))
    db.connect()
    if USE_POSTGRES:
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
    assert schema.upgrade(db, target="0001_initial") == ["0001_initial"]
    database.initialize(db)
    # Event has changed since 0001 (0002), Organization too (0006), Participant too (0008).
    db.execute_sql(
        "INSERT INTO organization (code, name_en, name_fr, acronym, category, created_at, "
        "updated_at) VALUES ('OIF', 'Francophonie', 'Organisation internationale de la "
        "Francophonie', 'OIF', 'IGO', '2005-08-01 10:00:00', '2005-08-01 10:00:00')"
    )
    org_id = db.execute_sql("SELECT id FROM organization").fetchone()[0]
    db.execute_sql(
        "INSERT INTO participant (organization_id, status, courtesy_title, family_name, "
        "given_names, family_name_original, given_names_original, gender, function, is_head, "
        "nationality, date_of_birth, passport_number, passport_key, passport_country, email, "
        "mobile, visa_place, special_needs, rejection_code, rejection_text, version, "
        "created_at, updated_at) VALUES (%d, 'draft', 'ms', 'NDIAYE', 'Aminata', '', '', 'f', "
        "'', %s, 'SN', '1961-04-02', 'A 0412345', 'A0412345', 'SN', '', '', '', '', '', '', 1, "
        "'2005-08-01 10:00:00', '2005-08-01 10:00:00')" % (org_id, "TRUE" if USE_POSTGRES else "1")
    )
    db.execute_sql(
        "INSERT INTO event (name_en, name_fr, name_ar, venue_en, venue_fr, venue_ar, starts_on, "
        "ends_on, registration_opens_on, registration_closes_on, updated_at) VALUES ('WSIS', "
        "'SMSI', 'القمة', 'Tunis', 'Tunis', 'تونس', '2005-11-16', '2005-11-18', '2005-09-01', "
        "'2005-10-28', '2005-08-01 10:00:00')"
    )
    applied = schema.upgrade(db)
    every = [m.name for m in schema.runner(db).migrations()]
    assert applied == every[1:] and "0002_password_links_and_digests" in applied
    assert schema.upgrade(db) == []
    assert Organization.get().name_fr == "Organisation internationale de la Francophonie"
    assert Organization.get().data_version == 1  # 0008 rewrote its participant's row
    Participant.create(organization=org_id, family_name="SOW", given_names="Awa")
    assert Organization.get().data_version == 2  # the triggers are in place
    person = Participant.get(Participant.family_name == "NDIAYE")
    assert (person.family_name, person.given_names, person.is_head) == ("NDIAYE", "Aminata", True)
    # 0008 sealed the passport data and keyed the lookups.
    assert (person.passport_number, person.date_of_birth) == ("A 0412345", dt.date(1961, 4, 2))
    assert person.passport_key == passport_key("a0412345") != "A0412345"
    assert person.birth_key == birth_key(dt.date(1961, 4, 2))
    sealed = db.execute_sql(
        "SELECT passport_number, date_of_birth FROM participant WHERE id = %d" % person.id
    ).fetchone()
    assert "0412345" not in sealed[0] and "1961" not in sealed[1]
    from portal.models import Event

    event = Event.get()
    assert event.name_ar == "القمة"
    assert event.notification_mode == "immediate"
    db.close()


@pytest.mark.parametrize("code", [400, 403, 404, 405, 413, 422, 500, 503])
@pytest.mark.parametrize("language,direction", [("fr", "ltr"), ("en", "ltr"), ("ar", "rtl")])
def test_error_pages_in_each_language(app, code, language, direction):
    from werkzeug.exceptions import abort

    from portal.access import public

    @public
    def fail():
        abort(code)

    app.add_url_rule("/fail-%d" % code, "fail_%d" % code, fail)
    client = app.test_client()
    client.get("/language/" + language)
    response = client.get("/fail-%d" % code)
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert '<html lang="%s" dir="%s">' % (language, direction) in html
    assert 'role="alert"' in html


def test_unhandled_error_is_a_500_page_not_a_traceback(app):
    from portal.access import public

    @public
    def boom():
        raise RuntimeError("secret internals")

    app.add_url_rule("/boom", "boom", boom)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.get_data(as_text=True)


def test_a_route_that_declares_no_access_is_closed(app):
    app.add_url_rule("/forgotten", "forgotten", lambda: "open?")
    assert app.test_client().get("/forgotten").status_code == 404


def test_security_headers(client):
    response = client.get("/login")
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    cookie = response.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_demo_data_loads_once(app, runner):
    result = runner.invoke(args=["demo", "load", "--if-new"])
    assert result.exit_code == 0, result.output
    assert "8 accounts created" in result.output
    again = runner.invoke(args=["demo", "load", "--if-new"])
    assert "not loaded" in again.output
    with app.app_context(), database.connection_context():
        assert Organization.select().count() == 7
        assert Account.get(Account.username_key == "secretariat").is_secretariat
        assert Participant.select().count() >= 3


def test_demo_coordinator_signs_in_and_sees_the_dashboard(app, runner, auth, client):
    runner.invoke(args=["demo", "load"])
    response = auth.login("unesco.dfp", "Tunis2005!")
    assert response.status_code == 303
    dashboard = client.get("/", follow_redirects=True)
    assert "éducation, la science et la culture" in dashboard.get_data(as_text=True)


@pytest.mark.slow
def test_concurrent_writes_from_several_gunicorn_workers(
    app, runner, gunicorn_server, make_org, make_account
):
    """Many sign-in failures at once, from 4 workers, on one database: every one is counted."""
    org = make_org()
    make_account("target", organization=org)
    server = gunicorn_server(workers=4, threads=4, PORTAL_LOCKOUT_THRESHOLD=100000)
    attempts = 80

    def attempt(i):
        jar = CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(server.url + "/login", timeout=30).read().decode()
        data = urllib.parse.urlencode(
            {"csrf_token": csrf_token(page), "username": "target", "password": "wrong-%d" % i}
        ).encode()
        try:
            opener.open(server.url + "/login", data=data, timeout=30)
        except urllib.error.HTTPError as exc:
            return exc.code
        return 200

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(attempt, range(attempts)))
    assert codes == [422] * attempts, server.log()[-3000:]
    assert "Traceback" not in server.log()
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "target")
        assert account.failed_logins == attempts
        failures = AuditLog.select().where(AuditLog.action == "signin.failed").count()
        assert failures == attempts
        if not USE_POSTGRES:
            assert database.execute_sql("PRAGMA integrity_check").fetchone()[0] == "ok"
