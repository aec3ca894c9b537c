"""Verification tokens: what a badge's QR code and a letter's code carry, checked by anyone at
``/verify/<token>`` without signing in.

A token is 18 random bytes (``secrets.token_urlsafe``: 144 bits) printed on the document; the database
keeps only its SHA-256, so a copy of the database prints no valid badge. A token is valid while
it is not revoked and its participant is accredited (``VerificationToken.state``); a reprinted
badge revokes the old one.

The public page is rate-limited per client address, counted in the audit log (the same way as
the sign-in lock-outs of unknown usernames): each lookup writes a ``verify.lookup`` row with the
address, and an address with ``VERIFY_RATE_LIMIT`` lookups in the last
``VERIFY_RATE_MINUTES`` is refused (429) until the oldest leaves the window. The state is in
the database, so every host of the portal counts the same lookups.
"""

import datetime as dt
import hashlib
import secrets

from flask import current_app

from ..db import database
from ..models import DOCUMENT_KINDS, AuditLog, VerificationToken, utcnow
from . import audit

#: Random bytes in a token: 144 bits, far past guessing, and short enough to keep a badge's
#: QR code small (24 characters; the whole address fits a version 4 code).
TOKEN_BYTES = 18
#: Longer than any token the portal makes.
MAX_TOKEN = 64


def token_hash(raw_token):
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def new_token():
    """A raw token: ``TOKEN_BYTES`` random bytes, URL-safe."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def issue(participant, kind, actor=None, *, raw_token=None, **dates):
    """Create a token of ``kind`` ("badge" or "letter") for ``participant`` and return the raw
    token (to print; it is not stored). ``dates``: a letter's ``valid_from``/``valid_until``;
    ``raw_token``: one from ``new_token()`` already printed on a document laid out before the
    transaction (a print run). Runs inside the caller's transaction."""
    if kind not in DOCUMENT_KINDS:
        raise ValueError("unknown token kind: %r" % kind)
    unknown = set(dates) - {"valid_from", "valid_until"}
    if unknown:
        raise TypeError("unknown dates: %s" % ", ".join(sorted(unknown)))
    raw = raw_token or new_token()
    VerificationToken.create(
        participant=participant,
        kind=kind,
        token_hash=token_hash(raw),
        created_by=actor,
        created_at=utcnow(),
        **dates,
    )
    return raw


def revoke_for(participant, kind):
    """Revoke every live token of ``kind`` of ``participant``; return how many (inside the
    caller's transaction)."""
    participant_id = getattr(participant, "id", participant)
    return (
        VerificationToken.update(revoked_at=utcnow())
        .where(
            (VerificationToken.participant == participant_id)
            & (VerificationToken.kind == kind)
            & VerificationToken.revoked_at.is_null()
        )
        .execute()
    )


def lookup(raw_token):
    """Return the token row for ``raw_token`` (its participant and organization loaded), or
    None for anything unknown, malformed or too long."""
    if not raw_token or len(raw_token) > MAX_TOKEN or not raw_token.isascii():
        return None
    from ..models import Organization, Participant  # noqa: PLC0415

    return (
        VerificationToken.select(VerificationToken, Participant, Organization)
        .join(Participant)
        .join(Organization)
        .where(VerificationToken.token_hash == token_hash(raw_token))
        .first()
    )


def verification_url(raw_token):
    """The address printed on a document (the portal's public address, ``BASE_URL``)."""
    return "%s/verify/%s" % (current_app.config["BASE_URL"].rstrip("/"), raw_token)


# -- The public page's rate limit ------------------------------------------------------------

LOOKUP_ACTION = "verify.lookup"


def _window(now):
    return now - dt.timedelta(minutes=int(current_app.config["VERIFY_RATE_MINUTES"]))


def retry_after(address, now=None):
    """Seconds until ``address`` may look up again (0: now)."""
    now = now or utcnow()
    limit = int(current_app.config["VERIFY_RATE_LIMIT"])
    recent = (
        AuditLog.select(AuditLog.at)
        .where(
            (AuditLog.action == LOOKUP_ACTION)
            & (AuditLog.address == address)
            & (AuditLog.at > _window(now))
        )
        .order_by(AuditLog.at.desc())
        .limit(limit)
    )
    times = [row.at for row in recent]
    if len(times) < limit:
        return 0
    oldest = times[-1]
    return max(1, int((oldest - _window(now)).total_seconds()) + 1)


def check(raw_token, address):
    """The public page's lookup: ``(token row or None, retry_after)``. Within the limit, the
    lookup is counted (an audit row naming the address and whether anything was found, never
    the token) and the token looked up; past it, nothing is looked up."""
    with database.atomic():
        wait = retry_after(address)
        if wait:
            return None, wait
        found = lookup(raw_token)
        # Of the token, not the participant: a badge scanned at every gate does not fill the
        # participant's history.
        audit.record(
            LOOKUP_ACTION,
            obj=found,
            organization=found.participant.organization_id if found is not None else None,
            found=found is not None,
        )
        return found, 0
