"""Badge photos: check that an upload really is an image, and turn it into a badge photo.

The file is judged by its content, never its name or declared type. What a decode will cost is
worked out from the header before anything is decoded, and an image a badge cannot need is
refused (decompression bombs: a 200 KB PNG of 7,000 x 7,000 pixels once took a worker to
half a gigabyte): JPEGs are decoded at a reduced scale (``Image.draft``), any other image may
take at most ``DECODE_BUDGET`` bytes at its peak, and each worker decodes
``PORTAL_PHOTO_CONCURRENCY`` images at a time (one by default). An image whose data ends early
is refused, never padded with grey. The EXIF orientation a phone records is applied, then every
piece of metadata dropped (the new JPEG is written without EXIF, GPS or comments); the picture
is cropped to a centered 3:4 portrait and scaled to the badge size, plus a thumbnail.
"""

import contextlib
import hashlib
import io
import os
import re
import threading
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from ..db import database
from ..models import Photo
from . import DomainError

#: More pixels than a badge photo can need (a 24-megapixel camera's 6,000 x 4,000): refused
#: before decoding, whatever the format.
MAX_PIXELS = 25_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
#: An image whose data ends early raises instead of being padded with grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False

#: Bytes an image may take while it becomes a badge (measured with ``make bench-uploads`` and
#: tests/test_attack_findings.py): with one decode at a time, a worker stays under 150 MB.
DECODE_BUDGET = 48 * 1024 * 1024

#: Bytes per pixel at the peak of turning a full-size image of this mode into a badge: the
#: decoded image (Pillow keeps 1 byte a pixel for 1, L and P, 4 for the others) plus the
#: full-size copy that a conversion (1 to L, P to RGB or RGBA) or a reduction with an alpha
#: channel (premultiplied first) makes. A mode not listed counts as the worst.
PEAK_BYTES_PER_PIXEL = {
    "1": 2,
    "L": 1,
    "P": 5,
    "P+transparency": 9,
    "LA": 8,
    "PA": 12,
    "RGB": 4,
    "RGBA": 8,
    "CMYK": 4,
    "YCbCr": 4,
    "I": 4,
    "F": 4,
    "I;16": 6,
}
WORST_BYTES_PER_PIXEL = 12
#: libwebp decodes into an RGBA buffer of its own, which Pillow copies and then converts:
#: measured at 16 to 17 bytes a pixel, whatever the mode.
WEBP_BYTES_PER_PIXEL = 18

#: Formats a phone or a scanner produces.
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
BADGE_SIZE = (300, 400)
THUMB_SIZE = (60, 80)
MIN_SIZE = (150, 200)
QUALITY = 80
THUMB_QUALITY = 70
#: A decoded image is reduced to about twice the badge's height before anything else.
WORKING_SIDE = 2 * max(BADGE_SIZE)

#: Images decoded at once by this worker (each holds up to DECODE_BUDGET): the other uploads
#: wait their turn rather than take the worker's memory together.
_SLOTS = threading.BoundedSemaphore(int(os.environ.get("PORTAL_PHOTO_CONCURRENCY", "1")))

#: What exif_transpose does for each EXIF orientation, applied after the reduction (which
#: drops the EXIF block) rather than to the full-size image.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoError(DomainError):
    """The upload is not a usable photo; the message says why."""

    def __init__(self, message):
        super().__init__(message, field="photo")


@dataclass
class BadgePhoto:
    data: bytes
    thumbnail: bytes
    width: int
    height: int
    digest: str


def _too_many_pixels(megapixels):
    return PhotoError(
        _l(
            "This image has too many pixels to be processed safely (at most %(mp)s "
            "megapixels): send a normal photo.",
            mp=megapixels,
        )
    )


def _damaged():
    return PhotoError(_l("This image is damaged or incomplete: take or choose the photo again."))


# -- What the JPEG header announces ---------------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
#: The end of a scan's data: a marker other than a stuffed 0xFF00 or a restart marker.
_SCAN_END = re.compile(rb"\xff(?!\x00|[\xd0-\xd7]|\xff)")


