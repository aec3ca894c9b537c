"""QR codes for documents, as inline SVG (segno)."""

import io
import re

import segno
from markupsafe import Markup


def qr_svg(text, *, size="100%"):
    """Return ``text`` as a QR code: an ``<svg>`` element (no XML declaration) to put in a
    document's HTML, sized by CSS to ``size`` (an unsized SVG in a right-to-left WeasyPrint
    document breaks the layout: it is always sized). Error correction "M", a four-module quiet
    zone: what a phone or a gate's scanner reads from paper."""
    code = segno.make_qr(text, error="m")
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        nl=False,
        border=4,
        omitsize=True,
        svgclass="qr",
        lineclass=None,
    )
    if not re.fullmatch(r"[0-9.]+(%|mm|px)", size):
        raise ValueError("a CSS length: %r" % size)
    svg = out.getvalue().decode("ascii")
    style = ' style="width: %s; height: %s; display: block"' % (size, size)
    # segno's own SVG: paths of modules, none of the text's characters.
    return Markup(svg.replace("<svg ", "<svg" + style + " ", 1))  # noqa: S704
