"""An image corpus through the badge photo pipeline (portal/services/photos.py): bombs, lies,
polyglots, every mode, EXIF orientation, animations, every format a phone or a scanner makes and
some it does not, empty and one-byte files. Every image is made here with Pillow (no binaries in
the repository).

Each is either accepted, and then re-encoded into a clean JPEG of the badge's size (nothing of the
file's own bytes survives: no EXIF, no appended archive or page), or refused with a clear
message; never a 500. ``make test`` runs a sample (service and form); ``make test-hostile``
(``PORTAL_HOSTILE=full``) runs the whole corpus, through the form too, and measures each decode's
peak memory in a fresh process (under the bound of tests/test_attack_findings.py).
"""

import io
import os
import struct
import zipfile
from collections import Counter

import pytest
from PIL import Image, ImageDraw

from portal.models import Participant, Photo
from portal.services import photos

from .conftest import summary
from .test_attack_findings import DECODE_BOUND, decode_in_a_process
from .test_delegation_helpers import PASSWORD, complete, post_form

FULL = os.environ.get("PORTAL_HOSTILE") == "full"
LIMIT = 5 * 1024 * 1024
ACCEPTED = "accepted"
#: What each kind of refusal says (the start of the English message).
TOO_MANY = "This image has too many pixels"
DAMAGED = "This image is damaged or incomplete"
NOT_IMAGE = "This file is not an image"
FORMAT = "This image format"
TOO_SMALL = "This photo is too small"
EMPTY = "The file is empty"


def picture(mode="RGB", size=(300, 400)):
    """A portrait with something on it (a dark band at the top shows where "up" is)."""
    image = Image.new("RGB", size, (200, 160, 120))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, size[0], size[1] // 10), fill=(10, 10, 10))
    draw.ellipse(
        (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4), fill=(90, 60, 40)
    )
    if mode == "RGB":
        return image
    if mode in ("I;16", "I", "F"):
        return image.convert("L").convert(mode) if mode != "I;16" else _i16(image)
    if mode in ("LA", "RGBA", "PA"):
        converted = image.convert(mode[:-1] if mode != "PA" else "P").convert(mode)
        converted.putalpha(200) if mode != "PA" else None
        return converted
    return image.convert(mode)


def _i16(image):
    gray = image.convert("L")
    return Image.frombytes("I;16", gray.size, bytes(b for v in gray.tobytes() for b in (0, v)))


def save(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def jpeg_claiming(width, height):
    """A 300 x 400 JPEG whose frame header says ``width`` x ``height``."""
    data = bytearray(save(picture(), "JPEG", quality=80))
    at = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, at + 5, height, width)
    return bytes(data)


def with_zip(data):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return data + out.getvalue()


def gif_js_polyglot():
    """A GIF whose first bytes are also JavaScript (``GIF89a/*...*/=alert(1);``): its width is
    the bytes ``/*``, 10799 pixels, and its height 10."""
    image = Image.new("P", (10799, 10))
    data = bytearray(save(image, "GIF"))
    data[6:8] = b"/*"
    return bytes(data) + b"*/=alert(1);"


def animated(fmt):
    frames = [picture(), picture().rotate(180)]
    return save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def png_text_bomb():
    """A PNG whose compressed text chunk unpacks to far more than Pillow reads."""
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", "A" * (20 * 1024 * 1024), zip=True)
    return save(picture(), "PNG", pnginfo=info)


