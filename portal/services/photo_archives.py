"""Badge photos in bulk: a ZIP of JPEG or PNG files named by passport number
(``P1234567.jpg``), each matched to the participant of the delegation with that passport and
saved through the participant form's own path (``photos.process``, then ``participants.save``
with the photo: the same checks, the same "resubmit" of an accredited badge).

The archive is checked before anything is inflated (number of entries, each entry's declared
size), then each entry is inflated no further than the photo limit, counting. A name with a
folder or ``..``, an entry too large, a file that is not a usable photo and a file that names
no participant are reported and left out; the others are saved, each in its own transaction.
"""

import io
import os
import zipfile

from flask_babel import lazy_gettext as _l

from ..crypto import passport_key
from . import DomainError, participants
from .photos import PhotoError, process

#: Far more than a delegation; each photo costs a decoding.
MAX_ENTRIES = 300
EXTENSIONS = (".jpg", ".jpeg", ".png")


class ArchiveRefused(DomainError):
    """The file is not a ZIP archive the portal reads."""


def _read(stream, limit):
    """Inflate at most ``limit`` bytes; None when the entry holds more."""
    data = bytearray()
    while chunk := stream.read(65536):
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def attach_photos(actor, organization_id, data, event, max_bytes):
    """Save each photo of the archive ``data`` on its participant; return
    ``{"saved": [(file, participant's name)], "problems": [(file, message)]}``."""
    organization_id = participants.organization_for(actor, organization_id)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [e for e in archive.infolist() if not e.is_dir()]
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise ArchiveRefused(_l("This file is not a ZIP archive.")) from exc
    if len(entries) > MAX_ENTRIES:
        raise ArchiveRefused(_l("The archive holds more than %(limit)s files.", limit=MAX_ENTRIES))
    delegation = participants.delegation_of(organization_id)
    report = {"saved": [], "problems": []}

    def problem(name, message):
        report["problems"].append((name[:120], str(message)))

    for entry in entries:
        name = entry.filename
        base = os.path.basename(name.replace("\\", "/"))
        if name != base or ".." in name or name.startswith("/"):
            problem(name, _l("A name with a folder or “..” is left out."))
            continue
        stem, extension = os.path.splitext(base)
        if extension.lower() not in EXTENSIONS:
            problem(name, _l("Not a JPEG or PNG file: left out."))
            continue
        if entry.file_size > max_bytes:
            problem(name, _l("Too large for a photo: left out."))
            continue
        found = delegation.by_passport.get(passport_key(stem)) if stem else None
        if not found or len(found) != 1:
            problem(name, _l("No participant of the delegation has this passport number."))
            continue
        try:
            with archive.open(entry) as stream:
                content = _read(stream, max_bytes)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError):
            content = b""
        if content is None:
            problem(name, _l("Too large for a photo: left out."))
            continue
        try:
            photo = process(content, max_bytes)
        except PhotoError as exc:
            problem(name, exc.message)
            continue
        target = found[0]
        try:
            result = participants.save(
                actor,
                target.id,
                {},
                event,
                version=participants.get_participant(actor, target.id, organization_id).version,
                photo=photo,
                organization_id=organization_id,
            )
        except DomainError as exc:
            problem(name, exc.message)
            continue
        report["saved"].append((name[:120], result.participant.full_name))
    return report
