"""The secretariat's work: decisions on submitted participants (one or many), duplicates across
delegations, the overview of every delegation, the event's settings, and account administration.

Each state change takes the acting account, checks the state inside one transaction, writes,
and records an audit row; the e-mails announcing decisions to the coordinators are queued in
the same transaction (``portal.services.notifications``).
"""

import datetime as dt
import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from peewee import JOIN, SQL, Case, fn

from ..db import database, is_sqlite
from ..models import (
    ACCREDITED,
    CATEGORIES,
    REJECTED,
    REJECTION_REASONS,
    ROLE_COORDINATOR,
    STATUSES,
    SUBMITTED,
    WITHDRAWN,
    Account,
    AuditLog,
    Event,
    Organization,
    Participant,
    Photo,
    new_token,
    utcnow,
)
from . import DomainError, audit, notifications
from .participants import SECRETARIAT_MOVES, accredit, lock_organization, passport_key, reject

log = logging.getLogger(__name__)

ACCREDIT = "accredit"
REJECT = "reject"

PAGE_SIZE = 50
#: The queue shows more per participant: fewer at a time keep its pages light on slow links.
QUEUE_PAGE_SIZE = 20


def _like(text):
    """Return a LIKE pattern matching ``text`` anywhere (its own wildcards taken literally)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "%" + escaped + "%"


def _contains(column, text):
    # ILIKE on PostgreSQL; LIKE (case-insensitive for ASCII) on SQLite.
    return column ** _like(text)


# -- Decisions ----------------------------------------------------------------------------------


class ChangedMeanwhile(DomainError):
    """The participant was changed by someone else after the reviewer's screen was drawn."""


def decide(participant_id, actor, decision, code="", text="", version=None):
    """Accredit or reject one participant, in one transaction that also queues the e-mails.

    ``version`` is the version the reviewer saw: if the participant changed meanwhile (decided
    by someone else, edited, withdrawn) nothing is written and ChangedMeanwhile says so.
    """
    if decision not in (ACCREDIT, REJECT):
        raise DomainError(_l("Choose a decision."))
    code = code if code in REJECTION_REASONS else ""
    text = (text or "").strip()
    if decision == REJECT and not (code or text):
        raise DomainError(_l("Give a reason for the rejection."), field="reason")
    participant = Participant.get_or_none(Participant.id == participant_id)
    if participant is None:
        raise DomainError(_l("This participant does not exist any more."))
    new_status = ACCREDITED if decision == ACCREDIT else REJECTED
    with database.atomic():
        lock_organization(participant.organization_id)
        participant = Participant.get_by_id(participant.id)
        if version is not None and int(version) != participant.version:
            raise ChangedMeanwhile(
                _l(
                    "%(name)s was changed by someone else meanwhile (now: %(status)s). "
                    "Nothing was done; check it again.",
                    name=participant.full_name,
                    status=participant.status_label,
                )
            )
        if (participant.status, new_status) not in SECRETARIAT_MOVES:
            raise ChangedMeanwhile(
                _l(
                    "%(name)s cannot be decided now: the status is %(status)s.",
                    name=participant.full_name,
                    status=participant.status_label,
                )
            )
        if decision == ACCREDIT:
            participant = accredit(participant, actor)
        else:
            participant = reject(participant, actor, code, text)
        notifications.decision_made(participant)
    return participant


@dataclass
class BulkResult:
    done: list = field(default_factory=list)
    failed: list = field(default_factory=list)  # (participant_id, message)


def decide_many(items, actor, decision, code="", text=""):
    """Decide each ``(participant_id, version)`` in turn, each in its own transaction.

    One participant changed meanwhile does not stop the others; the result says which failed.
    """
    result = BulkResult()
    for participant_id, version in items:
        try:
            result.done.append(decide(participant_id, actor, decision, code, text, version))
        except DomainError as error:
            result.failed.append((participant_id, error.message))
    return result


# -- Duplicates across delegations ---------------------------------------------------------------


def _name_key(p):
    return (p.family_name.strip().casefold(), p.given_names.strip().casefold(), p.date_of_birth)


