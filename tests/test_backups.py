"""Backups and restores (``db backup``, ``db restore``) on the engine under test, while 32
writers add participants."""

import datetime as dt
import os
import secrets
import threading
from urllib.parse import urlparse, urlunparse

import pytest

from portal import create_app
from portal.db import database, make_database
from portal.models import AuditLog, Participant
from portal.services import audit
from portal.services.participants import lock_organization

from .conftest import USE_POSTGRES, _admin_connect

WRITERS = 32
ROWS_EACH = 6


@pytest.fixture
def fresh_database(tmp_path):
    """Make empty databases to restore into (dropped at the end on PostgreSQL)."""
    made = []

    def make():
        name = "portal_restore_%s" % secrets.token_hex(4)
        if not USE_POSTGRES:
            return "sqlite:///" + str(tmp_path / (name + ".sqlite3"))
        base = os.environ["TEST_DATABASE_URL"]
        conn = _admin_connect(base)
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE %s" % name)
        conn.close()
        made.append(name)
        return urlunparse(urlparse(base)._replace(path="/" + name))

    yield make
    if made:
        conn = _admin_connect(os.environ["TEST_DATABASE_URL"])
        with conn.cursor() as cur:
            for name in made:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                cur.execute("DROP DATABASE IF EXISTS %s" % name)
        conn.close()


def rows(db, table):
    return db.execute_sql('SELECT * FROM "%s" ORDER BY 1' % table).fetchall()


def open_database(url, tmp_path):
    """A connection of its own (not the models' proxy, which the restoring app takes)."""
    db = make_database(url, str(tmp_path))
    db.connect()
    return db


def close(db):
    db.close()
    if hasattr(db, "close_all"):
        db.close_all()


def restore(app_config, url, path, *args):
    """Restore ``path`` into ``url`` through the command, as an operator would."""
    app = create_app({**app_config, "DATABASE_URL": url})
    return app.test_cli_runner().invoke(args=["db", "restore", *args, str(path)])


def write_participants(app, orgs, halfway):
    """WRITERS threads, each adding ROWS_EACH participants to its own organization, one
    transaction each (a participant and its audit row); all wait at ``halfway``."""
    errors = []

    def writer(n, org):
        try:
            with app.app_context():
                for k in range(ROWS_EACH):
                    if k == ROWS_EACH // 2:
                        halfway.wait()
                    with database.connection_context(), database.atomic():
                        lock_organization(org.id)
                        p = Participant.create(
                            organization=org,
                            family_name="WRITER%02d" % n,
                            given_names="Row %d" % k,
                            passport_number="Q%02d%05d" % (n, k),
                            date_of_birth=dt.date(1950 + n, 1 + k, 1 + k),
                        )
                        audit.record("participant.create", obj=p, actor="writer")
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            halfway.abort()

    threads = [threading.Thread(target=writer, args=(n, org)) for n, org in enumerate(orgs)]
    for thread in threads:
        thread.start()
    return threads, errors


