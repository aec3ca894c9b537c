"""Passport data at rest: sealed in the database and its backups, read back as usual, found as
duplicates by keyed hashes, re-sealed under a new key, refused under a wrong one, purged after
the retention period."""

import datetime as dt
import os
import subprocess

import pytest

from portal import create_app, lifecycle
from portal.backups import _pg_environment, pg_tool
from portal.config import ConfigError
from portal.crypto import DataKeyError, birth_key, keyring, new_key, passport_key
from portal.db import database
from portal.models import AuditLog, Participant, Photo
from portal.services import exports
from portal.services.duplicates import duplicates_for
from portal.services.listings import _participant_matches
from portal.services.participants import find_duplicate
from portal.services.photos import process, store

from .conftest import USE_POSTGRES
from .test_delegation_helpers import jpeg


def demo_secrets(app):
    """The demo data's passport numbers and dates of birth, as the portal reads them."""
    with app.app_context(), database.connection_context():
        people = list(Participant.select())
    numbers = [p.passport_number for p in people if p.passport_number]
    births = [p.date_of_birth.isoformat() for p in people if p.date_of_birth]
    assert numbers and births
    return numbers, births


def backup_text(runner, app_config, tmp_path):
    """What the backup file holds, as bytes (PostgreSQL: its SQL, uncompressed)."""
    path = tmp_path / "scan.backup"
    result = runner.invoke(args=["db", "backup", str(path)])
    assert result.exit_code == 0, result.output
    if not USE_POSTGRES:
        return path.read_bytes()
    return subprocess.run(
        [pg_tool("pg_restore"), "--file=-", str(path)], capture_output=True, check=True
    ).stdout


def test_no_passport_number_in_the_database_files_or_backups(app, app_config, runner, tmp_path):
    assert runner.invoke(args=["demo", "load"]).exit_code == 0
    numbers, births = demo_secrets(app)
    assert "JP4500000" in numbers
    if USE_POSTGRES:
        stored = subprocess.run(
            [pg_tool("pg_dump"), "--format=plain"],
            env=_pg_environment(app_config["DATABASE_URL"]),
            capture_output=True,
            check=True,
        ).stdout
    else:
        with app.app_context(), database.connection_context():
            database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        path = app_config["DATABASE_URL"][len("sqlite:///") :]
        stored = b""
        for name in (path, path + "-wal"):
            if os.path.exists(name):
                with open(name, "rb") as fh:
                    stored += fh.read()
    for data in (stored, backup_text(runner, app_config, tmp_path)):
        assert b"MATSUURA" in data  # the scan sees clear text where there is some
        for secret in numbers + births:
            assert secret.encode() not in data, secret
            assert secret.replace("-", "").encode() not in data


def test_read_back_searched_exported_and_checked_for_completeness(
    app, db, make_org, make_participant
):
    itu, who = make_org("ITU"), make_org("WHO")
    first = make_participant(
        itu, family_name="OKAFOR", given_names="Ngozi", passport_number="A 765-4321",
        date_of_birth=dt.date(1970, 1, 1),
    )  # fmt: skip
    bare = make_participant(itu, family_name="BARE", given_names="Bo")
    twin = make_participant(
        who, family_name="okafor", given_names="ngozi", date_of_birth=dt.date(1970, 1, 1)
    )
    same_passport = make_participant(who, family_name="X", passport_number="a7654321")

    again = Participant.get_by_id(first.id)
    assert (again.passport_number, again.date_of_birth) == ("A 765-4321", dt.date(1970, 1, 1))
    assert again.passport_key == passport_key("A7654321") and len(again.passport_key) == 64
    assert again.birth_key == birth_key(dt.date(1970, 1, 1))
    raw = database.execute_sql(
        "SELECT passport_number, date_of_birth FROM participant WHERE id = %d" % first.id
    ).fetchone()
    assert raw[0].startswith("e1.") and "7654321" not in raw[0] and "1970" not in raw[1]
    # Empty stays empty in the database: the completeness rule's SQL sees it as missing.
    assert database.execute_sql(
        "SELECT passport_number, date_of_birth FROM participant WHERE id = %d" % bare.id
    ).fetchone() == ("", None)
    missing = {p.id for p in lifecycle.incomplete(Participant.select())}
    assert bare.id in missing
    by_sql = Participant.select().where(lifecycle.REQUIREMENTS[7].missing_sql())
    assert lifecycle.REQUIREMENTS[7].field == "passport_number"
    assert {p.id for p in by_sql} == {bare.id, twin.id}

    # Duplicates: in the delegation (by the form's values) and across delegations.
    assert find_duplicate(itu.id, {"passport_number": "a7654321"}).id == first.id
    assert (
        find_duplicate(
            who.id, {"family_name": "OKAFOR", "given_names": "Ngozi", "date_of_birth": "1970-01-01"}
        )
        == twin
    )
    assert find_duplicate(itu.id, {"passport_number": "A7654322"}) is None
    found = duplicates_for([again])
    assert {p.id for p in found[first.id]} == {twin.id, same_passport.id}
    # The secretariat's search finds a passport number however it is typed.
    matched = Participant.select().where(_participant_matches("a7654321"))
    assert {p.id for p in matched} == {first.id, same_passport.id}
    # Exports decrypt.
    csv = b"".join(exports.csv_chunks(itu.id)).decode("utf-8")
    assert "A 765-4321" in csv and "1970-01-01" in csv


