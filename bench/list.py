"""Benchmark of the documents that are not badges: one letter on demand, and the summit's list
of participants rendered by the documents worker.

Fills a fresh database with the secretariat benchmark's data (bench/secretariat.py: 5,000
organizations, 20,000 participants), then accredits every participant so that the list holds
20,000 names. Times:

- a letter (confirmation of accreditation and visa support) rendered on demand, in each
  language: the first one of the process (fonts loaded) and the median and 95th percentile of
  the next ones (target: under 300 ms);
- the summit's list as the worker makes it: ``flask --app portal documents work`` run as its own
  process on a queued job, its wall time and its peak resident memory (target: under two
  minutes, memory bounded by the chunk size, DOCUMENTS_LIST_CHUNK).

    .venv/bin/python bench/list.py [--language fr] [--letters 20] [--chunk 500]
"""

import argparse
import base64
import io
import os
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import base_env  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from secretariat import PARTICIPANTS, fill, percentile  # noqa: E402

from portal import create_app, demo, schema  # noqa: E402
from portal.db import database  # noqa: E402
from portal.models import (  # noqa: E402
    ACCREDITED,
    ROLE_SECRETARIAT,
    Account,
    DocumentFile,
    DocumentJob,
    Participant,
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree(pid):
    """``pid`` and its descendants (Linux's /proc)."""
    found = [pid]
    for parent in found:
        try:
            with open("/proc/%d/task/%d/children" % (parent, parent)) as fh:
                found.extend(int(child) for child in fh.read().split())
        except OSError:
            continue
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--language", default="fr", choices=["fr", "en", "ar"])
    parser.add_argument("--letters", type=int, default=20, help="letters timed per language")
    parser.add_argument("--chunk", type=int, default=500, help="DOCUMENTS_LIST_CHUNK")
    parser.add_argument(
        "--processes", type=int, default=2, help="DOCUMENTS_RENDER_PROCESSES (render processes)"
    )
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="bench-list-")
    url = "sqlite:///" + os.path.join(tmp.name, "bench.sqlite3")
    secret = secrets.token_hex(32)
    data_key = base64.b64encode(secrets.token_bytes(32)).decode()
    app = create_app(
        {
            "SECRET_KEY": secret,
            "DATA_KEY": data_key,
            "DATABASE_URL": url,
            "SMTP_HOST": "",
            "LOG_LEVEL": "WARNING",
        }
    )
    with app.test_request_context():
        database.connect(reuse_if_open=True)
        schema.upgrade()
        demo.load()
        started = time.perf_counter()
        fill()
        Participant.update(status=ACCREDITED).execute()
        accredited = Participant.select().where(Participant.status == ACCREDITED).count()
        print(
            "filled and accredited %d participants (of %d) in %.1f s"
            % (accredited, PARTICIPANTS, time.perf_counter() - started)
        )

        # -- One letter on demand -----------------------------------------------------------
        from portal.services import letters, lists

        secretariat = Account.get(Account.role == ROLE_SECRETARIAT)
        ids = [
            pid for (pid,) in Participant.select(Participant.id).limit(args.letters + 1).tuples()
        ]
        print("%-28s %10s %10s %10s" % ("letter", "first ms", "median ms", "p95 ms"))
        for language in ("fr", "en", "ar"):
            times = []
            for pid in ids:
                begun = time.perf_counter()
                data, _name = letters.letter(secretariat, pid, language)
                times.append((time.perf_counter() - begun) * 1000)
                assert data.startswith(b"%PDF")
            first, rest = times[0], times[1:]
            print(
                "%-28s %10.0f %10.0f %10.0f"
                % (
                    "letter (%s), %d" % (language, len(rest)),
                    first,
                    statistics.median(rest),
                    percentile(rest, 0.95),
                )
            )

        # -- The summit's list, by the worker -----------------------------------------------
        job = lists.queue_summit(secretariat, args.language)
        database.close()

    env = base_env(
        url,
        secret_key=secret,
        PORTAL_DATA_KEY=data_key,
        PORTAL_DOCUMENTS_LIST_CHUNK=args.chunk,
        PORTAL_DOCUMENTS_RENDER_PROCESSES=args.processes,
    )
    env["PORTAL_LOG_LEVEL"] = "WARNING"
    begun = time.perf_counter()
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "portal", "documents", "work"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    peak_kib = 0
    while worker.poll() is None:
        # The worker and its render processes together.
        peak_kib = max(peak_kib, sum(rss_kib(pid) for pid in tree(worker.pid)))
        time.sleep(0.2)
    elapsed = time.perf_counter() - begun
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime
    output = worker.stdout.read()
    if worker.returncode != 0:
        raise SystemExit(output)
    with app.app_context():
        database.connect(reuse_if_open=True)
        done = DocumentJob.get_by_id(job.id)
        stored = DocumentFile.get(DocumentFile.job == job.id)
        pages = len(PdfReader(io.BytesIO(bytes(stored.data))).pages)
        database.close()
    assert done.state == "done", (done.state, done.error)
    print(
        "summit list (%s): %d participants, %d pages, %.1f MB PDF, chunks of %d, %d render processes: "
        "%.1f s in the worker (%.0f s of processor time, worker and render processes), "
        "peak memory of the worker and its render processes together %.0f MiB"
        % (
            args.language,
            done.progress_total,
            pages,
            stored.size / 1e6,
            args.chunk,
            args.processes,
            elapsed,
            cpu,
            peak_kib / 1024,
        )
    )
    tmp.cleanup()


if __name__ == "__main__":
    main()
