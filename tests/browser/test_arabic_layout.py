"""Arabic at phone width in a real browser: every page right-to-left, nothing wider than the
screen, nothing overlapping, nothing cut off; arrows mirrored. Screenshots go to the temporary
directory for a person to look at (never committed)."""

import io
import os
import re
import shutil
import tempfile
from urllib.parse import urlsplit

import pytest

from portal import i18n_tools

from ..conftest import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = os.path.join(tempfile.gettempdir(), "portal-arabic-layout")

# Runs in the page: what a person holding the phone would notice.
LAYOUT_PROBLEMS = """
() => {
  const vw = document.documentElement.clientWidth;
  const problems = [];
  const root = document.documentElement;
  if (root.dir !== 'rtl' || root.lang !== 'ar') problems.push('not Arabic rtl: ' + root.lang + ' ' + root.dir);
  if (root.scrollWidth > window.innerWidth) problems.push('page wider than the screen: ' + root.scrollWidth + ' > ' + window.innerWidth);
  const describe = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/\\s+/g, '.') : '') +
      ' "' + (e.innerText || e.value || '').trim().slice(0, 40) + '"';
  const scrolls = (e) => {
    for (let p = e.parentElement; p; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll') return true;
    }
    return false;
  };
  const selector = 'a,button,input,select,textarea,label,h1,h2,h3,p,li,th,td,dt,dd,legend,summary,small,strong,bdi,span,img,code';
  const shown = [...document.querySelectorAll(selector)].filter((e) => {
    if (e.closest('.skip,.vh,[hidden],template,details:not([open]) > :not(summary)')) return false;
    const style = getComputedStyle(e);
    if (style.visibility === 'hidden' || style.display === 'none') return false;
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.height > 0;
  });
  for (const e of shown) {
    const r = e.getBoundingClientRect();
    if (!scrolls(e) && (r.left < -1 || r.right > vw + 1)) problems.push('beyond the screen edge: ' + describe(e) + ' ' + Math.round(r.left) + '..' + Math.round(r.right));
    const style = getComputedStyle(e);
    const clips = ['hidden', 'clip'].includes(style.overflowX) || style.textOverflow === 'ellipsis';
    if (clips && e.scrollWidth > e.clientWidth + 1 && !['INPUT', 'SELECT', 'TEXTAREA'].includes(e.tagName)) problems.push('cut off: ' + describe(e));
  }
  // Overlaps between the innermost boxes (line by line for text that wraps).
  const leaves = shown.filter((e) => !shown.some((o) => o !== e && e.contains(o)));
  const boxes = [];
  for (const e of leaves) for (const r of e.getClientRects()) if (r.width > 1 && r.height > 1) boxes.push([e, r]);
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, ra] = boxes[i], [b, rb] = boxes[j];
      if (a === b || a.contains(b) || b.contains(a)) continue;
      const w = Math.min(ra.right, rb.right) - Math.max(ra.left, rb.left);
      const h = Math.min(ra.bottom, rb.bottom) - Math.max(ra.top, rb.top);
      if (w > 2 && h > 2) problems.push('overlap: ' + describe(a) + ' / ' + describe(b));
    }
  }
  return problems.slice(0, 20);
}
"""

ARROW_TRANSFORM = """
() => {
  const s = document.createElement('span');
  s.className = 'icon-arrow';
  s.textContent = '→';
  document.querySelector('main').appendChild(s);
  const t = getComputedStyle(s).transform;
  s.remove();
  return t;
}
"""


@pytest.fixture
def arabic_server(app, runner, gunicorn_server, tmp_path):
    """gunicorn with the demo data and the checkout's catalogues compiled (in a copy)."""
    translations = tmp_path / "translations"
    shutil.copytree(
        os.path.join(ROOT, "translations"),
        translations,
        ignore=shutil.ignore_patterns("*.mo", ".tmp-*"),
    )
    out = io.StringIO()
    assert i18n_tools.compile_all(str(translations), out=out) == 0, out.getvalue()
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    return gunicorn_server(
        workers=1, threads=4, PORTAL_BABEL_TRANSLATION_DIRECTORIES=str(translations)
    )


