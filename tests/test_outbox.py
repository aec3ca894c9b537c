"""The outbox: every e-mail is a row written in the transaction of its cause, sent afterwards by
``flask --app portal mail send``; against a real SMTP server (aiosmtpd) on 127.0.0.1."""

import asyncio
import datetime as dt
import email
import os
import re
import selectors
import signal
import smtplib
import subprocess
import sys
import threading
from email import policy

import pytest

from portal.db import database
from portal.models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    ROLE_SECRETARIAT,
    SUBMITTED,
    Account,
    AuditLog,
    OutboxMessage,
    Participant,
    utcnow,
)
from portal.services import decisions, mail, notifications, participants

from .conftest import ROOT, USE_POSTGRES, Mailbox, csrf_token, deliver_mail, free_port
from .test_delegation_helpers import PASSWORD, complete, jpeg, post_form

LEASE = dt.timedelta(seconds=600)


# -- A mail server the test controls ----------------------------------------------------------


class SMTPServer:
    """aiosmtpd on a fixed port of 127.0.0.1, which the test stops and starts again."""

    def __init__(self, port):
        self.port = port
        self.controller = None

    def start(self, handler=None):
        from aiosmtpd.controller import Controller

        self.handler = handler or Mailbox()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.handler

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app):
    """A mail server's port for the app; nothing listens there until the test starts it."""
    server = SMTPServer(free_port())
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=server.port)
    yield server
    server.stop()


class BlockingMailbox:
    """Holds every message at DATA until released; records nothing (the sender dies first)."""

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's API
        self.entered.set()
        await asyncio.get_running_loop().run_in_executor(None, self.release.wait)
        return "451 try again later"


class RefusingMailbox(Mailbox):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        return "550 5.1.1 no such mailbox here"


def ids(messages):
    return sorted(m["Message-ID"] for m in messages)


def outbox(app, *where):
    with app.app_context(), database.connection_context():
        query = OutboxMessage.select().order_by(OutboxMessage.id)
        return list(query.where(*where) if where else query)


@pytest.fixture
def people(app, world, make_account):
    """The conftest's world (ITU: coord and deputy, both with e-mail) and a reviewer."""
    make_account("registry", role=ROLE_SECRETARIAT)
    return world


