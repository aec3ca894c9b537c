"""Sign-in, sign-out, password change, one-time password links."""

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from ..access import public, safe_next, secretariat_only, signed_in
from ..models import Account
from ..services import DomainError, accounts
from ..services.passwords import MAX_LENGTH, MIN_LENGTH
from ..templating import render_page, see_other
from . import sessions
from .forms import LoginForm, PasswordChangeForm, PasswordLinkForm, PasswordSetForm

bp = Blueprint("auth", __name__)


def _no_store(response):
    """Pages holding a password form or a one-time link are never kept by a cache."""
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with the PrepCom username and password."""
    next_url = safe_next(request.values.get("next"), "")
    if next_url.startswith(url_for("auth.login")):
        next_url = ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("home"))
    form = LoginForm()
    error = None
    retry_after = None
    if form.validate_on_submit():
        try:
            account = accounts.authenticate(
                form.username.data,
                form.password.data,
                device_cookie=request.cookies.get(accounts.DEVICE_COOKIE),
            )
        except accounts.SignInError as exc:
            error = exc.message
            retry_after = exc.retry_after
        else:
            sessions.start(account)
            return _with_device_cookie(see_other(next_url or url_for("home")), account)
    status = 422 if request.method == "POST" else 200
    response = render_page(
        "auth/login.html", "form", status=status, form=form, error=error, next=next_url
    )
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return _no_store(response)


def _with_device_cookie(response, account):
    """Remember this browser for the account: it will pass the account's lock-out. Sent only
    to the sign-in page, so it costs nothing on the other pages."""
    response.set_cookie(
        accounts.DEVICE_COOKIE,
        accounts.issue_device_cookie(account),
        max_age=int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400,
        path=url_for("auth.login"),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]),
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    """Sign out: end every session of this account, on every device."""
    account = current_user._get_current_object()
    accounts.end_all_sessions(account)
    logout_user()
    sessions.clear()
    return see_other(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    """Change one's own password (the current one required); other sessions end."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            account = accounts.change_password(
                current_user._get_current_object(),
                form.current_password.data,
                form.new_password.data,
            )
        except DomainError as exc:
            getattr(form, exc.field or "new_password").errors.append(exc.message)
        else:
            sessions.keep(account)
            flash(_("Your password has been changed. Other devices are signed out."), "success")
            return see_other(url_for("home"))
    status = 422 if request.method == "POST" else 200
    return _no_store(
        render_page(
            "auth/password_change.html",
            "form",
            status=status,
            form=form,
            min_length=MIN_LENGTH,
            max_length=MAX_LENGTH,
        )
    )


@bp.route("/password/set", methods=["GET", "POST"])
@public
def password_link():
    """Set a password with a one-time link from the secretariat.

    The token travels in the query string (then in the form), not in the path: gunicorn's access
    log writes paths but never query strings, and tokens must never reach a log.
    """
    token = request.values.get("token", "")
    link = accounts.find_password_link(token)
    if link is None:
        response = render_page("auth/password_link_invalid.html", "content", status=404)
        return _no_store(response)
    account = Account.get_by_id(link.account_id)
    form = PasswordSetForm()
    if form.validate_on_submit():
        try:
            accounts.set_password_with_link(token, form.new_password.data)
        except DomainError as exc:
            form.new_password.errors.append(exc.message)
        else:
            if current_user.is_authenticated:
                logout_user()
                sessions.clear()
            flash(_("Your password is set. You can sign in with it now."), "success")
            return see_other(url_for("auth.login"))
    status = 422 if request.method == "POST" else 200
    response = render_page(
        "auth/password_set.html",
        "form",
        status=status,
        form=form,
        account=account,
        token=token,
        min_length=MIN_LENGTH,
        max_length=MAX_LENGTH,
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return _no_store(response)


@bp.route("/secretariat/accounts/<int:account_id>/password-link", methods=["POST"])
@secretariat_only
def create_password_link(account_id):
    """Make a one-time password link for an account, and show it (optionally e-mail it).

    The page answers the POST directly instead of redirecting: the link exists only in this
    response (and the e-mail), never in the database or the session cookie.
    """
    account = Account.get_or_none(Account.id == account_id)
    if account is None:
        abort(404)
    form = PasswordLinkForm()
    if not form.validate_on_submit():
        abort(400)
    url, error = None, None
    try:
        url = accounts.issue_password_link(
            account, current_user._get_current_object(), send_email=form.send_email.data
        )
    except DomainError as exc:
        error = exc.message
    response = render_page(
        "auth/password_link_created.html",
        "content",
        status=200 if url else 422,
        account=account,
        url=url,
        error=error,
        emailed=bool(url and form.send_email.data and not error),
        hours=int(current_app.config["PASSWORD_LINK_HOURS"]),
    )
    return _no_store(response)
