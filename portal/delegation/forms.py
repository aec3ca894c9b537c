"""The participant form: format checks field by field; what submission needs is the service's."""

import datetime as dt
import functools
import unicodedata

import phonenumbers
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, Optional, ValidationError

from .. import clock
from ..forms import PortalForm
from ..i18n import current_language
from ..models import COURTESY_TITLES, GENDERS
from ..services.countries import countries
from ..services.participants import EDITABLE

#: Punctuation a name in a passport's machine-readable zone may be written with.
NAME_PUNCTUATION = set(" '’-.")


def latin_letters(form, field):
    """Names as in the passport: Latin letters (accents allowed), spaces, ' - ."""
    value = field.data or ""
    if value and not any(char.isalpha() for char in value):
        raise ValidationError(_l("A name needs at least one letter."))
    for char in value:
        if char in NAME_PUNCTUATION:
            continue
        if not (char.isalpha() and unicodedata.name(char, "").startswith("LATIN")):
            raise ValidationError(
                _l(
                    "Write the name in Latin letters, as in the passport; use the field for "
                    "the original script for other alphabets."
                )
            )


def passport_number(form, field):
    value = "".join((field.data or "").split()).upper()
    field.data = value
    if value and not (5 <= len(value) <= 20 and value.isascii() and value.isalnum()):
        raise ValidationError(
            _l("A passport number has 5 to 20 letters and digits, as printed in the passport.")
        )


def mobile_number(form, field):
    value = (field.data or "").strip()
    if not value:
        field.data = ""
        return
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _l("Write the number in international form, with + and the country code.")
        ) from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(_l("This is not a valid mobile phone number."))
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _strip(value):
    return " ".join(value.split()) if isinstance(value, str) else value


