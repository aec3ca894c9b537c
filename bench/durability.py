"""Durability drill (``make test-durability``): ``kill -9`` of gunicorn's workers, and of the
master, in the middle of a burst of writes; then what the database holds.

In one run, on SQLite (and on PostgreSQL when ``TEST_DATABASE_URL`` names a server):

1. a fresh database with the demo data; the portal under gunicorn as production runs it
   (``gunicorn.conf.py``, several workers) on loopback;
2. ``--clients`` (24) browsers of one coordinator create participants at once through the
   participant form, each form with its own one-time submission key; a request that gets no
   answer (its worker was killed, the server is down) is sent again with the same key, as a
   browser's retry, until it is answered;
3. meanwhile workers are killed with SIGKILL at points drawn from ``--seed`` (deterministic:
   after the n-th acknowledged write), and once the master with all its workers, after which the
   portal is started again on the same port;
4. then, with the portal stopped: ``PRAGMA integrity_check`` (SQLite) or the foreign keys and
   unique keys checked by queries (PostgreSQL), and the count: every write a client saw
   acknowledged (303) is in the database, exactly once; nothing is there twice.

Figures are printed; any lost or doubled write, or a failed check, exits 1. Requests go to
127.0.0.1 only, bounded by the number of writes and a deadline.
"""

import argparse
import collections
import contextlib
import http.client
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import threading
import time
import uuid
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import COORDINATORS, Client, Gunicorn, base_env, fresh_sqlite, prepare_database  # noqa: E402

NEW = "/delegation/participants/new"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
#: How long the whole burst may take before the drill gives up (a bound, not a measurement).
DEADLINE = 600


def letters(number):
    """A number as Latin capitals (names take letters only)."""
    text = ""
    while True:
        number, digit = divmod(number, 26)
        text = chr(65 + digit) + text
        if not number:
            return text