@dataclass
class JpegLayout:
    """What a JPEG's markers say: its coding process, blocks per component, and its scans."""

    process: int  # the SOF marker: 0xC0/0xC1 sequential Huffman, 0xC2 progressive Huffman
    blocks: dict  # component id -> 8x8 blocks it holds
    scans: list  # (component ids, spectral start, successive approximation high, data bytes)

    @property
    def coefficient_bytes(self):
        """What libjpeg holds for the whole image when it must buffer every coefficient (a
        progressive or multi-scan file): 64 coefficients of 2 bytes per block."""
        return sum(self.blocks.values()) * 128

    def data_ends_early(self):
        """True when the scans hold fewer bits than their blocks need at the very least.

        Huffman coding spends at least one bit on each block's DC and one on its AC
        coefficients (the end-of-block code) in a sequential scan, and at least one bit on each
        block's DC in a progressive file's first DC scan. A file whose header announces more
        blocks than its data can hold was cut short: libjpeg would paint the rest grey. (An
        arithmetic-coded file has no such floor and is not checked.)
        """
        if self.process in (0xC0, 0xC1):
            floor_bits, wanted = 2, lambda scan: True
        elif self.process == 0xC2:
            floor_bits, wanted = 1, lambda scan: scan[1] == 0 and scan[2] == 0
        else:
            return False
        covered = set()
        for scan in self.scans:
            components, _start, _high, size = scan
            if not wanted(scan):
                continue
            if size * 8 < floor_bits * sum(self.blocks.get(c, 0) for c in components):
                return True
            covered.update(components)
        return not set(self.blocks) <= covered


