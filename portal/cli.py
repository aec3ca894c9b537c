"""Operators' commands: ``flask --app portal db|demo|accounts|notifications|mail|photos ...``."""

import logging
import os
import sys

import click
from flask.cli import AppGroup

from . import data_cli, schema
from .db import database, database_version

db_cli = AppGroup("db", help="The database: upgrade the schema, show versions.")
demo_cli = AppGroup("demo", help="Demo data.")
accounts_cli = AppGroup("accounts", help="Accounts: import the PrepCom export, list, create.")

log = logging.getLogger(__name__)


@db_cli.command("upgrade")
def db_upgrade():
    """Create or upgrade the database schema in place (running it twice is harmless)."""
    with database.connection_context():
        applied = schema.upgrade()
    if applied:
        click.echo("applied: " + ", ".join(applied))
    else:
        click.echo("the database schema is up to date")


@db_cli.command("status")
def db_status():
    """List the migrations and whether each is applied."""
    with database.connection_context():
        for migration in schema.runner().status():
            click.echo("%s %s" % ("applied" if migration.applied else "pending", migration.name))


@db_cli.command("version")
def db_version():
    """Print the database engine and version in use (SQLite must be 3.51.3 or later)."""
    with database.connection_context():
        click.echo(database_version())


@demo_cli.command("load")
@click.option("--if-new", is_flag=True, help="Only if the database holds no organization yet.")
def demo_load(if_new):
    """Load the demo event, the PrepCom sample accounts, a secretariat account, participants."""
    from . import demo
    from .models import Organization

    with database.connection_context():
        if if_new and Organization.select().exists():
            click.echo("the database has data already: demo data not loaded")
            return
        report = demo.load()
    click.echo(
        "demo data loaded: %d accounts created, %d updated, %d unchanged"
        % (report.created, report.updated, report.unchanged)
    )


@accounts_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check and report, write nothing.")
def accounts_import(path, dry_run):
    """Import a PrepCom accounts export (all rows or none)."""
    from .services import prepcom

    with open(path, "rb") as fh:
        data = fh.read()
    with database.connection_context():
        report = prepcom.import_accounts(data, dry_run=dry_run, source=os.path.basename(path))
    if not report.ok:
        for error in report.errors:
            click.echo("%s: %s" % (os.path.basename(path), error), err=True)
        click.echo("%d bad rows: nothing imported" % len(report.errors), err=True)
        sys.exit(1)
    click.echo(
        "%saccounts: %d created, %d updated, %d unchanged; organizations: %d created, %d updated"
        % (
            "dry run, nothing written: " if dry_run else "",
            report.created,
            report.updated,
            report.unchanged,
            report.organizations_created,
            report.organizations_updated,
        )
    )


@accounts_cli.command("list")
def accounts_list():
    """Print every account: username, role, organization, password scheme, last sign-in."""
    from peewee import JOIN

    from .models import Account, Organization

    with database.connection_context():
        query = (
            Account.select(Account, Organization)
            .join(
                Organization,
                on=(Account.organization == Organization.id),
                join_type=JOIN.LEFT_OUTER,
            )
            .order_by(Account.username_key)
        )
        for account in query:
            click.echo(
                "\t".join(
                    [
                        account.username,
                        account.role,
                        account.organization.code if account.organization_id else "-",
                        account.password_scheme,
                        account.last_login_at.isoformat(" ", "seconds")
                        if account.last_login_at
                        else "never",
                    ]
                )
            )


