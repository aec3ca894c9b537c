"""Accounts: sign-in with PrepCom credentials, lock-outs, sessions, preferred language."""

import datetime as dt

from flask import current_app
from flask_babel import lazy_gettext as _l

from ..db import database
from ..models import ROLE_SECRETARIAT, Account, new_token, utcnow
from . import DomainError, audit, passwords


class SignInError(DomainError):
    pass


def find_account(username):
    return Account.get_or_none(Account.username_key == Account.key(username))


def authenticate(username, password):
    """Return the account if ``password`` is right and the account may sign in now.

    Raises SignInError with a message that reveals nothing about whether the username exists,
    except to someone who also knows the password.
    """
    account = find_account(username)
    generic = _l("The username or password is not correct.")
    if account is None:
        passwords.burn_time(password)
        audit.record("signin.unknown", actor=Account.key(username)[:150])
        raise SignInError(generic)
    now = utcnow()
    if account.locked_until and account.locked_until > now:
        passwords.burn_time(password)
        _record_failure(account, now, locked=True)
        minutes = max(1, int((account.locked_until - now).total_seconds() // 60) + 1)
        raise SignInError(
            _l(
                "Too many failed attempts. Try again in %(minutes)s minutes.",
                minutes=minutes,
            )
        )
    if account.password_scheme == passwords.NONE or not account.password_hash:
        passwords.burn_time(password)
        _record_failure(account, now)
        raise SignInError(generic)
    if not passwords.verify(account.password_scheme, account.password_hash, password):
        _record_failure(account, now)
        raise SignInError(generic)
    if not account.is_active:
        raise SignInError(_l("This account may not sign in. Please contact the ITU secretariat."))
    with database.atomic():
        account = Account.get_by_id(account.id)
        updates = {
            Account.failed_logins: 0,
            Account.locked_until: None,
            Account.last_login_at: now,
        }
        if passwords.needs_rehash(account.password_scheme, account.password_hash):
            updates[Account.password_hash] = passwords.hash_password(password)
            updates[Account.password_scheme] = passwords.ARGON2
        Account.update(updates).where(Account.id == account.id).execute()
        audit.record(
            "signin", account=account, rehashed=account.password_scheme != passwords.ARGON2
        )
    return Account.get_by_id(account.id)


def _record_failure(account, now, locked=False):
    """Count a failure in the database (so every worker and host sees it); lock if needed."""
    config = current_app.config
    threshold = int(config["LOCKOUT_THRESHOLD"])
    with database.atomic():
        Account.update(failed_logins=Account.failed_logins + 1, last_failed_at=now).where(
            Account.id == account.id
        ).execute()
        fresh = Account.get_by_id(account.id)
        if not locked and fresh.failed_logins >= threshold:
            # Each lock-out beyond the first doubles the wait, up to a day.
            rounds = fresh.failed_logins // threshold
            minutes = min(int(config["LOCKOUT_MINUTES"]) * 2 ** (rounds - 1), 24 * 60)
            fresh.locked_until = now + dt.timedelta(minutes=minutes)
            fresh.save()
            audit.record("signin.locked", account=fresh, minutes=minutes)
        else:
            audit.record("signin.failed", account=fresh, locked=locked)


def end_all_sessions(account):
    """Change the account's session token: every session cookie issued before stops working."""
    with database.atomic():
        Account.update(session_token=new_token()).where(Account.id == account.id).execute()


def set_preferred_language(account, language):
    if account.language == language:
        return
    with database.atomic():
        Account.update(language=language, updated_at=utcnow()).where(
            Account.id == account.id
        ).execute()
    account.language = language


def create_secretariat(username, password, given_name="", family_name="", email=""):
    """Create a secretariat account with an argon2id password."""
    if find_account(username):
        raise DomainError(_l("An account with this username exists already."))
    with database.atomic():
        account = Account.create(
            username=username.strip(),
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
