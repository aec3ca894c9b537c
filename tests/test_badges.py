"""Badges: the PDF a card printer gets (text checked with pdftotext, the QR code decoded with
zbarimg), printed and reprinted through the lifecycle, the verification address on it, who may
have one, and a print run that one bad record does not stop."""

import datetime as dt
import re
import shutil
import subprocess

import pytest

from portal import lifecycle
from portal.db import database
from portal.documents import badges as documents
from portal.models import (
    ACCREDITED,
    BADGE_PRINTED,
    BADGE_TO_PRINT,
    ROLE_SECRETARIAT,
    SUBMITTED,
    Participant,
    VerificationToken,
)
from portal.services import badges
from tests.conftest import csrf_token
from tests.test_delegation_helpers import PASSWORD, form_of, jpeg

EN = {"Accept-Language": "en"}
#: What pdftotext puts around right-to-left runs, and the other invisible direction marks.
BIDI_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def tool(name):
    path = shutil.which(name)
    assert path, "%s is missing: `make system-test-deps` installs it" % name
    return path


def pdf_text(data, tmp_path):
    source = tmp_path / "badge.pdf"
    source.write_bytes(data)
    out = subprocess.run(
        [tool("pdftotext"), "-enc", "UTF-8", str(source), "-"],
        check=True,
        capture_output=True,
    ).stdout.decode("utf-8")
    return out


def plain(text):
    """The text without its direction marks, blanks made single."""
    return " ".join(BIDI_MARKS.sub("", text).split())


def pages_of(data, tmp_path):
    source = tmp_path / "pages.pdf"
    source.write_bytes(data)
    info = subprocess.run(
        [tool("pdfinfo"), str(source)], check=True, capture_output=True
    ).stdout.decode()
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", info, re.M).groups()
    return pages, tuple(round(float(v) * 25.4 / 72, 1) for v in size)


def qr_codes(data, tmp_path):
    """Every QR code on the PDF's pages, decoded."""
    source = tmp_path / "qr.pdf"
    source.write_bytes(data)
    subprocess.run(
        [tool("pdftoppm"), "-r", "300", "-png", str(source), str(tmp_path / "page")], check=True
    )
    found = []
    for image in sorted(tmp_path.glob("page*.png")):
        result = subprocess.run(
            [tool("zbarimg"), "--raw", "-q", "-Sdisable", "-Sqrcode.enable", str(image)],
            capture_output=True,
        )
        found += result.stdout.decode().split()
        image.unlink()
    return found


@pytest.fixture
def summit(app, make_event, make_org, make_account, make_participant):
    """The League of Arab States (with its Arabic name) and its coordinator, another
    organization's coordinator, the secretariat, and a factory of participants with a photo."""
    make_event("open")
    org = make_org(
        "LAS",
        name_en="League of Arab States",
        name_fr="Ligue des États arabes",
        name_ar="جامعة الدول العربية",
    )
    other = make_org("WHO")
    make_account("coord", organization=org)
    make_account("intruder", organization=other)
    make_account("registry", role=ROLE_SECRETARIAT)

    from portal.services.photos import process, store

    with app.test_request_context():
        photo = process(jpeg(), 5 * 1024 * 1024)

    def participant(status=ACCREDITED, with_photo=True, **values):
        defaults = {
            "family_name": "Haddad",
            "given_names": "Leila",
            "family_name_original": "حداد",
            "given_names_original": "ليلى",
            "courtesy_title": "dr",
            "gender": "f",
            "function": "Director",
            "nationality": "LB",
            "date_of_birth": dt.date(1961, 4, 2),
            "passport_number": "LB%06d" % len(values),
            "passport_country": "LB",
            "passport_expiry": dt.date(2009, 1, 1),
            "email": "l.haddad@example.org",
            "arrival_date": dt.date(2005, 11, 15),
            "departure_date": dt.date(2005, 11, 19),
            "visa_required": False,
        }
        p = make_participant(org, status=status, **{**defaults, **values})
        if with_photo:
            with app.test_request_context(), database.connection_context():
                store(p, photo)
        return p

    return {"org": org, "other": other, "participant": participant}


def signed_in(app, username):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303
    return client


def fresh(app, pid):
    with app.app_context(), database.connection_context():
        return Participant.get_by_id(pid)


