"""In-process benchmark: the coordinator's dashboard and list through Flask's test client, no
server and no network, so that a change of a few hundred microseconds shows.

On a fresh database (SQLite by default, ``--database-url`` for PostgreSQL: emptied) with the demo
data and a 300-person delegation for UNESCO's coordinator, signed in as that coordinator with
``Accept-Encoding: br, gzip``, it times:

- a cached page: the same page again (fragment cache and compressed-page cache warm), the best
  of ``--rounds`` rounds of ``--requests`` requests, in ms a request;
- the first view after a change: one participant's mobile number changed (the delegation's
  version rises), then the page once; the median of ``--changes`` changes.

``--compare NAME`` times each measure with and without one of the machinery's tricks, the
variants taking turns round by round so that both see the same moments of a shared machine:

- ``prepared``: queries with their SQL built once (``portal/performance/prepared.py``);
- ``fragment``: the fragment cache (``PORTAL_FRAGMENT_CACHE_MB=0``);
- ``compressed``: the compressed-page cache (``PORTAL_COMPRESSED_CACHE_MB=0``);
- ``token``: reuse of the signed CSRF token (both variants then sign each token a second after
  the last, as for requests a person makes seconds apart).

    .venv/bin/python bench/inprocess.py [--compare prepared] [--rounds 10] [--requests 200]
"""

import argparse
import contextlib
import itertools
import os
import re
import statistics
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, BENCH)
sys.path.insert(0, os.path.dirname(BENCH))

from common import COORDINATORS, CSRF_RE, base_env, fresh_sqlite, prepare_database  # noqa: E402
from server import _empty_postgres, seed_delegation  # noqa: E402

PAGES = {"dashboard": "/delegation", "list": "/delegation/participants"}
HEADERS = {"Accept-Encoding": "br, gzip", "Accept-Language": "fr"}


def sign_in(app):
    username, password = COORDINATORS["fr"]
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post(
        "/login",
        data={"csrf_token": token, "username": username, "password": password},
        headers=HEADERS,
    )
    assert response.status_code in (302, 303), response.status_code
    return client


def get(client, path):
    response = client.get(path, headers=HEADERS)
    assert response.status_code == 200, (path, response.status_code)
    return response


def time_cached(client, path, requests):
    """Return ms a request for ``requests`` views of an unchanged page."""
    get(client, path)
    start = time.perf_counter()
    for _ in range(requests):
        get(client, path)
    return (time.perf_counter() - start) * 1000 / requests


def time_after_change(app, client, path, person):
    """Change one participant, then return the ms of the page's first view."""
    from portal.db import database
    from portal.models import Participant

    get(client, path)
    with app.app_context(), database.connection_context():
        Participant.update(mobile="+33 1 45 %08d" % time.perf_counter_ns()).where(
            Participant.id == person
        ).execute()
    start = time.perf_counter()
    get(client, path)
    return (time.perf_counter() - start) * 1000


@contextlib.contextmanager
def without(app, name):
    """Turn one trick off for the duration of the block (``None``: nothing)."""
    from portal.extensions import compress

    if name is None:
        yield
    elif name == "prepared":
        from portal.performance import prepared

        original = prepared.Prepared.cursor_wrapper
        prepared.Prepared.cursor_wrapper = lambda self, *args: self.build(*args).execute()
        try:
            yield
        finally:
            prepared.Prepared.cursor_wrapper = original
    elif name == "fragment":
        cache = app.jinja_env.fragment_cache
        size, cache.max_bytes = cache.max_bytes, 0
        try:
            yield
        finally:
            cache.max_bytes = size
    elif name == "compressed":
        cache, compress.cache = compress.cache, None
        try:
            yield
        finally:
            compress.cache = cache
    elif name == "token":
        tokens = app.extensions["signed_tokens"]
        tokens.get = lambda _key: None  # every request signs its own token
        try:
            yield
        finally:
            del tokens.get
    else:
        raise SystemExit("unknown --compare: %s" % name)


@contextlib.contextmanager
def a_second_a_request(enabled):
    """Sign each CSRF token a second after the last: requests as far apart as a person's."""
    from itsdangerous import TimestampSigner

    if not enabled:
        yield
        return
    clock = itertools.count(int(time.time()))
    TimestampSigner.get_timestamp = lambda self: next(clock)
    try:
        yield
    finally:
        del TimestampSigner.get_timestamp


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to use (emptied!)")
    parser.add_argument("--compare", help="time with and without this trick (see above)")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--changes", type=int, default=15)
    parser.add_argument("--people", type=int, default=300)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="portal-inprocess-") as workdir:
        url = args.database_url or fresh_sqlite(workdir)
        env = base_env(url)
        if args.database_url:
            _empty_postgres(env)
        prepare_database(env)
        seed_delegation(env, COORDINATORS["fr"][0], args.people)
        os.environ.update(env)

        from portal import create_app

        app = create_app()
        client = sign_in(app)
        # The first participant of the list's first page: its row is rendered again.
        listed = client.get(PAGES["list"], headers={"Accept-Language": "fr"}).get_data(True)
        person = int(re.search(r'href="/delegation/participants/(\d+)', listed).group(1))

        variants = [None, args.compare] if args.compare else [None]
        cached = {(v, page): [] for v in variants for page in PAGES}
        changed = {(v, page): [] for v in variants for page in PAGES}
        with a_second_a_request(args.compare == "token"):
            for _round in range(args.rounds):
                for variant in variants:
                    with without(app, variant):
                        for page, path in PAGES.items():
                            cached[variant, page].append(time_cached(client, path, args.requests))
            for _change in range(args.changes):
                for variant in variants:
                    with without(app, variant):
                        for page, path in PAGES.items():
                            changed[variant, page].append(
                                time_after_change(app, client, path, person)
                            )

    print(
        "== in-process benchmark: %s, load average %s"
        % ("PostgreSQL" if args.database_url else "SQLite", " ".join(map(str, os.getloadavg())))
    )
    print(
        "cached: best of %d rounds of %d requests; after a change: median (min-max) of %d"
        % (args.rounds, args.requests, args.changes)
    )
    print("%-10s %-16s %10s %22s" % ("page", "variant", "cached ms", "after a change ms"))
    for page in PAGES:
        for variant in variants:
            label = "as built" if variant is None else "without " + variant
            after = changed[variant, page]
            print(
                "%-10s %-16s %10.3f %10.2f (%.2f-%.2f)"
                % (
                    page,
                    label,
                    min(cached[variant, page]),
                    statistics.median(after),
                    min(after),
                    max(after),
                )
            )
        if args.compare:
            base = min(cached[None, page])
            off = min(cached[args.compare, page])
            after_on = statistics.median(changed[None, page])
            after_off = statistics.median(changed[args.compare, page])
            print(
                "%-10s gain of %s: cached %.3f ms (%.1f %%), after a change %.2f ms (%.1f %%)"
                % (
                    page,
                    args.compare,
                    off - base,
                    100 * (off - base) / off,
                    after_off - after_on,
                    100 * (after_off - after_on) / after_off,
                )
            )


if __name__ == "__main__":
    main()
