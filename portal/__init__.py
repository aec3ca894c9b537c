"""The WSIS Tunis registration portal: ``create_app`` builds and wires the Flask app."""

import logging
import sys

from flask import Flask, current_app, redirect, request, url_for
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

from . import assets, crypto, errors, forms, i18n, lifecycle, performance, templating
from .access import check_access, public
from .config import load_config
from .db import database, init_database, is_sqlite
from .extensions import babel, csrf, login_manager
from .params import BoundedIntegerConverter


def create_app(test_config=None):
    """Create the portal: configuration, database, extensions, blueprints, commands."""
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    # Before any route is added: every <int:...> in a URL is bounded (404 past it).
    app.url_map.converters["int"] = BoundedIntegerConverter
    load_config(app, test_config)
    _configure_logging(app)
    crypto.init_app(app)

    init_database(app.config["DATABASE_URL"], app.instance_path)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    i18n.init_app(app)
    app.jinja_env.globals.update(
        allowed=templating.allowed, why_not=templating.why_not, new_draft=lifecycle.new_draft
    )
    login_manager.init_app(app)
    assets.init_app(app)
    errors.init_app(app)
    forms.init_app(app)

    from .auth import sessions
    from .auth.views import bp as auth_bp

    # The documents' routes join the delegation's and the secretariat's blueprints.
    from .delegation import documents as _delegation_documents  # noqa: F401
    from .delegation.views import bp as delegation_bp
    from .documents.views import bp as documents_bp
    from .secretariat import documents as _secretariat_documents  # noqa: F401
    from .secretariat.views import bp as secretariat_bp

    sessions.init_app(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(delegation_bp)
    app.register_blueprint(secretariat_bp, url_prefix="/secretariat")
    app.register_blueprint(documents_bp)

    from . import cli

    cli.init_app(app)

    if app.config["PROXY_COUNT"]:
        n = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    app.before_request(_open_database)
    app.before_request(check_access)
    # Here: after the session and access checks, before the policy headers (see its docstring).
    performance.init_app(app)
    app.teardown_request(_close_database)
    app.after_request(_security_headers)

    @app.route("/")
    @public
    def home():
        """Send each visitor to their own start page."""
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.is_secretariat:
            return redirect(url_for("secretariat.overview"))
        return redirect(url_for("delegation.dashboard"))

    @app.route("/healthz")
    @public
    def healthz():
        """Answer 200 when the database answers, 503 otherwise."""
        from .db import database_version

        try:
            database.execute_sql("SELECT 1").fetchone()
            version = database_version()
        except Exception:  # noqa: BLE001 - any failure means unhealthy
            app.logger.exception("health check: database unavailable")
            return {"status": "unavailable"}, 503
        return {"status": "ok", "database": version}

    return app


def _configure_logging(app):
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    if not any(getattr(h, "_portal", False) for h in root.handlers):
        handler._portal = True
        root.addHandler(handler)
    root.setLevel(app.config["LOG_LEVEL"])


def _open_database():
    database.connect(reuse_if_open=True)


def _close_database(exc):
    if database.is_closed():
        return
    # Opening SQLite costs more than a small page's queries (the file, the pragmas, a cold page
    # cache): each thread keeps its connection for its next request, idle outside transactions.
    # PostgreSQL connections go back to the worker's pool.
    if exc is None and is_sqlite() and not _in_transaction():
        return
    database.close()


def _in_transaction():
    return database.in_transaction() or database.connection().in_transaction


CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "geolocation=(), microphone=(), camera=(self)"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def _security_headers(response):
    """The policy headers, unless the view set its own (one pass over the headers: werkzeug
    looks a missing header up by raising and catching an exception)."""
    headers = response.headers
    present = {name.lower() for name, _value in headers.items()}
    wanted = list(SECURITY_HEADERS)
    if request.is_secure or current_app.config["SECURE_COOKIES"]:
        wanted.append(HSTS)
    html = response.mimetype == "text/html"
    if html:
        response.vary.add("HX-Request")
        response.vary.add("Cookie")
        wanted.append(("Cache-Control", "private, no-cache"))
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    return response
