"""The forms that ask for documents."""

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, SelectChoice
from wtforms.validators import InputRequired

from ..forms import PortalForm

SIZES = [
    # Translators: a badge's size: a plastic card for a card printer.
    SelectChoice("cr80", _l("Card (CR80, 54 × 86 mm)")),
    # Translators: a badge's size: the card enlarged on an A6 sheet.
    SelectChoice("a6", _l("A6 sheet, for a plain printer")),
]


class BadgeForm(PortalForm):
    """Print (or reprint) one participant's badge."""

    size = RadioField(_l("Badge size"), choices=SIZES, default="cr80", validators=[InputRequired()])