class ParticipantForm(PortalForm):
    """A participant as the coordinator types it. ``event`` sets the date limits."""

    submission_key = HiddenField()
    version = HiddenField()
    courtesy_title = SelectField(
        _lp("person title", "Title"),
        choices=[SelectChoice("", "—")]
        + [SelectChoice(value, label) for value, label in COURTESY_TITLES.items()],
        validators=[Optional()],
    )
    family_name = StringField(
        _l("Family name (as in the passport)"),
        validators=[InputRequired(), Length(max=150), latin_letters],
        filters=[_strip],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "dir": "ltr",
        },
    )
    given_names = StringField(
        _l("Given names (as in the passport)"),
        validators=[Optional(), Length(max=150), latin_letters],
        filters=[_strip],
        render_kw={"autocomplete": "off", "spellcheck": "false", "dir": "ltr"},
    )
    family_name_original = StringField(
        _l("Family name in the original script"),
        validators=[Optional(), Length(max=150)],
        filters=[_strip],
        render_kw={"dir": "auto", "autocomplete": "off"},
    )
    given_names_original = StringField(
        _l("Given names in the original script"),
        validators=[Optional(), Length(max=150)],
        filters=[_strip],
        render_kw={"dir": "auto", "autocomplete": "off"},
    )
    gender = RadioField(
        _l("Gender"),
        choices=[SelectChoice(value, label) for value, label in GENDERS.items()],
        validators=[Optional()],
    )
    function = StringField(
        _l("Function or title in the organization"),
        validators=[Optional(), Length(max=200)],
        filters=[_strip],
    )
    is_head = BooleanField(_l("Head of delegation"))
    # The country lists are checked once, against a set (``_check_country``), not by walking
    # their 250 choices for WTForms' own "Not a valid choice" as well.
    nationality = SelectField(_l("Nationality"), validators=[Optional()], validate_choice=False)
    date_of_birth = DateField(_l("Date of birth"), validators=[Optional()])
    passport_number = StringField(
        _l("Passport number"),
        validators=[Optional(), passport_number],
        render_kw={
            "autocomplete": "off",
            "autocapitalize": "characters",
            "spellcheck": "false",
            "dir": "ltr",
        },
    )
    passport_country = SelectField(
        _l("Passport issued by"), validators=[Optional()], validate_choice=False
    )
    passport_expiry = DateField(_l("Passport expiry date"), validators=[Optional()])
    email = EmailField(
        _l("E-mail"),
        validators=[Optional(), Length(max=254), Email(check_deliverability=False)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        render_kw={"autocomplete": "off", "dir": "ltr"},
    )
    mobile = TelField(
        _l("Mobile phone"),
        validators=[Optional(), mobile_number],
        render_kw={"autocomplete": "off", "placeholder": "+216 71 000 000", "dir": "ltr"},
    )
    arrival_date = DateField(_l("Arrival in Tunis"), validators=[Optional()])
    departure_date = DateField(_l("Departure from Tunis"), validators=[Optional()])
    visa_required = RadioField(
        _l("Does this person need an entry visa for Tunisia?"),
        choices=[SelectChoice("yes", _l("Yes")), SelectChoice("no", _l("No"))],
        validators=[Optional()],
    )
    visa_place = StringField(
        _l("Where the visa will be requested (embassy or consulate, city)"),
        validators=[Optional(), Length(max=200)],
        filters=[_strip],
    )
    special_needs = TextAreaField(
        _l("Special needs (accessibility, diet)"),
        validators=[Optional(), Length(max=2000)],
        render_kw={"rows": 3},
    )
    photo = FileField(
        _l("Badge photo"),
        render_kw={"accept": "image/*", "capture": "user"},
    )
    #: Offered when a photo sent with a form that could not be saved is kept (the form's
    #: submission key names it): use it, or choose another.
    photo_choice = RadioField(
        _l("The photo you chose is kept: it is saved with the form."),
        choices=[
            SelectChoice("keep", _l("Keep this photo")),
            SelectChoice("replace", _l("Choose another photo")),
        ],
        validators=[Optional()],
        default="keep",
    )

    def __init__(self, *args, event=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        choices = country_choices(current_language())
        self.nationality.choices = choices
        self.passport_country.choices = choices
        if event is not None:
            low = (event.starts_on - dt.timedelta(days=14)).isoformat()
            high = (event.ends_on + dt.timedelta(days=14)).isoformat()
            for f in (self.arrival_date, self.departure_date):
                f.render_kw = {"min": low, "max": high}
            self.passport_expiry.render_kw = {"min": event.ends_on.isoformat()}
        self.date_of_birth.render_kw = {"max": clock.now().date().isoformat(), "min": "1900-01-01"}

    # -- Checks that need other fields or the event -------------------------------------------

    def validate_date_of_birth(self, field):
        if field.data and not (dt.date(1900, 1, 1) <= field.data <= clock.now().date()):
            raise ValidationError(_l("Check the date of birth."))

    def validate_passport_expiry(self, field):
        if field.data and self.event is not None and field.data <= self.event.ends_on:
            raise ValidationError(
                _l(
                    "The passport must still be valid after the summit (after %(date)s).",
                    date=_format_date(self.event.ends_on),
                )
            )

    def validate_arrival_date(self, field):
        event = self.event
        if field.data and event is not None:
            earliest = event.starts_on - dt.timedelta(days=14)
            if not (earliest <= field.data <= event.ends_on):
                raise ValidationError(
                    _l(
                        "The arrival date must be between %(first)s and %(last)s.",
                        first=_format_date(earliest),
                        last=_format_date(event.ends_on),
                    )
                )

    def validate_departure_date(self, field):
        event = self.event
        if not field.data:
            return
        arrival = self.arrival_date.data if not self.arrival_date.errors else None
        if arrival and field.data < arrival:
            raise ValidationError(_l("The departure cannot be before the arrival."))
        if event is not None:
            latest = event.ends_on + dt.timedelta(days=14)
            if not (event.starts_on <= field.data <= latest):
                raise ValidationError(
                    _l(
                        "The departure date must be between %(first)s and %(last)s.",
                        first=_format_date(event.starts_on),
                        last=_format_date(latest),
                    )
                )

    def validate_nationality(self, field):
        _check_country(field)

    def validate_passport_country(self, field):
        _check_country(field)

    # -- To and from the service ------------------------------------------------------------

    def values(self):
        """Return the participant's fields as the service takes them."""
        visa = {"yes": True, "no": False}.get(self.visa_required.data)
        return {
            "courtesy_title": self.courtesy_title.data or "",
            "family_name": (self.family_name.data or "").upper(),
            "given_names": self.given_names.data or "",
            "family_name_original": self.family_name_original.data or "",
            "given_names_original": self.given_names_original.data or "",
            "gender": self.gender.data or "",
            "function": self.function.data or "",
            "is_head": bool(self.is_head.data),
            "nationality": self.nationality.data or "",
            "date_of_birth": self.date_of_birth.data,
            "passport_number": self.passport_number.data or "",
            "passport_country": self.passport_country.data or "",
            "passport_expiry": self.passport_expiry.data,
            "email": self.email.data or "",
            "mobile": self.mobile.data or "",
            "arrival_date": self.arrival_date.data,
            "departure_date": self.departure_date.data,
            "visa_required": visa,
            # Asked only when a visa is needed: a place typed before "No" was chosen is not kept.
            "visa_place": (self.visa_place.data or "") if visa else "",
            "special_needs": (self.special_needs.data or "").strip(),
        }

    def load(self, participant):
        """Fill the form from a stored participant (GET)."""
        for name in EDITABLE:
            if name == "visa_required":
                continue  # a yes/no choice on the form, a nullable boolean when stored
            getattr(self, name).data = getattr(participant, name)
        self.visa_required.data = {True: "yes", False: "no"}.get(participant.visa_required)
        self.version.data = str(participant.version)

    def keeps_pending_photo(self):
        """Whether the form asks to use the photo kept from its last sending (the choice is on
        the form only when there is one)."""
        return bool(self.photo_choice.raw_data) and self.photo_choice.data == "keep"

    def expected_version(self):
        """Return the version of the participant the form was opened at (None: missing)."""
        try:
            return int(self.version.data)
        except (TypeError, ValueError):
            return None


@functools.lru_cache(maxsize=8)
def country_choices(language):
    """Return the choices of a country list in ``language``: none, then every country by name
    (built once per language: every participant form has two such lists)."""
    return (
        SelectChoice("", "—"),
        *(SelectChoice(code, name) for code, name in countries(language)),
    )


@functools.lru_cache(maxsize=1)
def _country_codes():
    """Every country's code (the same in each language's list)."""
    return frozenset(code for code, _name in countries("en"))


def _check_country(field):
    if field.data and field.data not in _country_codes():
        raise ValidationError(_l("Choose a country from the list."))


def _format_date(value):
    from flask_babel import format_date

    return format_date(value, "long")


#: Fields checked one by one as they are left (HTMX). Lists and choices cannot be mistyped and
#: the photo is checked on save only.
LIVE_FIELDS = (
    "family_name",
    "given_names",
    "family_name_original",
    "given_names_original",
    "function",
    "date_of_birth",
    "passport_number",
    "passport_expiry",
    "email",
    "mobile",
    "arrival_date",
    "departure_date",
    "visa_place",
    "special_needs",
)
