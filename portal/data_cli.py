"""Operators' commands for the data's protection: ``db backup``, ``db restore`` and the
``privacy`` group (key status, key rotation, purge after the retention period)."""

import datetime as dt
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .db import database, is_sqlite

privacy_cli = AppGroup("privacy", help="Passport data: keys, rotation, purge.")


def _fail(message):
    click.echo(str(message), err=True)
    sys.exit(1)


def _print_check(result):
    click.echo("integrity: %s" % result.integrity)
    click.echo(
        "migrations: %d applied%s"
        % (
            len(result.applied),
            ", pending: " + ", ".join(result.pending) if result.pending else "",
        )
    )
    click.echo("rows: " + ", ".join("%s %d" % item for item in result.counts.items()))


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False))
def db_backup(path):
    """Write a consistent backup of the database to PATH, while the portal serves."""
    from . import backups

    started = time.perf_counter()
    with database.connection_context():
        try:
            size = backups.backup(path, current_app.config["DATABASE_URL"])
        except backups.BackupError as exc:
            _fail(exc)
        counts = backups.row_counts()
    click.echo(
        "backup written: %s (%d bytes, %.2f s); rows now: %s"
        % (
            path,
            size,
            time.perf_counter() - started,
            ", ".join("%s %d" % item for item in counts.items()),
        )
    )


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace a database that holds data.")
def db_restore(path, force):
    """Restore the backup at PATH into the database, then check it (restart the workers)."""
    from . import backups
    from .services.privacy import key_ids

    started = time.perf_counter()
    try:
        result = backups.restore(path, current_app.config["DATABASE_URL"], force=force)
    except backups.BackupError as exc:
        _fail(exc)
    _print_check(result)
    with database.connection_context():
        unknown = _print_keys(key_ids())
    click.echo("restored from %s in %.2f s" % (path, time.perf_counter() - started))
    if result.pending:
        click.echo("run `flask --app portal db upgrade` before starting the portal")
    click.echo("restart the portal's workers now: they hold pages of the database replaced")
    if not result.ok or unknown:
        sys.exit(1)


def _print_keys(counts):
    """Print the keys that seal the data; return True if one is not configured."""
    from .crypto import keyring

    ring = keyring()
    unknown = False
    for kid, n in sorted(counts.items()):
        state = "current" if kid == ring.current_id else "configured"
        if kid not in ring.ciphers:
            state, unknown = "NOT CONFIGURED: these values cannot be read", True
        click.echo("sealed values under key %s: %d (%s)" % (kid, n, state))
    return unknown


@privacy_cli.command("status")
def privacy_status():
    """Print which keys seal the passport data, and the current key's id."""
    from .crypto import keyring
    from .services.privacy import key_ids

    click.echo("current key: %s" % keyring().current_id)
    with database.connection_context():
        if _print_keys(key_ids()):
            sys.exit(1)


@privacy_cli.command("rotate-key")
@click.option("--batch", default=200, show_default=True, help="Rows per transaction.")
def privacy_rotate_key(batch):
    """Re-seal every value under PORTAL_DATA_KEY (PORTAL_DATA_KEY_OLD: the key it replaces)."""
    from .crypto import DataKeyError, keyring
    from .services.privacy import key_ids, rotate

    started = time.perf_counter()
    with database.connection_context():
        try:
            result = rotate(batch=batch)
        except DataKeyError as exc:
            _fail("%s; nothing more re-sealed (the batches before stay done)" % exc)
        left = {k: n for k, n in key_ids().items() if k != keyring().current_id}
    click.echo(
        "re-sealed %d values of %d participants in %d batches (%.2f s) under key %s"
        % (
            result.values,
            result.rows,
            result.batches,
            time.perf_counter() - started,
            keyring().current_id,
        )
    )
    if left:
        _fail("values still under other keys: %s" % left)
    click.echo("every value is under the current key: PORTAL_DATA_KEY_OLD may now be removed")


@privacy_cli.command("purge")
@click.option(
    "--before",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Purge the participants registered before DATE, now (default: all of them, and only "
    "from 90 days after the event's end).",
)
@click.option("--dry-run", is_flag=True, help="Count, remove nothing.")
def privacy_purge(before, dry_run):
    """Remove passport numbers, dates of birth, their keys and badge photos (names,
    organizations and the audit trail stay)."""
    from .services import DomainError
    from .services.privacy import purge

    before = before.date() if isinstance(before, dt.datetime) else before
    with database.connection_context():
        try:
            result = purge(before=before, dry_run=dry_run)
        except DomainError as exc:
            _fail(exc.message)
    click.echo(
        "%sparticipants registered before %s: %d passport numbers, %d dates of birth, "
        "%d photos %s (with %d scans of paper registrations and %d spreadsheets awaiting "
        "confirmation)"
        % (
            "dry run, nothing removed: " if dry_run else "",
            result.before,
            result.passport_numbers,
            result.dates_of_birth,
            result.photos,
            "to remove" if dry_run else "removed",
            result.scans,
            result.imports,
        )
    )
    if not dry_run and not is_sqlite():
        click.echo("PostgreSQL: run VACUUM FULL participant, photo to rewrite the old rows on disk")


def init_app(app, db_cli):
    """Add ``backup`` and ``restore`` to the ``db`` group, and the ``privacy`` group."""
    db_cli.add_command(db_backup)
    db_cli.add_command(db_restore)
    app.cli.add_command(privacy_cli)
