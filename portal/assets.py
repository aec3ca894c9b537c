"""Static files under content-hashed names, cached for a year, sent pre-compressed.

At start-up every file in ``portal/static`` is read once (style sheets minified), hashed, and
compressed with brotli and gzip; templates link ``asset_url('style.css')`` ->
``/static/style.1a2b3c4d5e.css``. The table is derived from the files alone, so every worker and
host computes the same one.

The files are answered by a small WSGI layer in front of Flask: a static request never opens the
session or the database, and its response carries no ``Set-Cookie`` and no ``Vary: Cookie``
(either would keep a browser or a proxy from reusing a stylesheet cached on another page).
"""

import gzip
import hashlib
import mimetypes
import os
import re

import brotli
from werkzeug.datastructures import Headers
from werkzeug.http import http_date, parse_etags

ONE_YEAR = 365 * 24 * 3600
PREFIX = "/static/"
COMPRESSIBLE = (".css", ".js", ".svg", ".txt", ".json", ".ico")
#: A hashed name: ``stem.0123456789.ext``.
HASHED = re.compile(r"^(?P<stem>.+)\.[0-9a-f]{10}(?P<ext>\.[^./]+)$")

_CSS_TOKENS = re.compile(r"""("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|/\*.*?\*/""", re.S)
_CSS_SPACE = re.compile(r"\s*([{};,>])\s*")


def minify_css(text):
    """Strip comments and the blanks around ``{ } ; , >`` (never inside strings)."""
    out = []
    pos = 0
    for match in _CSS_TOKENS.finditer(text):
        out.append(_squeeze(text[pos : match.start()]))
        if match.group(1):  # a string: kept as it is
            out.append(match.group(1))
        pos = match.end()
    out.append(_squeeze(text[pos:]))
    return "".join(out).replace(";}", "}").strip() + "\n"


def _squeeze(chunk):
    chunk = re.sub(r"\s+", " ", chunk)
    return _CSS_SPACE.sub(r"\1", chunk)


class Asset:
    __slots__ = ("name", "hashed", "mimetype", "raw", "gzip", "br", "etag")

    def __init__(self, name, raw):
        stem, ext = os.path.splitext(name)
        if ext == ".css":
            raw = minify_css(raw.decode("utf-8")).encode("utf-8")
        digest = hashlib.sha256(raw).hexdigest()[:10]
        self.name = name
        self.hashed = "%s.%s%s" % (stem, digest, ext)
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if mimetype.startswith("text/") or mimetype == "application/javascript":
            mimetype += "; charset=utf-8"
        self.mimetype = mimetype
        self.raw = raw
        self.etag = digest
        if ext in COMPRESSIBLE:
            self.gzip = gzip.compress(raw, 9, mtime=0)
            self.br = brotli.compress(raw, quality=11)
        else:
            self.gzip = self.br = None

    def body(self, accept_encoding):
        """Return (body, content-encoding) for a client sending ``accept_encoding``."""
        accepted = _codings(accept_encoding)
        if self.br is not None and "br" in accepted:
            return self.br, "br"
        if self.gzip is not None and "gzip" in accepted:
            return self.gzip, "gzip"
        return self.raw, None


def _codings(header):
    """Return the codings a client accepts (those with a non-zero q)."""
    accepted = set()
    for part in (header or "").lower().split(","):
        coding, _, params = part.partition(";")
        q = params.strip()
        if q.startswith("q="):
            try:
                if float(q[2:]) == 0:
                    continue
            except ValueError:
                continue
        accepted.add(coding.strip())
    return accepted


class Assets:
    def __init__(self, folder):
        self.by_name = {}
        self.by_hashed = {}
        for root, _dirs, files in os.walk(folder):
            for filename in files:
                path = os.path.join(root, filename)
                name = os.path.relpath(path, folder).replace(os.sep, "/")
                with open(path, "rb") as fh:
                    asset = Asset(name, fh.read())
                self.by_name[name] = asset
                self.by_hashed[asset.hashed] = asset

    def url(self, name):
        return PREFIX + self.by_name[name].hashed

    def find(self, filename):
        """Return (asset, immutable) for a requested name, or (None, False).

        A name with another hash (a page cached before a deployment asks for the old
        stylesheet) gets the current file, but not cached as immutable.
        """
        asset = self.by_hashed.get(filename)
        if asset is not None:
            return asset, True
        match = HASHED.match(filename)
        if match:
            asset = self.by_name.get(match.group("stem") + match.group("ext"))
            if asset is not None:
                return asset, False
        return None, False


class StaticFiles:
    """WSGI middleware answering ``GET``/``HEAD /static/...`` before Flask sees the request."""

    def __init__(self, app, assets):
        self.app = app
        self.assets = assets

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD")
        if not path.startswith(PREFIX) or method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        asset, immutable = self.assets.find(path[len(PREFIX) :])
        if asset is None:
            return self.app(environ, start_response)  # Flask's 404 page
        headers = Headers()
        headers["Content-Type"] = asset.mimetype
        headers["Vary"] = "Accept-Encoding"
        headers["X-Content-Type-Options"] = "nosniff"
        if immutable:
            headers["Cache-Control"] = "public, max-age=%d, immutable" % ONE_YEAR
        else:
            headers["Cache-Control"] = "public, no-cache"
        headers["ETag"] = '"%s"' % asset.etag
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains_weak(asset.etag):
            start_response("304 Not Modified", headers.to_wsgi_list())
            return []
        body, encoding = asset.body(environ.get("HTTP_ACCEPT_ENCODING"))
        if encoding:
            headers["Content-Encoding"] = encoding
        headers["Content-Length"] = str(len(body))
        headers["Date"] = http_date()
        start_response("200 OK", headers.to_wsgi_list())
        return [] if method == "HEAD" else [body]


def init_app(app):
    assets = Assets(os.path.join(app.root_path, "static"))
    app.extensions["assets"] = assets
    app.jinja_env.globals["asset_url"] = assets.url
    app.wsgi_app = StaticFiles(app.wsgi_app, assets)
