"""Lighthouse (``make lighthouse``): lighthouse 12.2.3 from npm against Debian's Chromium, mobile
profile, on the sign-in page and the coordinator's dashboard (signed in: the session cookie goes
in ``--extra-headers``). Prints the performance, accessibility and best-practices scores and
every audit that lost points.

Lighthouse is installed once under ``bench/.node`` (not committed); the portal is started as
production runs it (gunicorn, compression on) on a fresh SQLite database with the demo data.
Targets: performance >= 95, accessibility 100, best practices >= 95 (``--strict``: exit 1 on a
miss).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (  # noqa: E402
    COORDINATORS,
    Client,
    Gunicorn,
    base_env,
    fresh_sqlite,
    prepare_database,
)

BENCH = os.path.dirname(os.path.abspath(__file__))
NODE_DIR = os.path.join(BENCH, ".node")
VERSION = "12.2.3"
CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless=new --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync "
    "--disable-default-apps"
)
CATEGORIES = ("performance", "accessibility", "best-practices")
TARGETS = {"performance": 95, "accessibility": 100, "best-practices": 95}
#: Other pages of the coordinator (``--extra``), signed in like the dashboard.
EXTRA_PAGES = {"participants": "/delegation/participants", "form": "/delegation/participants/new"}


def lighthouse_command():
    """Return the lighthouse command, installing lighthouse@12.2.3 under bench/.node once."""
    local = os.path.join(NODE_DIR, "node_modules", ".bin", "lighthouse")
    if not os.path.exists(local):
        if not shutil.which("npm"):
            sys.exit("npm is not installed (Debian: apt-get install -y npm)")
        os.makedirs(NODE_DIR, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                "lighthouse@" + VERSION,
            ],
            cwd=NODE_DIR,
            check=True,
        )
    return [local]


#: Runs of one page before giving up.
ATTEMPTS = 3


def _last_line(result):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "exit %d" % result.returncode


def run_lighthouse(command, url, headers, output):
    args = [
        *command,
        url,
        "--output=json",
        "--output-path=" + output,
        "--quiet",
        "--form-factor=mobile",
        "--only-categories=" + ",".join(CATEGORIES),
        "--chrome-flags=" + CHROME_FLAGS,
        "--max-wait-for-load=60000",
    ]
    if headers:
        args.append("--extra-headers=" + json.dumps(headers))
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    for attempt in range(1, ATTEMPTS + 1):
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        if result.returncode == 0 and os.path.exists(output):
            break
        # Chromium 156 sometimes loses the trace of a load ("NO_NAVSTART ... Please run
        # Lighthouse again"): as it asks, run it again, and say so.
        print("  (lighthouse failed on %s, attempt %d: %s)" % (url, attempt, _last_line(result)))
    else:
        raise RuntimeError("lighthouse failed on %s:\n%s" % (url, result.stderr[-3000:]))
    with open(output, encoding="utf-8") as fh:
        return json.load(fh)


def lost_points(report):
    """Return the audits that cost points, per category: [(category, audit id, title, score)]."""
    lost = []
    for name in CATEGORIES:
        category = report["categories"][name]
        for ref in category["auditRefs"]:
            if not ref.get("weight"):
                continue
            audit = report["audits"][ref["id"]]
            score = audit.get("score")
            if score is not None and score < 1:
                lost.append((name, ref["id"], audit["title"], score))
    return lost


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--languages", default="fr,en,ar", help="comma-separated: fr,en,ar")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--extra", nargs="*", default=[], choices=sorted(EXTRA_PAGES), help="more pages to audit"
    )
    args = parser.parse_args(argv)
    if not os.path.exists(CHROMIUM):
        sys.exit("Debian's chromium is not installed (make lighthouse installs it)")
    command = lighthouse_command()
    workdir = tempfile.mkdtemp(prefix="portal-lighthouse-")
    env = base_env(fresh_sqlite(workdir))
    prepare_database(env)
    rows, misses, details = [], [], []
    print(
        "== Lighthouse %s, mobile profile: %s"
        % (VERSION, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
    )
    with Gunicorn(env, log_path=os.path.join(workdir, "portal.log")) as server:
        for language in args.languages.split(","):
            username, password = COORDINATORS[language]
            client = Client(server.url, language=language)
            client.sign_in(username, password)
            # Each language's pages: the sign-in page in that language, the coordinator's
            # dashboard (their account's language).
            anonymous = Client(server.url, language=language)
            anonymous.get("/language/%s?next=/login" % language)
            signed_in = {"Cookie": client.cookie_header()}
            pages = [
                ("sign-in", "/login", {"Cookie": anonymous.cookie_header()}),
                ("dashboard", "/delegation", signed_in),
            ] + [(name, EXTRA_PAGES[name], signed_in) for name in args.extra]
            for label, path, headers in pages:
                output = os.path.join(workdir, "%s-%s.json" % (language, label))
                report = run_lighthouse(command, server.url + path, headers, output)
                final = report.get("finalDisplayedUrl") or report.get("finalUrl", "")
                if not final.endswith(path):
                    raise RuntimeError("%s ended on %s, not %s" % (label, final, path))
                scores = {
                    name: round((report["categories"][name]["score"] or 0) * 100)
                    for name in CATEGORIES
                }
                metrics = report["audits"]
                rows.append(
                    (
                        language,
                        label,
                        scores["performance"],
                        scores["accessibility"],
                        scores["best-practices"],
                        metrics["first-contentful-paint"]["displayValue"],
                        metrics["largest-contentful-paint"]["displayValue"],
                        metrics["total-blocking-time"]["displayValue"],
                        metrics["cumulative-layout-shift"]["displayValue"],
                    )
                )
                for name, target in TARGETS.items():
                    if scores[name] < target:
                        misses.append(
                            "%s %s: %s %d (target %d)"
                            % (language, label, name, scores[name], target)
                        )
                details += [(language, label, *audit) for audit in lost_points(report)]
    headers = ["lang", "page", "perf", "a11y", "best pr.", "FCP", "LCP", "TBT", "CLS"]
    table = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in table) for i in range(len(headers))]
    print()
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    if details:
        print("\naudits that lost points:")
        for language, label, category, audit_id, title, score in details:
            print(
                "  %s %s [%s] %s (%s): %.2f" % (language, label, category, audit_id, title, score)
            )
    print()
    if misses:
        print("TARGETS MISSED:\n  " + "\n  ".join(misses))
        return 1 if args.strict else 0
    print("all targets met (performance >= 95, accessibility 100, best practices >= 95)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
