"""Password hashes: argon2id for every password set or checked here, and verification of the
four PrepCom legacy schemes (through libpass, the maintained fork of passlib)."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from passlib.hash import hex_md5, ldap_salted_sha1, ldap_sha1, md5_crypt

ARGON2 = "argon2id"
NONE = "none"

LEGACY = {
    "md5": hex_md5,
    "md5-crypt": md5_crypt,
    "ldap-sha1": ldap_sha1,
    "ldap-ssha": ldap_salted_sha1,
}

_MD5 = re.compile(r"^[0-9a-fA-F]{32}$")


def scheme_of(value):
    """Return the scheme of a stored or exported hash, or None if it is not one we know."""
    value = (value or "").strip()
    if not value:
        return NONE
    if _MD5.match(value):
        return "md5"
    if value.startswith("$1$") and md5_crypt.identify(value):
        return "md5-crypt"
    if value.startswith("{SHA}") and ldap_sha1.identify(value):
        return "ldap-sha1"
    if value.startswith("{SSHA}") and ldap_salted_sha1.identify(value):
        return "ldap-ssha"
    if value.startswith("$argon2id$"):
        return ARGON2
    return None


def hasher():
    config = current_app.config
    return PasswordHasher(
        time_cost=int(config["ARGON2_TIME_COST"]),
        memory_cost=int(config["ARGON2_MEMORY_KIB"]),
        parallelism=int(config["ARGON2_PARALLELISM"]),
    )


def hash_password(password):
    return hasher().hash(password)


def verify(scheme, stored, password):
    """Return True if ``password`` matches ``stored`` under ``scheme``."""
    if scheme == ARGON2:
        try:
            return hasher().verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
    handler = LEGACY.get(scheme)
    if handler is None or not stored:
        return False
    if scheme == "md5":
        stored = stored.lower()
    try:
        return handler.verify(password, stored)
    except (ValueError, TypeError):
        return False


def needs_rehash(scheme, stored):
    if scheme != ARGON2:
        return True
    try:
        return hasher().check_needs_rehash(stored)
    except InvalidHashError:
        return True


_DUMMY = {}


def burn_time(password):
    """Spend the time a real check would, so an unknown username answers as slowly."""
    key = id(current_app._get_current_object())
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("not a real password")
    verify(ARGON2, _DUMMY[key], password)
