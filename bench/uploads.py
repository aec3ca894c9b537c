"""Upload benchmark (``make bench-uploads``): badge photos sent all at once to the portal under
gunicorn as production runs it, and what the workers' memory does.

In one run it:

1. creates a fresh SQLite database with the demo data and starts the portal
   (``gunicorn.conf.py``, ``PORTAL_ENV=production``) on loopback;
2. signs in as WIPO's coordinator and opens the participant form once per upload (each upload
   carries its own one-time submission key);
3. sends ``--uploads`` (64) uploads at once, each a complete participant with a photo, taking
   turns among: the attack's 50-megapixel PNG (7,070 x 7,070, about 200 KB), a 50-megapixel
   JPEG, and the largest images of each costly kind that the portal accepts (a 25-megapixel
   JPEG, an RGBA PNG, a progressive JPEG, a WebP, a palette PNG with transparency);
4. prints each worker's peak resident memory (sampled every 50 ms), the statuses (expect 303
   for accepted photos, 422 for refused ones, never a 500), and the time the burst took.

Target: every worker under 150 MB, no 500. ``--strict`` exits non-zero on a miss. Requests go
to 127.0.0.1 only; the run is bounded by ``--uploads`` and a 120 s timeout per request.
"""

import argparse
import collections
import http.client
import io
import math
import os
import re
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import COORDINATORS, Client, Gunicorn, base_env, fresh_sqlite, prepare_database  # noqa: E402
from server import RssSampler, table  # noqa: E402

TARGET_RSS_MB = 150
KEY_RE = re.compile(r'name="submission_key" type="hidden" value="([^"]*)"')
VERSION_RE = re.compile(r'name="version" type="hidden" value="([^"]*)"')
NEW = "/delegation/participants/new"
PARTICIPANT = {
    "courtesy_title": "mr",
    "family_name": "BENALI",
    "given_names": "Karim",
    "gender": "m",
    "function": "Director",
    "nationality": "TN",
    "date_of_birth": "1960-04-02",
    "passport_number": "P1234567",
    "passport_country": "TN",
    "passport_expiry": "2009-01-01",
    "email": "k.benali@example.org",
    "mobile": "+216 71 234 567",
    "arrival_date": "2005-11-15",
    "departure_date": "2005-11-19",
    "visa_required": "no",
}


