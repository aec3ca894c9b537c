"""The database: SQLite (through apsw, a current SQLite) by default, PostgreSQL by URL.

Every model is bound to ``database``, a proxy that ``init_database`` points at the real
database named by ``DATABASE_URL``. Write transactions use ``database.atomic()``: on SQLite
that is ``BEGIN IMMEDIATE`` (the write lock is taken up front, so two writers queue on the
busy timeout instead of failing half-way); on PostgreSQL a plain ``BEGIN``.
"""

import datetime as dt
import decimal
import os
from urllib.parse import unquote, urlparse

import apsw
from peewee import DatabaseProxy
from playhouse.apsw_ext import APSWDatabase
from playhouse.pool import PooledPostgresqlDatabase

database = DatabaseProxy()

#: SQLite releases before this one carry the WAL-reset bug that can corrupt a database
#: written by several processes at once.
MIN_SQLITE = (3, 51, 3)

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    # Each gunicorn thread keeps its connection (portal/__init__.py), and each connection its
    # own page cache: 4 MB each (8 threads: 32 MB a worker at most); the system caches the file.
    "cache_size": -4000,
    # Deleted content is overwritten with zeros: a purged or re-sealed passport number leaves no
    # readable copy in free pages of the file (or of a backup copied from it).
    "secure_delete": 1,
}


class SQLiteDatabase(APSWDatabase):
    """APSW binds only text, numbers and bytes: store dates as ISO text, as sqlite3 does."""

    def _execute_cursor(self, sql, params, **cursor_options):
        if params:
            params = [_adapt(p) for p in params]
        return super()._execute_cursor(sql, params, **cursor_options)


def _adapt(value):
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time, decimal.Decimal)):
        return str(value)
    return value


def sqlite_version():
    """Return the version of the SQLite library the portal runs on."""
    return apsw.sqlite_lib_version()


def make_database(url, instance_path="."):
    """Build the peewee database named by ``url`` (sqlite:///path or postgresql://...)."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        version = tuple(int(p) for p in sqlite_version().split("."))
        if version < MIN_SQLITE:
            raise RuntimeError(
                "SQLite %s is too old: the portal needs 3.51.3 or later (WAL-reset fix)"
                % sqlite_version()
            )
        path = unquote(url[len("sqlite:///") :]) if url.startswith("sqlite:///") else ""
        if path in ("", ":memory:"):
            path = ":memory:"
        elif not os.path.isabs(path):
            path = os.path.join(instance_path, path)
        if path != ":memory:":
            os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return SQLiteDatabase(path, pragmas=SQLITE_PRAGMAS, timeout=15, lock_type="IMMEDIATE")
    if parsed.scheme in ("postgres", "postgresql"):
        return PooledPostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            host=parsed.hostname,
            port=parsed.port or 5432,
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            max_connections=int(os.environ.get("PORTAL_DB_POOL_SIZE", "8")),
            stale_timeout=300,
            timeout=10,
        )
    raise RuntimeError("DATABASE_URL must start with sqlite:/// or postgresql://")


def init_database(url, instance_path="."):
    """Point the models at the database named by ``url`` and return it."""
    db = make_database(url, instance_path)
    database.initialize(db)
    return db


def is_sqlite(db=None):
    return isinstance((db or database.obj), APSWDatabase)


def database_version(db=None):
    """Return a short description of the database server in use."""
    db = db or database.obj
    if is_sqlite(db):
        return "SQLite " + sqlite_version()
    cursor = db.execute_sql("SHOW server_version")
    return "PostgreSQL " + cursor.fetchone()[0]
