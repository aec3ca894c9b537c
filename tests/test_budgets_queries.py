"""Queries built once and run with new values (portal/prepared.py) answer exactly what peewee
answers when it builds the query every time, on SQLite and PostgreSQL."""

from peewee import fn

from portal.models import Account, Participant
from portal.prepared import prepared


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


def test_sqlite_keeps_each_threads_connection_between_requests(app, client):
    """SQLite: a request leaves its thread's connection open for the next one, never inside a
    transaction; PostgreSQL: the connection goes back to the pool."""
    from portal.db import database, is_sqlite

    assert client.get("/healthz").status_code == 200
    if is_sqlite():
        assert not database.is_closed()
        connection = database.connection()
        assert not connection.in_transaction
        assert client.get("/healthz").status_code == 200
        assert database.connection() is connection  # the same one, reused
    else:
        assert database.is_closed()


def test_a_failed_request_closes_the_connection(app, client):
    from portal.access import public
    from portal.db import database

    @app.route("/boom")
    @public
    def boom():
        database.execute_sql("SELECT 1")
        raise RuntimeError("boom")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert client.get("/boom").status_code == 500
    assert database.is_closed()
