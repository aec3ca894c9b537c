"""Telling coordinators about decisions: one plain-text e-mail per decision, in each
coordinator's own language, or (the event's ``notification_mode`` is "digest") a row queued for
the daily digest that ``flask --app portal notifications send-digest`` queues.

Every e-mail goes through the outbox (``portal.services.mail``): it is written in the
transaction of the decision (or of the digest's rows), and sent afterwards by the sender.
"""

from ..db import database, is_sqlite
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
    """Call inside the decision's transaction: queue the decision's e-mail to each coordinator
    of the delegation or, in digest mode, a row for each one's next digest."""
    event = Event.select().order_by(Event.id).first()
    coordinators = _coordinators(participant.organization_id)
    if event is not None and event.notification_mode == "digest":
        now = utcnow()
        for account in coordinators:
            Notification.create(
                account=account, participant=participant, status=participant.status, created_at=now
            )
        return
    organization = Organization.get_by_id(participant.organization_id)
    for account in coordinators:
        mail.enqueue_to_account(
            account, "decision", participant=participant, organization=organization, event=event
        )


def send_digests():
    """Queue for each coordinator one e-mail listing the decisions waiting for them, in the
    transaction that marks those rows sent; return how many digests were queued."""
    queued = 0
    account_ids = [
        row[0]
        for row in Notification.select(Notification.account)
        .where(Notification.sent_at.is_null())
        .distinct()
        .tuples()
    ]
    event = Event.select().order_by(Event.id).first()
    for account_id in account_ids:
        with database.atomic():
            query = (
                Notification.select(Notification, Participant)
                .join(Participant)
                .where((Notification.account == account_id) & Notification.sent_at.is_null())
                .order_by(Notification.created_at, Notification.id)
            )
            if not is_sqlite():
                # Two runs at once: the second waits, then finds these rows sent.
                query = query.for_update(of=Notification)
            rows = list(query)
            if not rows:
                continue
            Notification.update(sent_at=utcnow()).where(
                Notification.id.in_([r.id for r in rows])
            ).execute()
            account = Account.get_by_id(account_id)
            if not account.is_active or not account.email:
                continue
            mail.enqueue_to_account(
                account,
                "digest",
                notifications=rows,
                organization=Organization.get_by_id(account.organization_id),
                event=event,
            )
            audit.record(
                "notification.digest",
                obj=account,
                organization=account.organization_id,
                decisions=len(rows),
            )
        queued += 1
    return queued
