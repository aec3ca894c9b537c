"""A long document made of chunks: each chunk's HTML laid out on its own (in a few render
processes side by side), the PDFs joined in order with pypdf, then the pages numbered across the
whole document by an overlay. Memory stays bounded by the chunk size and the number of render
processes, whatever the length of the document.

The render processes are started with "spawn" (no copy of the worker's database connection or
app) and only lay out HTML (``html_to_pdf``); the templates are rendered in the worker,
which has the app and the database. At most ``processes + 1`` chunks are waiting or being laid
out at a time.
"""

import concurrent.futures
import io
import multiprocessing
from collections import deque

from .pdf import lay_out, write


def html_to_pdf(html):
    """Lay out one whole HTML document and return its PDF (what a render process runs)."""
    return write(lay_out(html))


def _pdfs(htmls, processes):
    """Yield the PDF of each HTML of ``htmls``, in order."""
    if processes <= 1:
        for html in htmls:
            yield html_to_pdf(html)
        return
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(processes, mp_context=context) as pool:
        waiting = deque()
        for html in htmls:
            waiting.append(pool.submit(html_to_pdf, html))
            if len(waiting) > processes:
                yield waiting.popleft().result()
        while waiting:
            yield waiting.popleft().result()


NUMBERS = """<!doctype html><html lang="{lang}" dir="{dir}"><head><style>
@page {{ size: A4; margin: 18mm 15mm; @bottom-center {{ content: counter(page) " / " counter(pages);
font-size: 8pt; }} }}
div {{ break-after: page; }}</style></head><body>{pages}</body></html>"""


def join(htmls, processes=1, progress=None, lang="fr", dir="ltr"):
    """Lay out each chunk of ``htmls`` (an iterable of whole HTML documents, A4), join them and
    number the pages "n / total"; return the PDF's bytes. ``progress(index)`` is called after
    each chunk is joined."""
    from pypdf import PdfReader, PdfWriter  # noqa: PLC0415

    writer = PdfWriter()
    for index, pdf in enumerate(_pdfs(htmls, processes)):
        writer.append(PdfReader(io.BytesIO(pdf)))
        if progress is not None:
            progress(index)
    total = len(writer.pages)
    numbers = PdfReader(
        io.BytesIO(html_to_pdf(NUMBERS.format(lang=lang, dir=dir, pages="<div></div>" * total)))
    )
    for page, number in zip(writer.pages, numbers.pages, strict=True):
        page.merge_page(number)
        # Merging leaves the page's content uncompressed: 20 KB a page of the list otherwise.
        page.compress_content_streams()
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()
