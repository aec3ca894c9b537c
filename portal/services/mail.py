"""E-mail through an outbox: plain text, in the recipient's preferred language whatever
language the person who triggered it is using.

``enqueue`` renders a message and writes it as an ``OutboxMessage`` row inside the transaction
of the change that causes it: a rollback drops the message with the change, a commit keeps it
even if every process dies a moment later. No request talks to the mail server.

``send_pending`` (run by ``flask --app portal mail send [--watch]``) claims the due rows in a
short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite: two
senders never take the same row), commits, sends each through SMTP with its fixed Message-ID,
and marks it sent. A failure is tried again later (exponential backoff, capped) until
``MAIL_MAX_ATTEMPTS``, then the row is failed and keeps its last error for the secretariat. A
row left "sending" longer than ``MAIL_LEASE_SECONDS`` (its sender was killed) is claimed again:
the only possible duplicate is a message the server accepted just before the kill, with the
same Message-ID. Without ``PORTAL_SMTP_HOST`` "sending" writes the message to the log.
"""

import datetime as dt
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from flask import current_app, render_template
from flask_babel import force_locale
from peewee import fn

from ..db import database, is_sqlite
from ..models import (
    OUTBOX_FAILED,
    OUTBOX_PENDING,
    OUTBOX_SENDING,
    OUTBOX_SENT,
    OUTBOX_STATES,
    OutboxMessage,
    utcnow,
)
from . import audit

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 20
#: Longest error text kept on a row.
ERROR_LENGTH = 1000


class NotInTransaction(RuntimeError):
    """An e-mail was queued outside the transaction of its cause."""


# -- Queueing -----------------------------------------------------------------------------------


def render(template, language, **context):
    """Render ``mail/<template>.txt`` in ``language``; its first line is the subject."""
    with force_locale(language):
        text = render_template("mail/%s.txt" % template, language=language, **context)
    subject, _, body = text.strip("\n").partition("\n")
    return subject.strip(), body.lstrip("\n")


def _message_id():
    address = parseaddr(current_app.config["MAIL_FROM"])[1]
    return make_msgid(domain=address.rpartition("@")[2] or "wsis.example")


def enqueue(to_address, template, language="fr", to_name="", **context):
    """Render ``template`` in ``language`` and queue it for ``to_address``; return the row.

    Call it inside the transaction of the change that causes the message (NotInTransaction
    otherwise): the message goes out only if that transaction commits.
    """
    if not database.in_transaction():
        raise NotInTransaction("queue an e-mail inside the transaction of its cause")
    subject, body = render(template, language, **context)
    now = utcnow()
    return OutboxMessage.create(
        message_id=_message_id(),
        to_address=to_address,
        to_name=to_name,
        language=language,
        template=template,
        subject=subject,
        body=body,
        next_attempt_at=now,
        created_at=now,
    )


def enqueue_to_account(account, template, **context):
    """Queue ``template`` for an account, in the account's preferred language."""
    return enqueue(
        account.email,
        template,
        language=account.language or "fr",
        to_name=account.full_name,
        account=account,
        **context,
    )


# -- Sending ------------------------------------------------------------------------------------


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    #: Failed this time, to be tried again later.
    retrying: int = 0
    #: Given up: failed for good.
    failed: int = 0
    #: Claimed but not tried: the batch outlasted the lease (another sender may take them).
    left: int = 0

    def add(self, other):
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self

    def __str__(self):
        return "sent %d, to retry %d, failed %d" % (self.sent, self.retrying, self.failed) + (
            ", left for another sender %d" % self.left if self.left else ""
        )


def backoff(attempts, config=None):
    """Return the wait before the next try after ``attempts`` failed ones."""
    config = config or current_app.config
    seconds = int(config["MAIL_RETRY_SECONDS"]) * 2 ** max(0, attempts - 1)
    return dt.timedelta(seconds=min(seconds, int(config["MAIL_RETRY_MAX_SECONDS"])))


def retry_window(config=None):
    """Return how long after its first try a message is given up (with no answer at all)."""
    config = config or current_app.config
    tries = range(1, int(config["MAIL_MAX_ATTEMPTS"]))
    return sum((backoff(n, config) for n in tries), dt.timedelta())


