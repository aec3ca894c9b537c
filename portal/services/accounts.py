"""Accounts: sign-in with PrepCom credentials, lock-outs, sessions, passwords, one-time password
links, preferred language.

What a visitor who does not know the password can learn about a username: nothing. The answer
to a failed sign-in is the same words, after the same work (at least one argon2 check), whether
the username is unknown, the password wrong, or the account has no usable password yet:

- An account imported with an empty PrepCom hash has no password that can match, so nobody
  "also knows the password" and its owner must get exactly what a stranger gets. The one
  generic message therefore tells everyone who fails that a coordinator without a password (or
  who forgot it) asks the ITU secretariat for a link. No sentence is shown only to accounts
  without a password: that sentence would tell a stranger the username exists.
- Lock-outs hold for unknown usernames too ("phantom" lock-outs counted in the audit log), so
  that "try again in N minutes" does not single out the usernames that exist.
- Only someone who gives the right password learns more (e.g. that the account is disabled).
"""

import datetime as dt
import hashlib
import hmac
import json
import logging
import secrets
import unicodedata

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from itsdangerous import BadData, URLSafeSerializer

from ..db import database
from ..models import (
    ROLE_COORDINATOR,
    ROLE_SECRETARIAT,
    Account,
    AuditLog,
    Organization,
    PasswordLink,
    new_token,
    utcnow,
)
from . import DomainError, audit, mail, passwords, usernames

log = logging.getLogger(__name__)

GENERIC_FAILURE = _l(
    "The username or password is not correct. If you have no password yet, or have "
    "forgotten it, ask the ITU secretariat for a link to set one."
)


class SignInError(DomainError):
    def __init__(self, message, retry_after=None):
        super().__init__(message)
        #: Seconds until the account may try again, when it is locked.
        self.retry_after = retry_after


def find_account(username):
    key = Account.key(username)
    if not key:
        return None
    return Account.get_or_none(Account.username_key == key)


# -- Sign-in ------------------------------------------------------------------------------------


def _lock_minutes(failures):
    """Minutes of the lock-out that ``failures`` consecutive failures earn (0: none).

    Every LOCKOUT_THRESHOLD-th consecutive failure locks the account; each further lock-out
    doubles the wait, up to a day.
    """
    threshold = max(1, int(current_app.config["LOCKOUT_THRESHOLD"]))
    if failures <= 0 or failures % threshold:
        return 0
    rounds = failures // threshold
    return min(int(current_app.config["LOCKOUT_MINUTES"]) * 2 ** min(rounds - 1, 16), 24 * 60)


