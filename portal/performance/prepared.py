"""Queries run on every request, with their SQL built once.

Building a query's SQL in peewee costs far more than running it on a small indexed table (about
0.2 ms for a 25-column select against 0.01 ms to run it on SQLite), and a page runs a handful.
``prepared`` builds the query once per database dialect with stand-in values, finds the stand-ins
among the SQL parameters, and from then on only swaps in the real values::

    account_by_id = prepared(lambda account_id: Account.select().where(Account.id == account_id))
    account = account_by_id.first(42)

The query must depend on its arguments only through the values it compares (no ``if`` on an
argument inside the builder). When a stand-in cannot be found among the parameters (a field
that transforms its value), the query is simply built for every call, as peewee would.

Measured (``bench/inprocess.py --compare prepared``, SQLite, a shared machine at a load of 6 to
8): a cached dashboard 1.14 ms against 3.29 with peewee building each query, the list 1.50
against 3.18; the first view after a change gains as much or more (the figures' queries). Of
the signed-in account's query alone (0.36 ms prepared, 3.45 built), reusing the column
mapping is 0.26 ms.

It reaches into peewee (4.5): ``query._get_cursor_wrapper(cursor)`` makes the rows, and the
attributes ``initialize()`` sets are kept and copied; tests/test_prepared.py fails when either
changes. Public API alone (``query.sql()``, ``database.execute_sql``, then ``Model(**values)``
per model) gains as much for one hand-written query, but making rows for any query (joins,
tuples, computed columns) would copy peewee's row making.
"""

import itertools
import threading

from ..db import database

_counter = itertools.count(1)


def _stand_in(value, n):
    if isinstance(value, bool):
        return None  # True/False are not unique enough to be found again
    if isinstance(value, int):
        return -(1 << 60) - n
    if isinstance(value, str):
        return "\x00prepared-%d\x00" % n
    return None


class Prepared:
    def __init__(self, build):
        self.build = build
        self._plans = {}
        self._wrapper_states = {}
        self._lock = threading.Lock()

    def _plan(self, args):
        db = database.obj
        key = (type(db), getattr(db, "param", "?"), tuple(type(a) for a in args))
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans[key] if key in self._plans else self._make_plan(key, args)
        return plan

    def _make_plan(self, key, args):
        stand_ins = [_stand_in(a, next(_counter)) for a in args]
        plan = None
        if all(s is not None for s in stand_ins):
            query = self.build(*stand_ins)
            sql, params = query.sql()
            slots = []
            for index, param in enumerate(params):
                for position, stand_in in enumerate(stand_ins):
                    if type(param) is type(stand_in) and param == stand_in:
                        slots.append((index, position))
            found = {position for _index, position in slots}
            if found == set(range(len(args))):
                plan = (query, sql, list(params), slots)
        self._plans[key] = plan or False
        return plan or False

    def cursor_wrapper(self, *args):
        plan = self._plan(args)
        if not plan:
            return self.build(*args).execute()
        query, sql, params, slots = plan
        params = list(params)
        for index, position in slots:
            params[index] = args[position]
        wrapper = query._get_cursor_wrapper(database.execute_sql(sql, params))
        # peewee works out, for every execution, which column goes to which field of which
        # model (from the cursor's description; 0.3 ms for an account and its organization):
        # the same SQL always gives the same answer, so it is worked out once and reused.
        # What it computes is only read while rows are made, so threads can share it.
        state = self._wrapper_states.get(sql)
        if state is None and _has_rows(wrapper.cursor):
            before = set(vars(wrapper))
            wrapper.initialize()
            state = {k: v for k, v in vars(wrapper).items() if k not in before}
            self._wrapper_states[sql] = state
        if state is not None:
            vars(wrapper).update(state)
            wrapper.initialized = True
        return wrapper

    def all(self, *args):
        """Return every row (model instances, tuples or dicts, as the query says)."""
        return list(self.cursor_wrapper(*args))

    def first(self, *args):
        """Return the first row or None (the builder should say ``.limit(1)``)."""
        for row in self.cursor_wrapper(*args):
            return row
        return None


def _has_rows(cursor):
    """Whether the cursor describes its columns (SQLite's cursor says nothing once done)."""
    try:
        return cursor.description is not None
    except Exception:  # noqa: BLE001 - apsw: "execution complete" when there is no row
        return False


def prepared(build):
    """Return a ``Prepared`` query: ``build(*values)`` returns the peewee query."""
    return Prepared(build)
