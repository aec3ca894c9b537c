"""Static files under content-hashed names, cached for a year, sent pre-compressed.

At start-up every file in ``portal/static`` is read once, hashed, and compressed with brotli
and gzip; templates link ``asset_url('style.css')`` -> ``/static/style.1a2b3c4d5e.css``. The
table is derived from the files alone, so every worker and host computes the same one.
"""

import gzip
import hashlib
import mimetypes
import os

import brotli
from flask import Blueprint, abort, current_app, request

from .access import public

bp = Blueprint("assets", __name__)

ONE_YEAR = 365 * 24 * 3600
COMPRESSIBLE = (".css", ".js", ".svg", ".txt", ".json", ".ico")


class Asset:
    __slots__ = ("name", "hashed", "mimetype", "raw", "gzip", "br", "etag")

    def __init__(self, name, raw):
        digest = hashlib.sha256(raw).hexdigest()[:10]
        stem, ext = os.path.splitext(name)
        self.name = name
        self.hashed = "%s.%s%s" % (stem, digest, ext)
        self.mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self.raw = raw
        self.etag = digest
        if ext in COMPRESSIBLE:
            self.gzip = gzip.compress(raw, 9, mtime=0)
            self.br = brotli.compress(raw, quality=11)
        else:
            self.gzip = self.br = None


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
        return "/static/" + self.by_name[name].hashed


def init_app(app):
    assets = Assets(os.path.join(app.root_path, "static"))
    app.extensions["assets"] = assets
    app.jinja_env.globals["asset_url"] = assets.url
    app.register_blueprint(bp)


@bp.route("/static/<path:filename>")
@public
def static(filename):
    asset = current_app.extensions["assets"].by_hashed.get(filename)
    if asset is None:
        abort(404)
    accepted = request.headers.get("Accept-Encoding", "")
    body, encoding = asset.raw, None
    if asset.br is not None and "br" in accepted:
        body, encoding = asset.br, "br"
    elif asset.gzip is not None and "gzip" in accepted:
        body, encoding = asset.gzip, "gzip"
    response = current_app.response_class(body, mimetype=asset.mimetype)
    if encoding:
        response.headers["Content-Encoding"] = encoding
    response.headers["Vary"] = "Accept-Encoding"
    response.headers["Cache-Control"] = "public, max-age=%d, immutable" % ONE_YEAR
    response.set_etag(asset.etag)
    response.direct_passthrough = True
    return response.make_conditional(request)
