"""Error pages in the visitor's language, whole or as an HTMX fragment."""

import logging

from flask import render_template, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)

MESSAGES = {
    400: (
        _l("Bad request"),
        _l("The request could not be understood. Please go back and try again."),
    ),
    403: (_l("Forbidden"), _l("You are not allowed to do this.")),
    404: (
        _l("Page not found"),
        _l("There is nothing here. Check the address, or go back to your home page."),
    ),
    405: (_l("Not allowed"), _l("This action cannot be done this way.")),
    409: (
        _l("Not possible now"),
        _l("This cannot be done in the current state. Reload the page to see where things stand."),
    ),
    413: (_l("File too large"), _l("What you sent is too large. Photos may be up to 5 MB.")),
    422: (
        _l("Cannot process"),
        _l("Some of what you sent is not valid. Please correct it and try again."),
    ),
    429: (_l("Too many requests"), _l("Please wait a moment and try again.")),
    500: (
        _l("Something went wrong"),
        _l(
            "An error occurred on our side. What you saved before is safe; please try again in a moment."
        ),
    ),
    503: (
        _l("Temporarily unavailable"),
        _l("The portal is briefly unavailable. Please try again in a few minutes."),
    ),
}


def render_error(code, detail=None):
    title, message = MESSAGES.get(code, MESSAGES[500])
    template = "errors/error.html"
    context = {"code": code, "title": title, "message": detail or message}
    if request.headers.get("HX-Request"):
        from .templating import render_block

        return render_block(template, "content", **context), code
    return render_template(template, **context), code


def _handle_http(exc: HTTPException):
    code = exc.code or 500
    if code in (301, 302, 303, 307, 308):
        return exc
    return render_error(code if code in MESSAGES else 400)


def _handle_500(exc):
    original = getattr(exc, "original_exception", None) or exc
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=original)
    return render_error(500)


def init_app(app):
    app.register_error_handler(HTTPException, _handle_http)
    # A service's refusal that no view turned into a page of its own: its status, and for a
    # refusal (not a "not found") its own words.
    from .services import DomainError, NotFound

    app.register_error_handler(NotFound, lambda exc: render_error(404))
    app.register_error_handler(
        DomainError, lambda exc: render_error(exc.status, detail=str(exc.message))
    )
    app.register_error_handler(InternalServerError, _handle_500)
    # The database or another dependency not answering: 503 rather than 500.
    from peewee import InterfaceError, OperationalError

    def _unavailable(exc):
        log.error("database unavailable: %s", exc)
        return render_error(503)

    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(InterfaceError, _unavailable)
