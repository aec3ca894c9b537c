"""The secretariat's screens: a desktop's width, a participant's history in words in the
reader's language, duplicates by passport number and issuing country, the accounts screen."""

import re

import pytest

from portal.db import database
from portal.models import ROLE_SECRETARIAT, SUBMITTED, AuditLog

from .conftest import csrf_token
from .test_i18n_pages import choose

PASSWORD = "Registry-2005-ok"


@pytest.fixture
def secretariat(make_account):
    return make_account("registry", PASSWORD, role=ROLE_SECRETARIAT, language="fr")


@pytest.fixture
def signed_in(secretariat, auth, client):
    assert auth.login("registry", PASSWORD).status_code == 303
    return client


def test_the_secretariat_has_a_wide_column_and_coordinators_a_narrow_one(
    signed_in, world, auth, client
):
    assert '<main id="main" class="wide">' in signed_in.get("/secretariat/").get_data(as_text=True)
    auth.logout()
    auth.login("coord", "Correct-horse-42")
    assert '<main id="main">' in client.get("/delegation").get_data(as_text=True)


def test_the_history_speaks_the_readers_language(app, signed_in, make_org, make_participant):
    p = make_participant(make_org(), status=SUBMITTED)
    with app.app_context(), database.connection_context():
        for action, details in (
            ("participant.create", '{"fields": ["family_name"], "photo": false}'),
            ("participant.update", '{"fields": ["nationality", "email"], "photo": true}'),
            (
                "participant.reject",
                '{"old": "submitted", "new": "rejected", "reason": "duplicate"}',
            ),
        ):
            AuditLog.create(
                actor="coord",
                action=action,
                object_type="participant",
                object_id=p.id,
                details=details,
            )
    page = signed_in.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    history = page[page.index('class="history"') :]
    assert "Modifié\u00a0: Nationalité, Courriel et Photo du badge." in history, history
    assert "Accréditation refusée\u00a0: Cette personne est déjà inscrite" in history
    assert "Inscription créée comme brouillon." in history
    assert "participant." not in history and "fields" not in history
    choose(signed_in, "ar")
    history = signed_in.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert "الجنسية" in history and "participant." not in history


def _passport(make_participant, org, country, **values):
    return make_participant(
        org,
        status=SUBMITTED,
        passport_number="12AB34567",
        passport_key="12AB34567",
        passport_country=country,
        **values,
    )


def test_the_same_passport_number_from_two_countries_is_no_duplicate(
    signed_in, make_org, make_participant
):
    a, b, c = make_org("AAA"), make_org("BBB"), make_org("CCC")
    french = _passport(make_participant, a, "FR", family_name="MARTIN", given_names="Luc")
    egyptian = _passport(make_participant, b, "EG", family_name="HASSAN", given_names="Omar")
    also_french = _passport(make_participant, c, "FR", family_name="MARTIN", given_names="L.")
    page = signed_in.get("/secretariat/participants/%d" % french.id).get_data(as_text=True)
    assert "/secretariat/participants/%d" % also_french.id in page
    assert "/secretariat/participants/%d" % egyptian.id not in page
    page = signed_in.get("/secretariat/participants/%d" % egyptian.id).get_data(as_text=True)
    assert '/secretariat/participants/%d"' % french.id not in page


def test_the_accounts_screen(signed_in, secretariat, make_account, make_org):
    org = make_org()
    nopass = make_account("nopass", password=None, organization=org)
    withpass = make_account("withpass", organization=org)
    choose(signed_in, "en")
    page = signed_in.get("/secretariat/accounts").get_data(as_text=True)

    def row(account):
        return re.search(r'<tr id="a-%d".*?</tr>' % account.id, page, re.S).group(0)

    assert 'value="lock"' not in row(secretariat)  # not one's own
    assert 'value="lock"' in row(withpass)
    assert "may sign in" not in row(nopass) and "no password yet" in row(nopass)
    assert "may sign in" in row(withpass)
    # The checkbox is inside its label, next to the button it belongs to.
    assert re.search(
        r'<button>Password link</button> <label class="choice"><input type="checkbox"', row(nopass)
    )
    assert csrf_token(page)