def print_badge(client, pid, reprint=False, size="cr80"):
    page = client.get("/secretariat/participants/%d" % pid).get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "size": size}
    if reprint:
        data["reprint"] = "1"
    return client.post("/secretariat/participants/%d/badge" % pid, data=data)


def verdict(client, url):
    path = url.split("://", 1)[1].split("/", 1)[1]
    page = client.get("/" + path, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    return re.search(r'<p class="verdict" role="status">(.*?)</p>', text, re.S).group(1).strip()


def test_a_badge_says_who_in_both_scripts_and_its_code_verifies(app, summit, tmp_path):
    p = summit["participant"](is_head=True)
    secretariat = signed_in(app, "registry")
    page = secretariat.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert "Print the badge (PDF)" in page and "Reprint" not in page

    response = print_badge(secretariat, p.id)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    number = fresh(app, p.id).badge_number
    assert number == "%06d" % p.id
    assert response.headers["Content-Disposition"] == 'attachment; filename="badge-%s.pdf"' % (
        number
    )
    assert fresh(app, p.id).badge_state == BADGE_PRINTED

    raw = pdf_text(response.data, tmp_path)
    text = plain(raw)
    assert "HADDAD" in text and "Leila" in text
    # The Arabic name in logical order (given name first), on a line of its own.
    assert "\u202bليلى حداد\u202c" in raw
    assert "ليلى حداد" in text
    assert "Ligue des États arabes" in text and "جامعة الدول العربية" in text
    assert number in text
    assert "Chef de délégation" in text and "Head of delegation" in text and "رئيس الوفد" in text
    assert pages_of(response.data, tmp_path) == (1, (54.0, 85.6))

    codes = qr_codes(response.data, tmp_path)
    assert len(codes) == 1
    first = codes[0]
    assert first.startswith(app.config["BASE_URL"].rstrip("/") + "/verify/")
    anyone = app.test_client()
    assert verdict(anyone, first) == "Valid"

    # Lost: the reprint revokes the first badge and prints the next issue.
    page = secretariat.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert "Reprint the badge (PDF)" in page
    again = print_badge(secretariat, p.id, reprint=True, size="a6")
    assert again.status_code == 200
    assert fresh(app, p.id).badge_number == number + "-2"
    assert pages_of(again.data, tmp_path) == (1, (105.0, 148.0))
    assert number + "-2" in plain(pdf_text(again.data, tmp_path))
    second = qr_codes(again.data, tmp_path)[0]
    assert second != first
    assert verdict(anyone, first).startswith("Revoked")
    assert verdict(anyone, second) == "Valid"
    history = secretariat.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert "Badge printed (no. %s)." % number in history
    assert "Badge reprinted (no. %s-2)" % number in history


def test_no_photo_or_not_accredited_gets_a_message_and_no_badge(app, summit):
    secretariat = signed_in(app, "registry")
    cases = [
        (summit["participant"](with_photo=False), "has no badge photo: no badge can be printed"),
        (summit["participant"](status=SUBMITTED), "Only an accredited participant gets a badge."),
    ]
    for p, words in cases:
        page = secretariat.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
        assert words in page and "Print the badge (PDF)" not in page
        response = print_badge(secretariat, p.id)
        assert response.status_code == 422
        assert response.mimetype == "text/html"
        assert words in response.get_data(as_text=True)
        after = fresh(app, p.id)
        assert (after.badge_state, after.badge_issue) == (BADGE_TO_PRINT, 0)
    with app.app_context(), database.connection_context():
        assert VerificationToken.select().count() == 0


@pytest.mark.parametrize("language,words", [("fr", "n’a pas de photo de badge"), ("ar", "صورة")])
def test_the_message_is_translated(app, summit, language, words):
    p = summit["participant"](with_photo=False)
    secretariat = signed_in(app, "registry")
    secretariat.get("/language/" + language)
    response = print_badge(secretariat, p.id)
    assert response.status_code == 422
    assert words in response.get_data(as_text=True)


def test_coordinators_get_a_specimen_of_their_own_only(app, summit, tmp_path):
    p = summit["participant"]()
    own = signed_in(app, "coord")
    form = own.get("/delegation/participants/%d" % p.id).get_data(as_text=True)
    assert "/participants/%d/badge-specimen.pdf" % p.id in form
    response = own.get("/participants/%d/badge-specimen.pdf" % p.id)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = plain(pdf_text(response.data, tmp_path))
    assert "HADDAD" in text and "Spécimen, non valable" in text and "نموذج" in text
    assert qr_codes(response.data, tmp_path) == []
    # A specimen marks nothing and issues no token.
    assert fresh(app, p.id).badge_state == BADGE_TO_PRINT
    # The coordinator may not print the real badge; another organization sees nothing.
    page = own.get("/delegation/participants/%d" % p.id).get_data(as_text=True)
    real = own.post(
        "/secretariat/participants/%d/badge" % p.id,
        data={"csrf_token": csrf_token(page), "size": "cr80"},
    )
    assert real.status_code == 404
    intruder = signed_in(app, "intruder")
    assert intruder.get("/participants/%d/badge-specimen.pdf" % p.id).status_code == 404
    assert app.test_client().get("/participants/%d/badge-specimen.pdf" % p.id).status_code in (
        302,
        303,
    )


def test_a_printed_badge_whose_details_change_goes_back_to_print(app, summit):
    p = summit["participant"]()
    secretariat = signed_in(app, "registry")
    codes_before = fresh(app, p.id)
    response = print_badge(secretariat, p.id)
    assert response.status_code == 200
    with app.app_context(), database.connection_context():
        token = VerificationToken.get(VerificationToken.participant == p.id)
    assert token.revoked_at is None
    printed = fresh(app, p.id)
    # The coordinator corrects the family name: the badge no longer says what the record says.
    coordinator = signed_in(app, "coord")
    page = coordinator.get("/delegation/participants/%d" % p.id).get_data(as_text=True)
    changed = coordinator.post(
        "/delegation/participants/%d" % p.id,
        data={
            "csrf_token": csrf_token(page),
            **form_of(printed, version=str(printed.version)),
            "family_name": "Haddad-Khoury",
            "given_names": "Leila",
            "courtesy_title": "dr",
            "gender": "f",
            "function": "Director",
            "passport_country": "LB",
            "nationality": "LB",
        },
    )
    assert changed.status_code == 303
    after = fresh(app, p.id)
    assert after.status == SUBMITTED and after.badge_state == BADGE_TO_PRINT
    with app.app_context(), database.connection_context():
        assert VerificationToken.get_by_id(token.id).revoked_at is not None
    assert codes_before.badge_state == BADGE_TO_PRINT


def test_a_print_run_reports_bad_records_and_prints_the_rest(app, summit, tmp_path, monkeypatch):
    make = summit["participant"]
    good = make()
    long_names = make(
        is_head=False,
        family_name=("Wolfeschlegelsteinhausenbergerdorff " * 5)[:150],
        given_names=("Hubert Blaine Maximilian Alexander " * 5)[:150],
        passport_number="X1",
    )
    chinese = make(
        is_head=False,
        family_name="Zhang",
        given_names="Wei",
        family_name_original="张",
        given_names_original="伟",
        passport_number="X2",
    )
    no_photo = make(with_photo=False, passport_number="X3")
    submitted = make(status=SUBMITTED, passport_number="X4")
    broken = make(family_name="Broken", passport_number="X5")
    card_for = documents.card_for

    def failing(participant, *args, **kwargs):
        if participant.family_name == "Broken":
            raise RuntimeError("layout failed")
        return card_for(participant, *args, **kwargs)

    monkeypatch.setattr(documents, "card_for", failing)
    ids = [good.id, long_names.id, chinese.id, no_photo.id, submitted.id, broken.id]
    with app.test_request_context(headers=EN), database.connection_context():
        from portal.models import Account

        actor = Account.get(Account.username == "registry")
        pdf, printed, problems = badges.print_badges(ids, actor)
    assert sorted(printed) == sorted([good.id, long_names.id, chinese.id])
    refused = {p.participant_id: p for p in problems if not p.printed}
    assert set(refused) == {no_photo.id, submitted.id, broken.id}
    assert "no badge photo" in str(refused[no_photo.id].message)
    assert "Only an accredited participant" in str(refused[submitted.id].message)
    assert "could not be laid out" in str(refused[broken.id].message)
    noted = [p for p in problems if p.printed]
    assert [p.participant_id for p in noted] == [chinese.id]
    assert "张" in str(noted[0].message) or "伟" in str(noted[0].message)
    assert pages_of(pdf, tmp_path)[0] == 3
    text = plain(pdf_text(pdf, tmp_path))
    # The 150 characters are all there, smaller and wrapped on the one card.
    assert "WOLFESCHLEGELSTEIN" in text and "ZHANG" in text
    assert "Hubert Blaine" in text
    for pid in (no_photo.id, submitted.id, broken.id):
        assert fresh(app, pid).badge_state == BADGE_TO_PRINT
    with app.app_context(), database.connection_context():
        assert VerificationToken.select().count() == 3


def test_a_participant_changed_during_the_layout_is_left_out(app, summit, monkeypatch):
    p = summit["participant"]()
    q = summit["participant"](passport_number="Y1", family_name="Other")
    layout = documents.layout

    def meanwhile(*args, **kwargs):
        result = layout(*args, **kwargs)
        Participant.update(family_name="Changed", version=Participant.version + 1).where(
            Participant.id == q.id
        ).execute()
        return result

    monkeypatch.setattr(documents, "layout", meanwhile)
    with app.test_request_context(headers=EN), database.connection_context():
        from portal.models import Account

        actor = Account.get(Account.username == "registry")
        _pdf, printed, problems = badges.print_badges([p.id, q.id], actor)
    assert printed == [p.id]
    assert [x.participant_id for x in problems] == [q.id]
    assert "changed while the badges were prepared" in str(problems[0].message)
    assert fresh(app, q.id).badge_state == BADGE_TO_PRINT
    with app.app_context(), database.connection_context():
        assert VerificationToken.select().where(VerificationToken.participant == q.id).count() == 0


def test_the_badge_rules_are_rows_of_the_lifecycle():
    for name in ("print_badge", "reprint_badge"):
        action = lifecycle.ACTIONS[name]
        assert action.sources == {ACCREDITED} and action.badge == BADGE_PRINTED
        assert action.badge_only
    for name in ("resubmit", "withdraw", "reject"):
        assert lifecycle.ACTIONS[name].badge == BADGE_TO_PRINT


def test_a_badge_that_breaks_the_layout_is_found_and_the_others_printed(
    app, summit, tmp_path, monkeypatch
):
    people = [
        summit["participant"](passport_number="Z%d" % n, family_name="Name%d" % n) for n in range(4)
    ]
    lay_out = documents.lay_out

    def crashing(html):
        if "NAME2" in html:
            raise ZeroDivisionError("WeasyPrint crashed")
        return lay_out(html)

    monkeypatch.setattr(documents, "lay_out", crashing)
    with app.test_request_context(headers=EN), database.connection_context():
        from portal.models import Account

        actor = Account.get(Account.username == "registry")
        pdf, printed, problems = badges.print_badges([p.id for p in people], actor)
    assert sorted(printed) == sorted(p.id for n, p in enumerate(people) if n != 2)
    assert [(x.participant_id, x.printed) for x in problems] == [(people[2].id, False)]
    assert "could not be laid out (ZeroDivisionError)" in str(problems[0].message)
    assert pages_of(pdf, tmp_path)[0] == 3
    assert "NAME2" not in plain(pdf_text(pdf, tmp_path))
    assert fresh(app, people[2].id).badge_state == BADGE_TO_PRINT


def test_rendering_leaves_the_photo_checks_strict(app, summit):
    """WeasyPrint turns on Pillow's loading of truncated images when it is imported; the
    portal's photo checks refuse them, in the same process, after a badge is rendered."""
    import io
    import os

    from PIL import Image, ImageFile

    from portal.services import photos

    p = summit["participant"]()
    with app.test_request_context(headers=EN), database.connection_context():
        pdf, _problems = documents.render_badges([p])
    assert pdf.startswith(b"%PDF")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    out = io.BytesIO()
    Image.frombytes("RGB", (600, 800), os.urandom(600 * 800 * 3)).save(out, "PNG")
    with app.test_request_context(), pytest.raises(photos.PhotoError):
        photos.process(out.getvalue()[: len(out.getvalue()) // 2], 5 * 1024 * 1024)
