"""Backups and restores of the whole database, safe while the portal serves.

SQLite: SQLite's online backup API (through apsw) copies every page in one step, inside one read
transaction: a consistent snapshot, while writers carry on (WAL). PostgreSQL: ``pg_dump`` in its
custom format, itself one consistent snapshot; ``pg_restore`` in a single transaction.

A backup is written beside its destination and renamed into place when complete, so a file
under the backup's name is always a whole backup. A restore refuses a database that holds data
unless forced, and checks what it restored: integrity, migrations, rows per table.
"""

import glob
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from urllib.parse import unquote, urlparse

import apsw

from . import schema
from .db import database, is_sqlite


class BackupError(RuntimeError):
    pass


@dataclass
class Check:
    """What a restored (or backed up) database holds."""

    integrity: str = "ok"
    applied: list = field(default_factory=list)
    pending: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)

    @property
    def ok(self):
        return self.integrity == "ok"


def row_counts(db=None):
    """Return ``{table: rows}`` for every table of the database."""
    db = db or database.obj
    return {
        table: db.execute_sql('SELECT COUNT(*) FROM "%s"' % table).fetchone()[0]
        for table in sorted(db.get_tables())
    }


def holds_data(db=None):
    """Whether any table other than the migrations' record holds a row."""
    return any(n for table, n in row_counts(db).items() if table != "schema_migration")


def check(db=None):
    """Check the database: integrity (SQLite), migrations applied and pending, rows."""
    db = db or database.obj
    result = Check(counts=row_counts(db))
    if is_sqlite(db):
        problems = [row[0] for row in db.execute_sql("PRAGMA integrity_check").fetchall()]
        problems += [
            "foreign key: %s row %s -> %s" % (row[0], row[1], row[2])
            for row in db.execute_sql("PRAGMA foreign_key_check").fetchall()
        ]
        result.integrity = "ok" if problems == ["ok"] else "; ".join(problems)
    for migration in schema.runner(db).status():
        if migration.applied:
            result.applied.append(migration.name)
        elif migration.path:
            result.pending.append(migration.name)
    return result


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_copy(destination, source):
    # One step: every page read in one read transaction (a snapshot); a stepwise copy would
    # start over each time another connection writes, forever on a busy portal.
    with destination.backup("main", source, "main") as job:
        job.step(-1)


def _sqlite_backup(db, path):
    partial = path + ".partial"
    if os.path.exists(partial):
        os.remove(partial)
    target = apsw.Connection(partial)
    try:
        _sqlite_copy(target, db.connection())
        # The copy is one self-contained file, not a WAL database with a -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE")
        problems = [row[0] for row in target.execute("PRAGMA integrity_check")]
    finally:
        target.close()
    if problems != ["ok"]:
        os.remove(partial)
        raise BackupError("the copy fails its integrity check: " + "; ".join(problems))
    os.replace(partial, path)


def _sqlite_restore(db, path):
    source = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    try:
        try:
            problems = [row[0] for row in source.execute("PRAGMA integrity_check")]
        except apsw.Error as exc:
            problems = [str(exc)]
        if problems != ["ok"]:
            raise BackupError("the backup fails its integrity check: " + "; ".join(problems))
        connection = db.connection()
        _sqlite_copy(connection, source)
    finally:
        source.close()
    db.execute_sql("PRAGMA journal_mode=WAL")


# -- PostgreSQL ------------------------------------------------------------------------------


def pg_tool(name):
    """Return the path of ``pg_dump`` or ``pg_restore``: in ``PORTAL_PG_BIN`` if set, else on
    the PATH, else the newest of Debian's ``/usr/lib/postgresql/*/bin``."""
    folder = os.environ.get("PORTAL_PG_BIN")
    if folder:
        return os.path.join(folder, name)
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/" + name),
        key=lambda p: int(p.split("/")[-3]) if p.split("/")[-3].isdigit() else 0,
    )
    if versions:
        return versions[-1]
    raise BackupError(
        "%s not found: install PostgreSQL's client tools (Debian: postgresql-client, of the "
        "server's major version or newer) or set PORTAL_PG_BIN" % name
    )


def _pg_environment(url):
    """The connection as libpq's variables: no password on a command line."""
    parsed = urlparse(url)
    env = dict(os.environ)
    env.update(
        PGHOST=parsed.hostname or "127.0.0.1",
        PGPORT=str(parsed.port or 5432),
        PGDATABASE=unquote(parsed.path.lstrip("/")),
    )
    if parsed.username:
        env["PGUSER"] = unquote(parsed.username)
    if parsed.password:
        env["PGPASSWORD"] = unquote(parsed.password)
    return env


def _run(command, env):
    # The PostgreSQL tools and a path the operator gave: no shell, no interpolation.
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(
            "%s failed (%d): %s"
            % (os.path.basename(command[0]), done.returncode, done.stderr.strip())
        )
    return done


def _pg_backup(url, path):
    partial = path + ".partial"
    _run([pg_tool("pg_dump"), "--format=custom", "--file", partial], _pg_environment(url))
    os.replace(partial, path)


def _pg_restore(url, path):
    env = _pg_environment(url)
    # --clean --if-exists: a forced restore replaces what the backup holds; one transaction:
    # a failure half-way leaves the database as it was.
    _run(
        [
            pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            env["PGDATABASE"],
            path,
        ],
        env,
    )


def _pg_tables(path):
    """The tables a custom-format dump holds."""
    listing = _run([pg_tool("pg_restore"), "--list", path], dict(os.environ)).stdout
    return {
        line.split()[-2]
        for line in listing.splitlines()
        if not line.startswith(";") and " TABLE " in line and " TABLE DATA " not in line
    }


# -- The commands ----------------------------------------------------------------------------


def backup(path, url):
    """Write a backup of the database (``url``, the one the models use) to ``path``."""
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    db = database.obj
    if is_sqlite(db):
        _sqlite_backup(db, path)
    else:
        _pg_backup(url, path)
    return os.path.getsize(path)


class RefusedError(BackupError):
    pass


def restore(path, url, force=False):
    """Restore the backup at ``path`` into the database; return its ``Check``.

    Refuses a database that holds data unless ``force``. Opens its own connections. Stop the portal's workers first and
    start them again afterwards: they keep cached pages and connections of the old database.
    """
    if not os.path.isfile(path):
        raise BackupError("no backup at %s" % path)
    db = database.obj
    with database.connection_context():
        if not force and holds_data(db):
            raise RefusedError(
                "the database holds data: restoring would replace it (use --force to do so)"
            )
        if is_sqlite(db):
            _sqlite_restore(db, path)
    if not is_sqlite(db):
        # No connection of ours may hold a lock on a table pg_restore drops.
        if hasattr(db, "close_all"):
            db.close_all()
        _pg_restore(url, path)
    with database.connection_context():
        result = check(db)
        extra = [] if is_sqlite(db) else sorted(set(db.get_tables()) - _pg_tables(path))
    if extra:
        result.integrity = "tables not in the backup, left as they were: " + ", ".join(extra)
    return result
