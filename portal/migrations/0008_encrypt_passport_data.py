"""Passport numbers and dates of birth sealed at rest (portal/crypto.py, under PORTAL_DATA_KEY),
and duplicates found by keyed hashes: ``passport_key`` becomes an HMAC of the normalized number,
``birth_key`` an HMAC of the date of birth (indexed, in place of the date itself).

Both columns become text holding sealed values ("" or NULL when empty). The existing rows are
sealed in batches inside the migration's one transaction: an interrupted upgrade changes nothing.
Plain SQL, the same on both engines (SQLite 3.35+ drops and renames columns in place, keeping
the triggers of migration 0006).
"""

import datetime as dt

from portal.crypto import birth_key, keyring, normalize_passport, passport_key
from portal.db import is_sqlite

BATCH = 500
PASSPORT = b"participant.passport_number"
BIRTH = b"participant.date_of_birth"


def _rows(db, columns):
    last = 0
    while True:
        rows = db.execute_sql(
            "SELECT id, %s FROM participant WHERE id > %s ORDER BY id LIMIT %d"
            % (", ".join(columns), db.param, BATCH),
            (last,),
        ).fetchall()
        if not rows:
            return
        yield from rows
        last = rows[-1][0]


def _sql(db, text):
    return text.replace("?", db.param)


def _date(value):
    if value in (None, ""):
        return None
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def up(migrator, db):
    for index in ("participant_date_of_birth", "participant_family_name_given_names_date_of_birth"):
        db.execute_sql("DROP INDEX IF EXISTS %s" % index)
    db.execute_sql("ALTER TABLE participant ADD COLUMN sealed_passport TEXT NOT NULL DEFAULT ''")
    db.execute_sql("ALTER TABLE participant ADD COLUMN sealed_birth TEXT")
    db.execute_sql("ALTER TABLE participant ADD COLUMN birth_key VARCHAR(64) NOT NULL DEFAULT ''")
    if not is_sqlite(db):
        db.execute_sql("ALTER TABLE participant ALTER COLUMN passport_key TYPE VARCHAR(64)")
    keys = keyring()
    for pid, number, born in list(_rows(db, ["passport_number", "date_of_birth"])):
        born = _date(born)
        db.execute_sql(
            _sql(
                db,
                "UPDATE participant SET sealed_passport = ?, sealed_birth = ?, passport_key = ?, "
                "birth_key = ? WHERE id = ?",
            ),
            (
                keys.seal(number, PASSPORT) if number else "",
                keys.seal(born.isoformat(), BIRTH) if born else None,
                passport_key(number),
                birth_key(born),
                pid,
            ),
        )
    db.execute_sql("ALTER TABLE participant DROP COLUMN passport_number")
    db.execute_sql("ALTER TABLE participant DROP COLUMN date_of_birth")
    db.execute_sql("ALTER TABLE participant RENAME COLUMN sealed_passport TO passport_number")
    db.execute_sql("ALTER TABLE participant RENAME COLUMN sealed_birth TO date_of_birth")
    db.execute_sql("CREATE INDEX participant_birth_key ON participant (birth_key)")
    db.execute_sql(
        "CREATE INDEX participant_family_name_given_names_birth_key "
        "ON participant (family_name, given_names, birth_key)"
    )


def down(migrator, db):
    for index in ("participant_birth_key", "participant_family_name_given_names_birth_key"):
        db.execute_sql("DROP INDEX IF EXISTS %s" % index)
    db.execute_sql("ALTER TABLE participant ADD COLUMN plain_passport VARCHAR(32) DEFAULT ''")
    db.execute_sql("ALTER TABLE participant ADD COLUMN plain_birth DATE")
    keys = keyring()
    for pid, number, born in list(_rows(db, ["passport_number", "date_of_birth"])):
        number = keys.open(number, PASSPORT) if number else ""
        born = keys.open(born, BIRTH) if born else None
        db.execute_sql(
            _sql(
                db,
                "UPDATE participant SET plain_passport = ?, plain_birth = ?, passport_key = ? "
                "WHERE id = ?",
            ),
            (number, born, normalize_passport(number), pid),
        )
    db.execute_sql("ALTER TABLE participant DROP COLUMN passport_number")
    db.execute_sql("ALTER TABLE participant DROP COLUMN date_of_birth")
    db.execute_sql("ALTER TABLE participant DROP COLUMN birth_key")
    db.execute_sql("ALTER TABLE participant RENAME COLUMN plain_passport TO passport_number")
    db.execute_sql("ALTER TABLE participant RENAME COLUMN plain_birth TO date_of_birth")
    if not is_sqlite(db):
        db.execute_sql("ALTER TABLE participant ALTER COLUMN passport_key TYPE VARCHAR(32)")
    db.execute_sql("CREATE INDEX participant_date_of_birth ON participant (date_of_birth)")
    db.execute_sql(
        "CREATE INDEX participant_family_name_given_names_date_of_birth "
        "ON participant (family_name, given_names, date_of_birth)"
    )