def duplicates_for(participants):
    """Return ``{participant_id: [other participants]}``: the same passport, or the same names
    and date of birth, in another organization's delegation (withdrawn ones left out).

    One query for the whole list, whatever its length.
    """
    participants = list(participants)
    keys = {p.passport_key for p in participants if p.passport_key}
    births = {p.date_of_birth for p in participants if p.date_of_birth}
    if not keys and not births:
        return {}
    condition = None
    if keys:
        condition = Participant.passport_key.in_(sorted(keys))
    if births:
        by_birth = Participant.date_of_birth.in_(sorted(births))
        condition = by_birth if condition is None else (condition | by_birth)
    others = list(
        Participant.select(
            Participant.id,
            Participant.organization,
            Participant.family_name,
            Participant.given_names,
            Participant.date_of_birth,
            Participant.passport_key,
            Participant.status,
            Organization.id,
            Organization.code,
            Organization.acronym,
            Organization.name_en,
            Organization.name_fr,
            Organization.name_ar,
        )
        .join(Organization)
        .where(condition & (Participant.status != WITHDRAWN))
    )
    by_passport, by_person = {}, {}
    for other in others:
        if other.passport_key:
            by_passport.setdefault(other.passport_key, []).append(other)
        if other.date_of_birth and other.family_name:
            by_person.setdefault(_name_key(other), []).append(other)
    found = {}
    for p in participants:
        if p.status == WITHDRAWN:
            continue
        candidates = by_passport.get(p.passport_key, []) if p.passport_key else []
        if p.date_of_birth and p.family_name:
            candidates = candidates + by_person.get(_name_key(p), [])
        seen = set()
        for other in candidates:
            if other.organization_id != p.organization_id and other.id not in seen:
                seen.add(other.id)
                found.setdefault(p.id, []).append(other)
    return found


# -- The review queue ----------------------------------------------------------------------------


def queue(page=1, organization_id=None, text=""):
    """Return ``(participants, total)``: submitted participants, oldest submission first.

    Each participant carries its organization and ``photo_digest`` (None without a photo):
    three queries for the page, whatever its length.
    """
    query = (
        Participant.select(Participant, Organization)
        .join(Organization)
        .where(Participant.status == SUBMITTED)
    )
    if organization_id:
        query = query.where(Participant.organization == organization_id)
    text = (text or "").strip()
    if text:
        query = query.where(_participant_matches(text) | _organization_matches(text))
    total = query.count()
    rows = list(
        query.order_by(Participant.submitted_at, Participant.id).paginate(
            max(1, page), QUEUE_PAGE_SIZE
        )
    )
    attach_photo_digests(rows)
    return rows, total


def attach_photo_digests(participants):
    """Set ``photo_digest`` on each participant (one query for the list)."""
    digests = {}
    if participants:
        digests = dict(
            Photo.select(Photo.participant, Photo.digest)
            .where(Photo.participant.in_([p.id for p in participants]))
            .tuples()
        )
    for participant in participants:
        participant.photo_digest = digests.get(participant.id)
    return participants


def passport_valid(participant, event):
    """True when the passport is still valid on the last day of the event (None: unknown)."""
    if participant.passport_expiry is None or event is None:
        return None
    return participant.passport_expiry >= event.ends_on


def history(participant):
    """Return the audit rows about ``participant``, newest first."""
    return (
        AuditLog.select()
        .where((AuditLog.object_type == "participant") & (AuditLog.object_id == participant.id))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
    )


# -- The overview --------------------------------------------------------------------------------

SORTS = ("name", "code", "category", "total", "activity", *STATUSES)


def _participant_matches(text):
    condition = (
        _contains(Participant.family_name, text)
        | _contains(Participant.given_names, text)
        | _contains(Participant.family_name_original, text)
        | _contains(Participant.given_names_original, text)
    )
    key = passport_key(text)
    if key:
        condition = condition | (Participant.passport_key == key)
    return condition


