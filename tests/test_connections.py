"""The database connection a request leaves behind: SQLite keeps each thread's between
requests, never inside a transaction; a failed request closes it. (Prepared queries:
tests/test_prepared.py.)"""


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