def login(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303
    return client


def decide(client, participant_id, decision="accredit"):
    page = client.get("/secretariat/participants/%d" % participant_id).get_data(as_text=True)
    with client.application.app_context(), database.connection_context():
        version = Participant.get_by_id(participant_id).version
    return client.post(
        "/secretariat/participants/%d/decision" % participant_id,
        data={"csrf_token": csrf_token(page), "decision": decision, "version": version},
    )


def queue_one(app, account_id, template="password_link"):
    with app.test_request_context(), database.connection_context(), database.atomic():
        account = Account.get_by_id(account_id)
        return mail.enqueue_to_account(account, template, url="http://x/set?token=t", hours=48)


# -- No request waits on SMTP; nothing is lost; each message arrives once -------------------------


def test_mail_server_down_requests_answer_without_smtp_then_each_message_arrives_once(
    app, people, smtp, monkeypatch
):
    connections = []
    original = smtplib.SMTP.connect

    def counted(self, *args, **kwargs):
        connections.append(args)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(smtplib.SMTP, "connect", counted)

    # The coordinator submits and the reviewer decides while nothing listens on the SMTP port.
    coordinator = login(app, "coord")
    response = post_form(coordinator, complete(submit="1"), photo=jpeg())
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        (person,) = Participant.select()
        assert person.status == SUBMITTED
    reviewer = login(app, "registry")
    assert decide(reviewer, person.id).status_code == 303
    assert connections == []  # neither request tried the mail server
    queued = outbox(app)
    assert sorted((m.template, m.to_address) for m in queued) == [
        ("decision", "coord@example.org"),
        ("decision", "deputy@example.org"),
        ("submission_summary", "coord@example.org"),
    ]
    assert {m.state for m in queued} == {OUTBOX_PENDING}

    # The sender finds the server down: every message waits for a later try, none is lost.
    start = utcnow()
    report = deliver_mail(app, now=start)
    assert (report.sent, report.retrying, report.failed) == (0, 3, 0)
    assert len(connections) == 1  # one refused connection, not one per message
    waiting = outbox(app)
    assert [(m.state, m.attempts) for m in waiting] == [(OUTBOX_PENDING, 1)] * 3
    assert all("Connection" in m.last_error for m in waiting)

    # The server is back: the next due run delivers each message exactly once.
    mailbox = smtp.start()
    assert deliver_mail(app, now=start + dt.timedelta(seconds=59)).claimed == 0  # not due yet
    assert deliver_mail(app, now=start + dt.timedelta(seconds=60)).sent == 3
    assert deliver_mail(app, now=start + dt.timedelta(days=1)).claimed == 0
    assert ids(mailbox.messages) == sorted(m.message_id for m in queued)
    assert len(set(ids(mailbox.messages))) == 3
    sent = outbox(app)
    assert {m.state for m in sent} == {OUTBOX_SENT} and {m.body for m in sent} == {""}
    by_id = {m["Message-ID"]: m for m in mailbox.messages}
    summary = next(m for m in queued if m.template == "submission_summary")
    assert "Karim BENALI" in by_id[summary.message_id].get_content()


def test_the_message_id_is_fixed_when_queued_and_the_password_link_leaves_the_outbox(
    app, demo_accounts, smtp
):
    mailbox = smtp.start()
    client = login(app, "registry")
    page = client.get("/secretariat/accounts").get_data(as_text=True)
    response = client.post(
        "/secretariat/accounts/%d/password-link" % demo_accounts["coord"],
        data={"csrf_token": csrf_token(page), "send_email": "y"},
    )
    assert response.status_code == 200
    assert mailbox.messages == []
    (queued,) = outbox(app)
    token = re.search(r"token=([\w-]+)", queued.body).group(1)
    assert re.fullmatch(r"<[^@>]+@wsis\.example>", queued.message_id)
    deliver_mail(app)
    (message,) = mailbox.messages
    assert message["Message-ID"] == queued.message_id
    assert token in message.get_content()
    (sent,) = outbox(app)
    assert sent.state == OUTBOX_SENT and token not in sent.body + sent.subject


@pytest.fixture
def demo_accounts(people, app):
    with app.app_context(), database.connection_context():
        return {a.username: a.id for a in Account.select()}


# -- The transaction of the cause -----------------------------------------------------------------


def test_a_rollback_of_the_cause_drops_the_message(app, people, smtp, monkeypatch):
    mailbox = smtp.start()
    with app.test_request_context(), database.connection_context():
        person = Participant.create(
            organization=people["org"], family_name="ROLLBACK", status=SUBMITTED
        )
        registry = Account.get(Account.username_key == "registry")
        original = notifications.decision_made

        def queue_then_fail(participant):
            original(participant)  # the e-mails are queued...
            assert OutboxMessage.select().count() == 2
            raise RuntimeError("...and the decision fails after")

        monkeypatch.setattr(notifications, "decision_made", queue_then_fail)
        with pytest.raises(RuntimeError):
            decisions.decide(person.id, registry, decisions.ACCREDIT)
        assert Participant.get_by_id(person.id).status == SUBMITTED
        assert OutboxMessage.select().count() == 0
    assert deliver_mail(app).claimed == 0 and mailbox.messages == []


def test_queueing_outside_a_transaction_is_refused(app, people):
    with app.test_request_context(), database.connection_context():
        coord = Account.get(Account.username_key == "coord")
        with pytest.raises(mail.NotInTransaction):
            mail.enqueue_to_account(coord, "password_link", url="u", hours=1)
        with pytest.raises(mail.NotInTransaction):
            participants.notify_submission(Participant(), coord)
        assert OutboxMessage.select().count() == 0


# -- Retries, backoff, giving up ------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap_then_the_message_fails_and_the_secretariat_sees_why(
    app, people, smtp, runner
):
    app.config.update(MAIL_MAX_ATTEMPTS=4, MAIL_RETRY_SECONDS=60, MAIL_RETRY_MAX_SECONDS=150)
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queue_one(app, coord_id)
    t = utcnow()
    waits = []
    for attempt in (1, 2, 3):
        assert deliver_mail(app, now=t).retrying == 1
        (row,) = outbox(app)
        assert (row.state, row.attempts) == (OUTBOX_PENDING, attempt)
        waits.append(row.next_attempt_at - t)
        before = row.next_attempt_at - dt.timedelta(microseconds=1)
        assert deliver_mail(app, now=before).claimed == 0  # not before it is due
        t = row.next_attempt_at
    assert waits == [dt.timedelta(seconds=s) for s in (60, 120, 150)]  # doubled, then capped
    report = deliver_mail(app, now=t)
    assert (report.retrying, report.failed) == (0, 1)
    (row,) = outbox(app)
    assert (row.state, row.attempts) == (OUTBOX_FAILED, 4)
    assert "Connection" in row.last_error
    assert deliver_mail(app, now=t + dt.timedelta(days=30)).claimed == 0  # given up

    result = runner.invoke(args=["mail", "status"])
    assert "failed\t1" in result.output and "pending\t0" in result.output
    assert row.last_error in result.output

    reviewer = login(app, "registry")
    for language in ("en", "fr", "ar"):
        reviewer.get("/language/" + language)
        page = reviewer.get("/secretariat/mail")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert "coord@example.org" in html and row.last_error.split(":")[0] in html
    assert "Courriels" not in html and "البريد الإلكتروني" in html  # the Arabic page
    assert login(app, "coord").get("/secretariat/mail").status_code == 404

    # Once the server answers, the secretariat puts the failed message back in the queue.
    mailbox = smtp.start()
    reviewer.get("/language/en")
    page = reviewer.get("/secretariat/mail").get_data(as_text=True)
    response = reviewer.post("/secretariat/mail/retry", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert "1 e-mail queued again." in reviewer.get("/secretariat/mail").get_data(as_text=True)
    assert deliver_mail(app).sent == 1 and len(mailbox.messages) == 1
    with app.app_context(), database.connection_context():
        assert AuditLog.get(AuditLog.action == "mail.retry").actor == "registry"


def test_a_refused_recipient_fails_at_once(app, people, smtp):
    mailbox = smtp.start(RefusingMailbox())
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queue_one(app, coord_id)
    report = deliver_mail(app)
    assert (report.sent, report.failed) == (0, 1)
    (row,) = outbox(app)
    assert row.state == OUTBOX_FAILED and row.attempts == 1
    assert row.last_error.startswith("recipient refused: 550")
    assert mailbox.messages == []


def test_the_secretariat_page_counts_what_waits(app, people):
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    for _ in range(3):
        queue_one(app, coord_id)
    html = login(app, "registry").get("/secretariat/mail").get_data(as_text=True)
    assert re.search(r"Waiting to be sent</th><td>3<", html)
    assert "Try the failed" not in html  # nothing failed


# -- A sender killed between claiming and sending -----------------------------------------------


def _environment(app_config, port):
    return {
        **os.environ,
        "DATABASE_URL": app_config["DATABASE_URL"],
        "SECRET_KEY": app_config["SECRET_KEY"],
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(port),
        "PYTHONUNBUFFERED": "1",
    }


def test_a_sender_killed_after_claiming_loses_nothing_and_sends_each_message_once(
    app, app_config, people, smtp
):
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queued = [queue_one(app, coord_id).message_id for _ in range(2)]
    blocking = smtp.start(BlockingMailbox())
    sender = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "mail", "send"],
        cwd=ROOT,
        env=_environment(app_config, smtp.port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        assert blocking.entered.wait(60), sender.communicate(timeout=30)[0]
        sender.kill()  # kill -9, while the server holds the first message at DATA
        assert sender.wait(30) == -signal.SIGKILL
    finally:
        if sender.poll() is None:
            sender.kill()
        blocking.release.set()
        smtp.stop()
    claimed = outbox(app)
    assert [m.state for m in claimed] == [OUTBOX_SENDING] * 2

    mailbox = smtp.start()
    assert deliver_mail(app).claimed == 0  # the lease is not over: its sender might still work
    assert mailbox.messages == []
    after_lease = max(m.claimed_at for m in claimed) + LEASE
    report = deliver_mail(app, now=after_lease)
    assert report.sent == 2
    assert deliver_mail(app, now=after_lease + dt.timedelta(days=1)).claimed == 0
    assert ids(mailbox.messages) == sorted(queued)
    rows = outbox(app)
    assert [(m.state, m.attempts) for m in rows] == [(OUTBOX_SENT, 1)] * 2


# -- Two senders at once ------------------------------------------------------------------------


def test_senders_running_at_once_never_send_the_same_message(app, people, smtp):
    mailbox = smtp.start()
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queued = sorted(queue_one(app, coord_id).message_id for _ in range(40))
    start = threading.Barrier(4)
    errors = []

    def sender():
        try:
            start.wait(30)
            with app.app_context(), database.connection_context():
                mail.send_all(limit=3)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert ids(mailbox.messages) == queued  # each exactly once
    assert {m.state for m in outbox(app)} == {OUTBOX_SENT}


@pytest.mark.skipif(not USE_POSTGRES, reason="SKIP LOCKED is PostgreSQL's")
def test_a_sender_skips_the_rows_another_sender_is_claiming(app, app_config, people, smtp):
    mailbox = smtp.start()
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queued = [queue_one(app, coord_id) for _ in range(4)]
    import psycopg2

    other = psycopg2.connect(app_config["DATABASE_URL"])
    try:
        with other.cursor() as cursor:  # another sender, in the middle of its claim
            cursor.execute(
                "SELECT id FROM outbox_message WHERE id IN (%s, %s) FOR UPDATE",
                (queued[0].id, queued[1].id),
            )
        result = {}
        thread = threading.Thread(target=lambda: result.update(report=deliver_mail(app)))
        thread.start()
        thread.join(60)  # without SKIP LOCKED it would wait for the other transaction
        assert not thread.is_alive(), "the sender waited for rows another sender holds"
    finally:
        other.rollback()
        other.close()
    thread.join(60)
    assert result["report"].sent == 2
    assert ids(mailbox.messages) == sorted(m.message_id for m in queued[2:])
    states = [m.state for m in outbox(app)]
    assert states == [OUTBOX_PENDING, OUTBOX_PENDING, OUTBOX_SENT, OUTBOX_SENT]


# -- The command line ---------------------------------------------------------------------------


def test_mail_send_once_prints_what_it_did(app, people, smtp, runner):
    mailbox = smtp.start()
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    for _ in range(3):
        queue_one(app, coord_id)
    result = runner.invoke(args=["mail", "send", "--limit", "2"])  # two batches
    assert result.exit_code == 0, result.output
    assert "sent 3, to retry 0, failed 0" in result.output
    assert len(mailbox.messages) == 3
    status = runner.invoke(args=["mail", "status"]).output
    assert "sent\t3" in status and "pending\t0" in status


def _read_until(process, pattern, seconds=60):
    """Return the output of ``process`` up to a line matching ``pattern`` (or fail)."""
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    seen = ""
    deadline = threading.Event()
    timer = threading.Timer(seconds, deadline.set)
    timer.start()
    try:
        while not deadline.is_set():
            if selector.select(timeout=1):
                line = process.stdout.readline().decode()
                if not line:
                    break
                seen += line
                if re.search(pattern, line):
                    return seen
    finally:
        timer.cancel()
    raise AssertionError("no line matching %r in:\n%s" % (pattern, seen))


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_mail_send_watch_sends_and_stops_cleanly(app, app_config, people, smtp, stop):
    mailbox = smtp.start()
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queued = queue_one(app, coord_id)
    watcher = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "mail", "send", "--watch"]
        + ["--interval", "0.2"],
        cwd=ROOT,
        env=_environment(app_config, smtp.port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        _read_until(watcher, r"mail: sent 1\b")
        assert ids(mailbox.messages) == [queued.message_id]
        watcher.send_signal(stop)
        output = watcher.communicate(timeout=30)[0].decode()
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert watcher.returncode == 0, output
    assert "mail sender: stopped" in output and "Traceback" not in output
    (row,) = outbox(app)
    assert row.state == OUTBOX_SENT


def test_without_an_smtp_host_the_sender_writes_to_the_log(app, people, caplog):
    app.config.update(SMTP_HOST="")
    with app.app_context(), database.connection_context():
        coord_id = Account.get(Account.username_key == "coord").id
    queue_one(app, coord_id)
    assert deliver_mail(app).sent == 1
    assert "not sent, no SMTP host" in caplog.text and "coord@example.org" in caplog.text


def test_the_message_carries_its_headers(app, people, smtp):
    mailbox = smtp.start()
    with app.app_context(), database.connection_context():
        Account.update(given_name="Zoé", family_name="ÇELIK", language="fr").where(
            Account.username_key == "coord"
        ).execute()
        coord_id = Account.get(Account.username_key == "coord").id
    queued = queue_one(app, coord_id)
    deliver_mail(app)
    (message,) = mailbox.messages
    raw = email.message_from_string(message.as_string(), policy=policy.default)
    assert raw["To"].addresses[0].display_name == "Zoé ÇELIK"
    assert raw["From"] == app.config["MAIL_FROM"]
    assert raw["Date"].datetime.replace(tzinfo=None) == queued.created_at.replace(microsecond=0)
    assert message["Subject"] == queued.subject and "mot de passe" in queued.subject
