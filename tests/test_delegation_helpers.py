"""Shared helpers for the delegation tests: pictures made with Pillow, a complete participant,
and posting the participant form the way a browser does (its CSRF token and one-time key)."""

import io
import re

from PIL import Image

from tests.conftest import csrf_token

HX = {"HX-Request": "true"}
PASSWORD = "Correct-horse-42"
NEW = "/delegation/participants/new"


def jpeg(width=600, height=800, color=(120, 90, 60), orientation=None, quality=85):
    """A JPEG; with ``orientation`` it carries that EXIF Orientation (6: taken sideways)."""
    image = Image.new("RGB", (width, height), color)
    # A darker top band shows where "up" is once EXIF rotation is applied.
    image.paste((10, 10, 10), (0, 0, width, height // 10))
    out = io.BytesIO()
    kwargs = {}
    if orientation:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(out, "JPEG", quality=quality, **kwargs)
    return out.getvalue()


def complete(**values):
    """The fields of a participant ready for submission (the photo apart)."""
    data = {
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
        "visa_place": "",
        "special_needs": "",
    }
    data.update(values)
    return data


KEY_RE = re.compile(r'name="submission_key" type="hidden" value="([^"]*)"')
VERSION_RE = re.compile(r'name="version" type="hidden" value="([^"]*)"')


def open_form(client, url=NEW, headers=None):
    """GET the form; return (html, csrf token, submission key, version)."""
    page = client.get(url, headers=headers or {})
    assert page.status_code == 200, page.status_code
    html = page.get_data(as_text=True)
    key = KEY_RE.search(html)
    version = VERSION_RE.search(html)
    return html, csrf_token(html), key.group(1) if key else "", version.group(1) if version else ""


def post_form(client, data, url=NEW, headers=None, photo=None, filename="photo.jpg", form=None):
    """Open the form (or reuse ``form``) and post ``data`` with its token and key."""
    html, token, key, version = form or open_form(client, url)
    payload = {"csrf_token": token, "submission_key": key, "version": version, **data}
    if photo is not None:
        payload["photo"] = (io.BytesIO(photo), filename)
    return client.post(url, data=payload, headers=headers or {}, content_type="multipart/form-data")


ROW_RE = re.compile(r'<tr id="p-(\d+)"[^>]* data-v="([0-9a-f]+)"')


def shown_rows(client, url="/delegation/participants"):
    """The HX-Rows header delegation.js sends from the list at ``url``: the rows on screen."""
    html = client.get(url).get_data(as_text=True)
    return {**HX, "HX-Rows": " ".join("%s.%s" % m for m in ROW_RE.findall(html))}


def form_of(p, **changes):
    """The form of a stored participant as a browser sends it back, with ``changes``."""
    values = {
        "courtesy_title": p.courtesy_title,
        "family_name": p.family_name,
        "given_names": p.given_names,
        "gender": p.gender,
        "function": p.function,
        "nationality": p.nationality,
        "date_of_birth": p.date_of_birth.isoformat(),
        "passport_number": p.passport_number,
        "passport_country": p.passport_country,
        "passport_expiry": p.passport_expiry.isoformat(),
        "email": p.email,
        "arrival_date": p.arrival_date.isoformat(),
        "departure_date": p.departure_date.isoformat(),
        "visa_required": "no",
    }
    values.update(changes)
    return values
