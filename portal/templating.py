"""Render a whole page, or for an HTMX request just one of its named blocks."""

from flask import current_app, redirect, render_template, request


def render_block(template_name, block_name, **context):
    """Render one block of a template, with the same context a full render would have."""
    env = current_app.jinja_env
    template = env.get_template(template_name)
    current_app.update_template_context(context)
    ctx = template.new_context(context)
    return "".join(template.blocks[block_name](ctx))


def render_page(template_name, block_name=None, status=200, **context):
    """Render the page, or only ``block_name`` when HTMX asked for a fragment."""
    if (
        block_name
        and request.headers.get("HX-Request")
        and not request.headers.get("HX-History-Restore-Request")
    ):
        body = render_block(template_name, block_name, **context)
    else:
        body = render_template(template_name, **context)
    response = current_app.make_response((body, status))
    response.vary.add("HX-Request")
    return response


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
