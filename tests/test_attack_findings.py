"""Findings of an attack on the portal: each test proves one of them fixed (and fails without
the fix). Named after the finding's number in the report."""

import datetime as dt
import io
import math
import os
import re
import struct
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest
from PIL import Image, ImageFile
from werkzeug.routing import IntegerConverter

from portal.db import database
from portal.models import ROLE_SECRETARIAT, Account, Participant, Photo, utcnow
from portal.services import DomainError, accounts, passwords, photos, prepcom

from .conftest import ROOT, csrf_token
from .test_delegation_helpers import complete, jpeg, post_form

PASSWORD = "Correct-horse-42"
# Past PostgreSQL's integer, past SQLite's 64 bits, and past what int() reads at all.
HUGE = ("2147483648", "9223372036854775808", "99999999999999999999999", "9" * 5000)
METHODS = ("GET", "POST")
TEXT = {"code": "en", "lang": "en"}
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def people(app, make_org, make_account, make_participant, make_event):
    make_event("open")
    org = make_org("ORGA", name_en="Organization A")
    make_account("coord.a", organization=org)
    make_account("secretariat.x", role=ROLE_SECRETARIAT)
    return {"org": org, "person": make_participant(org, family_name="ALPHA")}


def signed_in(app, username, password=PASSWORD):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": password}
    )
    assert response.status_code == 303
    client.token = csrf_token(client.get("/account/password").get_data(as_text=True))
    return client


# -- 4. Integers past 64 bits -------------------------------------------------------------------


def _huge_urls(app, huge):
    """Every route with each integer in its path set to ``huge``, and every route with huge
    integers in the query string."""
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if rule.endpoint == "static" or rule.endpoint == "auth.logout":
                continue
            ints = [n for n in rule.arguments if isinstance(rule._converters[n], IntegerConverter)]
            # Written into the rule's text: building would convert the number first.
            url = re.sub(
                r"<(?:(\w+):)?(\w+)>",
                lambda m: huge if m.group(2) in ints else TEXT.get(m.group(2), "x"),
                rule.rule,
            )
            query = "?page=%s&organization=%s&participant=%s" % (huge, huge, huge)
            for method in METHODS:
                if method in rule.methods:
                    if ints:
                        yield rule, method, url
                    yield rule, method, url + query


@pytest.mark.parametrize("role", ["anonymous", "coord.a", "secretariat.x"])
def test_finding_4_integers_past_64_bits_never_answer_500(app, people, role):
    client = app.test_client() if role == "anonymous" else signed_in(app, role)
    token = getattr(client, "token", None) or csrf_token(
        client.get("/login").get_data(as_text=True)
    )
    walked = 0
    for huge in HUGE:
        for rule, method, url in _huge_urls(app, huge):
            data = {"csrf_token": token, "participant": huge + ":" + huge, "version": huge}
            response = client.open(url, method=method, data=data if method == "POST" else None)
            assert response.status_code < 500, "%s %s" % (method, url[:120])
            if "<int:" in rule.rule and "?" not in url and role != "anonymous":
                assert response.status_code in (404, 405), "%s %s" % (method, url[:120])
            walked += 1
    assert walked > 40
    if role == "secretariat.x":
        for path in ("/secretariat/queue", "/secretariat/audit", "/secretariat/accounts"):
            assert client.get(path + "?page=922337203685477580").status_code == 400
            assert client.get(path + "?page=2").status_code == 200
    if role == "coord.a":
        assert client.get("/delegation/participants?page=922337203685477580").status_code == 400
        assert client.get("/delegation/participants/99999999999999999999999").status_code == 404


# -- 3. A newline in next -----------------------------------------------------------------------

BAD_NEXT = ["/\nx", "/\r\nSet-Cookie: a=b", "/x\u2028y", "/\u202eevil", "/ x", "/x\x00"]


