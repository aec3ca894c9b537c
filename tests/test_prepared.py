"""Queries built once and run with new values (portal/performance/prepared.py) answer exactly
what peewee answers when it builds the query every time, on SQLite and PostgreSQL; and the parts
of peewee they reach into (private, not covered by its deprecation policy) are still there."""

import datetime as dt
import re

import pytest
from peewee import CursorWrapper, ModelSelect, fn

from portal.auth import sessions
from portal.db import database
from portal.models import ROLE_SECRETARIAT, Account, Participant, Photo
from portal.performance import prepared as prepared_module
from portal.performance.prepared import prepared
from tests.test_fragment_cache import LIST, cache, get, sign_in

# -- What prepared.py uses of peewee's insides --------------------------------------------------


def test_peewee_still_has_what_prepared_reaches_into(db, make_org, make_account):
    account = make_account("alice", organization=make_org("A"))
    query = sessions._account_by_id.build(account.id)
    assert isinstance(query, ModelSelect)
    sql, params = query.sql()

    # ``query._get_cursor_wrapper(cursor)``: the rows of a cursor, made as the query says.
    wrapper = query._get_cursor_wrapper(database.execute_sql(sql, params))
    assert isinstance(wrapper, CursorWrapper)
    # ``initialize()`` works out the columns once per execution, only into the wrapper's own
    # attributes, and ``initialized`` says it was done.
    assert wrapper.initialized is False
    before = dict(vars(wrapper))
    wrapper.initialize()
    learned = {k: v for k, v in vars(wrapper).items() if k not in before}
    assert learned, "initialize() no longer sets the wrapper's attributes"
    assert {k: v for k, v in vars(wrapper).items() if k in before} == before

    # A wrapper given that state and ``initialized = True`` makes its rows without
    # initializing again.
    again = query._get_cursor_wrapper(database.execute_sql(sql, params))
    vars(again).update(learned)
    again.initialized = True
    again.initialize = lambda: pytest.fail("peewee initialized a wrapper marked as initialized")
    (row,) = list(again)
    assert row.id == account.id and row.organization.code == "A"


# -- The same answers ---------------------------------------------------------------------------


def _same(found, expected):
    """Whether two rows from the account query are the same: every column of the account, of its
    organization and of the event, and nothing marked as changed."""
    if expected is None:
        return found is None
    joined = ("organization", "current_event")
    return (
        type(found) is type(expected)
        and found.__data__ == expected.__data__
        and found._dirty == expected._dirty == set()
        and all(
            (getattr(found, name) is None and getattr(expected, name) is None)
            or getattr(found, name).__data__ == getattr(expected, name).__data__
            for name in joined
        )
    )


def test_the_signed_in_account_query_answers_like_peewee(db, make_event, make_org, make_account):
    """The account, its organization and the event in one joined query: for a coordinator, for
    the secretariat (no organization: the outer join's empty side), without an event, and for
    an account that does not exist; each asked twice (the second reuses the column mapping)."""
    query = sessions._account_by_id
    query._plans.clear()
    query._wrapper_states.clear()
    org = make_org("A")
    coordinator = make_account("alice", organization=org)
    secretariat = make_account("sec", role=ROLE_SECRETARIAT)
    inactive = make_account("gone", organization=make_org("B"), is_active=False)

    def expected(account_id):
        return next(iter(query.build(account_id)), None)

    for account_id in (10**6, secretariat.id):  # no event yet
        for _twice in range(2):
            assert _same(query.first(account_id), expected(account_id))
    event = make_event("open")
    for account_id in (10**6, secretariat.id, coordinator.id, inactive.id):
        for _twice in range(2):
            found = query.first(account_id)
            assert _same(found, expected(account_id))
    assert query._plans and query._wrapper_states, "the query was built every time"
    found = query.first(coordinator.id)
    assert (found.organization.code, found.current_event.id) == ("A", event.id)


