"""Render a whole page, or for an HTMX request just one of its named blocks."""

from flask import current_app, g, redirect, render_template, request, session
from flask_login import current_user

from . import lifecycle
from .models import Event
from .performance.cache import cached, page_identity


def render_block(template_name, block_name, **context):
    """Render one block of a template, with the same context a full render would have."""
    env = current_app.jinja_env
    template = env.get_template(template_name)
    current_app.update_template_context(context)
    ctx = template.new_context(context)
    return "".join(template.blocks[block_name](ctx))


def render_page(template_name, block_name=None, status=200, cache_key=None, **context):
    """Render the page, or only ``block_name`` when HTMX asked for a fragment.

    With ``cache_key`` (what the page's data is: versions, state, page number...), the whole
    rendering is kept in the fragment cache (portal/performance/cache.py) and reused while the key, the
    language, the address and the signed-in person stay the same; not when a message waits to
    be shown (a flash), and never for anything but a plain GET answered 200.
    """
    fragment = bool(
        block_name
        and request.headers.get("HX-Request")
        and not request.headers.get("HX-History-Restore-Request")
    )

    def render():
        if fragment:
            return render_block(template_name, block_name, **context)
        return render_template(template_name, **context)

    if cache_key is not None and status == 200 and request.method == "GET" and not _flashes():
        key = (template_name, block_name if fragment else "page", *page_identity(), *cache_key)
        body = cached(key, render)
    else:
        body = render()
    response = current_app.make_response((body, status))
    response.vary.add("HX-Request")
    return response


def _flashes():
    return bool(session.get("_flashes"))


def why_not(participant, action):
    """Why a screen does not offer ``action`` on ``participant`` to the signed-in person now
    (a ``lifecycle.Refusal``), or None: the lifecycle decides (portal/lifecycle.py), from who
    asks, the status and the event."""
    user = current_user._get_current_object()
    if "event" not in g:
        # Once a request: a list asks for every row.
        g.event = getattr(user, "current_event", None) or Event.current()
    return lifecycle.refusal(participant, action, user, g.event, offered_only=True)


def allowed(participant, action):
    """Whether a screen offers ``action`` on ``participant`` to the signed-in person now."""
    return why_not(participant, action) is None


def is_htmx():
    return bool(request.headers.get("HX-Request"))


def see_other(location):
    """End a POST: 303 to ``location`` (Post/Redirect/Get), or for HTMX a 204 with
    ``HX-Redirect``, so the next page is not painted inside the swapped element."""
    if is_htmx():
        response = current_app.response_class("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return redirect(location, 303)