def test_finding_3_a_newline_in_next_is_ignored_by_the_language_switch(client):
    for target in ["/%0Ax", "/%0D%0ALocation:%20//evil.example", "/%E2%80%AEx"]:
        response = client.get("/language/en?next=" + target)
        assert response.status_code == 303, target
        assert response.headers["Location"] == "/", target
    response = client.get("/language/en?next=/delegation%3Fpage%3D2")
    assert response.headers["Location"] == "/delegation?page=2"


@pytest.mark.parametrize("target", BAD_NEXT)
def test_finding_3_a_newline_in_next_does_not_lose_the_sign_in(app, people, target):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": csrf_token(page), "username": "coord.a", "password": PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert client.get("/delegation").status_code == 200


@pytest.mark.parametrize("target", BAD_NEXT[:2])
def test_finding_3_a_newline_in_next_after_a_decision(app, people, target):
    from portal.db import database
    from portal.models import Participant

    with app.app_context(), database.connection_context():
        Participant.update(status="submitted").execute()
    client = signed_in(app, "secretariat.x")
    person = people["person"].id
    response = client.post(
        "/secretariat/participants/%d/decision" % person,
        data={"csrf_token": client.token, "decision": "accredit", "next": target},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/secretariat/participants/%d" % person
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(person).status == "accredited"


def test_finding_3_one_judge_of_next():
    from portal import access, i18n
    from portal.auth import views as auth_views
    from portal.secretariat import views as secretariat_views

    assert i18n.safe_next is access.safe_next is auth_views.safe_next
    assert secretariat_views.safe_next is access.safe_next
    for target in BAD_NEXT + ["//evil.example", "/\\evil", "https://evil.example/", "x", ""]:
        assert access.safe_next(target, None) is None, target
        local = access._local_path("http://localhost" + target)
        assert local is None or access.safe_next(local, None) == local, target
    assert access.safe_next("/delegation?page=2&q=Ben%20Ali") == "/delegation?page=2&q=Ben%20Ali"
    assert access._local_path("http://localhost/delegation?page=2") == "/delegation?page=2"


# -- 1. Memory by image -------------------------------------------------------------------------

#: What one decode may add to a worker's memory at its peak (a worker holds 60 to 70 MB
#: before: under 150 MB with one decode at a time): the 48 MiB budget the header check
#: enforces, plus what Pillow and the badge take around it.
DECODE_BOUND = 64 * 1024 * 1024

MEASURE = r"""
import sys
data = open(sys.argv[1], "rb").read()
from portal.services import photos


def status(field):
    with open("/proc/self/status") as fh:
        return int(next(line for line in fh if line.startswith(field)).split()[1]) * 1024


before = status("VmRSS:")
try:
    photos.process(data, 64 * 1024 * 1024)
    outcome = "accepted"
except photos.PhotoError:
    outcome = "refused"
# The process's peak resident memory: getrusage's ru_maxrss, except that a child keeps its
# parent's figure across fork and exec (pytest's own size), while VmHWM starts afresh.
print(outcome, status("VmHWM:") - before)
"""


def decode_in_a_process(tmp_path, data):
    """Process ``data`` in a fresh Python; return (outcome, bytes added at the peak)."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": ROOT},
        check=True,
    )
    outcome, added = result.stdout.split()[-2:]
    return outcome, int(added)


def image_bytes(fmt, mode, side, **options):
    image = Image.new("P" if mode == "P+transparency" else mode, (side, side))
    if mode == "P+transparency":
        options["transparency"] = 0
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# (format, mode, save options): every way of asking for much memory with a small file.
KINDS = [
    ("JPEG", "RGB", {}),
    ("JPEG", "CMYK", {}),
    ("JPEG", "RGB", {"progressive": True, "subsampling": 0}),
    ("PNG", "1", {}),
    ("PNG", "L", {}),
    ("PNG", "P", {}),
    ("PNG", "P+transparency", {}),
    ("PNG", "RGB", {}),
    ("PNG", "RGBA", {}),
    ("PNG", "LA", {}),
    ("PNG", "I;16", {}),
    ("WEBP", "RGBA", {}),
    ("WEBP", "RGB", {}),
    ("GIF", "P", {}),
    ("TIFF", "RGB", {"compression": "tiff_deflate"}),
    ("TIFF", "F", {"compression": "tiff_deflate"}),
]


def _accepted(fmt, mode, side, options):
    """Whether the header check lets a square of ``side`` through. Only a JPEG's markers are
    read beyond its header: any other kind is asked about without making the image."""
    if fmt == "JPEG":
        data = image_bytes(fmt, mode, side, **options)
        probe = Image.open(io.BytesIO(data))
    else:
        data = None
        info = {"transparency": 0} if mode == "P+transparency" else {}
        probe = SimpleNamespace(format=fmt, mode=mode.split("+")[0], size=(side, side), info=info)
    try:
        photos.check_cost(probe, data)
    except photos.PhotoError:
        return False
    return True


def worst_accepted(fmt, mode, options):
    """The largest square image of this kind that the header check lets through."""
    low, high = 200, math.isqrt(photos.MAX_PIXELS) + 1
    assert _accepted(fmt, mode, low, options)
    while high - low > max(8, low // 100):
        middle = (low + high) // 2
        low, high = (middle, high) if _accepted(fmt, mode, middle, options) else (low, middle)
    data = image_bytes(fmt, mode, low, **options)
    photos.check_cost(Image.open(io.BytesIO(data)), data)  # the real file passes too
    return low, data


def test_finding_1_memory_by_image_the_attack_upload_stays_small(tmp_path):
    # The attack: a 7070 x 7070 PNG of about 200 KB took a worker to 544 MB.
    data = image_bytes("PNG", "RGBA", 7070)
    assert len(data) < 300_000
    outcome, added = decode_in_a_process(tmp_path, data)
    assert outcome == "refused"
    assert added < DECODE_BOUND, "%.0f MB" % (added / 2**20)


@pytest.mark.parametrize(("fmt", "mode", "options"), KINDS, ids=lambda k: str(k))
def test_finding_1_memory_by_image_the_worst_accepted_image_stays_under_the_bound(
    tmp_path, fmt, mode, options
):
    side, data = worst_accepted(fmt, mode, options)
    # What a badge can need is still accepted: a scan, a screenshot, a phone's photo.
    assert side * side >= (12_000_000 if fmt == "JPEG" and not options else 2_000_000)
    outcome, added = decode_in_a_process(tmp_path, data)
    assert outcome == "accepted"
    assert added < DECODE_BOUND, "%s %s %dx%d: %.0f MB" % (fmt, mode, side, side, added / 2**20)


class WatchedSlots:
    """The worker's decode slots, telling when an upload has to wait for one."""

    def __init__(self, count):
        self._slots = threading.BoundedSemaphore(count)
        self.waiting = threading.Event()

    def __enter__(self):
        if not self._slots.acquire(blocking=False):
            self.waiting.set()
            self._slots.acquire()
        return self

    def __exit__(self, *exc):
        self._slots.release()


def test_finding_1_memory_by_image_one_decode_at_a_time(monkeypatch):
    slots = WatchedSlots(1)
    monkeypatch.setattr(photos, "_SLOTS", slots)
    decoding, release, entered = threading.Event(), threading.Event(), []
    real_open = photos._open

    def blocking_open(data):
        entered.append(data)
        decoding.set()
        assert release.wait(30)
        return real_open(data)

    monkeypatch.setattr(photos, "_open", blocking_open)
    results = []

    def upload(color):
        results.append(photos.process(jpeg(color=color), 5 * 1024 * 1024))

    first = threading.Thread(target=upload, args=((200, 0, 0),))
    first.start()
    assert decoding.wait(30)
    second = threading.Thread(target=upload, args=((0, 200, 0),))
    second.start()
    assert slots.waiting.wait(30)  # the second upload waits for the slot...
    assert len(entered) == 1  # ...while the first is still decoding
    release.set()
    first.join(30)
    second.join(30)
    assert len(entered) == 2 and len(results) == 2
    assert results[0].digest != results[1].digest


def test_finding_1_memory_by_image_the_number_of_slots_is_a_setting():
    code = "from portal.services import photos; print(photos._SLOTS._value)"
    for value, expected in (("3", "3"), (None, "1")):
        env = {k: v for k, v in os.environ.items() if k != "PORTAL_PHOTO_CONCURRENCY"}
        if value:
            env["PORTAL_PHOTO_CONCURRENCY"] = value
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert out.stdout.strip() == expected, out.stderr


# -- 7. Empty and truncated photos --------------------------------------------------------------


def photo_jpeg(width, height, **options):
    image = Image.new("RGB", (width, height), (120, 90, 60))
    image.paste((10, 10, 10), (0, 0, width, height // 10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, **options)
    return out.getvalue()


def lying_jpeg(width, height, **options):
    """A 300 x 400 JPEG whose header announces ``width`` x ``height``."""
    data = bytearray(photo_jpeg(300, 400, **options))
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = data.find(marker)
        if at >= 0:
            struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


@pytest.mark.parametrize("options", [{}, {"progressive": True}], ids=["baseline", "progressive"])
def test_finding_7_a_jpeg_whose_data_ends_early_is_refused(options):
    data = lying_jpeg(3000, 4000, **options)
    assert Image.open(io.BytesIO(data)).size == (3000, 4000)
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(data, 5 * 1024 * 1024)
    assert "damaged or incomplete" in str(caught.value.message)
    # The honest file is accepted, and so is a real image of that size.
    photos.process(photo_jpeg(300, 400, **options), 5 * 1024 * 1024)
    photos.process(photo_jpeg(3000, 4000, **options), 5 * 1024 * 1024)


def test_finding_7_a_png_cut_short_is_refused():
    out = io.BytesIO()
    Image.frombytes("RGB", (600, 800), os.urandom(600 * 800 * 3)).save(out, "PNG")
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(out.getvalue()[: len(out.getvalue()) // 2], 5 * 1024 * 1024)
    assert "damaged or incomplete" in str(caught.value.message)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.fixture
def coordinator(app, people):
    return signed_in(app, "coord.a")


@pytest.mark.parametrize("lang", ["en", "fr", "ar"])
def test_finding_7_an_empty_file_is_refused_in_every_language(app, coordinator, lang):
    coordinator.get("/language/" + lang)
    response = post_form(coordinator, complete(), photo=b"", filename="photo.jpg")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    expected = {
        "en": "The file is empty",
        "fr": "Le fichier est vide",
        "ar": "الملف فارغ",
    }[lang]
    assert expected in html
    with app.app_context(), database.connection_context():
        assert Photo.select().count() == 0
        assert Participant.select().where(Participant.family_name == "BENALI").count() == 0


def test_finding_7_a_lying_jpeg_through_the_form(app, coordinator):
    response = post_form(coordinator, complete(), photo=lying_jpeg(3000, 4000))
    assert response.status_code == 422
    assert "damaged or incomplete" in response.get_data(as_text=True)
    # No photo chosen at all is still fine.
    assert post_form(coordinator, complete()).status_code == 303


# -- 5. Password policy -------------------------------------------------------------------------

INVISIBLE_PASSWORDS = {
    "spaces": " " * 8,
    "zero-width spaces": "\u200b" * 8,
    "NULs": "\x00" * 8,
    "tabs and line breaks": "\t\n" * 4,
    "no-break spaces": "\u00a0" * 8,
    "Hangul fillers": "\u3164" * 8,
    "a control inside": "Tunis\x002005!",
}


@pytest.mark.parametrize("name", sorted(INVISIBLE_PASSWORDS))
def test_finding_5_blank_invisible_or_control_passwords_refused(app, name):
    with app.test_request_context():
        assert passwords.password_problem(INVISIBLE_PASSWORDS[name], "amina") is not None


def test_finding_5_the_username_with_a_digit_added_refused(app):
    with app.test_request_context(headers=ENGLISH):
        for password in ("wipo-focal1", "wipo-focal2005", "1wipo-focal", "WIPO-FOCAL7"):
            assert "username" in str(passwords.password_problem(password, "wipo-focal"))
        # Spaces inside are welcome, and so is the username inside a longer phrase.
        assert passwords.password_problem("the wipo-focal of Geneva", "wipo-focal") is None
        assert passwords.password_problem("correct horse battery", "wipo-focal") is None
        assert passwords.password_problem("  Tunis 2005 ok  ", "wipo-focal") is None


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "only of spaces or invisible characters"),
        ("fr", "uniquement d’espaces ou de caractères invisibles"),
        ("ar", "مسافات أو محارف غير مرئية"),
    ],
)
def test_finding_5_a_password_of_spaces_cannot_be_chosen(app, people, lang, expected):
    client = signed_in(app, "coord.a")
    client.get("/language/" + lang)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": client.token,
            "current_password": PASSWORD,
            "new_password": " " * 8,
            "confirm": " " * 8,
        },
    )
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    client.post("/logout", data={"csrf_token": client.token})
    assert signed_in(app, "coord.a")  # the old password still works