def _organization_matches(text):
    return (
        _contains(Organization.name_en, text)
        | _contains(Organization.name_fr, text)
        | _contains(Organization.name_ar, text)
        | _contains(Organization.acronym, text)
        | _contains(Organization.code, text)
    )


def _greatest(a, b):
    # SQLite's two-argument MAX() is NULL if either is NULL; PostgreSQL's GREATEST skips NULLs.
    if is_sqlite():
        return fn.MAX(fn.COALESCE(a, b), fn.COALESCE(b, a))
    return fn.GREATEST(a, b)


@dataclass
class OverviewPage:
    organizations: list
    total: int
    page: int
    pages: int


def _figures(organization_ids=None):
    """The per-organization figures (counts per status, head, last change, last sign-in) as two
    grouped subqueries, for every organization or only ``organization_ids``."""
    stats = Participant.select(
        Participant.organization.alias("org_id"),
        fn.COUNT(Participant.id).alias("total"),
        fn.MAX(
            Case(None, [((Participant.is_head) & (Participant.status != WITHDRAWN), 1)], 0)
        ).alias("has_head"),
        fn.MAX(Participant.updated_at).alias("changed_at"),
        *[
            fn.SUM(Case(None, [(Participant.status == code, 1)], 0)).alias(code)
            for code in STATUSES
        ],
    ).group_by(Participant.organization)
    logins = (
        Account.select(
            Account.organization.alias("org_id"),
            fn.MAX(Account.last_login_at).alias("signed_in_at"),
        )
        .where(Account.organization.is_null(False))
        .group_by(Account.organization)
    )
    if organization_ids is not None:
        stats = stats.where(Participant.organization.in_(organization_ids))
        logins = logins.where(Account.organization.in_(organization_ids))
    return stats, logins


def _figure_columns(stats, logins):
    return [
        fn.COALESCE(stats.c.total, 0).alias("total"),
        fn.COALESCE(stats.c.has_head, 0).alias("has_head"),
        _greatest(stats.c.changed_at, logins.c.signed_in_at).alias("last_activity"),
    ] + [fn.COALESCE(getattr(stats.c, code), 0).alias("n_" + code) for code in STATUSES]


def overview(category="", status="", text="", sort="name", descending=False, page=1):
    """Return one page of organizations with their delegation's figures.

    Four queries whatever the page's length: the count, the page, the figures of the page's
    organizations (or, sorted by a figure, the page with every organization's figures), and the
    page's coordinators.
    """
    base = Organization.select(Organization)
    if category in CATEGORIES:
        base = base.where(Organization.category == category)
    if status in STATUSES:
        base = base.where(
            Organization.id.in_(
                Participant.select(Participant.organization).where(Participant.status == status)
            )
        )
    text = (text or "").strip()
    if text:
        people = Participant.select(Participant.organization).where(_participant_matches(text))
        base = base.where(_organization_matches(text) | Organization.id.in_(people))
    total = base.count()
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    sort = sort if sort in SORTS else "name"
    name_column = Organization.name_en  # a stable order whatever the page's language

    def ordered(terms):
        # Organizations without any activity come first going up, last going down.
        terms = [t.desc(nulls="LAST") if descending else t.asc(nulls="FIRST") for t in terms]
        return [*terms, Organization.id]

    if sort in ("name", "code", "category"):
        # Sorted by the organization itself: take the page, then only its figures.
        order = {
            "name": [name_column],
            "code": [Organization.code],
            "category": [Organization.category, name_column],
        }[sort]
        organizations = list(base.order_by(*ordered(order)).paginate(page, PAGE_SIZE))
        ids = [o.id for o in organizations]
        if ids:
            stats, logins = _figures(ids)
            stats, logins = stats.alias("stats"), logins.alias("logins")
            figures = {
                row["id"]: row
                for row in Organization.select(Organization.id, *_figure_columns(stats, logins))
                .join(stats, JOIN.LEFT_OUTER, on=(stats.c.org_id == Organization.id))
                .switch(Organization)
                .join(logins, JOIN.LEFT_OUTER, on=(logins.c.org_id == Organization.id))
                .where(Organization.id.in_(ids))
                .dicts()
            }
            for organization in organizations:
                for key, value in figures[organization.id].items():
                    if key != "id":
                        setattr(organization, key, value)
    else:
        # Sorted by a figure: every organization's figures are needed to order the page.
        stats, logins = _figures()
        stats, logins = stats.alias("stats"), logins.alias("logins")
        order = {
            "total": [SQL("total"), name_column],
            "activity": [SQL("last_activity"), name_column],
            **{code: [SQL("n_" + code), name_column] for code in STATUSES},
        }[sort]
        organizations = list(
            base.select_extend(*_figure_columns(stats, logins))
            .join(stats, JOIN.LEFT_OUTER, on=(stats.c.org_id == Organization.id))
            .switch(Organization)
            .join(logins, JOIN.LEFT_OUTER, on=(logins.c.org_id == Organization.id))
            .order_by(*ordered(order))
            .paginate(page, PAGE_SIZE)
            .objects()
        )
    if organizations:
        coordinators = {}
        for account in (
            Account.select(
                Account.id,
                Account.username,
                Account.given_name,
                Account.family_name,
                Account.organization,
                Account.is_active,
            )
            .where(
                Account.organization.in_([o.id for o in organizations])
                & (Account.role == ROLE_COORDINATOR)
            )
            .order_by(Account.username_key)
        ):
            coordinators.setdefault(account.organization_id, []).append(account)
        for organization in organizations:
            organization.coordinators = coordinators.get(organization.id, [])
            organization.counts = {code: getattr(organization, "n_" + code) for code in STATUSES}
            if isinstance(organization.last_activity, str):
                organization.last_activity = _parse_datetime(organization.last_activity)
    return OverviewPage(organizations, total, page, pages)