def test_a_prepared_query_answers_like_peewee(db, make_org, make_account, make_participant):
    org_a, org_b = make_org("A"), make_org("B")
    alice = make_account("alice", organization=org_a)
    bob = make_account("bob", organization=org_b)
    for name in ("ONE", "TWO", "THREE"):
        make_participant(org_a, family_name=name)
    make_participant(org_b, family_name="OTHER", status="submitted")

    by_id = prepared(lambda account_id: Account.select().where(Account.id == account_id).limit(1))
    for account in (alice, bob):
        found = by_id.first(account.id)
        assert isinstance(found, Account)
        assert (found.id, found.username, found.session_token) == (
            account.id,
            account.username,
            Account.get_by_id(account.id).session_token,
        )
    assert by_id.first(10**6) is None

    by_key = prepared(lambda key: Account.select().where(Account.username_key == key).limit(1))
    assert by_key.first("bob").id == bob.id
    assert by_key.first("nobody") is None

    counts = prepared(
        lambda org: (
            Participant.select(Participant.status, fn.COUNT(Participant.id))
            .where(Participant.organization == org)
            .group_by(Participant.status)
            .tuples()
        )
    )
    assert counts.all(org_a.id) == [("draft", 3)]
    assert counts.all(org_b.id) == [("submitted", 1)]

    names = prepared(
        lambda org, status: (
            Participant.select(Participant.family_name)
            .where((Participant.organization == org) & (Participant.status == status))
            .order_by(Participant.family_name)
            .tuples()
        )
    )
    assert names.all(org_a.id, "draft") == [("ONE",), ("THREE",), ("TWO",)]
    assert names.all(org_a.id, "submitted") == []
    assert names.all(org_b.id, "submitted") == [("OTHER",)]


def test_values_it_cannot_find_again_are_built_every_time(db, make_org, make_participant):
    org = make_org("A")
    make_participant(org, family_name="HEAD", is_head=True)
    make_participant(org, family_name="DELEGATE", is_head=False)
    heads = prepared(
        lambda flag: (
            Participant.select(Participant.family_name).where(Participant.is_head == flag).tuples()
        )
    )
    assert heads.all(True) == [("HEAD",)]
    assert heads.all(False) == [("DELEGATE",)]


TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


def test_the_delegation_pages_are_the_same_without_prepared_queries(
    app, world, make_participant, monkeypatch
):
    """Every prepared query of the dashboard and the list (the account, the figures, the page
    of participants), rendered whole, against the same pages with peewee building each query."""
    org = world["org"]
    for n in range(30):
        person = make_participant(
            org,
            family_name="PERSON%02d" % n,
            status=("draft", "submitted", "accredited", "withdrawn")[n % 4],
            is_head=n == 7,
            nationality="FR" if n % 3 else "",
            date_of_birth=dt.date(1960 + n, 1 + n % 12, 1) if n % 2 else None,
            visa_required=(None, True, False)[n % 3],
        )
        if n % 5 == 0:
            with app.app_context(), database.connection_context():
                Photo.create(
                    participant=person.id,
                    data=b"x",
                    thumbnail=b"y",
                    width=3,
                    height=4,
                    digest="d%d" % n,
                )
    monkeypatch.setattr(cache(app), "max_bytes", 0)  # every page rendered whole
    client = sign_in(app, "coord")
    paths = ["/delegation", LIST, LIST + "?page=2"]

    def pages():
        return [TOKEN.sub("", get(client, path)) for path in paths]

    prepared_pages = pages()
    assert "PERSON07" in prepared_pages[1] and "PERSON" in prepared_pages[2]
    built = []

    def build_every_time(self, *args):
        built.append(self)
        return self.build(*args).execute()

    monkeypatch.setattr(prepared_module.Prepared, "cursor_wrapper", build_every_time)
    assert pages() == prepared_pages
    assert sessions._account_by_id in built and len(set(built)) >= 4
    # ... each of which had its SQL built once in the first pass (not built every time).
    assert all(any(query._plans.values()) for query in built)
