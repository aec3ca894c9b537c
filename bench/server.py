"""Server benchmark (``make bench-server``): the portal under gunicorn as production runs it,
against a bare Flask app under the same gunicorn settings, both loaded by ``wrk``.

In one run it:

1. creates a fresh database (SQLite by default, ``--database-url`` for PostgreSQL) with the demo
   data and a 300-person delegation for UNESCO's coordinator;
2. starts the portal (``gunicorn.conf.py``, ``PORTAL_ENV=production``, compression on) and signs
   in as the coordinator; captures the dashboard and the participant list as that coordinator
   sees them, and starts the bare app (``bench/bare_app.py``) rendering templates of the same
   size, under the same gunicorn settings;
3. loads both with ``wrk`` (a separate process) at 16 and 64 connections on both pages (3 s of
   warm-up, then 20 s measured in four rounds of 5 s, the two apps taking turns, so that both
   see the same moments of a shared machine), with the session cookie, and prints requests/s,
   median and p99 latency, errors (any response but a 200 counts: ``bench/statuses.lua``), the
   body bytes of a response, and the portal's throughput as a ratio of the bare app's; samples
   the resident memory of every worker;
4. for information, the same pages from a portal with its caches off (every page rendered and
   compressed whole: the worst case) at 16 connections;
5. measures argon2id's cost for a few parameter sets meeting OWASP's minimum, and sign-ins per
   second through ``POST /login``, with the CPU the workers spent per sign-in.

Targets: dashboard and list >= 50 % of the bare app's throughput, p99 < 100 ms at 16
connections, no errors at 64, worker RSS < 100 MB. ``--strict`` exits non-zero on a miss.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from urllib.parse import urlencode

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import contextlib

from common import (  # noqa: E402
    COORDINATORS,
    CSRF_RE,
    Client,
    Gunicorn,
    base_env,
    fresh_sqlite,
    prepare_database,
    rss_kib,
)

BENCH = os.path.dirname(os.path.abspath(__file__))
TARGET_RATIO = 0.5
TARGET_P99_MS = 100
TARGET_RSS_MB = 100
SIGN_IN_CPU_MS = 100
SIGN_IN_CONNECTIONS = 16
#: OWASP's argon2id minimum and its equivalents: (memory KiB, iterations, parallelism).
OWASP_ARGON2 = [(47104, 1, 1), (19456, 2, 1), (12288, 3, 1), (9216, 4, 1), (7168, 5, 1)]


# -- the database ---------------------------------------------------------------------------


def seed_delegation(env, username, size):
    """Bring ``username``'s organization to ``size`` participants (in a separate process)."""
    code = r"""
import datetime as dt, random, sys
from portal import create_app
from portal.crypto import birth_key, passport_key
from portal.db import database
from portal.models import Account, Participant, SUBMITTED, ACCREDITED, DRAFT, utcnow
username, size = sys.argv[1], int(sys.argv[2])
app = create_app()
rng = random.Random(2005)
families = ["MARTIN", "BENALI", "NGUYEN", "OKAFOR", "SCHMIDT", "HADDAD", "ROSSI", "TANAKA",
            "DUBOIS", "MENSAH", "AL-SAYED", "GARCÍA", "KOWALSKI", "BOUAZIZI", "SILVA", "IVANOVA"]
givens = ["Amina", "Jean-Pierre", "Li", "Chinedu", "Anna", "Karim", "Giulia", "Hiroshi",
          "Claire", "Kwame", "Fatima", "José", "Ewa", "Mohamed", "Beatriz", "Olga"]
functions = ["Delegate", "Adviser", "Programme specialist", "Press officer", "Interpreter",
             "Director", "Security officer", "Legal adviser"]
with app.app_context(), database.connection_context():
    account = Account.get(Account.username_key == username)
    org = account.organization
    have = Participant.select().where(Participant.organization == org).count()
    rows = []
    for i in range(have, size):
        status = rng.choice([DRAFT, DRAFT, SUBMITTED, SUBMITTED, ACCREDITED])
        passport = "P%08d" % rng.randrange(10**8)
        born = dt.date(1950 + rng.randrange(40), 1 + rng.randrange(12), 1 + rng.randrange(28))
        rows.append(dict(
            organization=org.id, status=status, courtesy_title=rng.choice(["mr", "ms", "dr"]),
            family_name=rng.choice(families), given_names=rng.choice(givens),
            gender=rng.choice("fm"), function=rng.choice(functions),
            nationality=rng.choice(["FR", "TN", "JP", "NG", "DE", "EG", "BR", "PL"]),
            date_of_birth=born,
            birth_key=birth_key(born),
            passport_number=passport, passport_key=passport_key(passport), passport_country="FR",
            passport_expiry=dt.date(2008 + rng.randrange(5), 6, 30),
            email="person%d@unesco.example" % i, mobile="+33 1 45 68 %02d %02d" % (i // 100, i % 100),
            arrival_date=dt.date(2005, 11, 15), departure_date=dt.date(2005, 11, 19),
            submitted_at=utcnow() if status != DRAFT else None,
            created_by=account.id, updated_by=account.id))
    with database.atomic():
        for start in range(0, len(rows), 100):
            Participant.insert_many(rows[start:start + 100]).execute()
    print(Participant.select().where(Participant.organization == org).count())
"""
    result = subprocess.run(
        [sys.executable, "-c", code, username, str(size)],
        cwd=os.path.dirname(BENCH),
        env=env,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError("seeding failed:\n" + result.stderr)
    return int(result.stdout.split()[-1])


def discover_pages(env):
    """Return the coordinator's dashboard and participant list paths, from the portal's routes."""
    code = r"""
import json
from portal import create_app
app = create_app()
rules = [(r.endpoint, r.rule) for r in app.url_map.iter_rules()
         if r.endpoint.startswith("delegation.") and "GET" in r.methods and not r.arguments]
print(json.dumps(rules))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=os.path.dirname(BENCH),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    rules = dict(json.loads(result.stdout.strip().splitlines()[-1]))
    pages = {"dashboard": rules.get("delegation.dashboard", "/delegation")}
    for endpoint, rule in sorted(rules.items()):
        name = endpoint.split(".", 1)[1]
        if "participant" in name and not any(w in name for w in ("new", "add", "create", "form")):
            pages["list"] = rule
            break
    return pages


# -- wrk ------------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text):
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


#: Counts what is not a 200 and the body bytes (a 303 to the sign-in page is not a page).
STATUSES_LUA = os.path.join(BENCH, "statuses.lua")


def run_wrk(url, connections, duration, headers=(), script=STATUSES_LUA, threads=2):
    command = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % duration, "--latency"]
    command += ["--timeout", "10s"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", script]
    command.append(url)
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = {"output": output}
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    result["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"(\d+) requests in", output)
    result["requests"] = int(match.group(1)) if match else 0
    for pct in ("50", "99"):
        match = re.search(r"^\s+%s%%\s+(\S+)" % pct, output, re.M)
        result["p" + pct] = _ms(match.group(1)) if match else float("nan")
    errors = 0
    match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if match:
        errors += sum(int(g) for g in match.groups())
    match = re.search(r"Not 200: (\d+)", output)
    if match:
        errors += int(match.group(1))
    else:
        match = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
        errors += int(match.group(1)) if match else 0
    result["errors"] = errors
    match = re.search(r"Body bytes: (\d+)", output)
    result["body_bytes"] = int(match.group(1)) if match else 0
    return result


class RssSampler:
    """Sample the resident memory of a gunicorn's workers while a load runs."""

    def __init__(self, server, interval=0.5):
        self.server = server
        self.interval = interval
        self.peak = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def sample(self):
        for pid in self.server.worker_pids():
            with contextlib.suppress(OSError):
                self.peak[pid] = max(self.peak.get(pid, 0), rss_kib(pid))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def cpu_seconds(pids):
    """Return the user+system CPU seconds the processes have used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / ticks


# -- argon2 ---------------------------------------------------------------------------------


def argon2_costs(rounds=10):
    """Return [(memory KiB, t, p, CPU ms per verification)] for OWASP's parameter sets."""
    from argon2 import PasswordHasher

    results = []
    for memory, time_cost, parallelism in OWASP_ARGON2:
        hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory, parallelism=parallelism)
        stored = hasher.hash("Tunis2005!")
        start = time.process_time()
        for _ in range(rounds):
            hasher.verify(stored, "Tunis2005!")
        results.append(
            (memory, time_cost, parallelism, (time.process_time() - start) / rounds * 1e3)
        )
    return results