def _parse_datetime(value):
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def delegation(organization):
    """Return the organization's participants (withdrawn last), with duplicates flagged."""
    participants = list(
        Participant.select()
        .where(Participant.organization == organization.id)
        .order_by(
            Case(None, [(Participant.status == WITHDRAWN, 1)], 0),
            Participant.is_head.desc(),
            Participant.family_name,
            Participant.id,
        )
    )
    return participants, duplicates_for(participants)


# -- Settings ------------------------------------------------------------------------------------

EVENT_FIELDS = (
    "name_en",
    "name_fr",
    "name_ar",
    "venue_en",
    "venue_fr",
    "venue_ar",
    "starts_on",
    "ends_on",
    "registration_opens_on",
    "registration_closes_on",
    "notification_mode",
)
NOTIFICATION_MODES = {
    "immediate": _l("One e-mail per decision"),
    "digest": _l("One e-mail a day per coordinator (digest)"),
}


def update_event(actor, **values):
    """Change the event's settings; every worker reads them from the database on each request."""
    values = {k: v for k, v in values.items() if k in EVENT_FIELDS}
    if values.get("notification_mode", "immediate") not in NOTIFICATION_MODES:
        raise DomainError(_l("Unknown notification mode."), field="notification_mode")
    if values["ends_on"] < values["starts_on"]:
        raise DomainError(_l("The event cannot end before it starts."), field="ends_on")
    if values["registration_closes_on"] < values["registration_opens_on"]:
        raise DomainError(
            _l("Registration cannot close before it opens."), field="registration_closes_on"
        )
    with database.atomic():
        event = Event.select().order_by(Event.id).first()
        if event is None:
            event = Event(**values)
            changed = sorted(values)
        else:
            changed = sorted(k for k, v in values.items() if getattr(event, k) != v)
            for k, v in values.items():
                setattr(event, k, v)
        event.save()
        audit.record("event.update", account=actor, obj=event, fields=changed)
    return event


def update_organization(actor, organization_id, quota, name_ar):
    """Set an organization's quota (None: no limit) and Arabic name (empty: French shown)."""
    if quota is not None and quota < 0:
        raise DomainError(_l("The quota cannot be negative."), field="quota")
    name_ar = (name_ar or "").strip() or None
    with database.atomic():
        organization = Organization.get_by_id(organization_id)
        changed = []
        if organization.quota != quota:
            changed.append("quota")
        if organization.name_ar != name_ar:
            changed.append("name_ar")
        organization.quota = quota
        organization.name_ar = name_ar
        organization.updated_at = utcnow()
        organization.save()
        audit.record(
            "organization.update",
            account=actor,
            obj=organization,
            organization=organization.id,
            fields=changed,
            quota=quota,
        )
    return organization