def test_a_wrong_key_fails_loudly(app, app_config, client, make_org, make_participant):
    p = make_participant(make_org("ITU"), passport_number="Z9999999")
    create_app({**app_config, "DATA_KEY": new_key()})  # another key, the same database
    with database.connection_context(), pytest.raises(DataKeyError, match="not configured"):
        Participant.get_by_id(p.id)
    # A value altered in the database (or moved from another column) does not open.
    create_app(app_config)
    with database.connection_context():
        sealed = database.execute_sql(
            "SELECT passport_number FROM participant WHERE id = %d" % p.id
        ).fetchone()[0]
        database.execute_sql(
            "UPDATE participant SET date_of_birth = %s WHERE id = %d" % (database.param, p.id),
            (sealed,),
        )
        with pytest.raises(DataKeyError, match="does not open"):
            Participant.get_by_id(p.id)


def test_rotation_reseals_everything_in_batches(app, app_config, make_org, make_participant):
    org, other = make_org("ITU"), make_org("WHO")
    people = [
        make_participant(
            org if n % 2 else other,
            family_name="P%d" % n,
            passport_number="R%07d" % n if n != 3 else "",
            date_of_birth=dt.date(1960, 1, 1 + n) if n != 4 else None,
        )
        for n in range(7)
    ]
    old_id = keyring().current_id
    old = app_config["DATA_KEY"]
    rotated = {**app_config, "DATA_KEY": new_key(), "DATA_KEY_OLD": old}
    app = create_app(rotated)
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "re-sealed 12 values of 7 participants in 4 batches" in result.output
    assert keyring().current_id != old_id
    status = app.test_cli_runner().invoke(args=["privacy", "status"])
    assert "under key %s: 12 (current)" % keyring().current_id in status.output
    assert old_id not in status.output
    # Running it again has nothing to do.
    again = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert "re-sealed 0 values of 0 participants" in again.output

    # Without the old key now: everything reads, and duplicates are found under the new one.
    create_app({**app_config, "DATA_KEY": rotated["DATA_KEY"]})
    with database.connection_context():
        for n, p in enumerate(people):
            back = Participant.get_by_id(p.id)
            assert back.passport_number == ("R%07d" % n if n != 3 else "")
            assert back.date_of_birth == (dt.date(1960, 1, 1 + n) if n != 4 else None)
            assert back.passport_key == passport_key(back.passport_number)
        assert find_duplicate(other.id, {"passport_number": "r0000002"}).id == people[2].id
    # The old key alone no longer opens anything.
    create_app(app_config)
    with database.connection_context(), pytest.raises(DataKeyError):
        Participant.get_by_id(people[0].id)


def test_rotation_without_the_old_key_stops_and_says_so(
    app, app_config, make_org, make_participant
):
    make_participant(make_org("ITU"), passport_number="S1234567")
    app = create_app({**app_config, "DATA_KEY": new_key()})
    result = app.test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code == 1
    assert "not configured" in result.output


