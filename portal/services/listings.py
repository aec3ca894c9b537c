"""What the secretariat looks through: the review queue, the overview of every delegation, one
delegation, a participant's history, and the audit log. Reads only."""

import datetime as dt
from dataclasses import dataclass

from peewee import JOIN, SQL, Case, fn

from ..crypto import passport_key
from ..db import is_sqlite
from ..models import (
    CATEGORIES,
    ROLE_COORDINATOR,
    STATUSES,
    SUBMITTED,
    WITHDRAWN,
    Account,
    AuditLog,
    Organization,
    Participant,
    Photo,
)
from .duplicates import duplicates_for

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


# -- Accounts ------------------------------------------------------------------------------------


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
