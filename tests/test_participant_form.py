"""The participant form as a new coordinator meets it: sections with headings, each label saying
whether a submission needs the field, an error summary that links to each field in error, the
visa's place asked only with a visa, a chosen photo kept when the form comes back with errors;
and the list after a change made in place (the rows that differ from those on screen)."""

import datetime as dt
import re

from portal import lifecycle
from portal.db import database
from portal.delegation.views import list_changes
from portal.models import DRAFT, PendingPhoto, Photo, utcnow
from portal.services import pending_photos
from tests import test_delegation
from tests.test_delegation_helpers import (
    HX,
    NEW,
    complete,
    jpeg,
    open_form,
    post_form,
    shown_rows,
)

# The delegation tests' fixtures: the summit open, an organization, its coordinator signed in.
world = test_delegation.world
signed_in = test_delegation.signed_in
rows, one = test_delegation.rows, test_delegation.one

LABEL_RE = re.compile(r'<label for="([a-z_]+)">(.*?)</label>', re.S)
LEGEND_RE = re.compile(
    r'<div class="field[^"]*" id="([a-z_]+)-field">\s*<fieldset[^>]*><legend>(.*?)</legend>', re.S
)


def labels(html):
    return {**dict(LABEL_RE.findall(html)), **dict(LEGEND_RE.findall(html))}


# -- Sections, headings, what a submission needs ------------------------------------------------


def test_the_forms_own_pages_have_a_level_one_heading_and_headed_sections(signed_in, world):
    html = open_form(signed_in)[0]
    assert "<h1>Add a participant</h1>" in html
    for section in ("The person", "Passport", "Contact and travel", "Badge photo"):
        assert "<legend><h2>%s</h2></legend>" % section in html
    post_form(signed_in, complete())
    (p,) = rows(signed_in.application)
    edit = open_form(signed_in, "/delegation/participants/%d" % p.id)[0]
    assert re.search(r"<h1><bdi>Karim BENALI</bdi> · Draft</h1>", edit)
    # Inside the list, the form is a part of the page: one level below its heading.
    embedded = signed_in.get(NEW + "?in_list=1", headers=HX).get_data(as_text=True)
    assert (
        "<h2>New participant</h2>" in embedded and "<legend><h3>Passport</h3></legend>" in embedded
    )
    assert "<h1>" not in embedded


def test_each_label_says_whether_a_submission_needs_the_field(signed_in, world):
    found = labels(open_form(signed_in)[0])
    for requirement in lifecycle.REQUIREMENTS:
        assert "(needed to submit)" in found[requirement.field], requirement.field
    needed = {r.field for r in lifecycle.REQUIREMENTS}
    optional = {"family_name_original", "given_names_original", "mobile", "special_needs"}
    assert optional.isdisjoint(needed)
    for name in optional:
        assert "(optional)" in found[name] and "needed" not in found[name], name
    # A tick box is neither.
    assert "(optional)" not in re.search(
        r'<label class="opt"><input[^>]+id="is_head"[^>]*>[^<]*', open_form(signed_in)[0]
    ).group(0)


# -- The error summary ---------------------------------------------------------------------------


