"""Passport data over time: which keys seal it, re-sealing it under a new key, and removing it
once the summit is long over (retention).
"""

import datetime as dt
from dataclasses import dataclass

from ..crypto import birth_key, keyring, passport_key, sealed_key_id
from ..db import database, is_sqlite
from ..models import (
    Event,
    Organization,
    PaperScan,
    Participant,
    ParticipantImport,
    Photo,
    utcnow,
)
from . import DomainError, audit

#: Rows re-sealed per transaction by ``rotate``.
BATCH = 200
#: Passport data is kept this long after the event's last day.
RETENTION_DAYS = 90


def _sealed_rows(after, limit):
    """Raw (id, organization_id, sealed number, sealed date) of the next ``limit`` rows."""
    return database.execute_sql(
        "SELECT id, organization_id, passport_number, date_of_birth FROM participant "
        "WHERE id > %s ORDER BY id LIMIT %d" % (database.param, limit),
        (after,),
    ).fetchall()


def key_ids():
    """Return ``{key id: sealed values}`` over the whole database."""
    counts = {}
    if "participant" not in database.get_tables():
        return counts  # a database not yet created (or restored from such a backup)
    last = 0
    while True:
        rows = _sealed_rows(last, 1000)
        if not rows:
            return counts
        for _pid, _org, number, born in rows:
            for value in (number, born):
                if value:
                    kid = sealed_key_id(value)
                    counts[kid] = counts.get(kid, 0) + 1
        last = rows[-1][0]


def _lock_organizations(ids):
    # Writers lock the delegation first (participants.lock_organization); the same order here.
    if ids and not is_sqlite():
        Organization.select(Organization.id).where(Organization.id.in_(sorted(ids))).order_by(
            Organization.id
        ).for_update().execute()


def _reseal_imports():
    """Re-seal the spreadsheets awaiting confirmation under the current key (their rows hold
    passports and dates of birth: portal/services/imports.py; a few, kept two days at most)."""
    with database.atomic():
        for found in ParticipantImport.select().where(ParticipantImport.applied_at.is_null()):
            ParticipantImport.update(rows=found.rows).where(
                ParticipantImport.id == found.id
            ).execute()


@dataclass
class Rotation:
    rows: int = 0
    values: int = 0
    batches: int = 0


def rotate(batch=BATCH, on_batch=None):
    """Re-seal every value not under the current key, and recompute the lookup keys: ``batch``
    rows per transaction, so the portal keeps serving; running it again resumes.

    ``on_batch(rotation)`` is called after each committed batch.
    """
    current = keyring().current_id
    result = Rotation()
    last = 0
    while True:
        rows = _sealed_rows(last, batch)
        if not rows:
            _reseal_imports()
            return result
        last = rows[-1][0]
        stale = [row for row in rows if any(v and sealed_key_id(v) != current for v in row[2:])]
        if not stale:
            continue
        with database.atomic():
            _lock_organizations({row[1] for row in stale})
            query = Participant.select(
                Participant.id, Participant.passport_number, Participant.date_of_birth
            ).where(Participant.id.in_([row[0] for row in stale]))
            if not is_sqlite():
                query = query.for_update()
            # Read again under the locks: a coordinator may have saved meanwhile.
            for p in query:
                Participant.update(
                    passport_number=p.passport_number,
                    date_of_birth=p.date_of_birth,
                    passport_key=passport_key(p.passport_number),
                    birth_key=birth_key(p.date_of_birth),
                ).where(Participant.id == p.id).execute()
                result.rows += 1
                result.values += bool(p.passport_number) + bool(p.date_of_birth)
        result.batches += 1
        if on_batch:
            on_batch(result)


@dataclass
class Purge:
    before: dt.date
    passport_numbers: int = 0
    dates_of_birth: int = 0
    photos: int = 0
    #: Scans of paper registrations, and spreadsheets kept for a confirmation.
    scans: int = 0
    imports: int = 0
    dry_run: bool = False


class TooEarly(DomainError):
    pass


def purge_date(event):
    """The first day passport data may be purged: RETENTION_DAYS after the event's end."""
    return event.ends_on + dt.timedelta(days=RETENTION_DAYS)


def purge(before=None, dry_run=False, today=None, actor=None):
    """Remove the passport numbers, dates of birth, their lookup keys and the badge photos of
    the participants registered before ``before`` (default: all of them, and only from
    ``purge_date``); names, organizations and the audit trail stay. One transaction, with an
    audit row; returns the counts."""
    today = today or utcnow().date()
    if before is None:
        event = Event.get_or_none()
        if event is None:
            raise TooEarly("there is no event: give --before to purge anyway")
        if today < purge_date(event):
            raise TooEarly(
                "passport data is kept until %s (%d days after the event's end, %s): give "
                "--before DATE to purge earlier"
                % (purge_date(event), RETENTION_DAYS, event.ends_on)
            )
        before = today + dt.timedelta(days=1)
    cutoff = dt.datetime.combine(before, dt.time())
    registered = Participant.created_at < cutoff
    result = Purge(before=before, dry_run=dry_run)
    with database.atomic():
        _lock_organizations(
            {
                row[0]
                for row in Participant.select(Participant.organization)
                .where(registered)
                .distinct()
                .tuples()
            }
        )
        result.passport_numbers = (
            Participant.select().where(registered & (Participant.passport_number != "")).count()
        )
        result.dates_of_birth = (
            Participant.select()
            .where(registered & Participant.date_of_birth.is_null(False))
            .count()
        )
        photos = Photo.select(Photo.id).join(Participant).where(registered)
        result.photos = photos.count()
        scans = PaperScan.select(PaperScan.id).join(Participant).where(registered)
        result.scans = scans.count()
        imports = ParticipantImport.select().where(ParticipantImport.created_at < cutoff)
        result.imports = imports.count()
        if dry_run:
            return result
        Photo.delete().where(Photo.id.in_(photos)).execute()
        PaperScan.delete().where(PaperScan.id.in_(scans)).execute()
        ParticipantImport.delete().where(ParticipantImport.created_at < cutoff).execute()
        Participant.update(
            passport_number="", date_of_birth=None, passport_key="", birth_key=""
        ).where(
            registered
            & (
                (Participant.passport_number != "")
                | Participant.date_of_birth.is_null(False)
                | (Participant.passport_key != "")
                | (Participant.birth_key != "")
            )
        ).execute()
        audit.record(
            "privacy.purge",
            account=actor,
            actor=actor.username if actor else "command line",
            before=before.isoformat(),
            passport_numbers=result.passport_numbers,
            dates_of_birth=result.dates_of_birth,
            photos=result.photos,
            scans=result.scans,
            imports=result.imports,
        )
    if is_sqlite():
        # The old pages are zeroed in the file (secure_delete); empty the WAL of their copies.
        database.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return result
