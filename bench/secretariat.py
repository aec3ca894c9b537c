"""Benchmark of the secretariat's two busiest screens with a full-size database.

Fills a fresh database with 5,000 organizations (one coordinator each) and 20,000 participants
(a third of them waiting in the review queue, some duplicates across delegations), signs in as
the secretariat through the Flask test client (CSRF on, as a browser), and times the overview
and the review queue: several pages, sorts and filters, whole pages and HTMX fragments. Prints
the median and the 95th percentile of each, and overall. Target: a median under 300 ms.

    .venv/bin/python bench/secretariat.py [--repeat 15] [--database-url URL]

Without ``--database-url`` the database is a temporary SQLite file; with a PostgreSQL URL the
tables are created there (use an empty database: it is filled, not emptied afterwards).
"""

import argparse
import datetime as dt
import os
import random
import re
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from portal import create_app, demo, schema  # noqa: E402
from portal.crypto import birth_key, passport_key  # noqa: E402
from portal.db import database  # noqa: E402
from portal.models import (  # noqa: E402
    ROLE_COORDINATOR,
    STATUSES,
    Account,
    Organization,
    Participant,
)

ORGANIZATIONS = 5000
PARTICIPANTS = 20000
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')

FAMILY = [
    "MARTIN",
    "BERNARD",
    "HADDAD",
    "NGUYEN",
    "SMITH",
    "MÜLLER",
    "GARCÍA",
    "AL-AMIN",
    "TANAKA",
    "OKAFOR",
    "DUBOIS",
    "IVANOV",
    "SILVA",
    "KOWALSKI",
    "MENSAH",
    "CHEN",
]
GIVEN = [
    "Anne",
    "Omar",
    "Li",
    "Marie",
    "Kofi",
    "Hélène",
    "Yusuf",
    "Sara",
    "Jean",
    "Aiko",
    "Pedro",
    "Fatima",
    "Olga",
    "Tomás",
    "Amina",
    "David",
]


