"""Integers from a URL, a query string or a form, bounded before they reach the database; and
the text of a search or a filter, normalized as a form's text is.

SQLite stores 64-bit integers and PostgreSQL's ``integer`` (every id column) 32-bit ones: a
larger number sent by a visitor (``/participants/99999999999999999999999``, ``?page=...``)
made the driver fail with a 500. Every integer a visitor sends goes through here: the ``int``
URL converter answers 404 past ``MAX_INT``, and ``int_arg`` answers 400.
"""

import builtins

from flask import abort, request
from werkzeug.routing import IntegerConverter, ValidationError

from .forms import normalize

#: PostgreSQL's ``integer``: the largest id any table can hold.
MAX_INT = 2**31 - 1
#: Far past the last page of any list the portal shows.
MAX_PAGE = 100_000


class BoundedIntegerConverter(IntegerConverter):
    """Werkzeug's ``int`` converter, never past ``MAX_INT`` (a larger one: 404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002
        bound = MAX_INT if max is None else builtins.min(max, MAX_INT)
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=bound, signed=signed)

    def to_python(self, value):
        # Bounded in length before int() reads it.
        if len(value) > len(str(MAX_INT)) + 1:
            raise ValidationError()
        return super().to_python(value)


def bounded_int(value, minimum=0, maximum=MAX_INT):
    """Return ``value`` (text) as an integer in [minimum, maximum], or None."""
    value = (value or "").strip()
    if not value or len(value) > len(str(maximum)) + 1:
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if minimum <= number <= maximum else None


def int_arg(name, default=None, minimum=0, maximum=MAX_INT):
    """Return the integer query parameter ``name``: ``default`` when absent or blank, 400 when
    it is not an integer between ``minimum`` and ``maximum``."""
    value = request.args.get(name, "")
    if not value.strip():
        return default
    number = bounded_int(value, minimum, maximum)
    if number is None:
        abort(400)
    return number


def page_arg(name="page"):
    """Return the page number asked for (1 when absent); 400 when it is not a page number."""
    return int_arg(name, 1, minimum=1, maximum=MAX_PAGE)


#: Longer than any name or username a search looks for.
MAX_SEARCH = 150


def clean_text(value, max_length=MAX_SEARCH):
    """Return a search or filter text bounded and normalized as every form's text
    (``portal.forms.normalize``), or None if it holds control or format characters (a NUL, which
    PostgreSQL refuses in any string, answered 500)."""
    try:
        return normalize((value or "")[:max_length])
    except ValueError:
        return None


def text_arg(name, max_length=MAX_SEARCH):
    """Return the text query parameter ``name`` cleaned (``clean_text``); 400 if it cannot be."""
    value = clean_text(request.args.get(name, ""), max_length)
    if value is None:
        abort(400)
    return value
