"""The coordinator's delegation through HTTP, on both paths: plain (no JavaScript: whole pages,
303 redirects) and HTMX (fragments, 422 for errors, the counts swapped out of band)."""

import json
import re
import time

import pytest
import time_machine
from PIL import Image

from portal.crypto import passport_key
from portal.db import database
from portal.models import (
    ACCREDITED,
    DRAFT,
    REJECTED,
    SUBMITTED,
    WITHDRAWN,
    AuditLog,
    Participant,
    Photo,
)
from tests.conftest import csrf_token, deliver_mail
from tests.test_delegation_helpers import (
    HX,
    NEW,
    PASSWORD,
    complete,
    form_of,
    jpeg,
    open_form,
    post_form,
    shown_rows,
)


@pytest.fixture
def world(app, make_event, make_org, make_account):
    """The summit open for registration, two organizations, a coordinator in each."""
    event = make_event("open")
    org = make_org(
        "ITU",
        name_en="International Telecommunication Union",
        name_fr="Union internationale des télécommunications",
        name_ar="الاتحاد الدولي للاتصالات",
    )
    other = make_org("WHO")
    coord = make_account("coord", organization=org)
    make_account("intruder", organization=other)
    return {"event": event, "org": org, "other": other, "coord": coord}


@pytest.fixture
def signed_in(client, auth, world):
    response = auth.login("coord", PASSWORD)
    assert response.status_code == 303
    return client


def rows(app, **where):
    with app.app_context(), database.connection_context():
        query = Participant.select().order_by(Participant.id)
        for name, value in where.items():
            query = query.where(getattr(Participant, name) == value)
        return list(query)


def one(app, pid):
    with app.app_context(), database.connection_context():
        return Participant.get_by_id(pid)


# -- Dashboard ----------------------------------------------------------------------------------


def test_dashboard_shows_organization_event_and_state(signed_in, world, make_participant):
    make_participant(world["org"], family_name="SANS-PHOTO", given_names="Anne")
    page = signed_in.get("/delegation").get_data(as_text=True)
    assert "International Telecommunication Union" in page
    assert "World Summit on the Information Society" in page
    assert "November 16, 2005" in page and "November 18, 2005" in page
    assert "Registration is open until" in page
    assert "No head of delegation is named yet." in page
    # What is missing, linked to the participant concerned.
    pid = rows(signed_in.application)[0].id
    assert re.search(
        r'href="/delegation/participants/%d"><bdi>Anne SANS-PHOTO</bdi></a>:\s*badge photo and passport data'
        % pid,
        page,
    )


def test_dashboard_in_french_and_arabic(signed_in, world):
    signed_in.get("/language/fr")
    page = signed_in.get("/delegation").get_data(as_text=True)
    assert "Union internationale des télécommunications" in page
    assert "16 novembre 2005" in page
    signed_in.get("/language/ar")
    page = signed_in.get("/delegation").get_data(as_text=True)
    assert 'dir="rtl"' in page
    assert "الاتحاد الدولي للاتصالات" in page


@pytest.mark.parametrize("state", ["not_open", "closed"])
def test_dashboard_registration_states(client, auth, world, make_event, state):
    from babel.dates import format_date

    event = make_event(state)
    auth.login("coord", PASSWORD)
    page = client.get("/delegation").get_data(as_text=True)
    if state == "not_open":
        day = format_date(event.registration_opens_on, "long", locale="en")
        assert "Registration opens on %s." % day in page
    else:
        assert "Registration is closed" in page


