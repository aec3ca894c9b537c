"""Letters: a delegate's confirmation of accreditation and visa-support letter, in French,
English and Arabic, read back with ``pdftotext``; its code verifies at ``/verify``; a
coordinator reaches only their delegation's letters (404 otherwise), the secretariat any; only
accredited participants have one, and the screens offer it only then."""

import datetime as dt
import io
import re
import shutil
import subprocess

import pytest
from pypdf import PdfReader

from portal.db import database
from portal.models import ROLE_SECRETARIAT, Participant, VerificationToken

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None, reason="poppler-utils' pdftotext is needed (make test)"
)

#: Bidirectional marks pdftotext puts around right-to-left runs; stripped before asserting.
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f]")

DELEGATE = {
    "courtesy_title": "dr",
    "family_name": "Haddad",
    "given_names": "Leila",
    "family_name_original": "حداد",
    "given_names_original": "ليلى",
    "function": "Legal adviser",
    "nationality": "LB",
    "passport_number": "RL1234567",
    "passport_country": "LB",
    "passport_expiry": dt.date(2009, 3, 1),
    "date_of_birth": dt.date(1970, 5, 4),
    "arrival_date": dt.date(2005, 11, 14),
    "departure_date": dt.date(2005, 11, 19),
    "visa_required": True,
    "visa_place": "Embassy of Tunisia, Beirut",
    "status": "accredited",
}


def pdf_text(data):
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    )
    return BIDI.sub("", result.stdout.decode("utf-8"))


@pytest.fixture
def delegate(app, world, make_participant):
    return make_participant(world["org"], **DELEGATE)


def letter_url(participant, lang, side="delegation"):
    if side == "delegation":
        return "/delegation/participants/%d/letter.pdf?lang=%s" % (participant.id, lang)
    return "/secretariat/participants/%d/letter.pdf?lang=%s" % (participant.id, lang)


def test_letters_in_three_languages_name_the_delegate_passport_dates_and_code(
    app, client, auth, delegate, clock
):
    auth.login("coord", "Correct-horse-42")
    words = {
        "fr": ["Confirmation d’accréditation", "14 novembre 2005", "19 novembre 2005"],
        "en": ["Confirmation of accreditation", "November 14, 2005", "November 19, 2005"],
        "ar": ["تأكيد الاعتماد", "نوفمبر", "2005"],
    }
    codes = []
    for lang, expected in words.items():
        response = client.get(letter_url(delegate, lang))
        assert response.status_code == 200, lang
        assert response.mimetype == "application/pdf"
        assert "letter-%06d-%s.pdf" % (delegate.id, lang) in response.headers["Content-Disposition"]
        assert len(PdfReader(io.BytesIO(response.data)).pages) == 1, lang  # one sheet
        text = pdf_text(response.data)
        for piece in ["Leila", "HADDAD", "RL1234567", "ليلى", "حداد", "Beirut", *expected]:
            assert piece in text, (lang, piece)
        code = re.search(r"/verify/([A-Za-z0-9_-]{16,})\n", text)
        assert code, lang
        assert text.count(code.group(1)) == 2, lang  # the address, and the code on its own
        codes.append(code.group(1))
    assert len(set(codes)) == 3  # one code per letter
    # The code printed verifies during the stay: valid, with the letter's dates.
    clock.shift(dt.datetime(2005, 11, 15) - clock.now())
    page = client.get("/verify/" + codes[1]).get_data(as_text=True)
    assert "Verification of a letter" in page
    assert "Valid" in page
    assert "Nov 14, 2005" in page and "Nov 19, 2005" in page
    with app.app_context(), database.connection_context():
        token = VerificationToken.select().where(VerificationToken.kind == "letter").first()
        assert (token.valid_from, token.valid_until) == (
            dt.date(2005, 11, 14),
            dt.date(2005, 11, 19),
        )


def test_an_arabic_letter_keeps_the_arabic_name_in_logical_order(app, client, auth, delegate):
    auth.login("coord", "Correct-horse-42")
    raw = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"],
        input=client.get(letter_url(delegate, "ar")).data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    # Pure Arabic runs come out in logical order (between U+202B and U+202C).
    assert "ليلى حداد" in BIDI.sub("", raw)


def test_another_organizations_coordinator_gets_404(app, client, auth, world, make_participant):
    theirs = make_participant(world["other"], **DELEGATE)
    auth.login("coord", "Correct-horse-42")
    for lang in ("fr", "ar"):
        assert client.get(letter_url(theirs, lang)).status_code == 404
    assert client.get(letter_url(theirs, "fr", "secretariat")).status_code == 404
    with app.app_context(), database.connection_context():
        assert not VerificationToken.select().exists()


def test_the_secretariat_has_any_letter(app, client, auth, make_account, world, make_participant):
    theirs = make_participant(world["other"], **DELEGATE)
    make_account("sec", role=ROLE_SECRETARIAT)
    auth.login("sec", "Correct-horse-42")
    response = client.get(letter_url(theirs, "en", "secretariat"))
    assert response.status_code == 200
    assert "RL1234567" in pdf_text(response.data)
    page = client.get("/secretariat/participants/%d" % theirs.id).get_data(as_text=True)
    assert letter_url(theirs, "ar", "secretariat") in page
    # The history says which letter was issued, in words.
    assert "Letter of accreditation issued in English." in page
    assert "participant.letter" not in page


def test_only_an_accredited_delegate_has_a_letter_and_the_screens_say_so(
    app, client, auth, world, make_participant
):
    waiting = make_participant(world["org"], **{**DELEGATE, "status": "submitted"})
    accredited = make_participant(
        world["org"], **{**DELEGATE, "family_name": "Other", "passport_number": "X1"}
    )
    auth.login("coord", "Correct-horse-42")
    response = client.get(letter_url(waiting, "fr"))
    assert response.status_code == 409
    assert "accredited participants only" in response.get_data(as_text=True)
    page = client.get("/delegation/participants").get_data(as_text=True)
    assert letter_url(accredited, "fr").replace("&", "&amp;") in page
    assert "/delegation/participants/%d/letter.pdf" % waiting.id not in page
    form = client.get("/delegation/participants/%d" % accredited.id).get_data(as_text=True)
    assert letter_url(accredited, "en") in form
    assert client.get(letter_url(accredited, "de")).status_code == 400


def test_a_letter_without_visa_or_dates_states_the_summits_dates(
    app, client, auth, world, make_participant
):
    plain = make_participant(
        world["org"],
        family_name="Martin",
        given_names="Paul",
        passport_number="FR998877",
        status="accredited",
        visa_required=False,
    )
    auth.login("coord", "Correct-horse-42")
    text = pdf_text(client.get(letter_url(plain, "en")).data)
    event = world["event"]
    assert "To whom it may concern" in text
    assert "entry visa" not in text
    assert str(event.starts_on.year) in text
    with app.app_context(), database.connection_context():
        token = VerificationToken.get()
        assert (token.valid_from, token.valid_until) == (event.starts_on, event.ends_on)
        assert Participant.get_by_id(plain.id).passport_number == "FR998877"
