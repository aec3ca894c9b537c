"""Badge photos chosen in a form that could not be saved: kept, processed, against the form's
one-time submission key, so that the corrected form does not send them again (on 2G a photo
costs about a minute). Each belongs to the account that sent it; it is taken when the form is
saved and purged after ``KEPT_FOR`` (``flask --app portal photos purge-pending``, and whenever a
new one is kept).
"""

import datetime as dt

from ..db import database
from ..models import PendingPhoto, utcnow
from .photos import BadgePhoto

#: How long a photo nobody came back for is kept.
KEPT_FOR = dt.timedelta(days=1)


def _usable(key):
    return bool(key) and len(key) <= 64


def keep(key, account, photo):
    """Keep ``photo`` (a processed BadgePhoto) for the form ``key`` of ``account``, in place of
    any photo kept for that form before; purge the photos nobody came back for."""
    if not _usable(key):
        return None
    with database.atomic():
        purge()
        PendingPhoto.delete().where(PendingPhoto.key == key).execute()
        return PendingPhoto.create(
            key=key,
            account=account.id,
            data=photo.data,
            thumbnail=photo.thumbnail,
            width=photo.width,
            height=photo.height,
            digest=photo.digest,
            created_at=utcnow(),
        )


def find(key, account):
    """Return the PendingPhoto kept for the form ``key`` of ``account`` (None if there is none,
    it is another account's, or it is older than ``KEPT_FOR``)."""
    if not _usable(key):
        return None
    return PendingPhoto.get_or_none(
        (PendingPhoto.key == key)
        & (PendingPhoto.account == account.id)
        & (PendingPhoto.created_at >= utcnow() - KEPT_FOR)
    )


def badge_photo(row):
    """The kept photo as the save path takes it (portal/services/photos.py's BadgePhoto)."""
    return BadgePhoto(
        data=bytes(row.data),
        thumbnail=bytes(row.thumbnail),
        width=row.width,
        height=row.height,
        digest=row.digest,
    )


def discard(key, account):
    """Forget the photo kept for the form ``key`` of ``account`` (it was saved, or replaced)."""
    if not _usable(key):
        return 0
    return (
        PendingPhoto.delete()
        .where((PendingPhoto.key == key) & (PendingPhoto.account == account.id))
        .execute()
    )


def purge(now=None):
    """Delete the photos kept longer than ``KEPT_FOR``; return how many."""
    cutoff = (now or utcnow()) - KEPT_FOR
    return PendingPhoto.delete().where(PendingPhoto.created_at < cutoff).execute()