def _purge_world(make_event, make_org, make_participant, app, ends_on):
    make_event("closed", starts_on=ends_on - dt.timedelta(days=2), ends_on=ends_on)
    org = make_org("ITU")
    people = [
        make_participant(
            org,
            family_name="KEEP%d" % n,
            passport_number="P%07d" % n,
            date_of_birth=dt.date(1970, 1, 1 + n),
        )
        for n in range(3)
    ]
    with app.test_request_context(), database.connection_context():
        store(people[0], process(jpeg(), 5 * 1024 * 1024))
    return org, people


def test_purge_after_the_retention_period(app, runner, make_event, make_org, make_participant):
    today = dt.date.today()
    org, people = _purge_world(
        make_event, make_org, make_participant, app, today - dt.timedelta(days=91)
    )
    dry = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert (
        "dry run" in dry.output and "3 passport numbers, 3 dates of birth, 1 photos" in dry.output
    )
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(people[0].id).passport_number == "P0000000"
        assert Photo.select().count() == 1

    with app.app_context(), database.connection_context():
        sealed = database.execute_sql(
            "SELECT passport_number FROM participant WHERE id = %d" % people[1].id
        ).fetchone()[0]
    done = runner.invoke(args=["privacy", "purge"])
    assert done.exit_code == 0, done.output
    assert "3 passport numbers, 3 dates of birth, 1 photos removed" in done.output
    with app.app_context(), database.connection_context():
        for p in people:
            back = Participant.get_by_id(p.id)
            assert back.family_name == p.family_name and back.organization_id == org.id
            assert (back.passport_number, back.date_of_birth) == ("", None)
            assert (back.passport_key, back.birth_key) == ("", "")
        assert Photo.select().count() == 0
        row = AuditLog.get(AuditLog.action == "privacy.purge")
        assert '"passport_numbers": 3' in row.details and "P000" not in row.details
        if not USE_POSTGRES:
            path = database.obj.database
            with open(path, "rb") as fh:
                assert sealed.encode() not in fh.read()  # not even in free space
    again = runner.invoke(args=["privacy", "purge"])
    assert "0 passport numbers, 0 dates of birth, 0 photos removed" in again.output


def test_purge_refuses_before_the_retention_period_ends(
    app, runner, make_event, make_org, make_participant
):
    today = dt.date.today()
    _org, people = _purge_world(
        make_event, make_org, make_participant, app, today - dt.timedelta(days=10)
    )
    refused = runner.invoke(args=["privacy", "purge"])
    assert refused.exit_code == 1
    assert "kept until %s" % (today + dt.timedelta(days=80)) in refused.output
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(people[1].id).passport_number == "P0000001"

    # Explicitly, with --before: those registered before the date.
    with app.app_context(), database.connection_context():
        Participant.update(created_at=dt.datetime(2005, 12, 1)).where(
            Participant.id == people[2].id
        ).execute()
    done = runner.invoke(args=["privacy", "purge", "--before", "2005-11-30"])
    assert done.exit_code == 0, done.output
    assert "0 passport numbers" in done.output
    done = runner.invoke(args=["privacy", "purge", "--before", "2005-12-02"])
    assert "1 passport numbers, 1 dates of birth, 0 photos removed" in done.output
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(people[2].id).passport_number == ""
        assert Participant.get_by_id(people[1].id).passport_number == "P0000001"


def test_production_needs_a_data_key_and_development_keeps_one(monkeypatch, tmp_path):
    monkeypatch.delenv("PORTAL_DATA_KEY", raising=False)
    with pytest.raises(ConfigError, match="PORTAL_DATA_KEY"):
        create_app(
            {
                "ENV": "production",
                "SECRET_KEY": "x" * 32,
                "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db"),
            }
        )
    from portal.config import _development_secret, _new_data_key
    from portal.crypto import parse_key

    first = _development_secret(str(tmp_path), "data_key", _new_data_key)
    assert len(parse_key(first)) == 32
    assert _development_secret(str(tmp_path), "data_key", _new_data_key) == first
    with pytest.raises(ConfigError, match="base64 of 32"):
        create_app({"DATA_KEY": "too-short", "SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
