"""Who may use each route. Every view says so with one of these decorators; a view that says
nothing is closed to everyone (``check_access`` answers 404 and logs the omission).

- ``public``: anyone, signed in or not.
- ``signed_in``: any signed-in account.
- ``coordinator_only``: coordinators of an organization.
- ``secretariat_only``: the secretariat; everyone else gets 404, anonymous visitors are sent
  to sign in.
- ``entering``: whoever enters participants: coordinators of an organization, and the
  secretariat on an organization's behalf (the participant form's helpers).
"""

import logging
import unicodedata
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

log = logging.getLogger(__name__)

PUBLIC = "public"
SIGNED_IN = "signed_in"
COORDINATOR = "coordinator"
SECRETARIAT = "secretariat"
ENTERING = "entering"


def _mark(level):
    def decorator(view):
        view.access = level
        return view

    return decorator


public = _mark(PUBLIC)
signed_in = _mark(SIGNED_IN)
coordinator_only = _mark(COORDINATOR)
secretariat_only = _mark(SECRETARIAT)
entering = _mark(ENTERING)


def login_redirect():
    """Send an anonymous visitor to sign in, then back here (HTMX: with HX-Redirect)."""
    if request.headers.get("HX-Request"):
        target = request.headers.get("HX-Current-URL") or request.full_path
        next_url = _local_path(target)
    else:
        next_url = request.full_path if request.method == "GET" else None
    if next_url and next_url.endswith("?"):
        next_url = next_url[:-1]
    location = url_for("auth.login", next=next_url) if next_url else url_for("auth.login")
    if request.headers.get("HX-Request"):
        response = current_app.response_class("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, 303)


def _local_path(url):
    """The path and query of ``url`` (HTMX's current page), if they make a plain local path."""
    parts = urlsplit(url or "")
    path = parts.path or "/"
    return safe_next(path + ("?" + parts.query if parts.query else ""), None)


#: Longer than any page of the portal with its filters.
MAX_NEXT = 2000


def safe_next(target, default="/"):
    """Return ``target`` if it is a plain path on this site, else ``default``.

    The one judge of every ``next`` the portal follows (sign-in, language switch, the
    secretariat's forms): a path starting with one ``/``, no scheme or host, no backslash, no
    blank, control or format character (a newline in a Location header is an error, and a
    browser reads some of them as a host), at most ``MAX_NEXT`` characters.
    """
    if not target or len(target) > MAX_NEXT:
        return default
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(unicodedata.category(c)[0] in "CZ" for c in target):
        return default
    try:
        parts = urlsplit(target)
    except ValueError:
        return default
    if parts.scheme or parts.netloc:
        return default
    return target


def check_access():
    """Run before every request: enforce the view's declared access level."""
    if request.endpoint is None:
        return None  # 404 or 405 follows
    view = current_app.view_functions.get(request.endpoint)
    level = getattr(view, "access", None)
    if level is None:
        log.error("route %s declares no access level: closed", request.endpoint)
        abort(404)
    if level == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_redirect()
    if level == COORDINATOR and not (current_user.is_coordinator and current_user.organization_id):
        abort(404)
    if level == SECRETARIAT and not current_user.is_secretariat:
        abort(404)
    if level == ENTERING and not (
        current_user.is_secretariat
        or (current_user.is_coordinator and current_user.organization_id)
    ):
        abort(404)
    return None