def _locked_error(until, now):
    seconds = max(1, int((until - now).total_seconds()))
    minutes = max(1, -(-seconds // 60))
    return SignInError(
        _ln(
            "Too many failed attempts. Try again in %(num)d minute.",
            "Too many failed attempts. Try again in %(num)d minutes.",
            minutes,
        ),
        retry_after=seconds,
    )


def _username_digest(key):
    """A keyed digest of what was typed as a username: an unknown username is never stored as
    typed, since people sometimes type their password in the username field."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _phantom_details(digest):
    return json.dumps({"username_digest": digest})


def _phantom_attempts(digest):
    return (
        AuditLog.select(AuditLog.at)
        .where(
            (AuditLog.action == "signin.unknown") & (AuditLog.details == _phantom_details(digest))
        )
        .order_by(AuditLog.at.desc())
    )


def _phantom_locked_until(digest, now):
    """The lock-out an unknown username would be under if it existed (same rules)."""
    attempts = _phantom_attempts(digest)
    count = attempts.count()
    minutes = _lock_minutes(count)
    if not minutes:
        return None
    until = attempts.first().at + dt.timedelta(minutes=minutes)
    return until if until > now else None


# -- Device cookies -----------------------------------------------------------------------------
#
# Anyone who knows a username can lock its account with a few wrong passwords. A browser that
# has already signed in to an account gets a device cookie (OWASP's "device cookie"): signed
# with the app's secret, naming the account, with an expiry. Presenting it, the browser is not
# held by the account's lock-out; its own failures are counted for that device alone (in the
# audit log, as the lock-outs of unknown usernames are) and can lock that device out.

DEVICE_COOKIE = "portal_device"
_DEVICE_SALT = "portal.device-cookie"
#: The device's latest sign-in rows read to count its failures (far past a day's lock-out).
DEVICE_HISTORY = 500


def _device_serializer():
    return URLSafeSerializer(str(current_app.config["SECRET_KEY"]), salt=_DEVICE_SALT)


def issue_device_cookie(account, now=None):
    """Return the value of a new device cookie for ``account`` (set at a successful sign-in)."""
    now = now or utcnow()
    days = int(current_app.config["DEVICE_COOKIE_DAYS"])
    expires = now + dt.timedelta(days=days)
    payload = {"a": account.id, "e": int(expires.timestamp()), "d": secrets.token_hex(12)}
    return _device_serializer().dumps(payload)


def device_of(value, account, now):
    """Return the device id in ``value`` if it is a valid, unexpired device cookie for
    ``account``; None otherwise (forged, expired, or another account's)."""
    if not value or len(value) > 200 or account is None:
        return None
    try:
        payload = _device_serializer().loads(value)
    except BadData:
        return None
    if not isinstance(payload, dict) or payload.get("a") != account.id:
        return None
    expires = payload.get("e")
    if not isinstance(expires, int) or expires <= int(now.timestamp()):
        return None
    device = payload.get("d")
    return device if isinstance(device, str) and len(device) == 24 else None


def _device_details(device):
    return json.dumps({"device": device})


def _device_locked_until(account, device, now):
    """The lock-out the device's own failures since its last success earn (same rules)."""
    rows = (
        AuditLog.select(AuditLog.id, AuditLog.action, AuditLog.at)
        .where(
            (AuditLog.account == account.id)
            & AuditLog.action.in_(("signin.device_failed", "signin.device_ok"))
            & (AuditLog.details == _device_details(device))
        )
        .order_by(AuditLog.id.desc())
        .limit(DEVICE_HISTORY)
    )
    failures, last = 0, None
    for _id, action, at in rows.tuples():
        if action == "signin.device_ok":
            break
        failures += 1
        last = last or at
    minutes = _lock_minutes(failures)
    if not minutes:
        return None
    until = last + dt.timedelta(minutes=minutes)
    return until if until > now else None


def _record_device(account, device, action, now):
    with database.atomic():
        AuditLog.create(
            at=now,
            account=account.id,
            actor=account.username,
            action=action,
            details=_device_details(device),
            address=audit.client_address(),
        )


def authenticate(username, password, device_cookie=None, now=None):
    """Return the account if ``password`` is right and the account may sign in now.

    Raises SignInError with a message that reveals nothing about whether the username exists,
    except to someone who also knows the password (see the module's docstring). A valid device
    cookie for the account (``issue_device_cookie``) passes the account's lock-out; the
    device's own failures are counted apart. ``now``: the clock (``utcnow()`` by default).
    """
    account = find_account(username)
    now = now or utcnow()
    if account is None:
        digest = _username_digest(Account.key(username))
        until = _phantom_locked_until(digest, now)
        passwords.burn_time(password)
        with database.atomic():
            # The phantom lock-out counts these rows.
            AuditLog.create(
                action="signin.unknown" if until is None else "signin.refused",
                details=_phantom_details(digest),
                address=audit.client_address(),
            )
        if until is not None:
            raise _locked_error(until, now)
        raise SignInError(GENERIC_FAILURE)
    device = device_of(device_cookie, account, now)
    if device is not None:
        until = _device_locked_until(account, device, now)
    else:
        until = (
            account.locked_until if account.locked_until and account.locked_until > now else None
        )
    if until is not None:
        passwords.burn_time(password)
        with database.atomic():
            audit.record("signin.refused", account=account, locked=True, device=bool(device))
        raise _locked_error(until, now)
    # Costs one argon2 check at least, whatever the scheme, "none" included.
    if not passwords.verify(account.password_scheme, account.password_hash, password):
        if device is not None:
            _record_device(account, device, "signin.device_failed", now)
        else:
            _record_failure(account, now)
        raise SignInError(GENERIC_FAILURE)
    if not account.is_active:
        with database.atomic():
            audit.record("signin.inactive", account=account)
        raise SignInError(_l("This account may not sign in. Please contact the ITU secretariat."))
    with database.atomic():
        updates = {Account.last_login_at: now}
        # A device passing a lock-out leaves it to hold for everyone else.
        if not (account.locked_until and account.locked_until > now):
            updates.update({Account.failed_logins: 0, Account.locked_until: None})
        old_scheme = account.password_scheme
        rehash = passwords.needs_rehash(account.password_scheme, account.password_hash)
        if rehash:
            updates[Account.password_hash] = passwords.hash_password(password)
            updates[Account.password_scheme] = passwords.ARGON2
        # The hash is replaced only if it is still the one just checked (an import or a
        # password change in between wins).
        query = Account.update(updates).where(Account.id == account.id)
        if rehash:
            query = query.where(Account.password_hash == account.password_hash)
        query.execute()
        audit.record(
            "signin", account=account, scheme=old_scheme, rehashed=rehash, device=bool(device)
        )
    if device is not None:
        _record_device(account, device, "signin.device_ok", now)
    return Account.get_by_id(account.id)


def _record_failure(account, now):
    """Count a failure in the database (so every worker and host sees it); lock if needed."""
    with database.atomic():
        Account.update(failed_logins=Account.failed_logins + 1, last_failed_at=now).where(
            Account.id == account.id
        ).execute()
        fresh = Account.get_by_id(account.id)
        minutes = _lock_minutes(fresh.failed_logins)
        if minutes:
            Account.update(locked_until=now + dt.timedelta(minutes=minutes)).where(
                Account.id == account.id
            ).execute()
            audit.record(
                "signin.locked", account=fresh, failures=fresh.failed_logins, minutes=minutes
            )
        else:
            audit.record("signin.failed", account=fresh, failures=fresh.failed_logins)


# -- Sessions -----------------------------------------------------------------------------------


def end_all_sessions(account, action="signout"):
    """Change the account's session token: every session cookie issued before stops working."""
    token = new_token()
    with database.atomic():
        Account.update(session_token=token).where(Account.id == account.id).execute()
        if action:
            audit.record(action, account=account)
    account.session_token = token
    return token


def set_preferred_language(account, language):
    if account.language == language:
        return
    with database.atomic():
        Account.update(language=language, updated_at=utcnow()).where(
            Account.id == account.id
        ).execute()
    account.language = language


# -- Passwords ----------------------------------------------------------------------------------


def _set_password(account, password, now):
    """Write a new argon2id password; end every session (a new token); clear lock-outs."""
    token = new_token()
    Account.update(
        password_hash=passwords.hash_password(password),
        password_scheme=passwords.ARGON2,
        password_changed_at=now,
        session_token=token,
        failed_logins=0,
        locked_until=None,
        updated_at=now,
    ).where(Account.id == account.id).execute()
    return token


def change_password(account, current_password, new_password):
    """Change the password of ``account`` (its owner, signed in), the current one required.

    Every other session of the account ends; the caller keeps its own with the returned account
    (its new session token).
    """
    now = utcnow()
    fresh = Account.get_by_id(account.id)
    if fresh.locked_until and fresh.locked_until > now:
        # The lock-out holds here too: a stolen session must not guess the password instead.
        raise DomainError(_locked_error(fresh.locked_until, now).message, field="current_password")
    if not passwords.verify(fresh.password_scheme, fresh.password_hash, current_password):
        _record_failure(fresh, now)
        raise DomainError(_l("The current password is not correct."), field="current_password")
    problem = passwords.password_problem(new_password, fresh.username)
    if problem:
        raise DomainError(problem, field="new_password")
    if new_password == current_password:
        raise DomainError(
            _l("The new password must differ from the current one."), field="new_password"
        )
    with database.atomic():
        _set_password(fresh, new_password, now)
        audit.record("password.change", account=fresh, obj=fresh)
    return Account.get_by_id(account.id)


def _link_hash(token):
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue_password_link(account, actor, send_email=False):
    """Create a one-time link for ``account`` to set its password; return its URL.

    Earlier unused links of the account stop working. With ``send_email`` the link is also
    e-mailed to the address on file, in the account's language, queued in the same transaction.
    The token is stored only as its SHA-256; the URL exists only in the return value and the
    e-mail (in the outbox until it is sent, then emptied there).
    """
    account = Account.get_by_id(account.id)
    if send_email and not account.email:
        raise DomainError(_l("This account has no e-mail address."))
    now = utcnow()
    hours = int(current_app.config["PASSWORD_LINK_HOURS"])
    token = secrets.token_urlsafe(32)
    # The token goes in the query string: access logs record paths, never query strings.
    url = current_app.config["BASE_URL"].rstrip("/") + "/password/set?token=" + token
    with database.atomic():
        PasswordLink.update(expires_at=now).where(
            (PasswordLink.account == account.id)
            & PasswordLink.used_at.is_null()
            & (PasswordLink.expires_at > now)
        ).execute()
        link = PasswordLink.create(
            token_hash=_link_hash(token),
            account=account.id,
            created_by=actor.id if actor else None,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
        audit.record(
            "password_link.create",
            account=actor,
            obj=account,
            link=link.id,
            hours=hours,
            emailed=bool(send_email),
        )
        if send_email:
            mail.enqueue_to_account(account, "password_link", url=url, hours=hours)
    return url


def find_password_link(token):
    """Return the usable (unused, unexpired) link for ``token``, or None."""
    if not token or len(token) > 128:
        return None
    link = PasswordLink.get_or_none(PasswordLink.token_hash == _link_hash(token))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    return link


def set_password_with_link(token, new_password):
    """Set the password of the link's account; the link is used up. Return the account."""
    link = find_password_link(token)
    if link is None:
        raise DomainError(_l("This link is not valid any more."))
    account = Account.get_by_id(link.account_id)
    problem = passwords.password_problem(new_password, account.username)
    if problem:
        raise DomainError(problem, field="new_password")
    now = utcnow()
    with database.atomic():
        # Single use, even if two requests race with the same link.
        used = (
            PasswordLink.update(used_at=now)
            .where(
                (PasswordLink.id == link.id)
                & PasswordLink.used_at.is_null()
                & (PasswordLink.expires_at > now)
            )
            .execute()
        )
        if used != 1:
            raise DomainError(_l("This link is not valid any more."))
        _set_password(account, new_password, now)
        audit.record("password.set_with_link", account=account, obj=account, link=link.id)
    return Account.get_by_id(account.id)


def create_secretariat(username, password, given_name="", family_name="", email=""):
    """Create a secretariat account with an argon2id password."""
    problem = usernames.username_problem(username)
    if problem:
        raise DomainError(problem)
    username = unicodedata.normalize("NFC", username.strip())
    if find_account(username):
        raise DomainError(_l("An account with this username exists already."))
    problem = passwords.password_problem(password, username)
    if problem:
        raise DomainError(problem)
    with database.atomic():
        usernames.lock_account_creation()
        _refuse_look_alike(username)
        account = Account.create(
            username=username,
            username_key=Account.key(username),
            password_hash=passwords.hash_password(password),
            password_scheme=passwords.ARGON2,
            role=ROLE_SECRETARIAT,
            given_name=given_name,
            family_name=family_name,
            email=email,
            language="en",
            password_changed_at=utcnow(),
        )
        audit.record("account.create", account=None, obj=account, role=ROLE_SECRETARIAT)
    return account


def _refuse_look_alike(username, field=None):
    """Raise if ``username`` looks like an existing one (call under lock_account_creation)."""
    if Account.select().where(Account.username_key == Account.key(username)).exists():
        raise DomainError(_l("An account with this username exists already."), field=field)
    twin = usernames.look_alike(username)
    if twin is not None:
        raise DomainError(
            _l(
                "This username looks like an existing one (%(username)s): choose another.",
                username=twin,
            ),
            field=field,
        )


# -- Administration by the secretariat -----------------------------------------------------------

LOCK = "lock"
UNLOCK = "unlock"


def set_account_access(actor, account_id, action):
    """Lock an account (it may not sign in; its sessions end) or unlock it (it may sign in
    again, its failed sign-ins forgotten)."""
    if action not in (LOCK, UNLOCK):
        raise DomainError(_l("Unknown action."))
    with database.atomic():
        account = Account.get_or_none(Account.id == account_id)
        if account is None:
            raise DomainError(_l("This account does not exist."))
        if action == LOCK:
            if account.id == actor.id:
                raise DomainError(_l("You cannot lock your own account."))
            Account.update(is_active=False, session_token=new_token(), updated_at=utcnow()).where(
                Account.id == account.id
            ).execute()
        else:
            Account.update(
                is_active=True, locked_until=None, failed_logins=0, updated_at=utcnow()
            ).where(Account.id == account.id).execute()
        audit.record(
            "account." + action,
            account=actor,
            obj=account,
            organization=account.organization_id,
            username=account.username,
        )
    return Account.get_by_id(account_id)


def add_coordinator(actor, organization_id, username, given_name, family_name, email, language):
    """Create a coordinator account (no password yet: send it a one-time link)."""
    problem = usernames.username_problem(username)
    if problem:
        raise DomainError(problem, field="username")
    username = unicodedata.normalize("NFC", username.strip())
    with database.atomic():
        organization = Organization.get_or_none(Organization.id == organization_id)
        if organization is None:
            raise DomainError(_l("Choose an organization."), field="organization")
        usernames.lock_account_creation()
        _refuse_look_alike(username, field="username")
        account = Account.create(
            username=username,
            username_key=Account.key(username),
            role=ROLE_COORDINATOR,
            organization=organization,
            given_name=given_name.strip(),
            family_name=family_name.strip(),
            email=email.strip(),
            language=language,
        )
        audit.record(
            "account.create",
            account=actor,
            obj=account,
            organization=organization.id,
            username=account.username,
        )
    return account