def sign_in_load(server, username, password, duration, connections=None):
    """Sign in over and over with wrk (POST /login); return (result, CPU ms per sign-in)."""
    connections = connections or SIGN_IN_CONNECTIONS
    client = Client(server.url)
    page = client.get("/login").text()
    token = CSRF_RE.search(page).group(1)
    body = urlencode({"csrf_token": token, "username": username, "password": password})
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    with script:
        script.write(
            'wrk.method = "POST"\nwrk.body = %s\n'
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
            'wrk.headers["Cookie"] = %s\n' % (json.dumps(body), json.dumps(client.cookie_header()))
        )
    try:
        pids = server.worker_pids()
        before = cpu_seconds(pids)
        result = run_wrk(server.url + "/login", connections, duration, script=script.name)
        spent = cpu_seconds(pids) - before
    finally:
        os.unlink(script.name)
    per_sign_in = spent / result["requests"] * 1e3 if result["requests"] else float("nan")
    return result, per_sign_in


# -- the run --------------------------------------------------------------------------------


def table(rows, headers):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join("%-*s" % (w, h) for w, h in zip(widths, headers, strict=True))
    print(line)
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join("%-*s" % (w, c) for w, c in zip(widths, row, strict=True)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL database to use (emptied!)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", default="16,64")
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (make bench-server installs Debian's package)")
    connections = [int(c) for c in args.connections.split(",")]
    workdir = tempfile.mkdtemp(prefix="portal-bench-")
    env = base_env(args.database_url or fresh_sqlite(workdir))
    if args.database_url:
        _empty_postgres(env)
    prepare_database(env)
    username, password = COORDINATORS["fr"]
    delegation = seed_delegation(env, username, args.people)
    pages = discover_pages(env)
    print(
        "== server benchmark: %s, %d cores (%s)"
        % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), cpu_model())
    )
    print("database: %s; delegation of %s: %d participants" % (engine(env), username, delegation))
    print("load average before the run: %.2f %.2f %.2f (a shared machine)" % os.getloadavg())
    print("pages: %s" % ", ".join("%s %s" % kv for kv in pages.items()))
    if "list" not in pages:
        print(
            "(no participant list route in portal/delegation yet: only the dashboard is measured)"
        )

    failures = []
    portal = Gunicorn(env, log_path=os.path.join(workdir, "portal.log"))
    bare = None
    with portal:
        client = Client(portal.url)
        client.sign_in(username, password)

        def browser_headers():
            """What a browser would send now: its cookie as the portal last set it. wrk keeps
            one cookie for a whole run, and the portal refreshes the session's last-seen time
            once a minute; a page loaded just before each run keeps the cookie as fresh as a
            browser's (which stores every refresh) for the run (a few seconds)."""
            client.get(pages["dashboard"])
            return ["Cookie: " + client.cookie_header(), "Accept-Encoding: br, gzip"]

        captured = {}
        for path in pages.values():
            response = client.get(path)
            if response.status != 200:
                raise RuntimeError("%s answered %s" % (path, response.status))
            captured[path] = response.text()
        pages_file = os.path.join(workdir, "pages.json")
        with open(pages_file, "w", encoding="utf-8") as fh:
            json.dump(captured, fh)
        print(
            "page sizes (HTML, uncompressed): %s"
            % ", ".join("%s %d B" % (p, len(h.encode())) for p, h in captured.items())
        )
        bare = Gunicorn(
            {**env, "BARE_PAGES": pages_file},
            app="bare_app:app",
            cwd=BENCH,
            log_path=os.path.join(workdir, "bare.log"),
        )
        bare.start()
        try:
            rows = []
            with RssSampler(portal) as portal_rss, RssSampler(bare) as bare_rss:
                for name, path in pages.items():
                    for conns in connections:
                        got = interleaved(
                            {"portal": portal, "bare": bare},
                            path,
                            conns,
                            args.duration,
                            browser_headers,
                        )
                        ratio = (
                            got["portal"]["rps"] / got["bare"]["rps"] if got["bare"]["rps"] else 0
                        )
                        for label in ("portal", "bare"):
                            r = got[label]
                            rows.append(
                                (
                                    name,
                                    conns,
                                    label,
                                    "%.0f" % r["rps"],
                                    "%.1f" % r["p50"],
                                    "%.1f" % r["p99"],
                                    "%.1f" % r["p99_worst"],
                                    r["errors"],
                                    "%.0f" % r["bytes"],
                                    "%.0f%%" % (ratio * 100) if label == "portal" else "",
                                )
                            )
                        portal_result = got["portal"]
                        if ratio < TARGET_RATIO:
                            failures.append(
                                "%s at %d connections: %.0f%% of the bare app"
                                % (name, conns, ratio * 100)
                            )
                        if conns <= 16 and portal_result["p99"] >= TARGET_P99_MS:
                            failures.append(
                                "%s at %d connections: p99 %.1f ms"
                                % (name, conns, portal_result["p99"])
                            )
                        if portal_result["errors"]:
                            failures.append(
                                "%s at %d connections: %d errors"
                                % (name, conns, portal_result["errors"])
                            )
            print()
            print(
                "(each app loaded in %d rounds of %d s, the two apps taking turns, so that both see"
                " the same moments of a shared machine; req/s over all rounds; p50 and p99: the"
                " median round's, and the worst round's p99)" % (ROUNDS, args.duration // ROUNDS)
            )
            table(
                rows,
                [
                    "page",
                    "conns",
                    "app",
                    "req/s",
                    "p50 ms",
                    "p99 ms",
                    "worst p99",
                    "errors",
                    "body B",
                    "portal/bare",
                ],
            )
            print()
            rss_rows = []
            for label, sampler in (("portal", portal_rss), ("bare", bare_rss)):
                for pid, kib in sorted(sampler.peak.items()):
                    rss_rows.append((label, pid, "%.1f" % (kib / 1024)))
                    if label == "portal" and kib / 1024 >= TARGET_RSS_MB:
                        failures.append("worker %d: %.1f MB resident" % (pid, kib / 1024))
            table(rss_rows, ["app", "worker pid", "peak RSS MB"])
            print()
            uncached_pages(env, workdir, pages, username, password, args.duration, bare)
        finally:
            bare.stop()

        print()
        print("argon2id cost (CPU per verification, this machine; OWASP minimum equivalents):")
        configured = (
            int(env.get("PORTAL_ARGON2_MEMORY_KIB", 19456)),
            int(env.get("PORTAL_ARGON2_TIME_COST", 2)),
            1,
        )
        cost_rows = []
        for memory, t, p, ms in argon2_costs():
            mark = "<- the portal's" if (memory, t) == configured[:2] else ""
            cost_rows.append(("m=%d MiB, t=%d, p=%d" % (memory // 1024, t, p), "%.1f" % ms, mark))
            if mark and ms >= SIGN_IN_CPU_MS:
                failures.append("argon2 verification %.1f ms of CPU" % ms)
        table(cost_rows, ["parameters", "CPU ms", ""])
        print()
        with RssSampler(portal) as sign_in_rss:
            result, cpu_ms = sign_in_load(portal, username, password, args.duration)
        table(
            [
                (
                    "POST /login",
                    SIGN_IN_CONNECTIONS,
                    "%.1f" % result["rps"],
                    "%.0f" % result["p50"],
                    "%.0f" % result["p99"],
                    result["errors"],
                    "%.1f" % cpu_ms,
                )
            ],
            ["sign-ins", "conns", "per s", "p50 ms", "p99 ms", "errors", "worker CPU ms each"],
        )
        if cpu_ms >= SIGN_IN_CPU_MS:
            failures.append("a sign-in costs %.1f ms of CPU" % cpu_ms)
        peaks = ", ".join("%.1f" % (kib / 1024) for _pid, kib in sorted(sign_in_rss.peak.items()))
        print("portal workers' peak RSS during the sign-ins (MB): %s" % peaks)
        for pid, kib in sign_in_rss.peak.items():
            if kib / 1024 >= TARGET_RSS_MB:
                failures.append("worker %d: %.1f MB resident during sign-ins" % (pid, kib / 1024))
    print()
    print("load average after the run: %.2f %.2f %.2f" % os.getloadavg())
    if failures:
        print("TARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1 if args.strict else 0
    print(
        "all targets met (ratio >= 50%, p99 < 100 ms at 16, no errors at 64, RSS < 100 MB, sign-in < 100 ms CPU)"
    )
    return 0


#: Turns each app takes in a measurement (``--duration`` is shared among them).
ROUNDS = 4


def interleaved(servers, path, connections, duration, fresh_headers):
    """Load each server in turns (a warm-up each, then ``ROUNDS`` rounds each, alternating) and
    return per server: requests/s over all rounds, the median round's p50 and p99, the worst
    round's p99, and the errors. On a shared machine whose speed drifts by a factor of two
    within minutes, back-to-back runs compared the apps at different moments."""
    rounds = {label: [] for label in servers}
    seconds = max(1, duration // ROUNDS)
    for server in servers.values():
        run_wrk(server.url + path, connections, 3, fresh_headers())  # warm-up
    for _ in range(ROUNDS):
        for label, server in servers.items():
            rounds[label].append(run_wrk(server.url + path, connections, seconds, fresh_headers()))
    results = {}
    for label, runs in rounds.items():
        requests = sum(r["requests"] for r in runs)
        results[label] = {
            "rps": sum(r["rps"] for r in runs) / len(runs),
            "requests": requests,
            "p50": statistics.median(r["p50"] for r in runs),
            "p99": statistics.median(r["p99"] for r in runs),
            "p99_worst": max(r["p99"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "bytes": sum(r["body_bytes"] for r in runs) / requests if requests else 0,
        }
    return results


def uncached_pages(env, workdir, pages, username, password, duration, bare):
    """The same pages from a portal with the fragment cache off: what each costs when it must
    be rendered (the first view after a change). Shown for information; not a target."""
    print(
        "Without the caches (PORTAL_FRAGMENT_CACHE_MB=0, PORTAL_COMPRESSED_CACHE_MB=0): every"
        " page rendered and compressed whole, the worst case, as for the first view after a"
        " worker starts (information, not a target):"
    )
    plain = Gunicorn(
        {**env, "PORTAL_FRAGMENT_CACHE_MB": "0", "PORTAL_COMPRESSED_CACHE_MB": "0"},
        log_path=os.path.join(workdir, "nocache.log"),
    )
    rows = []
    with plain:
        client = Client(plain.url)
        client.sign_in(username, password)
        for name, path in pages.items():
            client.get(pages["dashboard"])
            headers = ["Cookie: " + client.cookie_header(), "Accept-Encoding: br, gzip"]
            run_wrk(plain.url + path, 16, 2, headers)
            got = run_wrk(plain.url + path, 16, duration, headers)
            reference = run_wrk(bare.url + path, 16, duration, headers)
            ratio = got["rps"] / reference["rps"] if reference["rps"] else 0
            rows.append(
                (
                    name,
                    16,
                    "%.0f" % got["rps"],
                    "%.1f" % got["p50"],
                    "%.1f" % got["p99"],
                    got["errors"],
                    "%.0f%%" % (ratio * 100),
                )
            )
    table(rows, ["page", "conns", "req/s", "p50 ms", "p99 ms", "errors", "of the bare app"])


def engine(env):
    url = env["DATABASE_URL"]
    return "SQLite" if url.startswith("sqlite") else "PostgreSQL"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def _empty_postgres(env):
    """Drop every table of the benchmark's PostgreSQL database (it must be a scratch one)."""
    code = r"""
from portal import create_app
from portal.db import database
app = create_app()
with app.app_context(), database.connection_context():
    database.execute_sql("DROP SCHEMA public CASCADE")
    database.execute_sql("CREATE SCHEMA public")
"""
    subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(BENCH), env=env, check=True)


if __name__ == "__main__":
    sys.exit(main())
