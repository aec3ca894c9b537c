"""The scan of a registration sent on paper, attached by the secretariat to the participant it
entered on the organization's behalf: a PDF or an image, judged by its content (never by its
name or the browser's word), at most ``MAX_SCAN_BYTES``, stored in the database (any worker
serves it), one per participant (a new one replaces it)."""

import hashlib
import io

from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from ..db import database
from ..models import PaperScan, utcnow
from . import DomainError, NotFound, audit, participants

MAX_SCAN_BYTES = 5 * 1024 * 1024
#: Pillow's format -> the type the scan is served as.
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "TIFF": "image/tiff", "WEBP": "image/webp"}


def content_type_of(data):
    """Return the scan's type from its content; raise DomainError if it is no PDF or image."""
    if not data:
        raise DomainError(_l("The file is empty."), field="scan")
    if len(data) > MAX_SCAN_BYTES:
        raise DomainError(
            _l("The scan is too large: at most %(size)s MB.", size=MAX_SCAN_BYTES // 1048576),
            field="scan",
        )
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        kind = None
    if kind not in IMAGE_TYPES:
        raise DomainError(
            _l("A scan is a PDF file or an image (JPEG, PNG, TIFF, WebP)."), field="scan"
        )
    return IMAGE_TYPES[kind]


def attach(actor, participant_id, filename, data):
    """Attach (or replace) the scan of ``participant_id``'s paper registration: the secretariat
    only; one transaction with its audit row."""
    if not actor.is_secretariat:
        raise NotFound()
    content_type = content_type_of(data)
    with database.atomic():
        participant = participants.get_participant(actor, participant_id)
        participants.lock_organization(participant.organization_id)
        PaperScan.delete().where(PaperScan.participant == participant.id).execute()
        scan = PaperScan.create(
            participant=participant.id,
            filename=(filename or "")[:200],
            content_type=content_type,
            data=data,
            digest=hashlib.sha256(data).hexdigest(),
            attached_by=actor.id,
            attached_at=utcnow(),
        )
        audit.record("participant.scan", account=actor, obj=participant, type=content_type)
        return scan


def find(account, participant_id):
    """The scan of a participant ``account`` may see (the secretariat, the organization's
    coordinators); NotFound otherwise or when there is none."""
    participant = participants.get_participant(account, participant_id)
    scan = PaperScan.get_or_none(PaperScan.participant == participant.id)
    if scan is None:
        raise NotFound()
    return scan


def has_scan(participant_id):
    return PaperScan.select().where(PaperScan.participant == participant_id).exists()