def test_backup_under_load_restores_a_consistent_snapshot(
    app, app_config, runner, make_org, fresh_database, tmp_path
):
    orgs = [make_org("W%02d" % n) for n in range(WRITERS)]
    halfway = threading.Barrier(WRITERS + 1)
    threads, errors = write_participants(app, orgs, halfway)
    halfway.wait()  # every writer has committed half its rows, and goes on during the backup
    during = tmp_path / "during.backup"
    result = runner.invoke(args=["db", "backup", str(during)])
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    after = tmp_path / "after.backup"
    assert runner.invoke(args=["db", "backup", str(after)]).exit_code == 0

    source = open_database(app_config["DATABASE_URL"], tmp_path)
    try:
        tables = sorted(source.get_tables())
        expected = {table: rows(source, table) for table in tables}
    finally:
        close(source)
    assert len(expected["participant"]) == WRITERS * ROWS_EACH

    # Taken once the writers were done: every table, row by row, as in the source.
    quiet_url = fresh_database()
    restored = restore(app_config, quiet_url, after)
    assert restored.exit_code == 0, restored.output
    assert "integrity: ok" in restored.output and "participant %d" % (WRITERS * ROWS_EACH) in (
        restored.output
    )
    quiet = open_database(quiet_url, tmp_path)
    try:
        assert sorted(quiet.get_tables()) == tables
        for table in tables:
            assert rows(quiet, table) == expected[table], table
    finally:
        close(quiet)
    # The restored data reads back under the same key.
    with database.connection_context():
        person = Participant.get(Participant.passport_number != "")
        assert person.passport_number.startswith("Q") and person.date_of_birth.year >= 1950

    # Taken under load: a state the source went through.
    busy_url = fresh_database()
    restored = restore(app_config, busy_url, during)
    assert restored.exit_code == 0, restored.output
    assert "integrity: ok" in restored.output
    busy = open_database(busy_url, tmp_path)
    try:
        participants = rows(busy, "participant")
        # At least the halves written before the backup; each row as the source has it.
        assert WRITERS * ROWS_EACH // 2 <= len(participants) <= WRITERS * ROWS_EACH
        by_id = {row[0]: row for row in expected["participant"]}
        for row in participants:
            assert by_id[row[0]] == row
        # Whole transactions only: each participant with its audit row; each organization's
        # data_version (raised by triggers in the writers' transactions) counts its rows.
        audited = {
            row[0]
            for row in busy.execute_sql(
                "SELECT object_id FROM audit_log WHERE action = 'participant.create'"
            ).fetchall()
        }
        assert audited == {row[0] for row in participants}
        versions = dict(busy.execute_sql("SELECT id, data_version FROM organization").fetchall())
        counts = dict(
            busy.execute_sql(
                "SELECT organization_id, COUNT(*) FROM participant GROUP BY organization_id"
            ).fetchall()
        )
        assert set(versions) == {org.id for org in orgs}
        for org in orgs:
            assert versions[org.id] == counts.get(org.id, 0)
        # Every writer's first half is there, in order, whatever the second half did.
        for n in range(WRITERS):
            names = [
                r[0]
                for r in busy.execute_sql(
                    "SELECT given_names FROM participant WHERE family_name = 'WRITER%02d' "
                    "ORDER BY id" % n
                ).fetchall()
            ]
            assert names == ["Row %d" % k for k in range(len(names))]
            assert len(names) >= ROWS_EACH // 2
    finally:
        close(busy)
    with database.connection_context():
        assert AuditLog.select().count() == len(participants)


def test_restore_refuses_a_database_with_data(app, app_config, runner, make_org, tmp_path):
    make_org("UNESCO")
    backup = tmp_path / "one.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    make_org("WIPO")
    refused = restore(app_config, app_config["DATABASE_URL"], backup)
    assert refused.exit_code == 1
    assert "holds data" in refused.output
    with database.connection_context():
        codes = sorted(r[0] for r in database.execute_sql("SELECT code FROM organization"))
    assert codes == ["UNESCO", "WIPO"]  # untouched

    forced = restore(app_config, app_config["DATABASE_URL"], backup, "--force")
    assert forced.exit_code == 0, forced.output
    assert "integrity: ok" in forced.output and "organization 1" in forced.output
    assert "restart the portal's workers" in forced.output
    with database.connection_context():
        codes = sorted(r[0] for r in database.execute_sql("SELECT code FROM organization"))
    assert codes == ["UNESCO"]


def test_restore_says_when_the_key_is_not_the_one_that_sealed_the_data(
    app, app_config, runner, make_org, make_participant, fresh_database, tmp_path
):
    make_participant(make_org("ITU"), passport_number="X1234567")
    backup = tmp_path / "sealed.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    from portal.crypto import new_key

    result = restore({**app_config, "DATA_KEY": new_key()}, fresh_database(), backup)
    assert result.exit_code == 1
    assert "integrity: ok" in result.output
    assert "NOT CONFIGURED" in result.output


@pytest.mark.skipif(USE_POSTGRES, reason="SQLite's own integrity check")
def test_a_damaged_sqlite_backup_is_refused(app, app_config, runner, make_org, tmp_path):
    make_org("UNESCO")
    backup = tmp_path / "damaged.backup"
    assert runner.invoke(args=["db", "backup", str(backup)]).exit_code == 0
    data = bytearray(backup.read_bytes())
    # Scribble over the pages after the schema: the tables' b-trees.
    for offset in range(4096 * 2, len(data), 97):
        data[offset] = 0xFF
    backup.write_bytes(bytes(data))
    result = restore(app_config, "sqlite:///" + str(tmp_path / "target.sqlite3"), backup)
    assert result.exit_code == 1
    assert "integrity" in result.output or "malformed" in result.output.lower()