# -- Account administration ---------------------------------------------------------------------

LOCK = "lock"
UNLOCK = "unlock"


def set_account_access(actor, account_id, action):
    """Lock an account (it may not sign in; its sessions end) or unlock it (it may sign in
    again, its failed sign-ins forgotten)."""
    if action not in (LOCK, UNLOCK):
        raise DomainError(_l("Unknown action."))
    with database.atomic():
        account = Account.get_or_none(Account.id == account_id)
        if account is None:
            raise DomainError(_l("This account does not exist."))
        if action == LOCK:
            if account.id == actor.id:
                raise DomainError(_l("You cannot lock your own account."))
            Account.update(is_active=False, session_token=new_token(), updated_at=utcnow()).where(
                Account.id == account.id
            ).execute()
        else:
            Account.update(
                is_active=True, locked_until=None, failed_logins=0, updated_at=utcnow()
            ).where(Account.id == account.id).execute()
        audit.record(
            "account." + action,
            account=actor,
            obj=account,
            organization=account.organization_id,
            username=account.username,
        )
    return Account.get_by_id(account_id)


def add_coordinator(actor, organization_id, username, given_name, family_name, email, language):
    """Create a coordinator account (no password yet: send it a one-time link)."""
    key = Account.key(username)
    if not key:
        raise DomainError(_l("The username is empty."), field="username")
    with database.atomic():
        organization = Organization.get_or_none(Organization.id == organization_id)
        if organization is None:
            raise DomainError(_l("Choose an organization."), field="organization")
        if Account.select().where(Account.username_key == key).exists():
            raise DomainError(_l("An account with this username exists already."), field="username")
        account = Account.create(
            username=username.strip(),
            username_key=key,
            role=ROLE_COORDINATOR,
            organization=organization,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            email=email.strip(),
            language=language,
        )
        audit.record(
            "account.create",
            account=actor,
            obj=account,
            organization=organization.id,
            username=account.username,
        )
    return account


def search_accounts(text="", page=1):
    """Return ``(accounts, total)`` matching ``text`` (username, names, e-mail, organization)."""
    query = Account.select(Account, Organization).join(Organization, JOIN.LEFT_OUTER)
    text = (text or "").strip()
    if text:
        query = query.where(
            _contains(Account.username, text)
            | _contains(Account.given_name, text)
            | _contains(Account.family_name, text)
            | _contains(Account.email, text)
            | _organization_matches(text)
        )
    total = query.count()
    accounts = list(query.order_by(Account.username_key).paginate(max(1, page), PAGE_SIZE))
    return accounts, total


# -- The audit log -------------------------------------------------------------------------------


def audit_log(action="", username="", organization_id=None, since=None, until=None, page=1):
    """Return ``(rows, total)`` of the audit log, newest first, filtered."""
    query = AuditLog.select(AuditLog, Organization).join(Organization, JOIN.LEFT_OUTER)
    if action:
        query = query.where(AuditLog.action.startswith(action))
    if username:
        query = query.where(AuditLog.actor ** username.strip())
    if organization_id:
        query = query.where(AuditLog.organization == organization_id)
    if since:
        query = query.where(AuditLog.at >= dt.datetime.combine(since, dt.time()))
    if until:
        query = query.where(
            AuditLog.at < dt.datetime.combine(until + dt.timedelta(days=1), dt.time())
        )
    total = query.count()
    rows = list(
        query.order_by(AuditLog.at.desc(), AuditLog.id.desc()).paginate(max(1, page), PAGE_SIZE)
    )
    return rows, total


def audit_actions():
    return [
        row[0]
        for row in AuditLog.select(AuditLog.action).distinct().order_by(AuditLog.action).tuples()
    ]