def _ceil(a, b):
    return -(-a // b)


def jpeg_layout(data):
    """Read a JPEG's markers (not its pixels); None if they cannot be read."""
    pos, frame, scans, process = 2, None, [], None
    size = len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xD9:
            break
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        segment = data[pos + 4 : pos + 2 + length]
        if length < 2 or len(segment) != length - 2:
            return None
        if marker in _SOF and frame is None and len(segment) >= 6:
            process = marker
            height = int.from_bytes(segment[1:3], "big")
            width = int.from_bytes(segment[3:5], "big")
            count = segment[5]
            components = [
                (segment[6 + 3 * i], segment[7 + 3 * i] >> 4, segment[7 + 3 * i] & 15)
                for i in range(count)
                if len(segment) >= 9 + 3 * i
            ]
            if not components or not width or not height:
                return None
            h_max = max(h for _c, h, _v in components) or 1
            v_max = max(v for _c, _h, v in components) or 1
            frame = {
                c: _ceil(_ceil(width * h, h_max), 8) * _ceil(_ceil(height * v, v_max), 8)
                for c, h, v in components
            }
        pos += 2 + length
        if marker == 0xDA and len(segment) >= 1:
            count = segment[0]
            if len(segment) < 1 + 2 * count + 3:
                return None
            ids = tuple(segment[1 + 2 * i] for i in range(count))
            start, high = segment[1 + 2 * count], segment[3 + 2 * count] >> 4
            end = _SCAN_END.search(data, pos)
            end = end.start() if end else size
            scans.append((ids, start, high, end - pos))
            pos = end
    if frame is None:
        return None
    return JpegLayout(process, frame, scans)


# -- Decoding ---------------------------------------------------------------------------------


def _budget_megapixels(per_pixel):
    return max(1, min(MAX_PIXELS, DECODE_BUDGET // per_pixel) // 1_000_000)


def check_cost(probe, data):
    """Refuse, from the header alone, an image whose decoding would cost more than a badge
    needs; return the JPEG layout (None for other formats)."""
    width, height = probe.size
    if width * height > MAX_PIXELS:
        raise _too_many_pixels(MAX_PIXELS // 1_000_000)
    if probe.format in ("JPEG", "MPO"):
        layout = jpeg_layout(data)
        if layout is None:
            raise _damaged()
        if layout.data_ends_early():
            raise _damaged()
        scale = _draft_scale(width, height)
        cost = (width // scale) * (height // scale) * 4
        if layout.process not in (0xC0, 0xC1) or len(layout.scans) > 1:
            cost += layout.coefficient_bytes
            if cost > DECODE_BUDGET:
                per_pixel = max(1, layout.coefficient_bytes // (width * height))
                raise _too_many_pixels(_budget_megapixels(per_pixel))
        return layout
    mode = probe.mode
    if mode == "P" and "transparency" in probe.info:
        mode = "P+transparency"
    if mode.startswith("I;16"):
        mode = "I;16"
    per_pixel = PEAK_BYTES_PER_PIXEL.get(mode, WORST_BYTES_PER_PIXEL)
    if probe.format == "WEBP":
        per_pixel = WEBP_BYTES_PER_PIXEL
    if width * height * per_pixel > DECODE_BUDGET:
        raise _too_many_pixels(_budget_megapixels(per_pixel))
    return None


def _draft_scale(width, height):
    """The reduction libjpeg will decode at (what ``Image.draft`` picks for WORKING_SIDE)."""
    scale = min(width // WORKING_SIDE, height // WORKING_SIDE)
    for candidate in (8, 4, 2):
        if scale >= candidate:
            return candidate
    return 1


def _reduced(image):
    """Bring a decoded image down to about WORKING_SIDE on its shorter side, in a mode that
    the rest works in, without a second full-size copy where it can be helped."""
    if image.mode == "1":
        image = image.convert("L")
    elif image.mode in ("P", "PA"):
        transparent = image.mode == "PA" or "transparency" in image.info
        image = image.convert("RGBA" if transparent else "RGB")
    elif image.mode not in ("L", "LA", "RGB", "RGBA", "CMYK", "YCbCr", "I", "F"):
        image = image.convert("RGB")
    factor = min(image.size) // WORKING_SIDE
    if factor >= 2:
        image = image.reduce(factor)
    return image


def _open(data):
    """Open and decode ``data`` within the worker's budget; raise PhotoError for anything that
    is not a whole image a badge can be made from."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise PhotoError(
                    _l(
                        "This image format (%(format)s) is not accepted: send a JPEG or PNG photo.",
                        format=probe.format or "?",
                    )
                )
            check_cost(probe, data)
            probe.verify()
            image = Image.open(io.BytesIO(data))
            if image.format in ("JPEG", "MPO"):
                # Decode a phone's 12-megapixel JPEG at a reduced scale: far faster, far less
                # memory, and still at least twice the badge size whichever way it is turned.
                image.draft("RGB", (WORKING_SIDE, WORKING_SIDE))
            orientation = 1
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError, SyntaxError):
                orientation = image.getexif().get(0x0112, 1)
            image.load()
            image = _reduced(image)
            if orientation in _ORIENTATION:
                image = image.transpose(_ORIENTATION[orientation])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(MAX_PIXELS // 1_000_000) from exc
        except UnidentifiedImageError as exc:
            raise PhotoError(
                _l("This file is not an image, whatever its name: choose a photo (JPEG or PNG).")
            ) from exc
        except PhotoError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise _damaged() from exc
    return image


def _jpeg(image, quality):
    """Write ``image`` as a JPEG with nothing of the uploaded file's metadata: Pillow carries a
    file's comment (a PNG's text chunk, a JPEG's COM marker) and its ICC profile from image to
    image and writes them unless told not to (and the badge's colours are plain RGB by now: the
    upload's profile would mislabel them)."""
    out = io.BytesIO()
    image.save(
        out,
        "JPEG",
        quality=quality,
        optimize=True,
        progressive=True,
        comment=b"",
        icc_profile=None,
        exif=b"",
    )
    return out.getvalue()


def process(data, max_bytes):
    """Return a BadgePhoto made from the uploaded bytes, or raise PhotoError."""
    if not data:
        raise PhotoError(_l("The file is empty: choose a photo."))
    if len(data) > max_bytes:
        raise PhotoError(
            _l(
                "This photo is too large (%(size)s MB): it may be up to %(max)s MB.",
                size="%.1f" % (len(data) / 1048576),
                max="%g" % (max_bytes / 1048576),
            )
        )
    with _SLOTS:
        return _badge(_open(data))


def _badge(image):
    """Crop and scale a decoded (reduced, upright) image to the badge and its thumbnail."""
    if image.width < MIN_SIZE[0] or image.height < MIN_SIZE[1]:
        raise PhotoError(
            _l(
                "This photo is too small (%(width)s×%(height)s pixels): a badge needs at least "
                "%(min_width)s×%(min_height)s.",
                width=image.width,
                height=image.height,
                min_width=MIN_SIZE[0],
                min_height=MIN_SIZE[1],
            )
        )
    if image.mode in ("RGBA", "LA", "P", "PA"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    elif image.mode != "RGB":
        image = image.convert("RGB")
    badge = ImageOps.fit(image, BADGE_SIZE, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    thumb = badge.resize(THUMB_SIZE, Image.Resampling.LANCZOS)
    data = _jpeg(badge, QUALITY)
    return BadgePhoto(
        data=data,
        thumbnail=_jpeg(thumb, THUMB_QUALITY),
        width=badge.width,
        height=badge.height,
        digest=hashlib.sha256(data).hexdigest()[:32],
    )


def store(participant, photo):
    """Store ``photo`` as the participant's badge photo (inside the caller's transaction)."""
    with database.atomic():
        row = Photo.get_or_none(Photo.participant == participant.id)
        if row is None:
            row = Photo(participant=participant.id)
        row.data = photo.data
        row.thumbnail = photo.thumbnail
        row.width = photo.width
        row.height = photo.height
        row.digest = photo.digest
        row.content_type = "image/jpeg"
        row.save()
    return row


def digest_for(participant_id):
    """Return the photo digest of a participant, or None."""
    row = Photo.select(Photo.digest).where(Photo.participant == participant_id).tuples().first()
    return row[0] if row else None
