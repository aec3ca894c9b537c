"""The secretariat's forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from peewee import fn
from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from ..forms import PortalForm
from ..models import LANGUAGES, REJECTION_REASONS
from ..services.settings import NOTIFICATION_MODES

DECISIONS = [SelectChoice("accredit", _l("Accredit")), SelectChoice("reject", _l("Reject"))]


def _reason_choices():
    # Translators: first choice of the list of standard rejection reasons.
    return [SelectChoice("", _l("Other reason (write it below)"))] + [
        SelectChoice(value, label) for value, label in REJECTION_REASONS.items()
    ]


class DecisionForm(PortalForm):
    """One decision, or the same decision for every participant ticked in the queue."""

    decision = RadioField(_l("Decision"), choices=DECISIONS, validators=[InputRequired()])
    reason = SelectField(_l("Reason for a rejection"), choices=_reason_choices, default="")
    text = TextAreaField(_l("Reason in your own words"), validators=[Optional(), Length(max=1000)])
    version = IntegerField(validators=[Optional()])

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.decision.data == "reject" and not (
            self.reason.data or (self.text.data or "").strip()
        ):
            self.text.errors = [*self.text.errors, _l("Give a reason for the rejection.")]
            return False
        return ok


class EventForm(PortalForm):
    name_en = StringField(_l("Name in English"), validators=[InputRequired(), Length(max=300)])
    name_fr = StringField(_l("Name in French"), validators=[InputRequired(), Length(max=300)])
    name_ar = StringField(_l("Name in Arabic"), validators=[InputRequired(), Length(max=300)])
    venue_en = StringField(_l("Venue in English"), validators=[InputRequired(), Length(max=300)])
    venue_fr = StringField(_l("Venue in French"), validators=[InputRequired(), Length(max=300)])
    venue_ar = StringField(_l("Venue in Arabic"), validators=[InputRequired(), Length(max=300)])
    starts_on = DateField(_l("First day of the summit"), validators=[InputRequired()])
    ends_on = DateField(_l("Last day of the summit"), validators=[InputRequired()])
    registration_opens_on = DateField(_l("Registration opens on"), validators=[InputRequired()])
    registration_closes_on = DateField(_l("Registration closes on"), validators=[InputRequired()])
    notification_mode = RadioField(
        _l("Decisions are sent to coordinators"),
        choices=[SelectChoice(value, label) for value, label in NOTIFICATION_MODES.items()],
        validators=[InputRequired()],
    )


class OrganizationForm(PortalForm):
    name_en = StringField(
        _l("Name in English"),
        validators=[Optional(), Length(max=300)],
        render_kw={"dir": "ltr", "lang": "en"},
    )
    name_fr = StringField(
        _l("Name in French"),
        validators=[Optional(), Length(max=300)],
        render_kw={"dir": "ltr", "lang": "fr"},
    )
    name_ar = StringField(
        _l("Name in Arabic"),
        validators=[Optional(), Length(max=300)],
        render_kw={"dir": "rtl", "lang": "ar"},
    )
    acronym_en = StringField(
        _l("Acronym in English"),
        validators=[Optional(), Length(max=32)],
        render_kw={"dir": "ltr", "lang": "en"},
    )
    acronym_fr = StringField(
        _l("Acronym in French"),
        validators=[Optional(), Length(max=32)],
        render_kw={"dir": "ltr", "lang": "fr"},
    )
    acronym_ar = StringField(
        _l("Acronym in Arabic"),
        validators=[Optional(), Length(max=32)],
        render_kw={"dir": "rtl", "lang": "ar"},
    )
    quota = IntegerField(
        _l("Quota (participants submitted or accredited)"),
        validators=[Optional(), NumberRange(min=0, max=10000)],
    )


class CoordinatorForm(PortalForm):
    username = StringField(
        _l("Username"),
        validators=[InputRequired(), Length(max=150)],
        render_kw={"autocapitalize": "none", "spellcheck": "false"},
    )
    given_name = StringField(_l("Given name"), validators=[InputRequired(), Length(max=150)])
    family_name = StringField(_l("Family name"), validators=[InputRequired(), Length(max=150)])
    email = StringField(
        _l("E-mail"),
        validators=[InputRequired(), Email(), Length(max=254)],
        render_kw={"type": "email"},
    )
    language = SelectField(
        _l("Language"),
        choices=[SelectChoice(value, label) for value, label in LANGUAGES.items()],
        default="fr",
    )
    send_link = BooleanField(_l("E-mail a link to set the password now"), default=True)


class ImportForm(PortalForm):
    file = FileField(_l("PrepCom accounts export (CSV)"), validators=[FileRequired()])
    dry_run = BooleanField(_l("Check only, import nothing"))


class PrintRunForm(PortalForm):
    """What a print run of badges prints, and on which size of card."""

    scope = RadioField(
        _l("Badges to print"),
        choices=[
            SelectChoice(
                "unprinted", _l("Every accredited participant whose badge is not printed yet")
            ),
            SelectChoice("organization", _l("Those of one organization, not printed yet")),
            SelectChoice("chosen", _l("Chosen participants (a reprint too)")),
        ],
        default="unprinted",
        validators=[InputRequired()],
    )
    organization = StringField(
        _l("Organization code"),
        description=_l("As on the organization's page, e.g. UNESCO."),
        validators=[Optional(), Length(max=32)],
        render_kw={"dir": "ltr", "autocomplete": "off", "autocapitalize": "characters"},
    )
    participants = StringField(
        _l("Participant numbers"),
        description=_l("Separated by spaces or commas, as on the participants' pages."),
        validators=[Optional(), Length(max=2000)],
        render_kw={"dir": "ltr", "inputmode": "numeric", "autocomplete": "off"},
    )
    size = RadioField(
        _l("Badge size"),
        choices=[
            SelectChoice("cr80", _l("Card printer (CR80, 54 × 85.6 mm)")),
            SelectChoice("a6", _l("Plain printer (A6 sheets)")),
        ],
        default="cr80",
        validators=[InputRequired()],
    )

    def validate(self, extra_validators=None):
        ok = super().validate(extra_validators)
        if self.scope.data == "organization" and self.organization_id() is None:
            self.organization.errors = [
                *self.organization.errors,
                _l("No organization has this code."),
            ]
            ok = False
        if self.scope.data == "chosen" and not self.participant_ids():
            self.participants.errors = [
                *self.participants.errors,
                _l("Give the numbers of the participants, separated by spaces or commas."),
            ]
            ok = False
        return ok

    def organization_id(self):
        """The id of the organization whose code was typed (any case), or None."""
        from ..models import Organization  # noqa: PLC0415

        code = (self.organization.data or "").strip()
        if not code:
            return None
        found = (
            Organization.select(Organization.id)
            .where(fn.LOWER(Organization.code) == code.lower())
            .first()
        )
        return found.id if found else None

    def participant_ids(self):
        """The numbers typed, or [] when one of them is not a number."""
        from ..params import bounded_int  # noqa: PLC0415

        words = (self.participants.data or "").replace(",", " ").split()
        ids = [bounded_int(word.lstrip("#").lstrip("0") or "0", 1) for word in words]
        return [] if None in ids else ids


class ListForm(PortalForm):
    """The summit's list as a PDF, in one language."""

    language = RadioField(
        _l("Language of the list"),
        choices=[SelectChoice(value, label) for value, label in LANGUAGES.items()],
        default="fr",
        validators=[InputRequired()],
    )
