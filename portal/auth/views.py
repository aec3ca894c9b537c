"""Sign-in and sign-out."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user, logout_user

from ..access import public, signed_in
from ..i18n import safe_next
from ..services import accounts
from . import sessions
from .forms import LoginForm

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Sign in with the PrepCom username and password."""
    next_url = safe_next(request.values.get("next"), "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(next_url or url_for("home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            account = accounts.authenticate(form.username.data, form.password.data)
        except accounts.SignInError as exc:
            error = exc.message
        else:
            sessions.start(account)
            return redirect(next_url or url_for("home"), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error, next=next_url), status


@bp.route("/logout", methods=["POST"])
@signed_in
def logout():
    """Sign out: end every session of this account, on every device."""
    account = current_user._get_current_object()
    accounts.end_all_sessions(account)
    logout_user()
    return redirect(url_for("auth.login"), 303)