def images():
    """Return [(label, file name, bytes)]: the attack and the worst the portal accepts."""
    from PIL import Image

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from portal.services import photos

    def save(image, fmt, **options):
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    def largest(fmt, mode, per_pixel):
        side = math.isqrt(min(photos.MAX_PIXELS, photos.DECODE_BUDGET // per_pixel)) - 16
        return side

    made = [
        ("attack PNG 7070x7070 RGBA", "photo.png", save(Image.new("RGBA", (7070, 7070)), "PNG")),
        ("JPEG 7070x7070", "photo.jpg", save(Image.new("RGB", (7070, 7070), "grey"), "JPEG")),
    ]
    side = math.isqrt(photos.MAX_PIXELS) - 16
    made.append(
        ("JPEG %dx%d" % (side, side), "photo.jpg", save(Image.new("RGB", (side, side)), "JPEG"))
    )
    kinds = [
        ("PNG", "RGBA", photos.PEAK_BYTES_PER_PIXEL["RGBA"], {}),
        ("PNG", "P", photos.PEAK_BYTES_PER_PIXEL["P+transparency"], {"transparency": 0}),
        ("WEBP", "RGBA", photos.WEBP_BYTES_PER_PIXEL, {}),
        ("JPEG", "RGB", 6, {"progressive": True, "subsampling": 0}),
    ]
    for fmt, mode, per_pixel, options in kinds:
        side = largest(fmt, mode, per_pixel + (1 if fmt == "JPEG" else 0))
        data = save(Image.new(mode, (side, side)), fmt, **options)
        label = "%s%s %dx%d %s" % (
            "progressive " if options.get("progressive") else "",
            fmt,
            side,
            side,
            mode + ("+transparency" if "transparency" in options else ""),
        )
        made.append((label, "photo." + fmt.lower(), data))
    return made


def multipart(fields, photo_name, photo):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(
            '--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
            % (boundary, name, value)
        )
    head = "".join(parts) + (
        '--%s\r\nContent-Disposition: form-data; name="photo"; filename="%s"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n" % (boundary, photo_name)
    )
    body = head.encode() + photo + ("\r\n--%s--\r\n" % boundary).encode()
    return body, "multipart/form-data; boundary=" + boundary


def upload(server, cookies, fields, photo_name, photo):
    body, content_type = multipart(fields, photo_name, photo)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    try:
        conn.request(
            "POST", NEW, body=body, headers={"Content-Type": content_type, "Cookie": cookies}
        )
        return conn.getresponse().status
    except OSError as exc:
        return type(exc).__name__
    finally:
        conn.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=64, help="uploads sent at once (<= 256)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    count = max(1, min(args.uploads, 256))
    workdir = tempfile.mkdtemp(prefix="portal-bench-uploads-")
    env = base_env(fresh_sqlite(workdir))
    prepare_database(env)
    pictures = images()
    print(
        "== upload benchmark: %s, %d cores" % (time.strftime("%Y-%m-%d %H:%M UTC"), os.cpu_count())
    )
    print("load average before the run: %.2f %.2f %.2f (a shared machine)" % os.getloadavg())
    for label, _name, data in pictures:
        print("  %-40s %8d bytes" % (label, len(data)))
    portal = Gunicorn(env, log_path=os.path.join(workdir, "portal.log"))
    failures = []
    with portal:
        client = Client(portal.url)
        client.sign_in(*COORDINATORS["en"])
        forms = []
        for _ in range(count):
            html = client.get(NEW).text()
            token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
            key, version = KEY_RE.search(html), VERSION_RE.search(html)
            forms.append(
                {
                    "csrf_token": token,
                    "submission_key": key.group(1) if key else "",
                    "version": version.group(1) if version else "",
                    **PARTICIPANT,
                    # Different people: the same passport twice is refused as a duplicate.
                    "passport_number": "P%07d" % (1000 + len(forms)),
                    "family_name": "BENALI-"
                    + chr(65 + len(forms) % 26)
                    + chr(65 + len(forms) // 26),
                }
            )
        cookies = client.cookie_header()
        baseline = {}
        sampler = RssSampler(portal, interval=0.05)
        sampler.sample()
        baseline = dict(sampler.peak)
        sampler.peak.clear()
        results = [None] * count
        start = threading.Barrier(count + 1)

        def send(i):
            label, name, data = pictures[i % len(pictures)]
            start.wait()
            results[i] = (label, upload(portal, cookies, forms[i], name, data))

        threads = [threading.Thread(target=send, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        with sampler:
            began = time.monotonic()
            start.wait()
            for thread in threads:
                thread.join()
            took = time.monotonic() - began
        sampler.sample()
        errors = [line for line in portal.log().splitlines() if "Traceback" in line]
    statuses = collections.Counter(results)
    print()
    print("%d uploads at once in %.1f s:" % (count, took))
    table(
        [(label, status, n) for (label, status), n in sorted(statuses.items(), key=str)],
        ["photo", "status", "uploads"],
    )
    print()
    rows = []
    for pid, kib in sorted(sampler.peak.items()):
        rows.append((pid, "%.1f" % (baseline.get(pid, 0) / 1024), "%.1f" % (kib / 1024)))
        if kib / 1024 >= TARGET_RSS_MB:
            failures.append("worker %d: %.1f MB resident" % (pid, kib / 1024))
    table(rows, ["worker pid", "RSS before MB", "peak RSS MB"])
    for (label, status), n in statuses.items():
        if status == 500 or not isinstance(status, int):
            failures.append("%d uploads of %s answered %s" % (n, label, status))
    if errors:
        failures.append("%d tracebacks in the portal's log" % len(errors))
    print()
    print("load average after the run: %.2f %.2f %.2f" % os.getloadavg())
    if failures:
        print("TARGETS MISSED:\n  " + "\n  ".join(failures))
        return 1 if args.strict else 0
    print("all targets met (every worker under %d MB, no 500)" % TARGET_RSS_MB)
    return 0


if __name__ == "__main__":
    sys.exit(main())