class Drill:
    def __init__(self, env, clients, writes, seed, workers):
        self.env = env
        self.clients = clients
        self.writes = writes
        self.rng = random.Random(seed)
        self.workers = workers
        self.lock = threading.Lock()
        self.acknowledged = {}  # family name -> submission key
        self.unanswered = collections.Counter()  # kind of failure -> count
        self.retries = 0
        self.replays = 0
        self.kills = {"worker": 0, "master": 0}
        self.statuses = collections.Counter()
        self.done = threading.Event()
        self.progress = threading.Condition(self.lock)
        self.portal = None

    # -- The portal ---------------------------------------------------------------------------

    def start(self, port=None):
        portal = Gunicorn(self.env, workers=self.workers, threads=4, log_path=self.log_path)
        if port:
            portal.port, portal.url = port, "http://127.0.0.1:%d" % port
            portal.env["PORT"] = str(port)
        portal.start()
        self.portal = portal
        return portal

    def kill_worker(self):
        try:
            pids = self.portal.worker_pids()
        except OSError:
            return
        if pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.rng.choice(sorted(pids)), signal.SIGKILL)
            self.kills["worker"] += 1

    def kill_master(self):
        """SIGKILL the master and every worker at once (a crash of the host process), then
        start the portal again on the same port."""
        portal = self.portal
        with contextlib.suppress(ProcessLookupError):
            os.killpg(portal.process.pid, signal.SIGKILL)
        portal.process.wait()
        portal._log.close()
        portal.process = None
        self.kills["master"] += 1
        self.start(port=portal.port)

    def killer(self, points, master_at):
        for point in points:
            with self.progress:
                while len(self.acknowledged) < point and not self.done.is_set():
                    self.progress.wait(1)
            if self.done.is_set():
                return
            if point == master_at:
                self.kill_master()
            else:
                self.kill_worker()

    # -- The browsers -------------------------------------------------------------------------

    def browser(self, number, cookies):
        client = Client(self.portal.url)
        client.cookies = dict(cookies)
        token = None
        for i in range(self.writes):
            name = "DURA %s %s" % (letters(number), letters(i))
            key = uuid.uuid4().hex
            while time.monotonic() < self.deadline:
                try:
                    if token is None:
                        token = CSRF_RE.search(client.get(NEW).text()).group(1)
                    response = client.post(
                        NEW,
                        {
                            "csrf_token": token,
                            "submission_key": key,
                            "family_name": name,
                            "given_names": "Durable",
                        },
                    )
                except (OSError, http.client.HTTPException, AttributeError) as exc:
                    # No answer (the worker died, the server is down): send it again.
                    with self.lock:
                        self.unanswered[type(exc).__name__] += 1
                        self.retries += 1
                    time.sleep(0.05)
                    continue
                with self.lock:
                    self.statuses[response.status] += 1
                if response.status == 303:
                    with self.progress:
                        replay = name in self.acknowledged
                        self.acknowledged[name] = key
                        self.progress.notify_all()
                    # Every fifth form is sent once more after its answer (a browser that
                    # did not see it): the same key, answered again, stored once.
                    if i % 5 == 4 and not replay:
                        with self.lock:
                            self.replays += 1
                        continue
                    break
                if response.status in (502, 503, 504):
                    with self.lock:
                        self.retries += 1
                    continue
                raise RuntimeError("%s: %d\n%s" % (name, response.status, response.text()[:2000]))

    def run(self, workdir):
        self.log_path = os.path.join(workdir, "portal.log")
        self.start()
        user, password = COORDINATORS["en"]
        first = Client(self.portal.url)
        first.sign_in(user, password)
        total = self.clients * self.writes
        points = sorted(self.rng.sample(range(total // 10, total - total // 10), 7))
        master_at = points[len(points) // 2]
        self.deadline = time.monotonic() + DEADLINE
        killer = threading.Thread(target=self.killer, args=(points, master_at))
        browsers = [
            threading.Thread(target=self.browser, args=(n, first.cookies))
            for n in range(self.clients)
        ]
        began = time.monotonic()
        killer.start()
        for thread in browsers:
            thread.start()
        for thread in browsers:
            thread.join()
        self.took = time.monotonic() - began
        self.done.set()
        killer.join()
        self.portal.stop()


# -- What the database holds ----------------------------------------------------------------------


def sqlite_checks(path):
    import sqlite3

    with contextlib.closing(sqlite3.connect(path)) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        foreign = conn.execute("PRAGMA foreign_key_check").fetchall()
        names = conn.execute(
            "SELECT family_name FROM participant WHERE family_name LIKE 'DURA %'"
        ).fetchall()
    problems = []
    if integrity != [("ok",)]:
        problems.append("integrity_check: %s" % integrity[:5])
    if foreign:
        problems.append("foreign_key_check: %s" % foreign[:5])
    return [n for (n,) in names], "PRAGMA integrity_check: ok" if not problems else "", problems


def postgres_checks(url):
    import psycopg2

    problems = []
    with contextlib.closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute("SELECT family_name FROM participant WHERE family_name LIKE 'DURA %%'")
        names = [n for (n,) in cur.fetchall()]
        # Every row's parents exist, and every key the portal keeps unique is unique.
        cur.execute(
            "SELECT count(*) FROM participant p LEFT JOIN organization o "
            "ON o.id = p.organization_id WHERE o.id IS NULL"
        )
        orphans = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT key FROM submission_key GROUP BY key "
            "HAVING count(*) > 1) AS twice"
        )
        twice = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_index WHERE NOT indisvalid")
        invalid = cur.fetchone()[0]
    if orphans:
        problems.append("%d participants without their organization" % orphans)
    if twice:
        problems.append("%d submission keys stored twice" % twice)
    if invalid:
        problems.append("%d invalid indexes" % invalid)
    return names, "foreign keys, unique keys and indexes: ok" if not problems else "", problems


def fresh_postgres(base_url):
    import psycopg2

    name = "portal_durability_%d_%s" % (os.getpid(), secrets.token_hex(3))
    admin = psycopg2.connect(base_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("CREATE DATABASE %s" % name)
    parsed = urlparse(base_url)
    return urlunparse(parsed._replace(path="/" + name)), admin, name


def drop_postgres(admin, name):
    with admin.cursor() as cur:
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        cur.execute("DROP DATABASE IF EXISTS %s" % name)
    admin.close()


def drill(kind, database_url, args, workdir):
    env = base_env(database_url)
    prepare_database(env)
    run = Drill(env, args.clients, args.writes, args.seed, args.workers)
    run.run(workdir)
    if kind == "SQLite":
        names, verdict, problems = sqlite_checks(database_url[len("sqlite:///") :])
    else:
        names, verdict, problems = postgres_checks(database_url)
    stored = collections.Counter(names)
    lost = sorted(set(run.acknowledged) - set(stored))
    doubled = sorted(name for name, n in stored.items() if n > 1)
    print("== %s: %d clients x %d writes, %d workers, seed %d" % (
        kind, args.clients, args.writes, args.workers, args.seed))  # fmt: skip
    print("  killed: %d workers, %d times the master (and its workers)" % (
        run.kills["worker"], run.kills["master"]))  # fmt: skip
    print("  answers: %s; unanswered and sent again: %d %s; answered and sent again: %d" % (
        dict(sorted(run.statuses.items())), run.retries, dict(run.unanswered), run.replays))  # fmt: skip
    print("  acknowledged: %d; in the database: %d rows, %d names; lost: %d; doubled: %d" % (
        len(run.acknowledged), sum(stored.values()), len(stored), len(lost), len(doubled)))  # fmt: skip
    print("  %s; the burst took %.1f s" % (verdict or "; ".join(problems), run.took))
    if lost:
        problems.append("acknowledged but not stored: %s" % lost[:10])
    if doubled:
        problems.append("stored twice: %s" % doubled[:10])
    if len(stored) != args.clients * args.writes:
        problems.append("%d writes of %d" % (len(stored), args.clients * args.writes))
    return problems


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=24, help="browsers at once (<= 64)")
    parser.add_argument("--writes", type=int, default=15, help="participants each (<= 200)")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2005)
    args = parser.parse_args(argv)
    args.clients = max(1, min(args.clients, 64))
    args.writes = max(1, min(args.writes, 200))
    workdir = tempfile.mkdtemp(prefix="portal-durability-")
    outcomes = [drill("SQLite", fresh_sqlite(workdir), args, workdir)]
    base = os.environ.get("TEST_DATABASE_URL")
    if base:
        url, admin, name = fresh_postgres(base)
        try:
            outcomes.append(drill("PostgreSQL", url, args, workdir))
        finally:
            drop_postgres(admin, name)
    else:
        print("TEST_DATABASE_URL is not set: PostgreSQL drill skipped")
    problems = [p for outcome in outcomes for p in outcome]
    if problems:
        print("FAILED:\n  " + "\n  ".join(problems))
    failed = sum(1 for outcome in outcomes if outcome)
    print("durability: %d passed, %d failed" % (len(outcomes) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
