"""One-time submission keys: a form POST repeated with the same key (a retry after a lost
response, a double tap, two copies at once) returns the first result and creates nothing new.

The key is claimed inside the same transaction as the change it guards: if the change rolls
back (invalid input), the key stays free for the corrected form. On SQLite, ``BEGIN IMMEDIATE``
serializes the two copies; on PostgreSQL, the second insert of the unique key waits for the
first transaction and then fails, and the first result is read back.
"""

import secrets

from peewee import IntegrityError

from ..db import database
from ..models import SubmissionKey


def new_key():
    return secrets.token_urlsafe(18)


class Replayed(Exception):
    """The key was used already; ``previous`` is its SubmissionKey row."""

    def __init__(self, previous):
        super().__init__(previous.key)
        self.previous = previous


def previous_result(key, account):
    """Return the SubmissionKey row if ``key`` was used already by ``account`` (else None)."""
    if not key or len(key) > 64:
        return None
    return SubmissionKey.get_or_none(
        (SubmissionKey.key == key) & (SubmissionKey.account == account.id)
    )


def run_once(key, account, action, change):
    """Run ``change()`` (which returns a model object or None) once per ``key``.

    Returns ``(result_row, replayed)``: the SubmissionKey row, whose ``object_id`` names what
    the first run produced, and whether this call was a repeat.
    """
    if not key or len(key) > 64:
        key = new_key()  # a form without a key still works, it is just not protected
    try:
        with database.atomic():
            previous = SubmissionKey.get_or_none(SubmissionKey.key == key)
            if previous is not None and previous.account_id != account.id:
                # Another account's key (copied, guessed): it neither replays nor blocks.
                key = new_key()
            elif previous is not None:
                raise Replayed(previous)
            row = SubmissionKey.create(key=key, account=account, action=action)
            obj = change()
            if obj is not None:
                row.object_type = obj.__class__.__name__.lower()
                row.object_id = obj.id
                row.save()
            return row, False
    except Replayed as replay:
        return replay.previous, True
    except IntegrityError:
        previous = SubmissionKey.get_or_none(SubmissionKey.key == key)
        if previous is None or previous.account_id != account.id:
            raise
        return previous, True