#: How a camera stores an upright scene for each EXIF orientation (the inverse of what a viewer
#: applies, from the EXIF specification).
STORED_AS = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def exif_rotated(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Camera maker"  # metadata that must not survive
    upright = picture(size=(300, 400))
    stored = upright.transpose(STORED_AS[orientation]) if STORED_AS[orientation] else upright
    return save(stored, "JPEG", exif=exif.tobytes(), comment=b"Camera comment")


# (name, in the sample, maker, expected: ACCEPTED or the start of the message)
CORPUS = [
    # Bombs: a small file asking for a lot of memory.
    ("bomb png 1-bit 20000x20000", False, lambda: save(Image.new("1", (20000, 20000)), "PNG"), TOO_MANY),
    ("bomb png rgba 7070x7070", True, lambda: save(Image.new("RGBA", (7070, 7070)), "PNG"), TOO_MANY),
    ("bomb gif 8000x8000", False, lambda: save(Image.new("P", (8000, 8000)), "GIF"), TOO_MANY),
    ("bomb webp 4000x4000", False, lambda: save(Image.new("RGB", (4000, 4000)), "WEBP"), TOO_MANY),
    ("bomb tiff 1-bit 7000x7000", False, lambda: save(Image.new("1", (7000, 7000)), "TIFF", compression="group4"), TOO_MANY),
    ("bomb png text chunk", False, png_text_bomb, DAMAGED),
    # Lies: what the header or the name says is not what the file holds.
    ("jpeg claiming 7000x7000", False, lambda: jpeg_claiming(7000, 7000), TOO_MANY),
    ("jpeg claiming 4000x4000", True, lambda: jpeg_claiming(4000, 4000), DAMAGED),
    ("jpeg claiming 65535x65535", False, lambda: jpeg_claiming(65535, 65535), TOO_MANY),
    ("jpeg truncated", True, lambda: save(picture(), "JPEG")[:1500], DAMAGED),
    ("png truncated", False, lambda: save(picture(), "PNG")[:-400], DAMAGED),
    ("gif truncated", False, lambda: save(picture("P"), "GIF")[:300], DAMAGED),
    ("jpeg start and end only", False, lambda: b"\xff\xd8\xff\xd9", NOT_IMAGE),
    ("png named .jpg", True, lambda: save(picture(), "PNG"), ACCEPTED),
    ("text named .jpg", False, lambda: b"Just some text, not a photo.\n" * 10, NOT_IMAGE),
    ("svg", True, lambda: b'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="400"><script>alert(1)</script></svg>', NOT_IMAGE),
    ("empty", True, lambda: b"", EMPTY),
    ("one byte", True, lambda: b"\xff", NOT_IMAGE),
    ("too small", False, lambda: save(picture(size=(60, 80)), "JPEG"), TOO_SMALL),
    # Polyglots: an image that is also something else.
    ("jpeg with a zip appended", True, lambda: with_zip(save(picture(), "JPEG")), ACCEPTED),
    ("jpeg with a page appended", False, lambda: save(picture(), "JPEG") + b"<html><script>alert(1)</script>", ACCEPTED),
    ("png with a script in a text chunk", True, lambda: save(picture(), "PNG", pnginfo=_text("<script>alert(1)</script>")), ACCEPTED),
    ("gif that is also javascript", True, gif_js_polyglot, TOO_SMALL),
    # Every mode.
    *[
        ("png mode %s" % mode, mode in ("1", "P", "I;16"), (lambda m=mode: save(picture(m), "PNG")), ACCEPTED)
        for mode in ("1", "L", "LA", "P", "RGBA", "I;16")
    ],
    ("png 16-bit rgb", False, lambda: _png_rgb16(), ACCEPTED),
    ("jpeg mode L", False, lambda: save(picture("L"), "JPEG"), ACCEPTED),
    ("jpeg mode CMYK", True, lambda: save(picture("CMYK"), "JPEG"), ACCEPTED),
    ("jpeg mode YCbCr", False, lambda: save(picture("YCbCr"), "JPEG"), ACCEPTED),
    ("jpeg progressive", False, lambda: save(picture(), "JPEG", progressive=True), ACCEPTED),
    ("tiff mode F", True, lambda: save(picture("F"), "TIFF"), ACCEPTED),
    ("tiff mode I", False, lambda: save(picture("I"), "TIFF"), ACCEPTED),
    ("tiff mode CMYK", False, lambda: save(picture("CMYK"), "TIFF"), ACCEPTED),
    ("tiff mode LAB", True, lambda: save(picture("LAB"), "TIFF"), ACCEPTED),
    ("tiff deflate", False, lambda: save(picture(), "TIFF", compression="tiff_deflate"), ACCEPTED),
    ("bmp", False, lambda: save(picture(), "BMP"), ACCEPTED),
    ("bmp mode 1", False, lambda: save(picture("1"), "BMP"), ACCEPTED),
    ("webp", True, lambda: save(picture(), "WEBP"), ACCEPTED),
    ("webp lossless rgba", False, lambda: save(picture("RGBA"), "WEBP", lossless=True), ACCEPTED),
    ("gif", False, lambda: save(picture("P"), "GIF"), ACCEPTED),
    ("gif transparent", False, lambda: save(picture("P"), "GIF", transparency=0), ACCEPTED),
    ("gif animated", True, lambda: animated("GIF"), ACCEPTED),
    ("webp animated", False, lambda: animated("WEBP"), ACCEPTED),
    ("ico", True, lambda: save(picture(size=(256, 256)), "ICO"), FORMAT),
    ("pcx", False, lambda: save(picture(), "PCX"), FORMAT),
    ("ppm", False, lambda: save(picture(), "PPM"), FORMAT),
    # EXIF orientation: every one turned upright, and the EXIF dropped.
    *[
        ("jpeg exif orientation %d" % o, o == 6, (lambda o=o: exif_rotated(o)), ACCEPTED)
        for o in range(1, 9)
    ],
]  # fmt: skip


def _text(value):
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("comment", value)
    return info


def _png_rgb16():
    """A 16-bit-per-channel RGB PNG, written by hand (Pillow writes 8 bits per channel)."""
    import zlib

    width, height = 300, 400
    row = b"\x00" + b"\x80\x00\x40\x00\x20\x00" * width
    raw = zlib.compress(row * height)

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def corpus():
    return [item for item in CORPUS if FULL or item[1]]


def check_badge(name, data, badge):
    """An accepted image became a clean JPEG of the badge's size."""
    assert badge.data.startswith(b"\xff\xd8") and badge.data.endswith(b"\xff\xd9"), name
    out = Image.open(io.BytesIO(badge.data))
    assert out.format == "JPEG" and out.mode == "RGB", name
    assert out.size == photos.BADGE_SIZE, name
    assert not out.getexif(), name
    assert b"Camera" not in badge.data and b"PK\x03\x04" not in badge.data, name
    assert not out.info.get("comment") and not out.info.get("icc_profile"), name
    assert b"<script" not in badge.data and b"<html" not in badge.data, name
    # Upright: the dark band is at the top (a picture without one is not turned).
    if "orientation" in name:
        top = out.crop((0, 0, 300, 20)).convert("L").getextrema()[1]
        bottom = out.crop((0, 380, 300, 400)).convert("L").getextrema()[0]
        assert top < bottom, "%s: not upright" % name


@pytest.mark.parametrize(
    ("name", "maker", "expected"),
    [(n, m, e) for n, _s, m, e in corpus()],
    ids=[n for n, *_ in corpus()],
)
def test_the_pipeline_accepts_or_refuses_clearly(name, maker, expected):  # fmt: skip
    data = maker()
    if expected == ACCEPTED:
        check_badge(name, data, photos.process(data, LIMIT))
        return
    with pytest.raises(photos.PhotoError) as caught:
        photos.process(data, LIMIT)
    message = str(caught.value.message)
    assert message.startswith(expected), "%s: %s" % (name, message)


def test_the_corpus_covers_every_kind():
    names = " ".join(name for name, *_ in CORPUS)
    for kind in ("bomb", "claiming", "truncated", "named .jpg", "zip", "javascript", "animated",
                 "16-bit", "tiff", "bmp", "ico", "svg", "empty", "one byte", "orientation"):  # fmt: skip
        assert kind in names, kind
    modes = {"1", "L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "F", "YCbCr", "LAB"}
    assert all(any(name.endswith("mode " + m) for name, *_ in CORPUS) for m in modes)


@pytest.fixture
def coordinator(client, auth, make_event, make_org, make_account):
    make_event("open")
    make_account("coord", organization=make_org("ITU"))
    auth.login("coord", PASSWORD)
    return client


def test_the_corpus_through_the_form(app, coordinator):
    """Each image of the corpus (the sample, or all of it) sent with a complete participant, as
    a photo named ``photo.jpg``: 303 and a badge stored, or 422 with the message; never 500."""
    from portal.db import database

    statuses = Counter()
    problems = []
    for number, (name, _sample, maker, expected) in enumerate(corpus()):
        response = post_form(
            coordinator,
            complete(
                family_name="CORPUS " + "".join(chr(65 + int(d)) for d in str(number)),
                date_of_birth="19%02d-01-01" % (number % 90),
                passport_number="P%07d" % number,
            ),
            photo=maker(),
            filename="photo.jpg",
        )
        statuses[response.status_code] += 1
        html = response.get_data(as_text=True)
        if expected == ACCEPTED:
            if response.status_code != 303:
                problems.append("%s: %d" % (name, response.status_code))
        elif response.status_code != 422 or expected not in html:
            problems.append("%s: %d without %r" % (name, response.status_code, expected))
    with app.app_context(), database.connection_context():
        stored = Photo.select().count()
        people = Participant.select().count()
    accepted = sum(1 for item in corpus() if item[3] == ACCEPTED)
    summary(
        "image corpus (%s): %d images, form statuses %s, %d badges stored"
        % ("whole" if FULL else "sample", len(corpus()), dict(sorted(statuses.items())), stored)
    )
    assert not problems, "\n".join(problems)
    assert stored == people == accepted


@pytest.mark.skipif(not FULL, reason="make test-hostile measures each decode's memory")
def test_every_decode_of_the_corpus_stays_under_the_memory_bound(tmp_path):
    peaks = {}
    for name, _sample, maker, _expected in corpus():
        _outcome, added = decode_in_a_process(tmp_path, maker())
        peaks[name] = added
    worst = max(peaks, key=peaks.get)
    summary(
        "image corpus memory: worst %s, %.0f MB added at the peak (bound %.0f MB)"
        % (worst, peaks[worst] / 2**20, DECODE_BOUND / 2**20)
    )
    assert all(added < DECODE_BOUND for added in peaks.values()), peaks
