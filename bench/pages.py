"""Page-weight benchmark (``make bench-pages``): the coordinator's journey in a real browser,
counting the bytes on the wire, under an emulated Regular 2G link.

It starts the portal as production runs it (gunicorn, ``PORTAL_ENV=production``, compression
on) on a fresh SQLite database with the demo data, and drives Debian's headless Chromium through
Playwright (its executable path set: never a downloaded browser) through the coordinator's
journey in French, English and Arabic: sign in, dashboard, participant form, save a participant
through HTMX, participant list, each page cold (browser cache disabled) and warm (static files
cached). Chromium's DevTools protocol emulates Regular 2G (250 kbit/s down, 50 kbit/s up, 300 ms
latency) and reports every request's encoded (on the wire) length.

It prints a table per language (requests, bytes by type, total, DOMContentLoaded and load) and
the bytes of each HTMX fragment, and exits 1 when a byte budget is exceeded (timings are
printed, not enforced). ``--check-bytes`` skips the throttling: the same journey, fast, for CI.
"""

import argparse
import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import (  # noqa: E402
    COORDINATORS,
    Gunicorn,
    base_env,
    fresh_sqlite,
    prepare_database,
)

CHROMIUM = os.environ.get("PORTAL_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]
#: Chrome DevTools' "Regular 2G" preset.
REGULAR_2G = {
    "offline": False,
    "latency": 300,
    "downloadThroughput": 250 * 1000 // 8,
    "uploadThroughput": 50 * 1000 // 8,
}
KB = 1000

# Budgets, in bytes on the wire (compressed, headers included) and requests.
BUDGETS = {
    "sign-in cold": {"bytes": 10 * KB, "scripts": 0},
    "dashboard cold": {"bytes": 30 * KB, "requests": 4},
    "dashboard warm": {"bytes": 8 * KB, "requests": 1},
    "participant form cold": {"bytes": 30 * KB, "requests": 4},
    "participant form warm": {"bytes": 8 * KB, "requests": 1},
    "participant list warm": {"bytes": 8 * KB, "requests": 1},
}
FRAGMENT_BUDGET = 3 * KB
TIMING_TARGETS = {"sign-in cold": 1500, "dashboard warm": 1000}  # DOMContentLoaded, ms

#: What the journey types into the participant form (fields present are filled, others not).
PARTICIPANT = {
    "courtesy_title": "ms",
    "family_name": "BENSALEM",
    "given_names": "Leïla",
    "gender": "f",
    "function": "Programme officer",
    "nationality": "TN",
    "date_of_birth": "1971-03-14",
    "passport_number": "X1234567",
    "passport_country": "TN",
    "passport_expiry": "2009-06-30",
    "email": "l.bensalem@unesco.example",
    "mobile": "+216 71 123 456",
    "arrival_date": "2005-11-15",
    "departure_date": "2005-11-19",
    "visa_required": "no",
}

TYPES = {
    "Document": "document",
    "Stylesheet": "stylesheet",
    "Script": "script",
    "Image": "image",
    "Fetch": "fetch/xhr",
    "XHR": "fetch/xhr",
}
COLUMNS = ["document", "stylesheet", "script", "image", "fetch/xhr", "other"]


class Wire:
    """Collect, through the DevTools protocol, every request of a page and its bytes."""

    def __init__(self, cdp):
        self.requests = {}
        self.order = []
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestServedFromCache", self._from_cache)

    def reset(self):
        self.requests = {}
        self.order = []

    def _entry(self, request_id):
        return self.requests.setdefault(
            request_id, {"bytes": 0, "cached": False, "done": False, "status": None}
        )

    def _sent(self, event):
        request_id = event["requestId"]
        redirect = event.get("redirectResponse")
        if redirect and request_id in self.requests:
            # The redirect (a 303 after a POST) was a request of its own on the wire: it keeps
            # its place, the request it leads to comes after it.
            previous = self.requests.pop(request_id)
            previous.update(bytes=redirect.get("encodedDataLength", 0), done=True)
            previous["status"] = redirect.get("status")
            key = "%s/%d" % (request_id, len(self.order))
            self.requests[key] = previous
            self.order[self.order.index(request_id)] = key
        entry = self._entry(request_id)
        entry["url"] = event["request"]["url"]
        entry["method"] = event["request"]["method"]
        entry["type"] = TYPES.get(event.get("type"), "other")
        entry["htmx"] = any(k.lower() == "hx-request" for k in event["request"].get("headers", {}))
        if request_id not in self.order:
            self.order.append(request_id)

    def _response(self, event):
        entry = self._entry(event["requestId"])
        response = event["response"]
        entry["status"] = response.get("status")
        if response.get("fromDiskCache") or response.get("fromPrefetchCache"):
            entry["cached"] = True
        entry["encoding"] = {k.lower(): v for k, v in response.get("headers", {}).items()}.get(
            "content-encoding", ""
        )
        if event.get("type"):
            entry["type"] = TYPES.get(event["type"], entry.get("type", "other"))

    def _finished(self, event):
        entry = self._entry(event["requestId"])
        entry["bytes"] = int(event.get("encodedDataLength", 0))
        entry["done"] = True

    def _from_cache(self, event):
        self._entry(event["requestId"])["cached"] = True

    def on_wire(self):
        """Return the requests that went over the network (not served from the cache)."""
        return [
            self.requests[r]
            for r in self.order
            if r in self.requests and not self.requests[r]["cached"] and "url" in self.requests[r]
        ]

    def settled(self):
        return all(e["done"] or e["cached"] for e in self.requests.values() if "url" in e)


class Journey:
    def __init__(self, browser, base_url, language, throttle):
        self.base_url = base_url
        self.language = language
        self.context = browser.new_context(
            viewport={"width": 412, "height": 915},
            device_scale_factor=2.6,
            is_mobile=True,
            has_touch=True,
            locale={"fr": "fr-FR", "en": "en-GB", "ar": "ar-TN"}[language],
        )
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        if throttle:
            self.cdp.send("Network.emulateNetworkConditions", REGULAR_2G)
        self.wire = Wire(self.cdp)
        self.rows = []
        self.fragments = []

    def close(self):
        self.context.close()

    def cache(self, enabled):
        self.cdp.send("Network.setCacheDisabled", {"cacheDisabled": not enabled})

    def _settle(self):
        deadline = time.monotonic() + 30
        self.page.wait_for_timeout(50)
        while not self.wire.settled() and time.monotonic() < deadline:
            self.page.wait_for_timeout(50)

    def measure(self, label, action, navigation=True):
        """Run ``action`` and record what crossed the wire, and the page's timings."""
        self.wire.reset()
        action()
        if navigation:
            self.page.wait_for_load_state("load")
        else:
            self.page.wait_for_load_state("networkidle")
        self._settle()
        requests = self.wire.on_wire()
        by_type = dict.fromkeys(COLUMNS, 0)
        for entry in requests:
            by_type[entry["type"]] += entry["bytes"]
        timing = [None, None]
        if navigation:
            timing = self.page.evaluate(
                """() => { const n = performance.getEntriesByType('navigation')[0];
                           return n ? [n.domContentLoadedEventEnd, n.loadEventEnd] : [0, 0]; }"""
            )
        row = {
            "page": label,
            "requests": len(requests),
            "by_type": by_type,
            "total": sum(by_type.values()),
            "dcl": timing[0] if navigation else None,
            "load": timing[1] if navigation else None,
            "scripts": sum(1 for e in requests if e["type"] == "script"),
            "detail": requests,
        }
        self.rows.append(row)
        for entry in requests:
            if entry["type"] == "fetch/xhr" or entry.get("htmx"):
                self.fragments.append(
                    {
                        "step": label,
                        "request": "%s %s" % (entry["method"], _path(entry["url"])),
                        "status": entry["status"],
                        "bytes": entry["bytes"],
                    }
                )
        return row

    def goto(self, path):
        return lambda: self.page.goto(self.base_url + path, wait_until="load")

    def cold_and_warm(self, label, path):
        """Measure ``path`` cold (cache disabled), then warm (static files cached)."""
        self.cache(False)
        self.measure(label + " cold", self.goto(path))
        self.cache(True)
        self.page.goto(self.base_url + path, wait_until="load")  # fills the cache
        self.measure(label + " warm", self.goto(path))


def _path(url):
    return re.sub(r"^https?://[^/]+", "", url)


def discover_routes(env):
    """Return the coordinator's routes (dashboard, participant list and form) from the portal."""
    import json
    import subprocess

    code = r"""
import json
from portal import create_app
app = create_app()
print(json.dumps([(r.endpoint, r.rule, sorted(r.methods)) for r in app.url_map.iter_rules()
                  if r.endpoint.startswith("delegation.") and not r.arguments]))
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    routes = {"dashboard": "/delegation"}
    for endpoint, rule, methods in json.loads(result.stdout.strip().splitlines()[-1]):
        name = endpoint.split(".", 1)[1]
        if name == "dashboard":
            routes["dashboard"] = rule
        elif "participant" in name and "GET" in methods:
            if any(w in name for w in ("new", "add", "create", "form")):
                routes.setdefault("form", rule)
            elif "export" not in name and "list" not in routes:
                routes["list"] = rule
    return routes


def fill_participant(page):
    """Fill the participant form's fields that exist; return the names filled."""
    filled = []
    for name, value in PARTICIPANT.items():
        field = page.locator("form [name='%s']" % name).first
        if field.count() == 0:
            continue
        tag = field.evaluate("e => e.tagName.toLowerCase() + ':' + (e.type || '')")
        if tag.startswith("select"):
            options = field.evaluate("e => Array.from(e.options).map(o => o.value)")
            choice = value if value in options else next((o for o in options if o), None)
            if choice is not None:
                field.select_option(choice)
        elif tag in ("input:radio",):
            page.locator("form [name='%s'][value='%s']" % (name, value)).first.check()
        elif tag in ("input:checkbox",):
            field.check()
        else:
            field.fill(value)
        filled.append(name)
    return filled


def run_journey(browser, base_url, language, routes, throttle):
    username, password = COORDINATORS[language]
    journey = Journey(browser, base_url, language, throttle)
    page = journey.page
    try:
        journey.cache(False)
        journey.measure("sign-in cold", journey.goto("/login"))

        def sign_in():
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("form button.primary, form button[type=submit]")
            page.wait_for_url("**" + routes["dashboard"] + "*")

        journey.cache(True)
        journey.measure("sign in (POST, then dashboard)", sign_in)
        journey.cold_and_warm("dashboard", routes["dashboard"])
        if "form" in routes:
            journey.cold_and_warm("participant form", routes["form"])

            def fill():
                fill_participant(page)
                page.keyboard.press("Tab")  # leave the last field: its check goes out too

            def save():
                # "Save as draft" when the form has it (a submission needs a photo).
                button = page.locator("form button[name=save]")
                if button.count() == 0:
                    button = page.locator("form button.primary, form button[type=submit]")
                with page.expect_response(
                    lambda r: r.request.method == "POST" and "/validate/" not in r.url
                ) as answer:
                    button.first.click()
                target = answer.value.headers.get("hx-redirect")
                if target:  # saved: htmx loads the list
                    page.wait_for_url("**" + target.split("#")[0] + "*")
                    page.wait_for_load_state("load")

            # Each field is checked by the server as it is left (an HTMX fragment each).
            journey.measure("fill participant (live checks)", fill, navigation=False)
            journey.measure("save participant (HTMX)", save, navigation=False)
            errors = page.locator(".error:visible").all_inner_texts()
            if errors:
                print("  (%s: the form answered with errors: %s)" % (language, "; ".join(errors)))
        if "list" in routes:
            journey.cold_and_warm("participant list", routes["list"])
    finally:
        journey.close()
    return journey


def check_budgets(language, journey):
    problems = []
    for row in journey.rows:
        budget = BUDGETS.get(row["page"])
        if not budget:
            continue
        if "bytes" in budget and row["total"] >= budget["bytes"]:
            problems.append(
                "%s %s: %d bytes (budget < %d)"
                % (language, row["page"], row["total"], budget["bytes"])
            )
        if "requests" in budget and row["requests"] > budget["requests"]:
            problems.append(
                "%s %s: %d requests (budget <= %d)"
                % (language, row["page"], row["requests"], budget["requests"])
            )
        if "scripts" in budget and row["scripts"] > budget["scripts"]:
            problems.append(
                "%s %s: %d scripts (budget: none)" % (language, row["page"], row["scripts"])
            )
    for fragment in journey.fragments:
        if fragment["bytes"] >= FRAGMENT_BUDGET:
            problems.append(
                "%s fragment %s: %d bytes (budget < %d)"
                % (language, fragment["request"], fragment["bytes"], FRAGMENT_BUDGET)
            )
    return problems


def print_requests(journey):
    for row in journey.rows:
        print("  %s:" % row["page"])
        for entry in row["detail"]:
            print(
                "    %-4s %-60s %s %-10s %6d %s"
                % (
                    entry["method"],
                    _path(entry["url"])[:60],
                    entry["status"],
                    entry["type"],
                    entry["bytes"],
                    entry.get("encoding") or "",
                )
            )


def print_journey(language, journey, throttle):
    print()
    print("== %s%s" % (language, " (Regular 2G)" if throttle else " (no throttling)"))
    headers = ["page", "reqs", *COLUMNS, "total", "DCL ms", "load ms"]
    rows = []
    for row in journey.rows:
        rows.append(
            [
                row["page"],
                str(row["requests"]),
                *(str(row["by_type"][c]) for c in COLUMNS),
                str(row["total"]),
                "%.0f" % row["dcl"] if row["dcl"] is not None else "-",
                "%.0f" % row["load"] if row["load"] is not None else "-",
            ]
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    if journey.fragments:
        print("HTMX fragments:")
        for fragment in journey.fragments:
            print(
                "  %-32s %s  %5d bytes"
                % (fragment["request"], fragment["status"], fragment["bytes"])
            )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check-bytes", action="store_true", help="no throttling: check the byte budgets only"
    )
    parser.add_argument("--languages", default="fr,en,ar")
    parser.add_argument("--url", help="measure a portal already running here (with demo data)")
    parser.add_argument("--detail", action="store_true", help="print every request of each step")
    args = parser.parse_args(argv)
    throttle = not args.check_bytes

    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        sys.exit("Debian's chromium is not installed (make bench-pages installs it)")
    workdir = tempfile.mkdtemp(prefix="portal-pages-")
    env = base_env(fresh_sqlite(workdir))
    routes = discover_routes(env)
    server = None
    if args.url:
        base_url = args.url.rstrip("/")
    else:
        prepare_database(env)
        server = Gunicorn(env, log_path=os.path.join(workdir, "portal.log")).start()
        base_url = server.url
    print(
        "== page weight: %s; portal at %s; journey: %s"
        % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            base_url,
            ", ".join("%s %s" % kv for kv in routes.items()),
        )
    )
    missing = [name for name in ("form", "list") if name not in routes]
    if missing:
        print("(not in portal/delegation yet, not measured: %s)" % ", ".join(missing))
    problems = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                for language in args.languages.split(","):
                    journey = run_journey(browser, base_url, language, routes, throttle)
                    print_journey(language, journey, throttle)
                    if args.detail:
                        print_requests(journey)
                    problems += check_budgets(language, journey)
                    if throttle:
                        for row in journey.rows:
                            target = TIMING_TARGETS.get(row["page"])
                            if target and row["dcl"] is not None and row["dcl"] > target:
                                print(
                                    "  timing: %s DOMContentLoaded %.0f ms (target %d ms)"
                                    % (row["page"], row["dcl"], target)
                                )
            finally:
                browser.close()
    finally:
        if server:
            server.stop()
    print()
    if problems:
        print("BYTE BUDGETS EXCEEDED:\n  " + "\n  ".join(problems))
        return 1
    print(
        "every byte budget met (sign-in < 10 KB without script; dashboard and form < 30 KB in "
        "<= 4 requests cold, < 8 KB in 1 warm; fragments < 3 KB)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