# -- 6. Usernames the secretariat creates -------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("wipo\u2010focal", "looks like an existing one (wipo-focal)"),  # U+2010 HYPHEN
        ("wіpo-focal", "looks like an existing one (wipo-focal)"),  # Cyrillic i
        ("WIPO-FOCAL\u200b", "invisible"),
        ("wipo\u202efocal", "invisible"),  # right-to-left override
        ("wipo focal", "spaces"),
        ("wipo-focal", "exists already"),
    ],
)
def test_finding_6_look_alike_and_invisible_usernames_refused(
    app, people, make_account, username, expected
):
    make_account("wipo-focal", organization=people["org"])
    client = signed_in(app, "secretariat.x")
    response = client.post(
        "/secretariat/organizations/%d/coordinators" % people["org"].id,
        data={
            "csrf_token": client.token,
            "username": username,
            "given_name": "Ana",
            "family_name": "LIMA",
            "email": "ana@example.org",
            "language": "en",
        },
    )
    assert response.status_code == 422
    assert expected in response.get_data(as_text=True)
    with app.app_context(), database.connection_context():
        assert Account.select().where(Account.given_name == "Ana").count() == 0


def test_finding_6_a_new_name_is_still_created(app, people, make_account):
    make_account("wipo-focal", organization=people["org"])
    with app.test_request_context(headers=ENGLISH), database.connection_context():
        actor = Account.get(Account.username_key == "secretariat.x")
        created = accounts.add_coordinator(
            actor, people["org"].id, " wipo-deputy ", "Ana", "LIMA", "a@example.org", "en"
        )
        assert created.username == "wipo-deputy"
        with pytest.raises(DomainError, match="looks like"):
            accounts.create_secretariat("secretariat.×", "Long-enough-42")
        with pytest.raises(DomainError, match="looks like"):
            accounts.create_secretariat("wip0-deputy", "Long-enough-42")  # 0 for O
        accounts.create_secretariat("itu.registration", "Long-enough-42")