def _claim(now, limit, lease):
    """Take up to ``limit`` due rows for this sender, in one short transaction."""
    waiting = (OutboxMessage.state == OUTBOX_PENDING) & (OutboxMessage.next_attempt_at <= now)
    abandoned = (OutboxMessage.state == OUTBOX_SENDING) & (OutboxMessage.claimed_at <= now - lease)
    query = (
        OutboxMessage.select()
        .where(waiting | abandoned)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if not is_sqlite():
        # Rows another sender is claiming right now are skipped, not waited for. (SQLite's
        # BEGIN IMMEDIATE lets one claiming transaction run at a time.)
        query = query.for_update(skip_locked=True)
    with database.atomic():
        messages = list(query)
        taken_again = [m.id for m in messages if m.state == OUTBOX_SENDING]
        if taken_again:
            # Its sender stopped after claiming it: that was an attempt.
            OutboxMessage.update(
                attempts=OutboxMessage.attempts + 1,
                last_error="taken again: its sender stopped before finishing",
            ).where(OutboxMessage.id.in_(taken_again)).execute()
        if messages:
            OutboxMessage.update(state=OUTBOX_SENDING, claimed_at=now).where(
                OutboxMessage.id.in_([m.id for m in messages])
            ).execute()
    for message in messages:
        if message.id in taken_again:
            message.attempts += 1
        message.state, message.claimed_at = OUTBOX_SENDING, now
    return messages


def _email(message, config):
    email = EmailMessage()
    email["From"] = config["MAIL_FROM"]
    email["To"] = formataddr((message.to_name, message.to_address))
    email["Subject"] = message.subject
    email["Date"] = format_datetime(message.created_at.replace(tzinfo=dt.UTC))
    email["Message-ID"] = message.message_id
    email.set_content(message.body, charset="utf-8")
    return email


class _Unreachable(Exception):
    """No connection to the mail server: every message of the batch would fail the same way."""


class _Connection:
    """One SMTP connection for a batch, opened at the first message."""

    def __init__(self, config):
        self.config = config
        self.smtp = None

    def _open(self):
        config = self.config
        host, port = config["SMTP_HOST"], int(config["SMTP_PORT"])
        if config["SMTP_SSL"]:
            context = ssl.create_default_context()
            smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        try:
            if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if config["SMTP_USER"]:
                smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, email):
        if not self.config["SMTP_HOST"]:
            log.info(
                "mail (not sent, no SMTP host) to %s: %s\n%s",
                email["To"],
                email["Subject"],
                email.get_content(),
            )
            return
        if self.smtp is None:
            try:
                self.smtp = self._open()
            except (OSError, smtplib.SMTPException) as exc:
                raise _Unreachable() from exc
        try:
            self.smtp.send_message(email)
        except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused):
            raise  # the server answered: the connection is still good
        except (OSError, smtplib.SMTPException):
            self.close()  # the next message connects again
            raise
        log.info("mail sent to %s: %s", email["To"], email["Subject"])

    def close(self):
        if self.smtp is not None:
            smtp, self.smtp = self.smtp, None
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()


def _describe(exc):
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        text = "; ".join(
            "%s %s"
            % (code, reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply)
            for code, reply in exc.recipients.values()
        )
        text = "recipient refused: " + text
    elif isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error
        text = "%s %s" % (
            exc.smtp_code,
            reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply,
        )
    else:
        text = "%s: %s" % (type(exc).__name__, exc)
    return text[:ERROR_LENGTH]


def _is_permanent(exc):
    """A 5xx refusal of the recipient or of the message itself: trying again would not help.
    (A refused sender or sign-in is the portal's own setting: retried until it is fixed.)"""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _reply in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    return isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500


def _mark_sent(message, now):
    with database.atomic():
        OutboxMessage.update(state=OUTBOX_SENT, sent_at=now, body="", last_error="").where(
            OutboxMessage.id == message.id
        ).execute()


