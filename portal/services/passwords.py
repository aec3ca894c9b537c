"""Password hashes: argon2id for every password set or checked here, verification of the four
PrepCom legacy schemes, and the rules a new password must follow.

MD5-crypt is checked with libpass (the maintained fork of passlib). The other three legacy
schemes are a line of hashlib each; they are written here rather than taken from libpass because
libpass's LDAP salted SHA-1 accepts only salts of 4 to 16 bytes, while the PrepCom format says the
salt is whatever follows the 20-byte digest.
"""

import base64
import binascii
import contextlib
import functools
import hashlib
import hmac
import os
import re
import threading
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import lazy_gettext as _l
from passlib.hash import md5_crypt

ARGON2 = "argon2id"
NONE = "none"
LEGACY_SCHEMES = ("md5", "md5-crypt", "ldap-sha1", "ldap-ssha")

MIN_LENGTH = 8
MAX_LENGTH = 128

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")
_MD5_CRYPT = re.compile(r"^\$1\$[./0-9A-Za-z]{0,8}\$[./0-9A-Za-z]{22}$")


def _b64(value):
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def scheme_of(value):
    """Return the scheme of a stored or exported hash, or None if it is not one we know."""
    value = (value or "").strip()
    if not value:
        return NONE
    if _MD5.match(value):
        return "md5"
    if _MD5_CRYPT.match(value):
        return "md5-crypt"
    if value.startswith("{SHA}"):
        raw = _b64(value[5:])
        return "ldap-sha1" if raw is not None and len(raw) == 20 else None
    if value.startswith("{SSHA}"):
        raw = _b64(value[6:])
        return "ldap-ssha" if raw is not None and len(raw) > 20 else None
    if value.startswith("$argon2id$"):
        return ARGON2
    return None


def hasher():
    config = current_app.config
    return _hasher(
        int(config["ARGON2_TIME_COST"]),
        int(config["ARGON2_MEMORY_KIB"]),
        int(config["ARGON2_PARALLELISM"]),
    )


@functools.lru_cache(maxsize=8)
def _hasher(time_cost, memory_cost, parallelism):
    return _Bounded(
        PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    )


#: Each argon2 computation holds ARGON2_MEMORY_KIB (19 MiB) while it runs: a burst of sign-ins on
#: every thread of a worker took it past 200 MB (bench/server.py). One at a time per worker (by
#: default) keeps a worker under 100 MB, and the workers together still keep every core busy.
_SLOTS = threading.BoundedSemaphore(int(os.environ.get("PORTAL_ARGON2_CONCURRENCY", "1")))


class _Bounded:
    """A PasswordHasher whose hash and verify wait for one of the worker's argon2 slots."""

    def __init__(self, hasher):
        self._hasher = hasher

    def __getattr__(self, name):
        return getattr(self._hasher, name)

    def hash(self, password):
        with _SLOTS:
            return self._hasher.hash(password)

    def verify(self, stored, password):
        with _SLOTS:
            return self._hasher.verify(stored, password)


def hash_password(password):
    return hasher().hash(password)


def _verify_legacy(scheme, stored, password):
    secret = password.encode("utf-8")
    if scheme == "md5":
        return hmac.compare_digest(hashlib.md5(secret).hexdigest(), stored.lower())  # noqa: S324
    if scheme == "ldap-sha1":
        raw = _b64(stored[5:]) or b""
        return hmac.compare_digest(hashlib.sha1(secret).digest(), raw)  # noqa: S324
    if scheme == "ldap-ssha":
        raw = _b64(stored[6:]) or b""
        digest, salt = raw[:20], raw[20:]
        return hmac.compare_digest(hashlib.sha1(secret + salt).digest(), digest)  # noqa: S324
    if scheme == "md5-crypt":
        try:
            return md5_crypt.verify(password, stored)
        except (ValueError, TypeError):
            return False
    return False


def verify(scheme, stored, password):
    """Return True if ``password`` matches ``stored`` under ``scheme``.

    Every check costs at least one argon2 verification, whatever the scheme, so that the time
    of an answer tells nothing about the account (an unknown username costs the same, see
    ``burn_time``).
    """
    if scheme == ARGON2:
        try:
            return hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    burn_time(password)
    if scheme not in LEGACY_SCHEMES or not stored:
        return False
    return _verify_legacy(scheme, stored, password)


def needs_rehash(scheme, stored):
    if scheme != ARGON2:
        return True
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


_DUMMY = {}


def burn_time(password):
    """Spend the time a real argon2 check would, so an unknown username answers as slowly."""
    h = hasher()
    key = (h.time_cost, h.memory_cost, h.parallelism)
    if key not in _DUMMY:
        _DUMMY[key] = h.hash(os.urandom(16).hex())
    with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
        h.verify(_DUMMY[key], password)


# -- Rules for a new password -------------------------------------------------------------------

COMMON_PASSWORDS_FILE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "auth", "common-passwords.txt"
)


@functools.lru_cache(maxsize=1)
def common_passwords():
    """Return the set of the most common passwords (lower-case), read once per process."""
    with open(COMMON_PASSWORDS_FILE, encoding="utf-8") as fh:
        return frozenset(
            line.strip().casefold() for line in fh if line.strip() and not line.startswith("#")
        )


#: Letters that draw nothing (Hangul fillers, the braille blank): as invisible as a space.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _visible(char):
    return unicodedata.category(char)[0] not in "CZ" and char not in BLANK_LETTERS


def password_problem(password, username=""):
    """Return a translated reason why ``password`` may not be chosen, or None if it may.

    Spaces inside a password are welcome (NIST SP 800-63B), emptiness is not: a password of
    blanks, zero-width or other invisible characters is refused, and so is any control
    character (a NUL, a tab, a line break), which no keyboard types into a password field.
    The password is stored as typed; the checks read it NFC-normalized.
    """
    password = password or ""
    if len(password) < MIN_LENGTH:
        return _l("The password must have at least %(min)s characters.", min=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _l("The password may have at most %(max)s characters.", max=MAX_LENGTH)
    normalized = unicodedata.normalize("NFC", password)
    if any(unicodedata.category(c) == "Cc" for c in normalized):
        return _l(
            "The password may not contain control characters (such as a tab or a line break)."
        )
    if not any(_visible(c) for c in normalized):
        return _l("The password may not be made only of spaces or invisible characters.")
    folded = normalized.strip().casefold()
    name = unicodedata.normalize("NFC", username or "").strip().casefold()
    if name and folded == name:
        return _l("The password must not be the username.")
    if name and folded.strip("0123456789") == name:
        return _l("The password must not be the username with digits added.")
    if folded in common_passwords():
        return _l("This password is one of the most common ones. Please choose another.")
    return None