def test_dashboard_counts_block_alone_with_htmx(signed_in, world, make_participant):
    make_participant(world["org"], status=SUBMITTED)
    response = signed_in.get("/delegation", headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="counts"')
    assert "<html" not in body
    assert "Submitted: <strong>1</strong>" in body
    assert "HX-Request" in response.headers["Vary"]


def test_coordinator_pages_closed_to_secretariat_and_anonymous(client, auth, world, make_account):
    assert client.get("/delegation/participants").status_code == 303  # sign in first
    make_account("sec", role="secretariat")
    auth.login("sec", PASSWORD)
    assert client.get("/delegation/participants").status_code == 404
    assert client.get(NEW).status_code == 404


# -- Adding participants: the plain path --------------------------------------------------------


def test_add_draft_with_only_a_family_name_plain(signed_in):
    response = post_form(signed_in, {"family_name": "Ndiaye"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/delegation/participants#p-")
    (p,) = rows(signed_in.application)
    assert (p.family_name, p.status) == ("NDIAYE", DRAFT)
    page = signed_in.get("/delegation/participants").get_data(as_text=True)
    assert "NDIAYE" in page and "is saved" in page


def test_invalid_input_returns_422_with_messages_next_to_fields_and_values_kept(signed_in):
    response = post_form(
        signed_in,
        complete(
            family_name="Müller 3",
            given_names="Ян",
            email="not-an-email",
            mobile="12",
            passport_expiry="2005-11-10",
            departure_date="2005-11-14",
            special_needs="Wheelchair access",
        ),
        photo=jpeg(),
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'aria-describedby="family_name-hint family_name-error"' in html
    assert 'id="family_name-error"' in html and "Latin letters" in html
    assert 'id="given_names-error"' in html
    assert 'id="email-error"' in html
    assert 'id="mobile-error"' in html and "international form" in html
    assert 'id="passport_expiry-error"' in html and "after the summit" in html
    assert 'id="departure_date-error"' in html and "before the arrival" in html
    # What was typed is still there; the photo (a browser never shows it again) is kept.
    assert 'value="Müller 3"' in html and "Wheelchair access" in html
    assert "/delegation/photos/kept/" in html and "Keep this photo" in html
    assert rows(signed_in.application) == []


def test_complete_participant_submitted_plain(signed_in, world):
    response = post_form(signed_in, complete(submit="1"), photo=jpeg())
    assert response.status_code == 303
    (p,) = rows(signed_in.application)
    assert p.status == SUBMITTED
    assert p.mobile == "+21671234567"  # E.164
    assert p.passport_key == passport_key("P1234567") != "P1234567"  # keyed, not clear
    page = signed_in.get("/delegation/participants").get_data(as_text=True)
    assert "submitted for accreditation" in page
    assert "•••567" in page and "P1234567" not in page  # masked in the list
    edit = signed_in.get("/delegation/participants/%d" % p.id).get_data(as_text=True)
    assert 'value="P1234567"' in edit  # whole in the participant's own form


def test_submit_incomplete_saves_draft_and_marks_fields(signed_in):
    response = post_form(signed_in, {"family_name": "Sow", "submit": "1"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Saved as a draft, but not submitted" in html
    assert 'id="passport_number-error"' in html and "Needed to submit" in html
    assert 'id="photo-error"' in html
    (p,) = rows(signed_in.application)
    assert p.status == DRAFT and p.family_name == "SOW"


# -- Adding participants: the HTMX path ---------------------------------------------------------


def test_htmx_add_form_fragment_and_saved_row_with_counts(signed_in):
    fragment = signed_in.get(NEW + "?in_list=1", headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200
    assert html.lstrip().startswith("<form") and "<html" not in html
    assert 'name="in_list" value="1"' in html
    assert 'accept="image/*"' in html and 'capture="user"' in html
    form = open_form(signed_in, NEW + "?in_list=1", headers=HX)
    response = post_form(signed_in, complete(in_list="1"), headers=HX, photo=jpeg(), form=form)
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    (p,) = rows(signed_in.application)
    # The list was empty: it comes whole, with the new row and its caption.
    assert '<div id="list" hx-swap-oob="true">' in body
    assert '<tr id="p-%d"' % p.id in body and "1 participant</caption>" in body
    assert '<section id="counts" class="counts" hx-swap-oob="true"' in body
    assert "Draft: <strong>1</strong>" in body
    assert "is saved" in body


def test_htmx_errors_swap_the_form_back_with_422(signed_in):
    response = post_form(signed_in, {"family_name": "", "in_list": "1"}, headers=HX)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert body.lstrip().startswith("<form") and 'id="family_name-error"' in body


def test_htmx_from_the_standalone_page_redirects_to_the_list(signed_in):
    response = post_form(signed_in, {"family_name": "Diallo"}, headers=HX)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/delegation/participants#p-")


def test_field_checked_as_it_is_left(signed_in):
    html, token, key, version = open_form(signed_in)
    assert 'hx-post="/delegation/participants/validate/passport_number" hx-trigger="change"' in html
    bad = signed_in.post(
        "/delegation/participants/validate/passport_number",
        data={"csrf_token": token, "passport_number": "12"},
        headers=HX,
    )
    body = bad.get_data(as_text=True)
    assert bad.status_code == 200
    assert body.lstrip().startswith('<div class="field invalid" id="passport_number-field"')
    assert 'aria-invalid="true"' in body and "5 to 20 letters" in body
    good = signed_in.post(
        "/delegation/participants/validate/passport_number",
        data={"csrf_token": token, "passport_number": "ab 12345"},
        headers=HX,
    )
    assert "invalid" not in good.get_data(as_text=True).lstrip().split(">")[0]
    # Departure checked against the arrival sent with it.
    dep = signed_in.post(
        "/delegation/participants/validate/departure_date",
        data={"csrf_token": token, "arrival_date": "2005-11-16", "departure_date": "2005-11-15"},
        headers=HX,
    )
    assert "before the arrival" in dep.get_data(as_text=True)
    assert (
        signed_in.post(
            "/delegation/participants/validate/organization", data={"csrf_token": token}
        ).status_code
        == 404
    )


# -- Countries ----------------------------------------------------------------------------------


def test_country_lists_in_the_page_language_sorted_for_it(signed_in):
    signed_in.get("/language/fr")
    html = open_form(signed_in)[0]
    names = re.findall(
        r'<option value="[A-Z]{2}">([^<]+)',
        html.split('name="nationality"')[1].split("</select>")[0],
    )
    assert "Égypte" in names and "Allemagne" in names
    # Accents do not send "Égypte" after "Zambie": it sorts with the E's.
    assert names.index("Égypte") < names.index("Espagne") < names.index("Zambie")
    signed_in.get("/language/ar")
    html = open_form(signed_in)[0]
    names = re.findall(
        r'<option value="[A-Z]{2}">([^<]+)',
        html.split('name="nationality"')[1].split("</select>")[0],
    )
    assert "تونس" in names and "مصر" in names
    assert names.index("الأردن") < names.index("تونس") < names.index("مصر")


# -- Head of delegation -------------------------------------------------------------------------


def test_choosing_another_head_moves_the_mark(signed_in):
    post_form(signed_in, {"family_name": "First", "is_head": "y"})
    post_form(signed_in, {"family_name": "Second"})
    first, second = rows(signed_in.application)
    assert first.is_head and not second.is_head
    url = "/delegation/participants/%d" % second.id
    html = open_form(signed_in, url)[0]
    assert "Currently: <bdi>FIRST</bdi>. Choosing this person moves the mark." in html
    response = post_form(signed_in, {"family_name": "Second", "is_head": "y"}, url=url)
    assert response.status_code == 303
    first, second = rows(signed_in.application)
    assert second.is_head and not first.is_head
    page = signed_in.get("/delegation").get_data(as_text=True)
    assert "Head of delegation:" in page and "SECOND" in page


# -- Duplicates ---------------------------------------------------------------------------------


def test_duplicate_passport_refused_naming_the_first(signed_in):
    post_form(signed_in, complete())
    response = post_form(signed_in, complete(family_name="Autre", passport_number="p 1234567"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already in your delegation" in html and "Karim BENALI" in html
    assert len(rows(signed_in.application)) == 1


def test_duplicate_names_and_birth_date_refused(signed_in):
    post_form(signed_in, complete(passport_number=""))
    response = post_form(signed_in, complete(family_name="benali", passport_number="X9999999"))
    assert response.status_code == 422
    assert "Karim BENALI" in response.get_data(as_text=True)


# -- Editing: versions, accredited participants, rejection reasons ------------------------------


def test_saving_over_a_newer_change_shows_both_and_overwrites_nothing(signed_in):
    post_form(signed_in, complete())
    (p,) = rows(signed_in.application)
    url = "/delegation/participants/%d" % p.id
    stale = open_form(signed_in, url)
    assert post_form(signed_in, complete(function="Minister"), url=url).status_code == 303
    response = post_form(signed_in, complete(function="Adviser"), url=url, form=stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Someone else changed this participant" in html
    assert "Minister" in html and 'value="Adviser"' in html
    assert one(signed_in.application, p.id).function == "Minister"
    # The form now carries the newer version: saving again is a deliberate overwrite.
    newer = VERSION = re.search(r'name="version" type="hidden" value="(\d+)"', html).group(1)
    assert int(newer) == one(signed_in.application, p.id).version
    again = post_form(
        signed_in,
        complete(function="Adviser"),
        url=url,
        form=(
            html,
            stale[1],
            re.search(r'name="submission_key" type="hidden" value="([^"]*)"', html).group(1),
            VERSION,
        ),
    )
    assert again.status_code == 303
    assert one(signed_in.application, p.id).function == "Adviser"


def test_editing_accredited_badge_details_sends_it_back(signed_in, world, make_participant):
    p = make_participant(world["org"], status=ACCREDITED, **_complete_model())
    url = "/delegation/participants/%d" % p.id
    html = open_form(signed_in, url)[0]
    assert 'id="badge-note"' in html and "back to the secretariat" in html
    # Changing only travel details keeps the accreditation.
    post_form(signed_in, form_of(p, arrival_date="2005-11-14"), url=url)
    assert one(signed_in.application, p.id).status == ACCREDITED
    post_form(signed_in, form_of(p, arrival_date="2005-11-14", function="Deputy"), url=url)
    assert one(signed_in.application, p.id).status == SUBMITTED


def test_rejection_reason_shown_in_the_coordinators_language(signed_in, world, make_participant):
    p = make_participant(world["org"], status=REJECTED, rejection_code="photo_unsuitable")
    q = make_participant(
        world["org"], family_name="ROE", status=REJECTED, rejection_text="Wrong organization"
    )
    page = signed_in.get("/delegation/participants").get_data(as_text=True)
    assert "The photo is not suitable for a badge." in page
    assert "Wrong organization" in page
    signed_in.get("/language/fr")
    html = open_form(signed_in, "/delegation/participants/%d" % p.id)[0]
    assert "photo_unsuitable" not in html
    assert q.id


def _complete_model():
    import datetime as dt

    return {
        "courtesy_title": "dr",
        "family_name": "OKAFOR",
        "given_names": "Ngozi",
        "gender": "f",
        "function": "Adviser",
        "nationality": "NG",
        "date_of_birth": dt.date(1970, 1, 1),
        "passport_number": "A7654321",
        "passport_key": "A7654321",
        "passport_country": "NG",
        "passport_expiry": dt.date(2010, 1, 1),
        "email": "n@example.org",
        "arrival_date": dt.date(2005, 11, 15),
        "departure_date": dt.date(2005, 11, 19),
        "visa_required": False,
    }


# -- Submit, withdraw, delete from the list -----------------------------------------------------


def _with_photo(app, pid):
    from portal.services.photos import process, store

    with app.test_request_context(), database.connection_context():
        store(Participant.get_by_id(pid), process(jpeg(), 5 * 1024 * 1024))


def test_submit_from_the_list_both_paths(signed_in, world, make_participant):
    a = make_participant(world["org"], **_complete_model())
    b = make_participant(
        world["org"],
        **{
            **_complete_model(),
            "family_name": "B",
            "passport_number": "B1234567",
            "passport_key": "B1234567",
        },
    )
    for p in (a, b):
        _with_photo(signed_in.application, p.id)
    page = signed_in.get("/delegation/participants").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    plain = signed_in.post("/delegation/participants/%d/submit" % a.id, data={"csrf_token": token})
    assert plain.status_code == 303
    assert one(signed_in.application, a.id).status == SUBMITTED
    hx = signed_in.post(
        "/delegation/participants/%d/submit" % b.id,
        data={"csrf_token": token},
        headers=shown_rows(signed_in),
    )
    body = hx.get_data(as_text=True)
    assert hx.status_code == 200
    # Only the row that changed comes back (the list's order is the same).
    assert (
        '<hx-partial hx-target="#p-%d" hx-swap="outerHTML"><tr id="p-%d" class="st-submitted"'
        % (b.id, b.id)
        in body
    )
    assert body.count("<tr ") == 1
    assert "Submitted: <strong>2</strong>" in body


def test_withdraw_asks_for_confirmation_and_keeps_the_record(signed_in, world, make_participant):
    p = make_participant(world["org"], status=SUBMITTED, is_head=True)
    url = "/delegation/participants/%d/withdraw" % p.id
    page = signed_in.get("/delegation/participants").get_data(as_text=True)
    assert 'hx-post="%s" hx-confirm="Withdraw' % url in page
    confirm = signed_in.get(url)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "The record and its history are kept" in html
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = signed_in.post(url, data={"csrf_token": token})
    assert response.status_code == 303
    after = one(signed_in.application, p.id)
    assert after.status == WITHDRAWN and not after.is_head
    # A repeated request changes nothing and is not an error.
    again = signed_in.post(url, data={"csrf_token": token}, headers=HX)
    assert again.status_code == 200 and "Withdrawn" in again.get_data(as_text=True)
    with signed_in.application.app_context(), database.connection_context():
        actions = [a.action for a in AuditLog.select().where(AuditLog.object_id == p.id)]
    assert actions.count("participant.withdraw") == 1


def test_only_drafts_can_be_deleted(signed_in, world, make_participant):
    draft = make_participant(world["org"])
    sub = make_participant(world["org"], family_name="X", status=SUBMITTED)
    page = signed_in.get("/delegation/participants/%d/delete" % draft.id).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    hx = signed_in.post(
        "/delegation/participants/%d/delete" % draft.id,
        data={"csrf_token": token},
        headers=shown_rows(signed_in),
    )
    body = hx.get_data(as_text=True)
    assert hx.status_code == 200
    assert '<hx-partial hx-target="#p-%d" hx-swap="delete">' % draft.id in body
    assert "1 participant</caption>" in body
    refused = signed_in.post(
        "/delegation/participants/%d/delete" % sub.id, data={"csrf_token": token}
    )
    assert refused.status_code == 409
    assert "Only drafts can be deleted" in refused.get_data(as_text=True)
    assert [p.id for p in rows(signed_in.application)] == [sub.id]


# -- Registration window ------------------------------------------------------------------------


def test_before_opening_drafts_only(client, auth, world, make_event):
    make_event("not_open")
    auth.login("coord", PASSWORD)
    html = open_form(client)[0]
    assert 'name="submit"' not in html
    response = post_form(client, complete(submit="1"), photo=jpeg())
    assert response.status_code == 422
    assert "not open yet" in response.get_data(as_text=True)
    (p,) = rows(client.application)
    assert p.status == DRAFT


def test_after_closing_read_only(client, auth, world, make_event, make_participant):
    p = make_participant(world["org"])
    make_event("closed")
    auth.login("coord", PASSWORD)
    url = "/delegation/participants/%d" % p.id
    html = open_form(client, url)[0]
    assert "<fieldset disabled>" in html and 'name="save"' not in html
    assert "Registration is closed" in html
    response = post_form(client, {"family_name": "Changed"}, url=url)
    assert response.status_code == 422
    assert one(client.application, p.id).family_name == "DOE"
    page = client.get("/delegation/participants").get_data(as_text=True)
    assert "Add a participant" not in page and ">Edit<" not in page


# -- Quota, e-mail, audit -----------------------------------------------------------------------


def test_quota_refuses_a_submission_beyond_it(signed_in, world, make_participant):
    with signed_in.application.app_context(), database.connection_context():
        world["org"].quota = 1
        world["org"].save()
    make_participant(world["org"], family_name="IN", status=SUBMITTED)
    response = post_form(signed_in, complete(submit="1"), photo=jpeg())
    assert response.status_code == 422
    assert "quota of 1 participants is reached" in response.get_data(as_text=True)


def test_submission_mails_a_summary_in_the_coordinators_language(
    signed_in, world, smtp_server, make_participant
):
    make_participant(world["org"], family_name="ALREADY", given_names="Here")
    signed_in.get("/language/en")
    with signed_in.application.app_context(), database.connection_context():
        world["coord"].language = "fr"
        world["coord"].save()
    response = post_form(signed_in, complete(submit="1"), photo=jpeg())
    assert response.status_code == 303
    assert smtp_server == []  # queued by the request, sent by the sender
    deliver_mail(signed_in.application)
    (message,) = smtp_server
    body = message.get_content()
    assert message["To"].endswith("<coord@example.org>")
    assert "Here ALREADY" in body and "Karim BENALI" in body
    lines = [line for line in body.splitlines() if line.startswith("- ")]
    assert len(lines) == 2


def test_audit_names_changed_fields_never_passport_numbers(signed_in):
    post_form(signed_in, complete())
    (p,) = rows(signed_in.application)
    post_form(
        signed_in, complete(passport_number="Z7777777"), url="/delegation/participants/%d" % p.id
    )
    with signed_in.application.app_context(), database.connection_context():
        entries = list(AuditLog.select().where(AuditLog.object_id == p.id).order_by(AuditLog.id))
    update = [e for e in entries if e.action == "participant.update"][-1]
    assert json.loads(update.details)["fields"] == ["passport_number"]
    for entry in entries:
        assert "P1234567" not in entry.details and "Z7777777" not in entry.details


# -- Photos served only to their own ------------------------------------------------------------


def test_photo_served_privately_with_cache_headers(signed_in, world):
    post_form(signed_in, complete(), photo=jpeg())
    (p,) = rows(signed_in.application)
    with signed_in.application.app_context(), database.connection_context():
        photo = Photo.get(Photo.participant == p.id)
    url = "/photos/%d/%s.jpg" % (p.id, photo.digest)
    response = signed_in.get(url)
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response.headers["ETag"] == '"%s"' % photo.digest
    assert signed_in.get(url, headers={"If-None-Match": '"%s"' % photo.digest}).status_code == 304
    thumb = signed_in.get("/photos/%d/%s/thumb.jpg" % (p.id, photo.digest))
    assert Image.open(__import__("io").BytesIO(thumb.data)).size == (60, 80)
    assert len(thumb.data) < 4000
    assert signed_in.get("/photos/%d/%s.jpg" % (p.id, "0" * 32)).status_code == 404


def test_csrf_expired_form_shown_again_with_values(signed_in):
    html, token, key, version = open_form(signed_in)
    response = signed_in.post(
        NEW,
        data={
            "csrf_token": "expired-or-forged",
            "submission_key": key,
            "family_name": "Keita",
            "special_needs": "Vegetarian",
        },
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "send it again" in body
    assert 'value="Keita"' in body and "Vegetarian" in body
    assert rows(signed_in.application) == []
    hx = signed_in.post(NEW, data={"family_name": "Keita", "in_list": "1"}, headers=HX)
    assert hx.status_code == 422 and hx.get_data(as_text=True).lstrip().startswith("<form")


def test_csrf_token_past_its_lifetime(signed_in):
    # Shorter than the idle timeout, so that the session outlives the token.
    limit = 30 * 60
    signed_in.application.config["WTF_CSRF_TIME_LIMIT"] = limit
    # Flask-WTF's token carries the time itsdangerous read from time.time(): time-machine
    # moves that (and the portal's clock with it) instead of waiting. Cookies signed while
    # travelling would be from the future afterwards, so the test ends inside the journey.
    with time_machine.travel(time.time(), tick=False) as traveller:
        form = open_form(signed_in)
        traveller.shift(limit + 1)
        response = post_form(signed_in, {"family_name": "Late"}, form=form)
        assert response.status_code == 422
        assert 'value="Late"' in response.get_data(as_text=True)
        again = post_form(signed_in, {"family_name": "Late"})
        assert again.status_code == 303


def test_form_in_the_list_loads_its_country_lists_separately(signed_in):
    """The HTMX form stays small: its country lists come from a cached request."""
    html = signed_in.get(NEW + "?in_list=1", headers=HX).get_data(as_text=True)
    assert 'hx-get="/delegation/countries/en?selected=" hx-trigger="load"' in html
    assert '<option value="TN"' not in html
    options = signed_in.get("/delegation/countries/en?selected=TN", headers=HX)
    body = options.get_data(as_text=True)
    assert options.status_code == 200
    assert '<option value="TN" selected>Tunisia' in body and "Égypte" not in body
    assert options.headers["Cache-Control"] == "private, max-age=86400"
    assert signed_in.get("/delegation/countries/xx").status_code == 404
    # The whole page (and so the form without JavaScript) has the lists in it.
    assert '<option value="TN">Tunisia' in open_form(signed_in)[0]


def test_htmx_edit_in_the_list_swaps_the_row(signed_in):
    post_form(signed_in, complete())
    (p,) = rows(signed_in.application)
    url = "/delegation/participants/%d" % p.id
    fragment = signed_in.get(url + "?in_list=1", headers=HX)
    html = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and html.lstrip().startswith("<form")
    assert 'value="P1234567"' in html
    form = open_form(signed_in, url + "?in_list=1", headers=HX)
    other_tab = open_form(signed_in, url + "?in_list=1", headers=HX)
    response = post_form(
        signed_in,
        complete(function="Ambassador", in_list="1"),
        url=url,
        headers=shown_rows(signed_in),
        form=form,
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<hx-partial hx-target="#p-%d" hx-swap="outerHTML">' % p.id in body
    assert "Ambassador" in body and "afterbegin" not in body
    # A stale version through HTMX: 409 with the form, both versions shown.
    stale = post_form(
        signed_in, complete(function="Other", in_list="1"), url=url, headers=HX, form=other_tab
    )
    assert stale.status_code == 409
    text = stale.get_data(as_text=True)
    assert text.lstrip().startswith("<form") and "Ambassador" in text and 'value="Other"' in text


def test_delete_a_draft_plain(signed_in, world, make_participant):
    draft = make_participant(world["org"])
    page = signed_in.get("/delegation/participants/%d/delete" % draft.id).get_data(as_text=True)
    assert "This cannot be undone" in page
    response = signed_in.post(
        "/delegation/participants/%d/delete" % draft.id, data={"csrf_token": csrf_token(page)}
    )
    assert (
        response.status_code == 303 and response.headers["Location"] == "/delegation/participants"
    )
    assert rows(signed_in.application) == []
    assert "is deleted" in signed_in.get("/delegation/participants").get_data(as_text=True)


def test_accredited_participant_is_not_resubmitted_by_a_plain_save(
    signed_in, world, make_participant
):
    p = make_participant(world["org"], status=ACCREDITED, **_complete_model())
    url = "/delegation/participants/%d" % p.id
    html = open_form(signed_in, url)[0]
    assert 'name="submit"' not in html
    post_form(signed_in, form_of(p, special_needs="Vegetarian", submit="1"), url=url)
    assert one(signed_in.application, p.id).status == ACCREDITED


def test_htmx_submit_refused_still_adds_the_saved_draft_row(signed_in):
    form = open_form(signed_in, NEW + "?in_list=1", headers=HX)
    response = post_form(
        signed_in, {"family_name": "Half", "submit": "1", "in_list": "1"}, headers=HX, form=form
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    (p,) = rows(signed_in.application)
    assert body.lstrip().startswith("<form")
    assert 'hx-post="/delegation/participants/%d"' % p.id in body  # the form now edits it
    assert '<div id="list" hx-swap-oob="true">' in body and '<tr id="p-%d"' % p.id in body
    assert "Draft: <strong>1</strong>" in body