def _mark_failed(message, error, now, permanent, config):
    """Record a failed try; return the row's new state (pending again, or failed)."""
    attempts = message.attempts + 1
    values = {"attempts": attempts, "last_error": error}
    if permanent or attempts >= int(config["MAIL_MAX_ATTEMPTS"]):
        values["state"] = OUTBOX_FAILED
    else:
        values["state"] = OUTBOX_PENDING
        values["next_attempt_at"] = now + backoff(attempts, config)
    with database.atomic():
        # Only while still ours: past the lease another sender may have taken it.
        OutboxMessage.update(**values).where(
            (OutboxMessage.id == message.id)
            & (OutboxMessage.state == OUTBOX_SENDING)
            & (OutboxMessage.claimed_at == message.claimed_at)
        ).execute()
    log.warning(
        "mail %s to %s not sent (try %d): %s", message.id, message.to_address, attempts, error
    )
    return values["state"]


def send_pending(now=None, limit=None):
    """Claim up to ``limit`` due messages, send each, record each outcome; return a SendReport.

    ``now`` replaces the clock (tests): due times, backoff and the lease are reckoned from it.
    """
    config = current_app.config
    clock = (lambda: now) if now is not None else utcnow
    limit = limit or int(config["MAIL_BATCH_SIZE"])
    lease = dt.timedelta(seconds=int(config["MAIL_LEASE_SECONDS"]))
    messages = _claim(clock(), limit, lease)
    report = SendReport(claimed=len(messages))
    connection = _Connection(config)
    unreachable = None
    try:
        for index, message in enumerate(messages):
            if unreachable is None and clock() >= message.claimed_at + lease:
                # Too slow: past the lease another sender may take these; leave them to it.
                report.left = len(messages) - index
                break
            permanent = False
            if unreachable is not None:
                error = unreachable
            else:
                try:
                    connection.send(_email(message, config))
                except _Unreachable as exc:
                    error = unreachable = _describe(exc.__cause__)
                except (OSError, smtplib.SMTPException) as exc:
                    error, permanent = _describe(exc), _is_permanent(exc)
                else:
                    _mark_sent(message, clock())
                    report.sent += 1
                    continue
            if _mark_failed(message, error, clock(), permanent, config) == OUTBOX_FAILED:
                report.failed += 1
            else:
                report.retrying += 1
    finally:
        connection.close()
    return report


def send_all(now=None, limit=None, stop=None):
    """Send batches until no message is due (or ``stop``, an Event, is set); return the sum of
    their reports."""
    limit = limit or int(current_app.config["MAIL_BATCH_SIZE"])
    total = SendReport()
    while True:
        report = send_pending(now=now, limit=limit)
        total.add(report)
        # A row tried in this run is sent, failed, or due later: it is not claimed twice.
        if report.claimed < limit or report.left or (stop is not None and stop.is_set()):
            return total


# -- The queue, for the secretariat and the command line -----------------------------------------


def counts():
    """Return ``{state: number of messages}`` for every state."""
    found = dict.fromkeys(OUTBOX_STATES, 0)
    query = OutboxMessage.select(OutboxMessage.state, fn.COUNT(OutboxMessage.id)).group_by(
        OutboxMessage.state
    )
    for state, number in query.tuples():
        found[state] = number
    return found


def oldest_waiting():
    """Return when the oldest message not yet sent (nor given up) was queued, or None."""
    oldest = (
        OutboxMessage.select(OutboxMessage.created_at)
        .where(OutboxMessage.state.in_([OUTBOX_PENDING, OUTBOX_SENDING]))
        .order_by(OutboxMessage.created_at)
        .first()
    )
    return oldest.created_at if oldest else None


def failed_messages(limit=50):
    """Return the latest messages given up, newest first (with their last error)."""
    return list(
        OutboxMessage.select(
            OutboxMessage.id,
            OutboxMessage.to_address,
            OutboxMessage.template,
            OutboxMessage.subject,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
        )
        .where(OutboxMessage.state == OUTBOX_FAILED)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )


def retry_failed(actor=None, now=None):
    """Put every failed message back in the queue, its tries counted from zero, once the cause
    is fixed (an address corrected, the server reachable again); return how many."""
    with database.atomic():
        number = (
            OutboxMessage.update(state=OUTBOX_PENDING, attempts=0, next_attempt_at=now or utcnow())
            .where(OutboxMessage.state == OUTBOX_FAILED)
            .execute()
        )
        if number:
            audit.record("mail.retry", account=actor, messages=number)
    return number
