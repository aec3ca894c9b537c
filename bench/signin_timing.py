"""Benchmark of the time a failed sign-in takes, by kind of failure, at production's argon2 cost.

Every failure (unknown username, wrong password whatever the account's hash scheme, account
without a usable password, locked account) costs one argon2 verification, so that the time of
the answer tells nothing about the account. This prints how close the kinds are: the median and
90th percentile of each, and each median against the unknown username's. It asserts nothing:
timings depend on the machine and its load (tests/test_auth.py counts the argon2 verifications
instead). Requests go through the Flask test client, CSRF on, one new session per kind,
interleaved so that a burst of load falls on every kind alike.

    .venv/bin/python bench/signin_timing.py [--repeat 30] [--database-url URL]

Without ``--database-url`` the database is a temporary SQLite file; with a PostgreSQL URL the
tables are created there and the demo data loaded (use an empty database).
"""

import argparse
import datetime as dt
import os
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.secretariat import percentile  # noqa: E402
from portal import create_app, demo, schema  # noqa: E402
from portal.config import DEFAULTS  # noqa: E402
from portal.db import database  # noqa: E402
from portal.models import Account, utcnow  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
LOCKED = "au.dfp"

#: label, username, password: every one answers 422 with the same words.
CASES = [
    ("unknown username", "nobody.here", "x-password"),
    ("wrong password, argon2id", "secretariat", "x-password"),
    ("wrong password, md5 (PrepCom)", "unesco.dfp", "x-password"),
    ("wrong password, md5-crypt", "wipo-focal", "x-password"),
    ("wrong password, LDAP SSHA", "las.coord", "x-password"),
    ("account without a password", "undp.wsis", "x-password"),
    ("locked account, right password", LOCKED, "Addis+2005"),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="sign-ins per kind (after warm-up)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="bench-signin-")
        url = "sqlite:///" + os.path.join(tmp.name, "bench.sqlite3")
    cost = {key: DEFAULTS[key] for key in DEFAULTS if key.startswith("ARGON2_")}
    app = create_app(
        {
            "SECRET_KEY": "benchmark",
            "DATABASE_URL": url,
            "SMTP_HOST": "",
            "LOG_LEVEL": "WARNING",
            # No lock-out from the failures measured here: the locked account is locked below.
            "LOCKOUT_THRESHOLD": 10**6,
            **cost,
        }
    )
    with app.app_context():
        database.connect(reuse_if_open=True)
        schema.upgrade()
        demo.load()
        Account.update(locked_until=utcnow() + dt.timedelta(days=1)).where(
            Account.username_key == LOCKED
        ).execute()
        database.close()

    clients = {}
    for label, _, _ in CASES:
        client = clients[label] = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.token = CSRF_RE.search(client.get("/login").get_data(as_text=True)).group(1)

    def attempt(label, username, password):
        client = clients[label]
        data = {"csrf_token": client.token, "username": username, "password": password}
        started = time.perf_counter()
        response = client.post("/login", data=data)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 422, (label, response.status_code)
        return elapsed

    for case in CASES:  # warm-up: the dummy hash, the prepared queries
        attempt(*case)
    times = {label: [] for label, _, _ in CASES}
    for _ in range(args.repeat):
        for case in CASES:
            times[case[0]].append(attempt(*case))

    print(
        "argon2id t=%s m=%s KiB p=%s; %d sign-ins per kind (%s); load average %.1f"
        % (
            cost["ARGON2_TIME_COST"],
            cost["ARGON2_MEMORY_KIB"],
            cost["ARGON2_PARALLELISM"],
            args.repeat,
            url.split(":")[0],
            os.getloadavg()[0],
        )
    )
    reference = statistics.median(times[CASES[0][0]])
    print("%-32s %9s %9s %8s" % ("failure", "median", "p90", "/unknown"))
    for label, values in times.items():
        median = statistics.median(values)
        print(
            "%-32s %6.1f ms %6.1f ms %7.2fx"
            % (label, median, percentile(values, 0.9), median / reference)
        )
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
