"""Languages: which one a page is in, its direction, and the switch between them.

Order of choice: the language chosen in this session, then the account's preferred language,
then the browser's ``Accept-Language``, then French.
"""

import os
import threading

import flask_babel
from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup, escape

from .access import public, safe_next

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
    return accepted_language() or "fr"


def accepted_language():
    """The browser's most preferred language that the portal speaks, regional variants included
    ("en-GB, fr;q=0.5" is English: werkzeug's best_match would pick the exact "fr")."""
    for value, quality in request.accept_languages:  # highest quality first
        primary = value.replace("_", "-").split("-")[0].lower()
        if quality > 0 and primary in LANGUAGES:
            return primary
    return None


def current_language():
    return str(get_locale() or "fr")


def page_translations():
    """Flask-Babel's translations for the page, looked up once per locale in a request.

    Flask-Babel walks the app context, the locale and its cache for every word, and a page has
    dozens of words: a third of a list page's rendering went there. ``force_locale`` (e-mails in
    the recipient's language) and ``refresh`` put a new locale object in place, which is noticed.
    """
    babel_state = g.get("_flask_babel")
    cached = getattr(babel_state, "portal_translations", None)
    if cached is not None and cached[0] is getattr(babel_state, "babel_locale", None):
        return cached[1]
    translations = flask_babel.get_translations()  # resolves the locale too
    babel_state = g.get("_flask_babel")
    if babel_state is not None:
        babel_state.portal_translations = (getattr(babel_state, "babel_locale", None), translations)
    return translations


def text_direction(language=None):
    return "rtl" if (language or current_language()) in RTL else "ltr"


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


def bdi(value):
    """Isolate user-entered text (a name, a function) from the sentence around it, so a Latin
    name reads right inside an Arabic sentence and the reverse: ``{{ name|bdi }}``, also as a
    placeholder value: ``_("Head of delegation: %(name)s", name=head.full_name|bdi)``."""
    return Markup("<bdi>%s</bdi>") % escape(value if value is not None else "")


def country_name(code, language=None):
    """The country's name in the page's language, from CLDR (the code itself if unknown)."""
    from .services.countries import country_name as name_in

    return name_in(code, language or current_language())


def country_choices(language=None):
    """(code, name) for every country, by name in the page's language, for a <select>."""
    from .services.countries import countries

    return list(countries(language or current_language()))


# -- Translations: one cache per app; recompiled catalogues show up in development --------------


class AppDomain(flask_babel.Domain):
    """Flask-Babel keeps loaded catalogues in one cache per ``Babel()`` object, shared by every
    app of the process whatever its translation directory; keep one per app instead."""

    def get_translations_cache(self, ctx):
        return current_app.extensions.setdefault("portal_translations", {})


_reload_lock = threading.Lock()


def _catalogue_stamp(app):
    stamp = []
    directories = app.config.get("BABEL_TRANSLATION_DIRECTORIES", "translations")
    for directory in directories.split(";"):
        directory = os.path.join(app.root_path, directory)
        for language in LANGUAGES:
            path = os.path.join(directory, language, "LC_MESSAGES", "messages.mo")
            try:
                info = os.stat(path)
            except OSError:
                stamp.append(None)
            else:
                stamp.append((info.st_mtime_ns, info.st_size, info.st_ino))
    return tuple(stamp)


def _reload_catalogues():
    """Development only: forget the translations Flask-Babel keeps per process when a .mo file
    changed (``make translations``), so the next page shows the new wording."""
    app = current_app._get_current_object()
    stamp = _catalogue_stamp(app)
    if stamp == app.extensions.get("portal_catalogue_stamp"):
        return
    with _reload_lock:
        if stamp != app.extensions.get("portal_catalogue_stamp"):
            app.extensions["portal_translations"] = {}
            app.extensions["portal_catalogue_stamp"] = stamp


class FormTranslations:
    """WTForms' own messages ("This field is required.") from the portal's catalogues: Flask-WTF
    would otherwise use the copies that come with WTForms, which translators cannot edit."""

    def ugettext(self, string):
        return flask_babel.get_translations().ugettext(string)

    def ungettext(self, singular, plural, n):
        return flask_babel.get_translations().ungettext(singular, plural, n)


FORM_TRANSLATIONS = FormTranslations()


def _form_translations():
    # Where Flask-WTF's i18n looks first (flask_wtf.i18n._get_translations).
    request.wtforms_translations = FORM_TRANSLATIONS


def init_app(app):
    from .extensions import babel

    # werkzeug's cached_property: setting it replaces the shared Domain Flask-Babel would make.
    babel.domain_instance = AppDomain(domain=app.config.get("BABEL_DOMAIN", "messages"))
    app.register_blueprint(bp)
    app.before_request(_form_translations)
    app.jinja_env.globals.update(
        current_language=current_language,
        text_direction=text_direction,
        LANGUAGES=LANGUAGES,
        country_name=country_name,
    )
    app.jinja_env.filters.update(bdi=bdi, country_name=country_name)
    if app.config.get("ENV") != "production":
        app.extensions["portal_catalogue_stamp"] = _catalogue_stamp(app)
        app.before_request(_reload_catalogues)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    # In place of Flask-Babel's callables: the same, with the translations looked up once.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    app.jinja_env.filters.update(
        format_date=flask_babel.format_date,
        format_datetime=flask_babel.format_datetime,
        format_number=flask_babel.format_decimal,
    )