def test_finding_6_look_alikes_refused_in_a_prepcom_import(app, people, make_account):
    make_account("wipo-focal", organization=people["org"])
    header = (
        "username,password_hash,org_code,org_name_en,org_name_fr,org_category,"
        "given_name,family_name,email,language\n"
    )
    row = "%s,faa328d0ea72442e57fd9205cc69e494,ITC,Trade,Commerce,UN,Ann,Lee,%s@itc.example,en\n"
    data = header + "".join(
        row % (name, "a%d" % i)
        for i, name in enumerate(["wipo\u2010focal", "itc\u202eone", "itc.two", "itc.tw\u03bf"])
    )
    with app.test_request_context(headers=ENGLISH), database.connection_context():
        report = prepcom.import_accounts(data.encode("utf-8"))
    messages = {error.line: error.message for error in report.errors}
    assert "looks like wipo-focal" in messages[2]
    assert "invisible" in messages[3]
    assert 4 not in messages
    assert "looks like itc.two" in messages[5]
    assert report.created == 0


# -- 10. Device cookies -------------------------------------------------------------------------


def sign_in(client, username, password):
    page = client.get("/login").get_data(as_text=True)
    return client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": password}
    )


def device_cookie(client):
    cookie = client.get_cookie(accounts.DEVICE_COOKIE, path="/login")
    return cookie.value if cookie else None


