"""Render a document template to PDF with WeasyPrint.

``render_pdf("documents/badges.html", lang="ar", participants=...)`` renders the template in
``lang`` (the portal's catalogues, through ``force_locale``; the template extends
``documents/_base.html``, which sets ``<html lang dir>``) and returns the PDF's bytes.

The text is set in the four Noto fonts shipped with the portal (``FONTS``, SIL Open Font
Licence, see ``fonts/OFL.txt``), declared by ``@font-face`` with file URLs: what a document
looks like does not depend on the fonts a host has installed. A character that none of them
has falls back to whatever the host has, or to a visible empty box (``uncovered`` tells which
characters those are, so that a caller can say so).

Documents fetch nothing but these fonts and ``data:`` URLs (photos, QR codes are inline): a
template can never make the renderer read a file or the network.

One ``FontConfiguration`` and the parsed font stylesheet are made once per process and reused
(measured in CPU time: one badge, layout and PDF, 53 ms against 96 ms with new ones each time);
the renders of a process are taken one at a time, since WeasyPrint does not promise that its
font configuration may be used by several threads at once.
"""

import atexit
import functools
import logging
import os
import threading
from pathlib import Path

from flask import render_template
from flask_babel import force_locale

from ..i18n import text_direction

FONTS_DIR = Path(__file__).resolve().parent / "fonts"

#: (family, weight, file): the fonts every document is set in.
FONTS = (
    ("Noto Sans", 400, "NotoSans-Regular.ttf"),
    ("Noto Sans", 700, "NotoSans-Bold.ttf"),
    ("Noto Naskh Arabic", 400, "NotoNaskhArabic-Regular.ttf"),
    ("Noto Naskh Arabic", 700, "NotoNaskhArabic-Bold.ttf"),
)

FONT_CSS = "\n".join(
    '@font-face { font-family: "%s"; font-weight: %d; src: url("%s"); }'
    % (family, weight, (FONTS_DIR / name).as_uri())
    for family, weight, name in FONTS
) + (
    '\nhtml { font-family: "Noto Sans", "Noto Naskh Arabic", sans-serif; }'
    '\n:lang(ar) { font-family: "Noto Naskh Arabic", "Noto Sans", sans-serif; }'
)

_lock = threading.Lock()

# WeasyPrint reports each step of each document, and fontTools each font it subsets, at INFO:
# the portal's log keeps their warnings only.
for _name in ("weasyprint", "weasyprint.progress", "fontTools"):
    logging.getLogger(_name).setLevel(logging.WARNING)


@functools.cache
def weasyprint():
    """WeasyPrint, imported on first use (it loads Pango: only processes that render pay).

    Importing it sets Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` to True for the whole process;
    the portal's photo checks need it False (an image whose data ends early is refused, never
    stored padded with grey: portal/services/photos.py), so it is put back. The photos a document
    embeds were checked when they were stored.
    """
    from PIL import ImageFile  # noqa: PLC0415

    before = ImageFile.LOAD_TRUNCATED_IMAGES
    import weasyprint as module  # noqa: PLC0415
    import weasyprint.images  # noqa: F401, PLC0415 - the module that sets the flag
    import weasyprint.text.fonts  # noqa: F401, PLC0415
    import weasyprint.urls  # noqa: F401, PLC0415

    ImageFile.LOAD_TRUNCATED_IMAGES = before
    return module


@functools.cache
def _fonts():
    """The process's font configuration and the stylesheet that declares the fonts."""
    library = weasyprint()
    config = library.text.fonts.FontConfiguration()
    # Dropped before the interpreter tears its modules down (its finalizer needs them).
    atexit.register(_fonts.cache_clear)
    fetcher = _fetcher()
    return config, fetcher, library.CSS(string=FONT_CSS, font_config=config, url_fetcher=fetcher)


FONT_URLS = frozenset((FONTS_DIR / name).as_uri() for _family, _weight, name in FONTS)


def _fetcher():
    """WeasyPrint's URL fetcher for documents: the shipped fonts and ``data:`` URLs only."""

    class DocumentFetcher(weasyprint().urls.URLFetcher):
        def fetch(self, url, headers=None):
            if url.startswith("data:") or url.split("?")[0] in FONT_URLS:
                return super().fetch(url, headers)
            raise ValueError("documents fetch only their fonts and data: URLs")

    return DocumentFetcher(allowed_protocols=("file", "data"), allow_redirects=False)


def render_html(template_name, *, lang, **context):
    """Render ``template_name`` to HTML in ``lang`` (what ``render_pdf`` lays out)."""
    with force_locale(lang):
        return render_template(template_name, lang=lang, dir=text_direction(lang), **context)


def render_pdf(template_name, *, lang, **context):
    """Render ``template_name`` in ``lang`` to PDF; return its bytes."""
    return write(lay_out(render_html(template_name, lang=lang, **context)))


def lay_out(html):
    """Lay ``html`` out into pages: a WeasyPrint ``Document`` (``write`` makes the PDF; pages of
    several documents can be written as one)."""
    with _lock:
        config, fetcher, fonts = _fonts()
        document = weasyprint().HTML(
            string=html, base_url=FONTS_DIR.as_uri() + "/", url_fetcher=fetcher
        )
        return document.render(stylesheets=[fonts], font_config=config)


def write(document, pages=None):
    """The PDF of ``document``, or of ``pages`` (from any documents ``lay_out`` made, in
    order), with ``document``'s metadata."""
    with _lock:
        chosen = document if pages is None else document.copy(list(pages))
        return chosen.write_pdf()


@functools.cache
def _covered():
    """Every code point the shipped fonts have a glyph for."""
    from fontTools.ttLib import TTFont  # noqa: PLC0415 - WeasyPrint's own dependency

    points = set()
    for _family, _weight, name in FONTS:
        with TTFont(os.fspath(FONTS_DIR / name), lazy=True) as font:
            points.update(font.getBestCmap())
    return frozenset(points)


def uncovered(text):
    """Return the characters of ``text`` that none of the shipped fonts can show (blanks and
    invisible marks apart), in order, once each."""
    covered = _covered()
    missing = []
    for char in text or "":
        if char.isspace() or not char.isprintable() or ord(char) in covered:
            continue
        if char not in missing:
            missing.append(char)
    return "".join(missing)
