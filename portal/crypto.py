"""Passport data at rest: AES-GCM under a key kept outside the database (``PORTAL_DATA_KEY``),
and keyed hashes to find equal values without decrypting them.

A sealed value reads ``e1.<key id>.<base64url(nonce + ciphertext + tag)>``: the key id says
which key opens it, so values sealed under the previous key (``PORTAL_DATA_KEY_OLD``) are still
read while ``privacy rotate-key`` re-seals them. The column's name is bound in as associated
data: a value copied into another column does not open. Empty values are stored as they are
(``""`` or NULL), so the completeness rule's SQL still sees them as missing.

The lookup keys (``passport_key``, ``birth_key``) are HMAC-SHA256 under a key derived from the
data key: equal inputs give equal keys, and without the data key they tell nothing.
"""

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import os
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from peewee import TextField

from .config import ConfigError

PREFIX = "e1"
NONCE_BYTES = 12


class DataKeyError(RuntimeError):
    """A sealed value cannot be opened: the key is missing or wrong, or the value was altered."""


def _derive(key, purpose, length=32):
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=None, info=b"wsis-portal " + purpose
    ).derive(key)


def parse_key(text, name="PORTAL_DATA_KEY"):
    """Return the 32 bytes that ``text`` (base64) stands for, or raise ConfigError."""
    try:
        key = base64.b64decode(str(text).strip(), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(key) != 32:
        raise ConfigError(
            "%s must be the base64 of 32 random bytes "
            "(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')"
            % name
        )
    return key


def new_key():
    """Return a new data key, as base64 text."""
    return base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def key_id(key):
    """Return the public name of ``key``: 8 hex digits that say which key sealed a value."""
    return _derive(key, b"key id", 4).hex()


class Keyring:
    """The current key (seals, and keys the lookups) and the previous ones (open only)."""

    def __init__(self, current, old=()):
        self.current_id = key_id(current)
        self.ciphers = {key_id(k): AESGCM(_derive(k, b"aes-gcm v1")) for k in (*old, current)}
        self.lookup = _derive(current, b"lookup v1")

    def seal(self, text, context):
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.ciphers[self.current_id].encrypt(nonce, text.encode("utf-8"), context)
        return "%s.%s.%s" % (
            PREFIX,
            self.current_id,
            base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("="),
        )

    def open(self, value, context):
        try:
            prefix, kid, body = value.split(".")
        except ValueError:
            raise DataKeyError("a %s value is not sealed data" % context.decode()) from None
        if prefix != PREFIX:
            raise DataKeyError("a %s value is not sealed data" % context.decode())
        cipher = self.ciphers.get(kid)
        if cipher is None:
            raise DataKeyError(
                "a %s value is sealed under key %s, which is not configured: set "
                "PORTAL_DATA_KEY (or PORTAL_DATA_KEY_OLD during a rotation) to the key that "
                "sealed it" % (context.decode(), kid)
            )
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context).decode("utf-8")
        except InvalidTag:
            raise DataKeyError(
                "a %s value under key %s does not open: the key is wrong or the value was "
                "altered" % (context.decode(), kid)
            ) from None

    def hash(self, purpose, text):
        return hmac.new(
            self.lookup, purpose + b"\0" + text.encode("utf-8"), hashlib.sha256
        ).hexdigest()


_keyring = None


def configure(current, old=()):
    """Use ``current`` (and ``old``, to read values not yet rotated): keys as bytes."""
    global _keyring
    _keyring = Keyring(current, old)
    return _keyring


def init_app(app):
    """Take the keys from ``DATA_KEY`` and ``DATA_KEY_OLD`` (comma-separated if several)."""
    old = [
        parse_key(part, "PORTAL_DATA_KEY_OLD")
        for part in str(app.config.get("DATA_KEY_OLD") or "").split(",")
        if part.strip()
    ]
    configure(parse_key(app.config["DATA_KEY"]), old)


def keyring():
    if _keyring is None:
        raise DataKeyError("no data key configured (PORTAL_DATA_KEY)")
    return _keyring


def sealed_key_id(value):
    """Return the key id of a sealed value ("" for an empty one)."""
    return value.split(".")[1] if value else ""


# -- Lookup keys: the one place that computes them -------------------------------------------


def normalize_passport(number):
    """Return ``number`` upper-cased without blanks or dashes: what duplicates match on."""
    return "".join(c for c in (number or "").upper() if c.isalnum())


def passport_key(number):
    """Return the keyed hash of the normalized passport number ("" when there is none)."""
    normalized = normalize_passport(number)
    return keyring().hash(b"passport", normalized) if normalized else ""


def birth_key(date):
    """Return the keyed hash of a date of birth (a date or ISO text; "" when there is none)."""
    if not date:
        return ""
    if isinstance(date, str):
        date = dt.date.fromisoformat(date)
    return keyring().hash(b"birth", date.isoformat())


# -- Fields ----------------------------------------------------------------------------------


class EncryptedTextField(TextField):
    """Text sealed in the database and clear in Python; "" (or NULL) stays as it is."""

    def _context(self):
        return ("%s.%s" % (self.model._meta.table_name, self.column_name)).encode("ascii")

    def db_value(self, value):
        if value is None or value == "":
            return value
        return keyring().seal(self.encode(value), self._context())

    def python_value(self, value):
        if value is None or value == "":
            return value
        return self.decode(keyring().open(value, self._context()))

    def encode(self, value):
        return str(value)

    def decode(self, text):
        return text


class EncryptedDateField(EncryptedTextField):
    """A date sealed as its ISO text; NULL when there is none."""

    def encode(self, value):
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, str):
            value = dt.date.fromisoformat(value)
        return value.isoformat()

    def decode(self, text):
        return dt.date.fromisoformat(text)