def test_finding_10_an_attacker_cannot_lock_out_a_known_browser(app, people, make_account):
    make_account("coord.b", organization=people["org"])
    coordinator = app.test_client()
    assert sign_in(coordinator, "coord.a", PASSWORD).status_code == 303
    cookie = device_cookie(coordinator)
    assert cookie
    coordinator.post("/logout", data={"csrf_token": signed_in_token(coordinator)})
    other = app.test_client()
    assert sign_in(other, "coord.b", PASSWORD).status_code == 303

    attacker = app.test_client()
    for _ in range(5):
        assert sign_in(attacker, "coord.a", "wrong-password").status_code == 422
    refused = sign_in(attacker, "coord.a", PASSWORD)
    assert refused.status_code == 422 and "Retry-After" in refused.headers

    # The coordinator's own browser signs in all the same.
    assert sign_in(coordinator, "coord.a", PASSWORD).status_code == 303
    # A browser without the cookie is still refused: the lock-out holds.
    assert sign_in(app.test_client(), "coord.a", PASSWORD).status_code == 422
    # Another account's cookie (stolen from coord.b's browser) does not help...
    thief = app.test_client()
    thief.set_cookie(accounts.DEVICE_COOKIE, device_cookie(other), path="/login")
    assert sign_in(thief, "coord.a", PASSWORD).status_code == 422
    # ...nor a forged one.
    payload, signature = cookie.rsplit(".", 1)
    forged = app.test_client()
    forged.set_cookie(accounts.DEVICE_COOKIE, payload + ".x" + signature[1:], path="/login")
    assert sign_in(forged, "coord.a", PASSWORD).status_code == 422
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "coord.a")
        assert account.locked_until is not None  # still locked for everyone else