def sign_in(page, server, username, password):
    page.goto(server.url + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-form button")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:2000]


def pages_to_visit(page, server, starts, limit=14):
    """The start pages and the pages their links lead to (GET, this site only)."""
    seen, queue = [], list(starts)
    while queue and len(seen) < limit:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.append(path)
        page.goto(server.url + path)
        # Pages only: downloads (letters, badges, lists as PDF, exports) are not pages to lay out.
        hrefs = page.eval_on_selector_all(
            "a[href]:not([download])", "els => els.map(e => e.getAttribute('href'))"
        )
        for href in hrefs:
            parts = urlsplit(href)
            if parts.netloc or not parts.path.startswith("/"):
                continue
            if re.match(r"/(language|logout|static|photos)", parts.path) or re.search(
                r"\.(csv|xlsx|jpg|pdf)$", parts.path
            ):
                continue
            target = parts.path + ("?" + parts.query if parts.query else "")
            if target not in seen and target not in queue and "page=" not in target:
                queue.append(target)
    return seen


def check_pages(page, server, paths, label):
    os.makedirs(SHOTS, exist_ok=True)
    failures = {}
    for path in paths:
        response = page.goto(server.url + path)
        assert response.status < 500, path
        page.wait_for_load_state()
        name = "%s-%s.png" % (label, re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home")
        page.screenshot(path=os.path.join(SHOTS, name), full_page=True)
        problems = page.evaluate(LAYOUT_PROBLEMS)
        if problems:
            failures[path] = problems
    assert not failures, failures


def test_arabic_pages_fit_a_phone(phone, arabic_server):
    server = arabic_server
    # Signed out: the sign-in page and an error page, in Arabic from the browser's language.
    page = phone(language="ar")
    check_pages(page, server, ["/login", "/nowhere"], "anonymous")

    # A coordinator who prefers Arabic, on every page their links reach.
    page = phone(language="ar")
    sign_in(page, server, "las.coord", "Qahira2005")
    paths = pages_to_visit(page, server, ["/delegation", "/delegation/participants/new"])
    assert len(paths) >= 3
    check_pages(page, server, paths, "coordinator")

    # A coordinator with Latin names in the list, switching to Arabic with the link.
    page = phone(language="fr")
    sign_in(page, server, "unesco.dfp", "Tunis2005!")
    page.goto(server.url + "/delegation")
    page.click("nav.langs a[hreflang=ar]")
    page.wait_for_load_state()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert urlsplit(page.url).path == "/delegation"  # the same page, reloaded in Arabic
    paths = pages_to_visit(page, server, ["/delegation", "/delegation/participants"])
    check_pages(page, server, paths, "unesco")

    # The secretariat's screens (the account prefers English: the switch first).
    page = phone(language="ar")
    sign_in(page, server, "secretariat", "Secretariat-2005")
    page.click("nav.langs a[hreflang=ar]")
    page.wait_for_load_state()
    paths = pages_to_visit(page, server, ["/secretariat/"], limit=16)
    assert len(paths) >= 5
    check_pages(page, server, paths, "secretariat")


def test_arrows_are_mirrored_in_arabic_only(phone, arabic_server):
    page = phone(language="ar")
    page.goto(arabic_server.url + "/login")
    assert page.evaluate(ARROW_TRANSFORM) == "matrix(-1, 0, 0, 1, 0, 0)"
    page = phone(language="fr")
    page.goto(arabic_server.url + "/login")
    assert page.evaluate(ARROW_TRANSFORM) == "none"


def test_latin_input_in_an_arabic_form_keeps_its_direction(phone, arabic_server):
    page = phone(language="ar")
    sign_in(page, arabic_server, "las.coord", "Qahira2005")
    page.goto(arabic_server.url + "/delegation/participants/new")
    field = page.locator("input[type=text]").first
    field.fill("MATSUURA")
    # Typed Latin text is laid out left to right inside the right-to-left page.
    assert field.evaluate("e => getComputedStyle(e).unicodeBidi") == "plaintext"
    email = page.locator("input[type=email]").first
    assert email.evaluate("e => getComputedStyle(e).direction") == "ltr"