def fill(seed=2005):
    """Insert the organizations, coordinators and participants (in a few big transactions)."""
    rng = random.Random(seed)
    now = dt.datetime(2005, 10, 1, 12, 0)
    categories = ["UN", "SA", "IGO"]
    with database.atomic():
        organizations = [
            {
                "code": "B%05d" % n,
                "name_en": "Benchmark Organization %05d" % n,
                "name_fr": "Organisation de banc d'essai %05d" % n,
                "acronym": "BO%d" % n,
                "category": categories[n % 3],
                "created_at": now,
                "updated_at": now,
            }
            for n in range(ORGANIZATIONS)
        ]
        for start in range(0, len(organizations), 50):
            Organization.insert_many(organizations[start : start + 50]).execute()
    org_ids = [
        row[0]
        for row in Organization.select(Organization.id)
        .where(Organization.code.startswith("B"))
        .order_by(Organization.id)
        .tuples()
    ]
    with database.atomic():
        rows = []
        for n, org_id in enumerate(org_ids):
            rows.append(
                {
                    "username": "bench%05d" % n,
                    "username_key": "bench%05d" % n,
                    "role": ROLE_COORDINATOR,
                    "organization": org_id,
                    "given_name": rng.choice(GIVEN),
                    "family_name": rng.choice(FAMILY),
                    "email": "bench%05d@example.org" % n,
                    "last_login_at": now - dt.timedelta(minutes=rng.randrange(100000))
                    if rng.random() < 0.7
                    else None,
                    "session_token": "t%05d" % n,
                }
            )
            if len(rows) == 50:
                Account.insert_many(rows).execute()
                rows = []
        if rows:
            Account.insert_many(rows).execute()
    statuses = list(STATUSES)
    weights = [20, 35, 30, 10, 5]
    heads = set()
    with database.atomic():
        rows = []
        for n in range(PARTICIPANTS):
            org_id = org_ids[n % len(org_ids)] if n < len(org_ids) * 2 else rng.choice(org_ids)
            status = rng.choices(statuses, weights)[0]
            head = org_id not in heads and status != "withdrawn" and rng.random() < 0.5
            if head:
                heads.add(org_id)
            # One in fifty is the same person as another, in another delegation.
            twin = n % 50 == 49
            born = dt.date(1950, 1, 1) + dt.timedelta(days=((n - 1) if twin else n) * 7 % 15000)
            rows.append(
                {
                    "organization": org_id,
                    "status": status,
                    "family_name": FAMILY[(n - 1 if twin else n) % len(FAMILY)],
                    "given_names": GIVEN[((n - 1 if twin else n) // 16) % len(GIVEN)],
                    "date_of_birth": born,
                    "birth_key": birth_key(born),
                    "passport_number": "P%08d" % (n - 1 if twin else n),
                    "passport_key": passport_key("P%08d" % (n - 1 if twin else n)),
                    "passport_expiry": dt.date(2006, 1, 1) + dt.timedelta(days=n % 2000),
                    "visa_required": rng.random() < 0.3,
                    "is_head": head,
                    "submitted_at": now - dt.timedelta(minutes=n) if status != "draft" else None,
                    "created_at": now,
                    "updated_at": now - dt.timedelta(minutes=rng.randrange(100000)),
                }
            )
            if len(rows) == 50:
                Participant.insert_many(rows).execute()
                rows = []
        if rows:
            Participant.insert_many(rows).execute()
    database.execute_sql("ANALYZE")


def sign_in(client):
    page = client.get("/login").get_data(as_text=True)
    token = CSRF_RE.search(page).group(1)
    response = client.post(
        "/login",
        data={
            "csrf_token": token,
            "username": demo.SECRETARIAT_USERNAME,
            "password": demo.SECRETARIAT_PASSWORD,
        },
    )
    assert response.status_code == 303, response.status_code


URLS = [
    ("overview, page 1", "/secretariat/", False),
    ("overview, page 60", "/secretariat/?page=60", False),
    ("overview, sorted by submitted", "/secretariat/?sort=submitted&dir=desc", False),
    ("overview, sorted by activity", "/secretariat/?sort=activity&dir=desc&page=3", False),
    ("overview, category + status", "/secretariat/?category=SA&status=rejected", False),
    ("overview, text: organization", "/secretariat/?q=organization+0421", False),
    ("overview, text: participant", "/secretariat/?q=hélène", False),
    ("overview, text: passport", "/secretariat/?q=p+0001+2345", False),
    ("overview, HTMX fragment", "/secretariat/?page=2&sort=total", True),
    ("queue, page 1", "/secretariat/queue", False),
    ("queue, page 40", "/secretariat/queue?page=40", False),
    ("queue, text filter", "/secretariat/queue?q=martin", False),
    ("queue, HTMX fragment", "/secretariat/queue?page=2", True),
]


def percentile(values, fraction):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="requests per URL (after warm-up)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory(prefix="bench-secretariat-")
        url = "sqlite:///" + os.path.join(tmp.name, "bench.sqlite3")
    app = create_app(
        {
            "SECRET_KEY": "benchmark",
            "DATABASE_URL": url,
            "SMTP_HOST": "",
            "LOG_LEVEL": "WARNING",
            "ARGON2_TIME_COST": 1,
            "ARGON2_MEMORY_KIB": 1024,
        }
    )
    with app.app_context():
        database.connect(reuse_if_open=True)
        schema.upgrade()
        demo.load()
        started = time.perf_counter()
        fill()
        database.close()
    print(
        "filled %d organizations and %d participants in %.1f s (%s)"
        % (ORGANIZATIONS, PARTICIPANTS, time.perf_counter() - started, url.split(":")[0])
    )

    client = app.test_client()
    sign_in(client)
    everything = []
    print("%-34s %8s %8s %8s %8s" % ("screen", "median", "p95", "KB", "KB gzip"))
    for label, path, htmx in URLS:
        headers = {"HX-Request": "true"} if htmx else {}
        for _ in range(2):  # warm-up
            client.get(path, headers=headers)
        times = []
        size = 0
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            body = response.get_data()
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (path, response.status_code)
            size = len(body)
        everything.extend(times)
        gzipped = client.get(path, headers={**headers, "Accept-Encoding": "gzip"}).get_data()
        print(
            "%-34s %6.1f ms %6.1f ms %6.1f %8.1f"
            % (
                label,
                statistics.median(times),
                percentile(times, 0.95),
                size / 1024,
                len(gzipped) / 1024,
            )
        )
    median = statistics.median(everything)
    print(
        "%-34s %6.1f ms %6.1f ms   target: median < 300 ms: %s"
        % ("all", median, percentile(everything, 0.95), "met" if median < 300 else "NOT met")
    )
    if tmp is not None:
        tmp.cleanup()
    return 0 if median < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
