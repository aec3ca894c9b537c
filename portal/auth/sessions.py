"""Sessions: Flask-Login with the account's session token in the cookie, checked on every
request, plus an idle timeout and an absolute lifetime enforced here on the server."""

import datetime as dt
import hmac

from flask import current_app, g, session
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from peewee import JOIN, fn

from .. import clock
from ..access import login_redirect
from ..extensions import login_manager
from ..models import Account, Event, Organization
from ..performance.prepared import prepared


def init_app(app):
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.session_protection = None  # the session token does this job
    login_manager.user_loader(load_account)
    login_manager.unauthorized_handler(login_redirect)
    # The cookie itself may live as long as the absolute lifetime; the server decides.
    app.permanent_session_lifetime = dt.timedelta(
        minutes=int(app.config["SESSION_LIFETIME_MINUTES"])
    )
    app.before_request(_enforce_timeouts)


_FirstEvent = Event.alias("first_event")

# Runs on every request: its SQL is built once (see portal/performance/prepared.py). The organization and
# the event come in the same query, as ``account.organization`` and ``account.current_event``:
# every coordinator's page shows them (two round trips fewer).
_account_by_id = prepared(
    lambda account_id: (
        Account.select(Account, Organization, Event)
        .join(Organization, JOIN.LEFT_OUTER)
        .switch(Account)
        .join(
            Event,
            JOIN.LEFT_OUTER,
            on=(Event.id == _FirstEvent.select(fn.MIN(_FirstEvent.id))),
            attr="current_event",
        )
        .where(Account.id == account_id)
        .limit(1)
    )
)


def load_account(session_id):
    """Return the account for ``id:token`` if the token is still the account's current one."""
    try:
        account_id, token = session_id.split(":", 1)
        account = _account_by_id.first(int(account_id))
    except (ValueError, AttributeError):
        return None
    if (
        account is None
        or not account.is_active
        or not hmac.compare_digest(token.encode(), account.session_token.encode())
    ):
        return None
    return account


def now_seconds():
    """Return the time the timeouts are measured with (the portal's clock)."""
    return int(clock.seconds())


def start(account):
    """Begin a new session for ``account`` (a fresh cookie: nothing carries over)."""
    from flask_login import login_user

    clear()
    now = now_seconds()
    session["started"] = now
    session["seen"] = now
    session.permanent = True
    login_user(account)
    # The forms' CSRF secret now, in the cookie the sign-in sends anyway: otherwise the first
    # page after signing in would send the whole cookie again (~450 bytes on 2G).
    generate_csrf()


def keep(account):
    """Keep this session signed in after the account's session token changed (a password
    change ends every other session): the cookie gets the new token, the times stay."""
    from flask_login import login_user

    started, seen = session.get("started"), session.get("seen")
    login_user(account)
    session["started"], session["seen"] = started, seen


def _enforce_timeouts():
    if "_user_id" not in session:
        return
    config = current_app.config
    now = now_seconds()
    started = session.get("started", 0)
    seen = session.get("seen", 0)
    if (
        now - seen > int(config["SESSION_IDLE_MINUTES"]) * 60
        or now - started > int(config["SESSION_LIFETIME_MINUTES"]) * 60
    ):
        clear()
        return
    # Refresh at most once a minute, so most responses need not re-send the cookie.
    if now - seen >= 60:
        session["seen"] = now


def clear():
    """Forget everything in the session but the chosen language; the CSRF token signed for it
    goes too (a form of a new session gets a new one)."""
    language = session.get("lang")
    session.clear()
    g.pop("csrf_token", None)
    if language:
        session["lang"] = language
