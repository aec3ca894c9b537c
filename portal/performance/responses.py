"""What keeps pages cheap on a 2G link: compressed responses (error pages too), and HTML
pages with validators so that a revisit of an unchanged page costs a 304 of a few hundred bytes.

Compression is Flask-Compress's (brotli where the client accepts it, else gzip). It leaves
responses outside 200-299 alone; a 422 page carrying a form and its errors is as large as the
page itself, so those are compressed here too. A 304 and an HTMX fragment leave out the
policy headers that only a document uses (the browser keeps the page's own): ~400 bytes each.
Measured (``make bench-server``): the dashboard's 7,158 bytes of HTML go out as 1,511, the
list's 22,585 as 2,722; a revisit of either is a 304 of 227 bytes with its headers
(``make bench-pages``).

A page rendered again is the same bytes (the fragment cache and the signed CSRF token, reused
below, see to it), so its compressed form is kept too: Flask-Compress's cache, keyed on a hash
of the body and the encoding, per worker, bounded in bytes (``COMPRESSED_CACHE_MB``). Brotli
was a third of the time of a cached page: with this cache and token reuse, the server
benchmark went from 612 to 1,516 requests/s on the dashboard. In the process
(``bench/inprocess.py --compare compressed``): the cached list 0.93 ms against 1.39 without
(the dashboard's 7 KB compress in too little time to tell).

Every page with a form carries the CSRF token, which Flask-WTF signs with the current time: each
second would give a new token and a new page. A worker hands a session the same signed token for
``TOKEN_REUSE_SECONDS`` (10 minutes, against a validity of ``WTF_CSRF_TIME_LIMIT``, 8 hours):
any signed token of the session is accepted, so this changes nothing for forms; a worker that
has not seen the session signs its own. Measured with each request a second after the last
(``bench/inprocess.py --compare token``): the cached dashboard 0.94 ms against 1.64 without,
the list 1.30 against 1.78 (each page new bytes, compressed again).

The ETag of a page is a hash of its body. Pages from two workers, or ten minutes apart, still
carry different signed tokens, so the hash leaves the signed token out and takes the session's
raw token instead (the one every signed token is checked against: it changes when the session
does); the ETag also names the hour the page was rendered, and a page is answered 304 only
while the token it carries has at least half of its lifetime (``WTF_CSRF_TIME_LIMIT``) left.
"""

import hashlib

from flask import current_app, g, request, session

from .. import clock
from ..extensions import compress
from .cache import LRUCache

HOUR = 3600
TOKEN_REUSE_SECONDS = 600


def init_compression(app):
    """Bind Flask-Compress without its own hook (``compress_response`` replaces it), with its
    cache of compressed bodies."""
    app.config["COMPRESS_REGISTER"] = False
    megabytes = float(app.config.get("COMPRESSED_CACHE_MB", 4))
    if megabytes > 0:
        app.config["COMPRESS_CACHE_BACKEND"] = lambda: LRUCache(int(megabytes * 1024 * 1024))
        app.config["COMPRESS_CACHE_KEY"] = _body_key
    compress.init_app(app)


def _body_key(request):
    """Flask-Compress's cache key (it adds the encoding): the hash of the body, taken by
    ``compress_response`` just before (a missing one fails loudly, never shares an entry)."""
    return g.pop("body_key")


def _hash_body(response):
    """Take the hash ``_body_key`` returns, for every body Flask-Compress may compress whole."""
    if compress.cache is None or response.is_streamed:
        return
    if response.mimetype not in compress.compress_mimetypes_set:
        return
    response.direct_passthrough = False
    g.body_key = hashlib.blake2b(response.get_data(), digest_size=16).hexdigest()


#: Headers a 304 need not repeat: the browser keeps those it stored with the page.
NOT_REPEATED_ON_304 = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
    "Strict-Transport-Security",
)


#: Headers that only a document uses: an HTMX fragment is swapped into a page that has them.
DOCUMENT_ONLY = (
    "Content-Security-Policy",
    "Referrer-Policy",
    "X-Frame-Options",
    "Cross-Origin-Opener-Policy",
    "Permissions-Policy",
)


def compress_response(response):
    """Compress the response like Flask-Compress does, 4xx and 5xx pages included."""
    status = response.status_code
    if status == 304:
        for name in NOT_REPEATED_ON_304:
            response.headers.pop(name, None)
        response.vary.add("Accept-Encoding")
        return response
    if request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"):
        # Fetched by htmx, never shown as a page of its own (Vary: HX-Request keeps caches
        # from mixing them up): the policy headers of the page it lands in apply.
        for name in DOCUMENT_ONLY:
            response.headers.pop(name, None)
    error_page = 400 <= status < 600 and response.mimetype == "text/html"
    if error_page:
        # Flask-Compress only considers 2xx responses: present the error page as one.
        response.status_code = 200
    try:
        _hash_body(response)
        response = compress.after_request(response)
    finally:
        if error_page:
            response.status_code = status
        g.pop("body_key", None)
    return response


def init_token_reuse(app):
    """Per worker: the signed CSRF token last handed to each session (by its raw secret) and
    when, for the 4,096 sessions seen last."""
    app.extensions["signed_tokens"] = LRUCache(4096, size_of=lambda _entry: 1)


def reuse_token():
    """Hand the session the token signed for it in the last ten minutes, if there is one."""
    raw = session.get("csrf_token")
    if raw:
        found = current_app.extensions["signed_tokens"].get(raw)
        if found is not None and clock.seconds() - found[1] < TOKEN_REUSE_SECONDS:
            g.csrf_token = g.reused_csrf_token = found[0]


def keep_token(response):
    """Remember a token signed during this request (none was reused, or a new session)."""
    token = g.get("csrf_token")
    if token and token != g.get("reused_csrf_token"):
        raw = session.get("csrf_token")
        if raw:
            current_app.extensions["signed_tokens"].set(raw, (token, clock.seconds()))
    return response


def _digest(body):
    token = g.get("csrf_token")
    hasher = hashlib.blake2b(digest_size=12)
    if token:
        body = body.replace(token.encode("ascii"), b"")
        hasher.update(session.get("csrf_token", "").encode("ascii"))
        hasher.update(b"\0")
    hasher.update(body)
    return hasher.hexdigest(), bool(token)


def _reuse_hours():
    """How old (in hours) the page a browser holds may be for its CSRF token to be reused."""
    limit = current_app.config.get("WTF_CSRF_TIME_LIMIT", 3600)
    if limit is None:
        return 1 << 30
    return int(limit) // (2 * HOUR)


def html_validators(response):
    """Give an HTML page a weak ETag; answer 304 when the browser holds the same page."""
    if (
        request.method not in ("GET", "HEAD")
        or response.status_code != 200
        or response.mimetype != "text/html"
        or response.is_streamed
        or response.direct_passthrough
        or "ETag" in response.headers
        or response.cache_control.no_store
    ):
        return response
    digest, has_token = _digest(response.get_data())
    now = int(clock.seconds()) // HOUR
    etag = "%s.%x" % (digest, now if has_token else 0)
    response.headers.setdefault("Cache-Control", "private, no-cache")
    for candidate in request.if_none_match.as_set(include_weak=True):
        held, _, hour = candidate.partition(".")
        if held != digest:
            continue
        try:
            rendered = int(hour, 16)
        except ValueError:
            continue
        if not has_token or now - rendered < _reuse_hours():
            response.set_etag(candidate, weak=True)
            response.status_code = 304
            response.set_data(b"")
            return response
    response.set_etag(etag, weak=True)
    return response