def test_a_form_sent_back_starts_with_an_error_summary_linking_to_each_field(signed_in, world):
    response = post_form(
        signed_in, complete(family_name="Гагарин", email="nope", gender="", submit="1")
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary" id="error-summary"(.*?)</div>', html, re.S)
    assert summary, html
    assert 'role="alert" tabindex="-1"' in summary.group(0)
    links = re.findall(r'<a href="#([^"]+)">', summary.group(1))
    assert links == ["family_name", "email"], links
    # It comes first in the form, and the page opens at it without JavaScript.
    form = html[html.index('id="participant-form"') :]
    assert form.index('id="error-summary"') < form.index('name="submission_key"')
    assert 'action="/delegation/participants/new#error-summary"' in html
    # With HTMX the address stays clean (delegation.js moves the focus).
    assert 'hx-post="/delegation/participants/new"' in html


def test_the_summary_lists_what_a_refused_submission_still_needs(signed_in, world):
    response = post_form(signed_in, {"family_name": "Sow", "submit": "1"})
    html = response.get_data(as_text=True)
    summary = re.search(r'id="error-summary".*?</div>', html, re.S).group(0)
    assert "Saved as a draft, but not submitted" in summary
    links = re.findall(r'<a href="#([^"]+)">', summary)
    # Radio buttons are linked by their first button.
    assert {"courtesy_title", "gender-0", "passport_number", "photo"} <= set(links)


def test_a_duplicate_is_said_once_at_the_family_name(signed_in, world):
    post_form(signed_in, complete())
    html = post_form(signed_in, complete()).get_data(as_text=True)
    summary = re.search(r'id="error-summary".*?</div>', html, re.S).group(0)
    assert summary.count("already in your delegation") == 1
    assert 'href="#family_name"' in summary


# -- The visa's place ----------------------------------------------------------------------------


def test_the_visa_question_and_its_place_are_one_fieldset(signed_in, world):
    html = open_form(signed_in)[0]
    group = re.search(
        r'<div class="field visa" id="visa_required-field">.*?</fieldset>', html, re.S
    )
    assert group and 'class="follow-up"' in group.group(0) and 'id="visa_place"' in group.group(0)
    post_form(signed_in, complete(visa_required="no", visa_place="Paris, consulate"))
    (p,) = rows(signed_in.application)
    assert p.visa_required is False and p.visa_place == ""  # not asked: not kept
    post_form(
        signed_in,
        complete(
            family_name="OTHER", passport_number="Q7654321", visa_required="yes", visa_place="Paris"
        ),
    )
    assert rows(signed_in.application, family_name="OTHER")[0].visa_place == "Paris"


# -- A photo chosen with a form that comes back with errors --------------------------------------


def test_a_chosen_photo_survives_a_failed_save_and_is_saved_with_the_corrected_form(
    signed_in, world
):
    form = open_form(signed_in)
    key = form[2]
    failed = post_form(signed_in, complete(email="not an address"), photo=jpeg(), form=form)
    html = failed.get_data(as_text=True)
    assert failed.status_code == 422
    thumb = re.search(r'src="(/delegation/photos/kept/%s/[0-9a-f]+\.jpg)"' % re.escape(key), html)
    assert thumb, html
    assert (
        '<input checked id="photo_choice-0" name="photo_choice" type="radio" value="keep">' in html
    )
    picture = signed_in.get(thumb.group(1))
    assert picture.status_code == 200 and picture.mimetype == "image/jpeg"
    # The corrected form sends no file again: the kept one is used.
    again = post_form(signed_in, complete(photo_choice="keep"), form=form)
    assert again.status_code == 303
    (p,) = rows(signed_in.application)
    with signed_in.application.app_context(), database.connection_context():
        assert Photo.get(Photo.participant == p.id).width == 300
        assert PendingPhoto.select().count() == 0  # taken


def test_a_kept_photo_can_be_replaced_or_left_out(signed_in, world):
    form = open_form(signed_in)
    post_form(signed_in, complete(email="x"), photo=jpeg(color=(200, 0, 0)), form=form)
    # Replaced by another file: the new one is saved.
    post_form(signed_in, complete(photo_choice="replace"), photo=jpeg(color=(0, 0, 200)), form=form)
    (p,) = rows(signed_in.application)
    with signed_in.application.app_context(), database.connection_context():
        photo = Photo.get(Photo.participant == p.id)
        import io

        from PIL import Image

        red, green, blue = Image.open(io.BytesIO(bytes(photo.data))).getpixel((150, 300))
        assert blue > red
    # "Choose another" and no file: no photo from this form.
    form = open_form(signed_in)
    post_form(
        signed_in,
        complete(family_name="NOPIC", passport_number="N1234567", email="x"),
        photo=jpeg(),
        form=form,
    )
    response = post_form(
        signed_in,
        complete(family_name="NOPIC", passport_number="N1234567", photo_choice="replace"),
        form=form,
    )
    assert response.status_code == 303
    (nopic,) = rows(signed_in.application, family_name="NOPIC")
    with signed_in.application.app_context(), database.connection_context():
        assert not Photo.select().where(Photo.participant == nopic.id).exists()


def test_a_kept_photo_is_its_senders_only(signed_in, world, client, auth, app, make_account):
    form = open_form(signed_in)
    html = post_form(signed_in, complete(email="x"), photo=jpeg(), form=form).get_data(as_text=True)
    thumb = re.search(r'src="(/delegation/photos/kept/[^"]+)"', html).group(1)
    other = app.test_client()
    from tests.conftest import AuthActions

    make_account("colleague", organization=world["other"])
    AuthActions(other).login("colleague", "Correct-horse-42")
    assert other.get(thumb).status_code == 404
    # Nor can another account's form take it with the same key.
    stolen = post_form(
        other, complete(photo_choice="keep"), form=(*open_form(other)[:2], form[2], "")
    )
    assert stolen.status_code == 303
    with app.app_context(), database.connection_context():
        assert Photo.select().count() == 0


def test_kept_photos_are_purged_after_a_day(signed_in, world, runner, clock, app):
    form = open_form(signed_in)
    post_form(signed_in, complete(email="x"), photo=jpeg(), form=form)

    def kept():
        with app.app_context(), database.connection_context():
            return PendingPhoto.select().count()

    clock.shift(dt.timedelta(hours=23))
    result = runner.invoke(args=["photos", "purge-pending"])
    assert result.exit_code == 0 and "0 pending photos purged" in result.output
    assert kept() == 1
    clock.shift(dt.timedelta(hours=2))
    # Too old to be offered any more, even before the purge runs.
    with app.test_request_context(), database.connection_context():
        from portal.models import Account

        owner = Account.get(Account.username_key == "coord")
        assert pending_photos.find(form[2], owner) is None
    result = runner.invoke(args=["photos", "purge-pending"])
    assert "1 pending photos purged" in result.output
    assert kept() == 0


def test_keeping_a_photo_purges_the_old_ones(signed_in, world, app):
    with app.app_context(), database.connection_context():
        PendingPhoto.create(
            key="old",
            account=world["coord"].id,
            data=b"x",
            thumbnail=b"x",
            width=300,
            height=400,
            digest="0" * 32,
            created_at=utcnow() - dt.timedelta(days=2),
        )
    post_form(signed_in, complete(email="x"), photo=jpeg())
    with app.app_context(), database.connection_context():
        assert [p.key for p in PendingPhoto.select()] != ["old"]
        assert PendingPhoto.select().count() == 1


# -- The list after a change made in place ------------------------------------------------------


class Row:
    def __init__(self, pid, version="v"):
        self.id = pid
        self.version = version


def _changes(shown, now):
    rows_now = [Row(pid, v) for pid, v in now]
    result = list_changes(shown, rows_now, lambda p: p.version)
    return {
        "inserts": [(after, [p.id for p in run]) for after, run in result["inserts"]],
        "replaces": [p.id for p in result["replaces"]],
        "deletes": result["deletes"],
    }


def test_list_changes_bring_the_screen_to_the_page_as_reloaded():
    same = [(1, "a"), (2, "b"), (3, "c")]
    assert _changes(same, same) == {"inserts": [], "replaces": [], "deletes": []}
    # A new head first, the old head's row changed, one in the middle, one gone.
    assert _changes(same, [(9, "n"), (1, "a2"), (7, "m"), (3, "c")]) == {
        "inserts": [(None, [9]), (1, [7])],
        "replaces": [1],
        "deletes": [2],
    }
    # A row that moves (renamed, withdrawn) is taken out and put in its new place.
    assert _changes(same, [(2, "b"), (3, "c"), (1, "a3")]) == {
        "inserts": [(3, [1])],
        "replaces": [],
        "deletes": [1],
    }


def test_a_change_in_the_list_sends_only_what_differs(signed_in, world, make_participant):
    org = world["org"]
    head = make_participant(org, family_name="ZULU", is_head=True)
    make_participant(org, family_name="ALPHA")
    make_participant(org, family_name="MIDDLE")
    form = open_form(signed_in, NEW + "?in_list=1", headers=HX)
    response = post_form(
        signed_in,
        complete(family_name="NEW", is_head="y", in_list="1"),
        headers=shown_rows(signed_in),
        form=form,
    )
    body = response.get_data(as_text=True)
    (new,) = rows(signed_in.application, family_name="NEW")
    # The new head comes first; the old head's row, without its mark, moves to its name's place.
    assert '<hx-partial hx-target="#plist-body" hx-swap="afterbegin"><tr id="p-%d"' % new.id in body
    assert '<hx-partial hx-target="#p-%d" hx-swap="delete">' % head.id in body
    moved = re.search(
        r'<hx-partial hx-target="#p-\d+" hx-swap="afterend">(.*?)</hx-partial>', body, re.S
    )
    assert moved and 'id="p-%d"' % head.id in moved.group(1)
    assert "Head of delegation" not in moved.group(1)
    assert '<caption id="plist-caption">4 participants</caption>' in body
    assert body.count("<tr ") == 2  # ALPHA and MIDDLE did not change: not sent
    assert one(signed_in.application, head.id).is_head is False
    assert one(signed_in.application, new.id).status == DRAFT
