"""Badge photos: check that an upload really is an image, and turn it into a badge photo.

The file is judged by its content, never its name or declared type. Pillow refuses images
with more pixels than ``MAX_PIXELS`` (decompression bombs: a small file that would expand to
gigabytes in memory); the EXIF orientation a phone records is applied, then every piece of
metadata dropped (the new JPEG is written without EXIF, GPS or comments); the picture is
cropped to a centered 3:4 portrait and scaled to the badge size, plus a thumbnail.
"""

import contextlib
import hashlib
import io
import warnings
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from ..db import database
from ..models import Photo
from . import DomainError

#: More pixels than any phone camera takes (about 50 megapixels): refused before decoding.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

#: Formats a phone or a scanner produces.
FORMATS = {"JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF", "MPO"}
BADGE_SIZE = (300, 400)
THUMB_SIZE = (60, 80)
MIN_SIZE = (150, 200)
QUALITY = 80
THUMB_QUALITY = 70


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


def _open(data):
    """Open and fully decode ``data``; raise PhotoError for anything that is not an image."""
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
            width, height = probe.size
            if width * height > MAX_PIXELS:
                raise Image.DecompressionBombError("too many pixels")
            probe.verify()
            image = Image.open(io.BytesIO(data))
            if image.format in ("JPEG", "MPO"):
                # Decode a phone's 12-megapixel JPEG at a reduced scale: far faster, far less
                # memory, and still at least twice the badge size whichever way it is turned.
                side = 2 * max(BADGE_SIZE)
                image.draft("RGB", (side, side))
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise PhotoError(
                _l(
                    "This image has too many pixels to be processed safely (at most %(mp)s "
                    "megapixels): send a normal photo.",
                    mp=MAX_PIXELS // 1_000_000,
                )
            ) from exc
        except UnidentifiedImageError as exc:
            raise PhotoError(
                _l("This file is not an image, whatever its name: choose a photo (JPEG or PNG).")
            ) from exc
        except PhotoError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
            raise PhotoError(
                _l("This image is damaged or incomplete: take or choose the photo again.")
            ) from exc
    return image


def _jpeg(image, quality):
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
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
    image = _open(data)
    # A damaged EXIF block: keep the picture as stored.
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError, SyntaxError):
        image = ImageOps.exif_transpose(image)
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
