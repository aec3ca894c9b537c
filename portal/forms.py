"""The base of every form: each text field normalized once, before any validator runs.

Every form of the portal derives from ``PortalForm``. Its text fields (not passwords, which
``services.passwords`` judges as typed) go through ``normalize`` first: bounded in length before
any other work, Unicode NFC, blanks of every kind trimmed, control and format characters refused
(a text area keeps its line breaks; the joiners some scripts need stay inside a word). A value of
nothing but blanks is empty, so "required" means something visible. A URL-encoded form larger
than ``MAX_FORM_MEMORY_SIZE`` is refused (413) before anything reads it.
"""

import unicodedata

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired

#: No text field of the portal needs more; anything longer is refused before any other work.
MAX_TEXT = 2000
#: Zero-width non-joiner and joiner: part of how Persian, Indic and other scripts are written.
JOINERS = "\u200c\u200d"
INVISIBLE = ("Cc", "Cf", "Cs", "Co", "Cn")


def normalize(value, multiline=False):
    """Return ``value`` bounded, NFC, trimmed; raise ValueError (the field's error) if it holds
    a control or format character."""
    if not isinstance(value, str):
        return value
    if len(value) > MAX_TEXT:
        raise ValueError(_l("This is too long."))
    value = unicodedata.normalize("NFC", value).strip()
    allowed = "\n\r\t" if multiline else ""
    for char in value:
        if char in allowed or char in JOINERS:
            continue
        if unicodedata.category(char) in INVISIBLE:
            raise ValueError(_l("Remove the invisible or control characters from this field."))
    if not value.strip(JOINERS + " "):
        return ""
    return value


def _normalize_text(value):
    return normalize(value)


def _normalize_lines(value):
    return normalize(value, multiline=True)


class PortalForm(FlaskForm):
    class Meta:
        def bind_field(self, form, unbound_field, options):
            """Put ``normalize`` first among the filters of every text field."""
            field_class = unbound_field.field_class
            if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
                first = (
                    _normalize_lines if issubclass(field_class, TextAreaField) else _normalize_text
                )
                filters = unbound_field.kwargs.get("filters") or ()
                # "Required" means something visible once normalized, not any raw input.
                validators = [
                    DataRequired(message=v.message) if isinstance(v, InputRequired) else v
                    for v in unbound_field.kwargs.get("validators") or ()
                ]
                options = {**options, "filters": [first, *filters], "validators": validators}
            return unbound_field.bind(form=form, **options)


def refuse_large_forms():
    """Answer 413 to a URL-encoded form larger than any form of the portal, before anything
    reads it (Werkzeug bounds each text part of a multipart form, ``MAX_FORM_MEMORY_SIZE``, but
    reads a URL-encoded body whole, up to ``MAX_CONTENT_LENGTH``, which photos need large)."""
    limit = request.max_form_memory_size
    if (
        limit is not None
        and request.mimetype == "application/x-www-form-urlencoded"
        and (request.content_length or 0) > limit
    ):
        raise RequestEntityTooLarge()


def init_app(app):
    app.before_request(refuse_large_forms)
