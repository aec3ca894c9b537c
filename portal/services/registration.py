"""What a participant needs before it can be submitted for accreditation."""

from flask_babel import lazy_gettext as _l

from ..models import Photo

#: Fields that must be filled before submission, with their labels for messages.
REQUIRED_FIELDS = {
    "courtesy_title": _l("Title"),
    "family_name": _l("Family name"),
    "given_names": _l("Given names"),
    "gender": _l("Gender"),
    "function": _l("Function"),
    "nationality": _l("Nationality"),
    "date_of_birth": _l("Date of birth"),
    "passport_number": _l("Passport number"),
    "passport_country": _l("Passport issued by"),
    "passport_expiry": _l("Passport expiry date"),
    "email": _l("E-mail"),
    "arrival_date": _l("Arrival date"),
    "departure_date": _l("Departure date"),
}


def missing_fields(participant):
    """Return the labels of the required fields that are still empty."""
    missing = [label for name, label in REQUIRED_FIELDS.items() if not getattr(participant, name)]
    if participant.visa_required is None:
        missing.append(_l("Entry visa"))
    elif participant.visa_required and not participant.visa_place.strip():
        missing.append(_l("Where the visa will be requested"))
    return missing


def missing_field_names(participant):
    """Return the names of the required fields that are still empty (form field names)."""
    names = [name for name in REQUIRED_FIELDS if not getattr(participant, name)]
    if participant.visa_required is None:
        names.append("visa_required")
    elif participant.visa_required and not participant.visa_place.strip():
        names.append("visa_place")
    if not has_photo(participant):
        names.append("photo")
    return names


def has_photo(participant):
    return Photo.select().where(Photo.participant == participant.id).exists()


def missing_for_submission(participant):
    """Return what is missing (labels) before ``participant`` can be submitted."""
    missing = missing_fields(participant)
    if not has_photo(participant):
        missing.append(_l("Badge photo"))
    return missing
