"""What must show (4): a coordinator of another organization gets 404 for this one's
participants, photos and forms, whatever address or form field they change."""

import re

import pytest

from portal.db import database
from portal.models import Participant, Photo
from tests.test_delegation_helpers import HX, NEW, PASSWORD, complete, jpeg, open_form, post_form


@pytest.fixture
def victim(app, client, auth, make_event, make_org, make_account):
    """ITU's participant with a photo, created through the portal; then WHO signs in."""
    make_event("open")
    itu = make_org("ITU")
    who = make_org("WHO")
    make_account("itu.coord", organization=itu)
    make_account("who.coord", organization=who)
    auth.login("itu.coord", PASSWORD)
    assert post_form(client, complete(is_head="y"), photo=jpeg()).status_code == 303
    with app.app_context(), database.connection_context():
        p = Participant.get()
        digest = Photo.get(Photo.participant == p.id).digest
    auth.logout()
    auth.login("who.coord", PASSWORD)
    return {"p": p, "digest": digest, "itu": itu, "who": who}


def untouched(app, p):
    with app.app_context(), database.connection_context():
        now = Participant.get_by_id(p.id)
    assert (now.version, now.status, now.family_name, now.organization_id, now.is_head) == (
        p.version,
        p.status,
        p.family_name,
        p.organization_id,
        p.is_head,
    )


@pytest.mark.parametrize("hx", [False, True])
def test_other_organization_gets_404_everywhere(client, app, victim, hx):
    p, digest = victim["p"], victim["digest"]
    headers = HX if hx else {}
    base = "/delegation/participants/%d" % p.id
    for url in (
        base,
        base + "?in_list=1",
        base + "/withdraw",
        base + "/delete",
        "/photos/%d/%s.jpg" % (p.id, digest),
        "/photos/%d/%s/thumb.jpg" % (p.id, digest),
    ):
        assert client.get(url, headers=headers).status_code == 404, url
    html, token, key, version = open_form(client)
    for url in (base, base + "/submit", base + "/withdraw", base + "/delete"):
        response = client.post(
            url,
            data={
                "csrf_token": token,
                "submission_key": key,
                "version": "1",
                **complete(family_name="Hacked"),
            },
            headers=headers,
        )
        assert response.status_code == 404, url
    # An expired form for the other's participant: still 404, never its data.
    response = client.post(
        base, data={"csrf_token": "stale", "family_name": "Hacked"}, headers=headers
    )
    assert response.status_code == 404
    untouched(app, p)
    # Nothing of ITU in WHO's pages.
    page = client.get("/delegation/participants").get_data(as_text=True)
    assert "BENALI" not in page and "No participants yet" in page
    assert "BENALI" not in client.get("/delegation").get_data(as_text=True)


def test_form_fields_naming_another_organization_or_participant_are_ignored(client, app, victim):
    p = victim["p"]
    response = post_form(
        client,
        complete(
            family_name="Mine",
            passport_number="W1111111",
            organization=str(victim["itu"].id),
            organization_id=str(victim["itu"].id),
            id=str(p.id),
            participant_id=str(p.id),
            status="accredited",
        ),
    )
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        mine = Participant.get(Participant.family_name == "MINE")
    assert mine.organization_id == victim["who"].id
    assert mine.id != p.id and mine.status == "draft"
    untouched(app, p)
    # The same names and birth date as ITU's participant are no duplicate in WHO's delegation.
    assert "BENALI" not in client.get("/delegation/participants").get_data(as_text=True)


def test_submission_key_of_another_account_gives_nothing(client, app, auth, victim):
    """Replaying ITU's one-time key from WHO's session does not reveal ITU's participant."""
    from portal.models import SubmissionKey

    with app.app_context(), database.connection_context():
        key = SubmissionKey.get().key
    html, token, _, _ = open_form(client)
    response = client.post(
        NEW, data={"csrf_token": token, "submission_key": key, "family_name": "Other"}
    )
    assert response.status_code in (303, 404, 422)
    page = client.get("/delegation/participants").get_data(as_text=True)
    assert "BENALI" not in page
    assert re.search(r"OTHER|No participants yet", page)
    untouched(app, p=victim["p"])


def test_secretariat_sees_the_photo_other_coordinators_do_not(
    app, client, auth, victim, make_account
):
    p, digest = victim["p"], victim["digest"]
    url = "/photos/%d/%s.jpg" % (p.id, digest)
    assert client.get(url).status_code == 404  # WHO's coordinator
    auth.logout()
    assert client.get(url).status_code in (302, 303)  # anonymous: sign in first
    make_account("registry", role="secretariat")
    auth.login("registry", PASSWORD)
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"].startswith("private")
