"""Telling coordinators about decisions: one plain-text e-mail per decision, in each
coordinator's own language, or (the event's ``notification_mode`` is "digest") a row queued for
the daily digest that ``flask --app portal notifications send-digest`` sends.

E-mails go out only after the decision's transaction has committed: ``decision_made`` (inside
the transaction) returns what to send, ``deliver`` (after it) sends it.
"""

import logging
import smtplib

from ..db import database
from ..models import (
    ROLE_COORDINATOR,
    Account,
    Event,
    Notification,
    Organization,
    Participant,
    utcnow,
)
from . import audit, mail

log = logging.getLogger(__name__)


def _coordinators(organization_id):
    return list(
        Account.select()
        .where(
            (Account.organization == organization_id)
            & (Account.role == ROLE_COORDINATOR)
            & Account.is_active
            & (Account.email != "")
        )
        .order_by(Account.id)
    )


def decision_made(participant):
    """Call inside the decision's transaction. In digest mode, queue a row per coordinator and
    return nothing to send; otherwise return the ``(account, participant)`` pairs to mail."""
    event = Event.select().order_by(Event.id).first()
    coordinators = _coordinators(participant.organization_id)
    if event is not None and event.notification_mode == "digest":
        now = utcnow()
        for account in coordinators:
            Notification.create(
                account=account, participant=participant, status=participant.status, created_at=now
            )
        return []
    return [(account, participant) for account in coordinators]


def deliver(pending):
    """Send the decision e-mails (after the commit). A failed e-mail is logged and audited; the
    decision stands."""
    for account, participant in pending:
        try:
            send_decision(account, participant)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("decision e-mail to account %s not sent: %s", account.id, exc)
            with database.atomic():
                audit.record("notification.failed", obj=participant, recipient=account.username)


def send_decision(account, participant):
    organization = Organization.get_by_id(participant.organization_id)
    mail.send_to_account(
        account,
        "decision",
        participant=participant,
        organization=organization,
        event=Event.select().order_by(Event.id).first(),
    )


def send_digests():
    """Send each coordinator one e-mail listing the decisions queued for them; return
    ``(sent, failed)``. A row is marked sent only once its e-mail has gone."""
    sent = failed = 0
    account_ids = [
        row[0]
        for row in Notification.select(Notification.account)
        .where(Notification.sent_at.is_null())
        .distinct()
        .tuples()
    ]
    event = Event.select().order_by(Event.id).first()
    for account_id in account_ids:
        account = Account.get_by_id(account_id)
        rows = list(
            Notification.select(Notification, Participant)
            .join(Participant)
            .where((Notification.account == account_id) & Notification.sent_at.is_null())
            .order_by(Notification.created_at, Notification.id)
        )
        if not account.is_active or not account.email:
            with database.atomic():
                Notification.update(sent_at=utcnow()).where(
                    Notification.id.in_([r.id for r in rows])
                ).execute()
            continue
        organization = Organization.get_by_id(account.organization_id)
        try:
            mail.send_to_account(
                account,
                "digest",
                notifications=rows,
                organization=organization,
                event=event,
            )
        except (OSError, smtplib.SMTPException) as exc:
            log.error("digest to account %s not sent: %s", account.id, exc)
            failed += 1
            continue
        with database.atomic():
            Notification.update(sent_at=utcnow()).where(
                Notification.id.in_([r.id for r in rows])
            ).execute()
            audit.record(
                "notification.digest",
                obj=account,
                organization=account.organization_id,
                decisions=len(rows),
            )
        sent += 1
    return sent, failed