def signed_in_token(client):
    return csrf_token(client.get("/account/password").get_data(as_text=True))


def test_finding_10_a_device_has_its_own_lock_out(app, people):
    browser = app.test_client()
    assert sign_in(browser, "coord.a", PASSWORD).status_code == 303
    browser.post("/logout", data={"csrf_token": signed_in_token(browser)})
    for _ in range(5):
        assert sign_in(browser, "coord.a", "wrong-password").status_code == 422
    refused = sign_in(browser, "coord.a", PASSWORD)
    assert refused.status_code == 422 and "Retry-After" in refused.headers
    # Counted for the device alone: the account itself is not locked.
    with app.app_context(), database.connection_context():
        account = Account.get(Account.username_key == "coord.a")
        assert account.failed_logins == 0 and account.locked_until is None
    assert sign_in(app.test_client(), "coord.a", PASSWORD).status_code == 303


def test_finding_10_a_device_cookie_expires(app, people):
    with app.test_request_context(), database.connection_context():
        account = Account.get(Account.username_key == "coord.a")
        now = utcnow()
        cookie = accounts.issue_device_cookie(account, now)
        assert accounts.device_of(cookie, account, now + dt.timedelta(days=89))
        assert accounts.device_of(cookie, account, now + dt.timedelta(days=91)) is None
        # The account locked by someone else; the expired cookie no longer passes.
        Account.update(locked_until=now + dt.timedelta(days=200)).execute()
        later = now + dt.timedelta(days=91)
        with pytest.raises(accounts.SignInError):
            accounts.authenticate("coord.a", PASSWORD, device_cookie=cookie, now=later)
        soon = now + dt.timedelta(days=1)
        assert accounts.authenticate("coord.a", PASSWORD, device_cookie=cookie, now=soon)
