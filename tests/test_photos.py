"""What must show (5): broken, huge, disguised and decompression-bomb images are refused with
clear errors and nothing else in the form is lost; a photo taken sideways is turned upright,
stripped of its metadata, cropped to a 3:4 portrait and stored in the database."""

import io
import os

import pytest
from PIL import Image

from portal.db import database
from portal.models import Participant, Photo
from portal.services import photos
from tests.test_delegation_helpers import HX, NEW, PASSWORD, complete, jpeg, open_form, post_form

LIMIT = 5 * 1024 * 1024


def png(width, height, mode="1"):
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


def noise_png(side):
    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, "PNG")
    return out.getvalue()


BAD_FILES = {
    "broken": (jpeg()[:2000], "This image is damaged or incomplete"),
    "disguised": (b"#!/bin/sh\nrm -rf / --no-preserve-root\n" * 20, "This file is not an image"),
    "html": (b"<html><script>alert(1)</script></html>", "This file is not an image"),
    "bomb": (png(20000, 20000), "too many pixels"),
    "bomb-warning": (png(8000, 7000), "too many pixels"),
    "tiny": (jpeg(40, 40), "too small"),
    "empty": (b"", None),
}


# -- The service ----------------------------------------------------------------------------


def test_sideways_photo_turned_upright_stripped_and_cropped():
    # Stored landscape with its top (dark band) up; EXIF 6: the camera was turned clockwise.
    data = jpeg(1000, 600, orientation=6)
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == 6
    photo = photos.process(data, LIMIT)
    image = Image.open(io.BytesIO(photo.data))
    assert image.size == (300, 400) and (photo.width, photo.height) == (300, 400)
    assert image.format == "JPEG"
    # Rotated 90° clockwise: what was the top band is now the right edge.
    assert image.getpixel((295, 200))[0] < 40
    assert image.getpixel((5, 200))[0] > 90
    assert not image.getexif() and "exif" not in image.info
    thumb = Image.open(io.BytesIO(photo.thumbnail))
    assert thumb.size == (60, 80) and len(photo.thumbnail) < 4000
    assert len(photo.data) < 40_000
    assert len(photo.digest) == 32


def test_wide_photo_cropped_centered_to_portrait():
    image = Image.new("RGB", (1200, 600), (200, 0, 0))
    image.paste((0, 0, 200), (450, 0, 750, 600))  # a blue band in the middle
    out = io.BytesIO()
    image.save(out, "PNG")
    photo = photos.process(out.getvalue(), LIMIT)
    badge = Image.open(io.BytesIO(photo.data))
    r, g, b = badge.getpixel((150, 200))
    assert b > 150 and r < 60  # the centre kept
    r, g, b = badge.getpixel((2, 200))
    assert r > 150  # the sides are the red just around the band


def test_transparent_png_on_white():
    image = Image.new("RGBA", (300, 400), (0, 0, 0, 0))
    out = io.BytesIO()
    image.save(out, "PNG")
    badge = Image.open(io.BytesIO(photos.process(out.getvalue(), LIMIT).data))
    assert min(badge.getpixel((150, 200))) > 240


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_files_refused_by_the_service(name):
    data, message = BAD_FILES[name]
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(data, LIMIT)
    if message:
        assert message in str(caught.value.message)


def test_huge_file_refused_before_decoding():
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(b"\xff\xd8" + b"0" * (LIMIT + 10), LIMIT)
    assert "too large" in str(caught.value.message) and "5 MB" in str(caught.value.message)


# -- Through the form ---------------------------------------------------------------------------


@pytest.fixture
def coordinator(client, auth, make_event, make_org, make_account):
    make_event("open")
    make_account("coord", organization=make_org("ITU"))
    auth.login("coord", PASSWORD)
    return client


def _count(app, model):
    with app.app_context(), database.connection_context():
        return model.select().count()


@pytest.mark.parametrize("name", ["broken", "disguised", "bomb", "bomb-warning", "huge"])
@pytest.mark.parametrize("hx", [False, True])
def test_bad_upload_refused_and_the_form_kept(coordinator, name, hx):
    data, message = BAD_FILES[name] if name != "huge" else (noise_png(1400), "too large")
    if name == "huge":
        assert len(data) > LIMIT
    typed = complete(
        family_name="O'Brien-Lefèvre",
        given_names="Siobhán",
        special_needs="Halal meals",
        in_list="1",
    )
    response = post_form(
        coordinator, typed, photo=data, filename="photo.jpg", headers=HX if hx else {}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="photo-error"' in html and message in html
    assert 'aria-describedby="photo-hint photo-error"' in html
    # Nothing else is lost: every typed value is in the form sent back.
    assert "O&#39;Brien-Lefèvre" in html and 'value="Siobhán"' in html
    assert "Halal meals" in html and 'value="P1234567"' in html
    assert '<option value="TN" selected>' in html
    if hx:
        assert html.lstrip().startswith("<form")
    assert _count(coordinator.application, Participant) == 0
    assert _count(coordinator.application, Photo) == 0


def test_bad_photo_on_an_existing_participant_changes_nothing(coordinator):
    assert post_form(coordinator, complete(), photo=jpeg()).status_code == 303
    with coordinator.application.app_context(), database.connection_context():
        p = Participant.get()
        before = Photo.get().digest
    url = "/delegation/participants/%d" % p.id
    response = post_form(coordinator, complete(function="Changed"), url=url, photo=b"GIF89a junk")
    assert response.status_code == 422
    assert 'value="Changed"' in response.get_data(as_text=True)
    with coordinator.application.app_context(), database.connection_context():
        assert Participant.get().function == "Director"
        assert Photo.get().digest == before


def test_sideways_upload_stored_upright_in_the_database(coordinator):
    response = post_form(coordinator, complete(), photo=jpeg(1000, 600, orientation=6))
    assert response.status_code == 303
    with coordinator.application.app_context(), database.connection_context():
        photo = Photo.get()
    image = Image.open(io.BytesIO(bytes(photo.data)))
    assert image.size == (300, 400)
    assert image.getpixel((295, 200))[0] < 40
    assert not image.getexif()


def test_replacing_the_photo_changes_its_address(coordinator):
    post_form(coordinator, complete(), photo=jpeg(color=(200, 10, 10)))
    with coordinator.application.app_context(), database.connection_context():
        p = Participant.get()
        first = Photo.get().digest
    url = "/delegation/participants/%d" % p.id
    post_form(coordinator, complete(), url=url, photo=jpeg(color=(10, 200, 10)))
    with coordinator.application.app_context(), database.connection_context():
        assert Photo.select().count() == 1
        second = Photo.get().digest
    assert first != second
    html = open_form(coordinator, url)[0]
    assert "/photos/%d/%s.jpg" % (p.id, second) in html
    assert coordinator.get("/photos/%d/%s.jpg" % (p.id, first)).status_code == 404
    assert NEW
