"""QR codes for documents (segno): inline SVG, or a PNG ``data:`` URL.

The PNG is the faster one for WeasyPrint (measured in CPU time on a badge: the SVG's path cost
about 13 ms to lay out and draw, a PNG of ten pixels a module 7 ms to embed, a PNG of one pixel
a module, drawn without smoothing, under 1 ms), so badges, printed by the hundred, use it; a
page or a letter may use either.
"""

import base64
import io
import re

import segno
from markupsafe import Markup
from PIL import Image

#: Error correction "M" (15 % of the code may be lost: a scratched card still reads).
ERROR = "m"
#: White modules around the code, as the standard asks.
BORDER = 4


def qr_svg(text, *, size="100%"):
    """Return ``text`` as a QR code: an ``<svg>`` element (no XML declaration) to put in a
    document's HTML, sized by CSS to ``size`` (an unsized SVG in a right-to-left WeasyPrint
    document breaks the layout: it is always sized). Error correction "M", a four-module quiet
    zone: what a phone or a gate's scanner reads from paper."""
    code = segno.make_qr(text, error=ERROR)
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


def qr_png_data_url(text, *, scale=1):
    """Return ``text`` as a QR code: a ``data:image/png`` URL of a black and white image,
    ``scale`` pixels a module, quiet zone included. Draw it with ``image-rendering:
    crisp-edges`` (the PDF asks viewers and printers not to smooth it: square modules at any
    size)."""
    code = segno.make_qr(text, error=ERROR)
    rows = [bytes(0 if dark else 255 for dark in row) for row in code.matrix_iter(border=BORDER)]
    image = Image.frombytes("L", (len(rows[0]), len(rows)), b"".join(rows))
    image = image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)
    out = io.BytesIO()
    image.convert("1").save(out, "PNG", optimize=False)
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")
