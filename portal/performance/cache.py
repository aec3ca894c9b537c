"""The fragment cache: parts of a page rendered once per version of the data they show.

A template marks what may be reused, and what the markup depends on::

    {% cache "rows", delegation_key, page %} ... {% endcache %}
    {% cache "row", data_key(participant), state %} ... {% endcache %}

``delegation_key`` is ``(organization id, data_version)``: the database raises the version in the
same transaction as any change to a participant or a photo of the organization (triggers of
migration 0006), so a cached part is never shown after a change, on any worker or host. The
page's language is always part of the key, and so is the template's compiled code (a template
changed in development is not served from the old one).

Each worker keeps its own cache in memory (least recently used first out, 8 MB by default); no
worker needs another's: a miss only costs a render. ``PORTAL_FRAGMENT_CACHE_MB=0`` turns it off.

Measured (``bench/inprocess.py --compare fragment``, a 300-person delegation): the cached
dashboard 1.25 ms against 8.85 rendered whole, the list 1.86 against 9.20; under gunicorn
(``make bench-server``, both caches off) the dashboard fell from 1,516 to 308 requests/s.
After a change, the list's rows other than the changed one come from the cache (each row is
keyed on ``data_key``): 4.3-5.5 ms against 7.6.

A cached part may carry the session's CSRF token (forms in a list): it is stored with a
placeholder in its place, and each page gets its own session's token back.
"""

import sys
import threading
from collections import OrderedDict

from flask import current_app, g, request
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from jinja2 import Undefined, nodes
from jinja2.ext import Extension
from markupsafe import Markup

from ..i18n import current_language

#: What stands for the CSRF token in a stored fragment (never in a real page).
CSRF_SLOT = "\x00csrf\x00"


class LRUCache:
    """A thread-safe store, least recently used out first, bounded by the memory its values
    take (``size_of``; an Arabic page takes two bytes a character, a French one one): rendered
    parts here, compressed pages and signed tokens in portal/performance/responses.py."""

    def __init__(self, max_bytes, size_of=sys.getsizeof):
        self.max_bytes = max_bytes
        self.size_of = size_of
        self._items = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self):
        return self.max_bytes > 0

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def set(self, key, value):
        size = self.size_of(value)
        if size > self.max_bytes // 4:
            return  # one part may not push out everything else
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= self.size_of(old)
            self._items[key] = value
            self._size += size
            while self._size > self.max_bytes:
                _key, dropped = self._items.popitem(last=False)
                self._size -= self.size_of(dropped)

    def __len__(self):
        return len(self._items)


class CacheExtension(Extension):
    """``{% cache name, key... %}...{% endcache %}``: the body, rendered once per key."""

    tags = {"cache"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        parts = [parser.parse_expression()]
        while parser.stream.skip_if("comma"):
            parts.append(parser.parse_expression())
        body = parser.parse_statements(("name:endcache",), drop_needle=True)
        key = nodes.Tuple(parts, "load")
        return nodes.CallBlock(
            self.call_method("_cached", [key, nodes.Name("current_language", "load")]), [], [], body
        ).set_lineno(lineno)

    def _cached(self, key, current_language, caller):
        rendered = cached(
            (caller._func.__code__, current_language(), *key),
            lambda: str(caller()),
            self.environment,
        )
        return Markup(rendered)  # noqa: S704 - escaped by the template when it was rendered


def data_key(record):
    """A key part that changes with any column of ``record`` (a peewee model): for a part that
    shows one row, such as a participant in the list. Its id, and the hash of all its values
    (a change in any field, whoever makes it, gives a new key)."""
    return (type(record).__name__, record.id, hash(tuple(record.__data__.values())))


def check_key(key):
    for part in key:
        if part is None or isinstance(part, Undefined):
            # A missing part would make one key for every delegation: refuse it.
            raise RuntimeError("fragment cache key with a missing part: %r" % (key,))


def cached(key, render, environment=None):
    """Return ``render()``'s text for ``key``, from the cache when it is there. The CSRF token
    is stored as a placeholder, and the text returned carries the current session's."""
    cache = getattr(environment or current_app.jinja_env, "fragment_cache", None)
    if cache is None or not cache.enabled:
        return render()
    check_key(key)
    stored = cache.get(key)
    if stored is not None:
        if CSRF_SLOT in stored:
            stored = stored.replace(CSRF_SLOT, generate_csrf())
        return stored
    output = render()
    token = g.get("csrf_token")
    cache.set(key, output.replace(token, CSRF_SLOT) if token else output)
    return output


def page_identity():
    """What a page shows besides its data: its language, its address (the language links
    return to it), and the signed-in person's name and roles (the header; base.html keys its
    cached header on it too)."""
    user = current_user
    if user.is_authenticated:
        who = (user.id, user.full_name or user.username, user.is_coordinator, user.is_secretariat)
    else:
        who = ("anonymous",)
    return (current_language(), request.full_path, *who)


def init_app(app):
    """Add the ``{% cache %}`` tag, its key helpers and each worker's fragment cache."""
    megabytes = float(app.config.get("FRAGMENT_CACHE_MB", 8))
    app.jinja_env.add_extension(CacheExtension)
    app.jinja_env.globals["data_key"] = data_key
    app.jinja_env.globals["page_identity"] = page_identity
    app.jinja_env.fragment_cache = LRUCache(int(megabytes * 1024 * 1024))
    app.extensions["fragment_cache"] = app.jinja_env.fragment_cache
