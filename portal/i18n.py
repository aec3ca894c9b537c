"""Languages: which one a page is in, its direction, and the switch between them.

Order of choice: the language chosen in this session, then the account's preferred language,
then the browser's ``Accept-Language``, then French.
"""

from urllib.parse import urlsplit

import flask_babel
from flask import Blueprint, abort, has_request_context, redirect, request, session
from flask_babel import get_locale
from flask_login import current_user

from .access import public

LANGUAGES = ("fr", "en", "ar")
RTL = {"ar"}

bp = Blueprint("i18n", __name__)


def select_locale():
    if not has_request_context():
        return "en"  # operators' command line
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "fr"


def current_language():
    return str(get_locale() or "fr")


def text_direction(language=None):
    return "rtl" if (language or current_language()) in RTL else "ltr"


def safe_next(target, default="/"):
    """Return ``target`` if it is a path on this site, else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


@bp.route("/language/<code>")
@public
def switch(code):
    """Switch the page language (a plain link), remember it, and reload the page."""
    if code not in LANGUAGES:
        abort(404)
    session["lang"] = code
    # A link followed from another site changes this session only, not the account.
    if current_user.is_authenticated and request.headers.get("Sec-Fetch-Site") != "cross-site":
        from .services.accounts import set_preferred_language

        set_preferred_language(current_user._get_current_object(), code)
    return redirect(safe_next(request.args.get("next")), 303)


def init_app(app):
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        current_language=current_language,
        text_direction=text_direction,
        LANGUAGES=LANGUAGES,
    )
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.jinja_env.filters.update(
        format_date=flask_babel.format_date,
        format_datetime=flask_babel.format_datetime,
        format_number=flask_babel.format_decimal,
    )
