from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import EqualTo, InputRequired, Length

from ..forms import PortalForm
from ..services.passwords import MAX_LENGTH, MIN_LENGTH


class LoginForm(PortalForm):
    username = StringField(
        _l("Username"),
        validators=[InputRequired(), Length(max=150)],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )


def _new_password_fields():
    new = PasswordField(
        _l("New password"),
        # The rules themselves (length, common passwords, the username) are the service's.
        validators=[InputRequired()],
        render_kw={
            "autocomplete": "new-password",
            "minlength": MIN_LENGTH,
            "maxlength": MAX_LENGTH,
        },
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            InputRequired(),
            EqualTo("new_password", message=_l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return new, confirm


class PasswordChangeForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(), Length(max=1024)],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, confirm = _new_password_fields()


class LanguageForm(PortalForm):
    language = SelectField(
        _l("Language of your e-mails"),
        # Each language by its own name, marked with its language for a screen reader.
        choices=[
            SelectChoice(code, label, render_kw={"lang": code})
            for code, label in (("fr", "Français"), ("en", "English"), ("ar", "العربية"))
        ],
        validators=[InputRequired()],
    )


class PasswordSetForm(PortalForm):
    new_password, confirm = _new_password_fields()


class PasswordLinkForm(PortalForm):
    # Translators: on the secretariat's screen that makes a one-time password link.
    send_email = BooleanField(_l("Also e-mail the link to the address on file"))
