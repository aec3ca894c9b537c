"""The portal's one clock. Every reading of the current time in the portal goes through here:
``now()`` for the datetimes stored (naive UTC, see ``models.utcnow``), ``seconds()`` for
timestamps. Tests move it with ``shift()`` instead of waiting (the ``clock`` fixture).

The offset is a plain module global: every thread of a worker sees the same time, and a
gunicorn worker, a process of its own, always runs at the real time (nothing there shifts it).
"""

import datetime as dt
import time

_offset = 0.0


def seconds():
    """Return the current time as seconds since the epoch."""
    return time.time() + _offset


def now():
    """Return the current time in UTC, without tzinfo (as stored)."""
    return dt.datetime.fromtimestamp(seconds(), dt.UTC).replace(tzinfo=None)


def shift(by):
    """Move the clock forward by ``by`` (seconds or a timedelta); negative moves it back."""
    global _offset
    if isinstance(by, dt.timedelta):
        by = by.total_seconds()
    _offset += by


def reset():
    """Put the clock back to the real time."""
    global _offset
    _offset = 0.0