@accounts_cli.command("create-secretariat")
@click.argument("username")
def accounts_create_secretariat(username):
    """Create a secretariat account; the password is asked for, or read from PORTAL_NEW_PASSWORD."""
    from .services import DomainError
    from .services.accounts import create_secretariat

    password = os.environ.get("PORTAL_NEW_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    with database.connection_context():
        try:
            create_secretariat(username, password)
        except DomainError as exc:
            click.echo(str(exc.message), err=True)
            sys.exit(1)
    click.echo("secretariat account %s created" % username)


notifications_cli = AppGroup("notifications", help="E-mails to coordinators about decisions.")


@notifications_cli.command("send-digest")
def notifications_send_digest():
    """Queue for each coordinator one e-mail with the decisions waiting for the daily digest."""
    from .services import notifications

    with database.connection_context():
        queued = notifications.send_digests()
    click.echo("digests queued: %d (the mail sender sends them)" % queued)


@accounts_cli.command("password-link")
@click.argument("username")
@click.option("--email", "send_email", is_flag=True, help="Also e-mail it to the address on file.")
def accounts_password_link(username, send_email):
    """Print a one-time link for USERNAME to set a password (PORTAL_PASSWORD_LINK_HOURS)."""
    from .services import DomainError
    from .services.accounts import find_account, issue_password_link

    with database.connection_context():
        account = find_account(username)
        if account is None:
            click.echo("no account %s" % username, err=True)
            sys.exit(1)
        try:
            url = issue_password_link(account, None, send_email=send_email)
        except DomainError as exc:
            click.echo(str(exc.message), err=True)
            sys.exit(1)
    click.echo(url)


mail_cli = AppGroup("mail", help="The outbox of e-mails: send them, show the queue.")


def _watch(name, what, interval, step):
    """Run ``step(stop)`` every ``interval`` seconds until SIGTERM or SIGINT; echo what it
    returns. The step under way finishes first (a message handed to the server, a job being
    rendered); a database that is away is logged and tried again, never the end of the loop."""
    import signal
    import threading

    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    click.echo("%s: watching %s every %g s" % (name, what, interval))
    while not stop.is_set():
        try:
            with database.connection_context():
                said = step(stop)
        except Exception:  # noqa: BLE001 - a database that is away must not end the loop
            log.exception("%s: %s could not be read", name, what)
        else:
            if said:
                click.echo(said)
        stop.wait(interval)
    click.echo("%s: stopped" % name)


@mail_cli.command("send")
@click.option("--watch", is_flag=True, help="Keep running: send what is due every INTERVAL.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="Seconds between two looks at the queue (with --watch).",
)
@click.option("--limit", type=click.IntRange(min=1), help="Messages taken at once.")
def mail_send(watch, interval, limit):
    """Send the e-mails that are due (once, or with --watch until SIGTERM or SIGINT)."""
    from .services import mail

    if not watch:
        with database.connection_context():
            report = mail.send_all(limit=limit)
        click.echo("mail: %s" % report)
        return

    def send(stop):
        report = mail.send_all(limit=limit, stop=stop)
        return "mail: %s" % report if report.claimed else None

    _watch("mail sender", "the outbox", interval, send)


@mail_cli.command("status")
def mail_status():
    """Print how many messages are in each state, and why the latest failed ones failed."""
    from .services import mail

    with database.connection_context():
        counts = mail.counts()
        oldest = mail.oldest_waiting()
        failed = mail.failed_messages(limit=20) if counts["failed"] else []
    for state, number in counts.items():
        click.echo("%s\t%d" % (state, number))
    if oldest is not None:
        click.echo("oldest waiting since %s UTC" % oldest.isoformat(" ", "seconds"))
    for message in failed:
        click.echo(
            "failed #%d %s to %s after %d tries: %s"
            % (
                message.id,
                message.template,
                message.to_address,
                message.attempts,
                message.last_error,
            )
        )


@mail_cli.command("retry")
def mail_retry():
    """Put the failed messages back in the queue (once their cause is fixed)."""
    from .services import mail

    with database.connection_context():
        number = mail.retry_failed()
    click.echo("%d failed messages queued again" % number)


documents_cli = AppGroup("documents", help="Print runs and lists: the background worker.")


@documents_cli.command("work")
@click.option("--watch", is_flag=True, help="Keep running: look for jobs every INTERVAL.")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=2.0,
    show_default=True,
    help="Seconds between two looks at the queue of jobs (with --watch).",
)
def documents_work(watch, interval):
    """Render the queued document jobs (once, or with --watch until SIGTERM or SIGINT)."""
    from .services import jobs

    if not watch:
        with database.connection_context():
            number = jobs.work()
        click.echo("documents: %d jobs run" % number)
        return

    def work(stop):
        number = jobs.work(stop=stop)
        return "documents: %d jobs run" % number if number else None

    _watch("documents worker", "the jobs", interval, work)


photos_cli = AppGroup("photos", help="Badge photos.")


@photos_cli.command("purge-pending")
def photos_purge_pending():
    """Delete the photos kept from forms that could not be saved, once nobody came back for
    them for a day (run it daily, e.g. from cron; saving a form also purges them)."""
    from .services import pending_photos

    with database.connection_context(), database.atomic():
        number = pending_photos.purge()
    click.echo("%d pending photos purged" % number)


def init_app(app):
    app.cli.add_command(photos_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(db_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(accounts_cli)
    data_cli.init_app(app, db_cli)
