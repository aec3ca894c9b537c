"""A participant's history in words: one translated sentence per audit action, the fields
changed named by their labels on the coordinator's form."""

import json

from babel import Locale
from babel.lists import format_list
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..delegation.forms import ParticipantForm
from ..i18n import LANGUAGES
from ..models import REJECTION_REASONS

#: What each audit action on a participant says; %(fields)s and %(reason)s are filled in. Of
#: the registration, not the person: no word that would agree with the participant's gender.
MESSAGES = {
    # Translators: a participant's history (secretariat), the coordinator created the record.
    "participant.create": _l("Registration created as a draft."),
    # Translators: a participant's history; %(fields)s lists form labels ("Nationality, E-mail").
    "participant.update": _l("Changed: %(fields)s."),
    "participant.save": _l("Changed: %(fields)s."),
    "participant.submit": _l("Registration submitted for accreditation."),
    "participant.resubmit": _l("Registration submitted again: the badge changed."),
    "participant.withdraw": _l("Registration withdrawn by the coordinator."),
    "participant.delete": _l("Registration deleted by the coordinator."),
    "participant.accredit": _l("Accreditation granted."),
    # Translators: a participant's history; %(reason)s is one of the standard reasons.
    "participant.reject": _l("Accreditation refused: %(reason)s"),
    "participant.scan": _l("Scan of the paper registration attached."),
    # Translators: a participant's history; %(language)s is a language's name ("Arabic").
    "participant.letter": _l("Letter of accreditation issued in %(language)s."),
    # Translators: a participant's history; %(number)s is the badge's number.
    "participant.print_badge": _l("Badge printed (no. %(number)s)."),
    # Translators: a participant's history; %(number)s is the new badge's number.
    "participant.reprint_badge": _l(
        "Badge reprinted (no. %(number)s): the previous one is revoked."
    ),
}
#: Added to what the secretariat entered on an organization's behalf.
ON_BEHALF = _l("Entered by the secretariat on the organization's behalf.")
# Translators: a participant's history, when the secretariat wrote its own reason.
OWN_REASON = _l("a reason written by the secretariat.")
# Translators: a participant's history, among the fields changed.
PHOTO = _l("Badge photo")


def _label(name):
    field = getattr(ParticipantForm, name, None)
    args = getattr(field, "args", ())
    return str(args[0]) if args else name


def describe(row):
    """Return the sentence for one audit row about a participant (its code if unknown), and
    whether the secretariat entered it on the organization's behalf."""
    try:
        details = json.loads(row.details) if row.details else {}
    except ValueError:
        details = {}
    sentence = _sentence(row, details)
    if details.get("entered_by_secretariat"):
        return "%s %s" % (sentence, ON_BEHALF)
    return sentence


def _sentence(row, details):
    message = MESSAGES.get(row.action)
    if message is None:
        return row.action
    if row.action in ("participant.update", "participant.save"):
        fields = [_label(name) for name in details.get("fields") or ()]
        if details.get("photo"):
            fields.append(str(PHOTO))
        if not fields:
            return _("Saved without change.")
        return str(message) % {"fields": format_list(fields, locale=get_locale())}
    if row.action in ("participant.print_badge", "participant.reprint_badge"):
        return str(message) % {"number": details.get("number", "")}
    if row.action == "participant.letter":
        language = details.get("language") or ""
        name = (
            Locale.parse(language).get_display_name(get_locale()) if language in LANGUAGES else ""
        )
        return str(message) % {"language": name or language}
    if row.action == "participant.reject":
        reason = REJECTION_REASONS.get(details.get("reason"))
        return str(message) % {"reason": str(reason) if reason else str(OWN_REASON)}
    return str(message)
