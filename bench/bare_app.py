"""The yardstick of the server benchmark: a bare Flask app, served by the same gunicorn settings,
that renders templates of the same size as the portal's pages without touching a database.

``bench/server.py`` captures the portal's pages (as the signed-in coordinator sees them) into the
JSON file named by ``BARE_PAGES`` (path -> HTML). Each page becomes a Jinja template in which
every text between two tags is a variable (``{{ t[12] }}``, escaped on output as the portal's
templates do), so the bare app renders, escapes and compresses (Flask-Compress, the portal's
settings) a page of the same size and shape. What it does not do is the portal's own work:
sessions, the database, translations, access checks.
"""

import html
import json
import os
import re

from flask import Flask, abort
from flask_compress import Compress

_TEXT = re.compile(r">([^<]+)<")


def to_template(page):
    """Return (template source, texts): ``page`` with every text node made a variable."""
    texts, parts, pos = [], [], 0
    for match in _TEXT.finditer(page):
        parts.append(_literal(page[pos : match.start()]))
        texts.append(html.unescape(match.group(1)))
        parts.append(">{{ t[%d] }}<" % (len(texts) - 1))
        pos = match.end()
    parts.append(_literal(page[pos:]))
    return "".join(parts), texts


def _literal(markup):
    """Keep Jinja from reading braces in the markup (JSON in an attribute, say)."""
    return markup.replace("{", "{{ '{' }}")


def create_app(pages_path=None):
    app = Flask(__name__)
    app.config.update(
        COMPRESS_MIMETYPES=["text/html"],
        COMPRESS_ALGORITHM=["br", "gzip"],
        COMPRESS_MIN_SIZE=500,
        COMPRESS_BR_LEVEL=5,
        COMPRESS_LEVEL=6,
    )
    Compress(app)
    pages = {}
    path = pages_path or os.environ.get("BARE_PAGES")
    if path:
        with open(path, encoding="utf-8") as fh:
            for url, page in json.load(fh).items():
                source, texts = to_template(page)
                pages[url] = (app.jinja_env.from_string(source), texts)

    @app.route("/healthz")
    def healthz():
        return {"status": "ok"}

    @app.route("/<path:url>")
    def page(url):
        found = pages.get("/" + url)
        if found is None:
            abort(404)
        template, texts = found
        context = {"t": texts}
        app.update_template_context(context)
        response = app.make_response(template.render(context))
        response.headers["Cache-Control"] = "private, no-cache"
        response.vary.add("Cookie")
        return response

    return app


app = create_app()
