"""The public verification page of badges and letters (``/verify/<token>``): tokens stored
hashed, revocable, the least a guard needs, nothing for an unknown token, a rate limit per client
address kept in the database."""

import datetime as dt
import hashlib
import re

import pytest

from portal.db import database
from portal.models import (
    ACCREDITED,
    ROLE_SECRETARIAT,
    SUBMITTED,
    AuditLog,
    Photo,
    VerificationToken,
)
from portal.services import verification


@pytest.fixture
def accredited(world, make_participant):
    return make_participant(
        world["org"],
        family_name="Haddad",
        given_names="Leila",
        family_name_original="حداد",
        given_names_original="ليلى",
        status=ACCREDITED,
    )


def issue(app, participant, kind="badge", **dates):
    with app.test_request_context(), database.connection_context(), database.atomic():
        return verification.issue(participant, kind, **dates)


def test_only_the_tokens_hash_is_stored(app, accredited):
    raw = issue(app, accredited)
    assert len(raw) == 24
    with app.app_context(), database.connection_context():
        row = VerificationToken.get()
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        stored = " ".join(str(v) for v in row.__data__.values())
        assert raw not in stored
        assert verification.lookup(raw).id == row.id
        assert verification.lookup(raw[:-1] + ("A" if raw[-1] != "A" else "B")) is None


def test_a_guard_sees_name_organization_and_valid_without_signing_in(app, client, accredited):
    raw = issue(app, accredited)
    page = client.get("/verify/" + raw, headers={"Accept-Language": "en"})
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Valid" in text and "Revoked" not in text
    assert "Leila" in text and "HADDAD" in text and "ليلى حداد" in text
    assert "Organization ITU" in text
    assert page.headers["Cache-Control"] == "no-store"
    # No photo for an anonymous visitor; no passport, no date of birth.
    assert "<img" not in text
    assert "passport" not in text.lower()


def test_revoked_and_no_longer_accredited_say_revoked(app, client, accredited):
    raw = issue(app, accredited)
    with app.app_context(), database.connection_context(), database.atomic():
        assert verification.revoke_for(accredited, "badge") == 1
        assert verification.revoke_for(accredited, "badge") == 0
    text = client.get("/verify/" + raw, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Revoked" in text and ">Valid<" not in text

    other = issue(app, accredited)
    with app.app_context(), database.connection_context():
        type(accredited).update(status=SUBMITTED).where(
            type(accredited).id == accredited.id
        ).execute()
    text = client.get("/verify/" + other, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Revoked" in text


def test_a_letter_shows_its_dates_and_expires(app, client, accredited, clock):
    today = dt.date.today()
    raw = issue(
        app,
        accredited,
        "letter",
        valid_from=today + dt.timedelta(days=10),
        valid_until=today + dt.timedelta(days=14),
    )
    page = client.get("/verify/" + raw, headers={"Accept-Language": "en"})
    text = page.get_data(as_text=True)
    assert "Verification of a letter" in text and "Valid" in text
    assert str((today + dt.timedelta(days=14)).year) in text
    clock.shift(dt.timedelta(days=15))
    text = client.get("/verify/" + raw, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Expired" in text


def without_language_links(page):
    """The page without its language switch (whose links name the page's own address)."""
    return re.sub(r'<nav class="langs".*?</nav>', "", page.get_data(as_text=True), flags=re.S)


def test_an_unknown_token_gets_the_plain_not_found_page(app, client, accredited):
    raw = issue(app, accredited)
    plain = without_language_links(client.get("/nothing-here", headers={"Accept-Language": "en"}))
    revoked_like = raw[:-2] + ("AA" if raw[-2:] != "AA" else "BB")
    for token in ("x" * 43, revoked_like, "a", "%E2%80%AE" * 5, "z" * 500):
        page = client.get("/verify/" + token, headers={"Accept-Language": "en"})
        assert page.status_code == 404
        assert without_language_links(page) == plain
        assert "Haddad" not in page.get_data(as_text=True)


def test_the_photo_only_for_the_secretariat(app, client, auth, accredited, make_account):
    with app.app_context(), database.connection_context():
        Photo.create(
            participant=accredited, data=b"j", thumbnail=b"t", width=1, height=1, digest="d" * 64
        )
    raw = issue(app, accredited)
    assert "<img" not in client.get("/verify/" + raw).get_data(as_text=True)
    auth.login("coord", "Correct-horse-42")
    assert "<img" not in client.get("/verify/" + raw).get_data(as_text=True)
    auth.logout()
    make_account("registry", role=ROLE_SECRETARIAT)
    auth.login("registry", "Correct-horse-42")
    text = client.get("/verify/" + raw).get_data(as_text=True)
    assert "<img" in text and "d" * 16 in text


@pytest.mark.parametrize("language,words", [("fr", "Valide"), ("ar", "صالحة")])
def test_the_page_speaks_french_and_arabic(app, client, accredited, language, words):
    raw = issue(app, accredited)
    text = client.get("/verify/" + raw, headers={"Accept-Language": language}).get_data(
        as_text=True
    )
    assert words in text
    if language == "ar":
        assert 'dir="rtl"' in text


def test_the_rate_limit_is_per_address_and_in_the_database(app, client, accredited, clock):
    app.config.update(VERIFY_RATE_LIMIT=3, VERIFY_RATE_MINUTES=10)
    raw = issue(app, accredited)
    for _ in range(3):
        assert client.get("/verify/" + raw).status_code == 200
    refused = client.get("/verify/" + raw)
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 600
    # Unknown tokens count too: guessing is what the limit is for.
    assert client.get("/verify/" + "x" * 43).status_code == 429
    # Another address is not held.
    other = client.get("/verify/" + raw, environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    # The count is in the audit log (every host sees it), never the token.
    with app.app_context(), database.connection_context():
        rows = list(AuditLog.select().where(AuditLog.action == "verify.lookup"))
        assert len(rows) == 4
        assert all(raw not in (r.details or "") for r in rows)
    clock.shift(dt.timedelta(minutes=10, seconds=1))
    assert client.get("/verify/" + raw).status_code == 200
