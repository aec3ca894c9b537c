"""Schema migrations: numbered scripts in ``portal/migrations``, applied in order and recorded
in the ``schema_migration`` table, so upgrading twice is harmless."""

import os

from playhouse.migrations import Runner

from .db import database

MIGRATIONS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "migrations")


def runner(db=None):
    return Runner(db or database.obj, directory=MIGRATIONS)


def upgrade(db=None, target=None):
    """Apply every pending migration (up to ``target``); return the names applied."""
    return runner(db).up(target)


def pending(db=None):
    return [m.name for m in runner(db).status() if not m.applied and m.path]


def is_new(db=None):
    """Return True if the database has no portal tables yet."""
    db = db or database.obj
    return "organization" not in db.get_tables()
