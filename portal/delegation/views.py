"""The coordinator's side: the dashboard, the participant list and form, badge photos.

Every page works without JavaScript (a POST ends in a 303 redirect); with HTMX, the same URLs
answer with the fragment to swap: the form (422 when invalid), a list row, the counts.
"""

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from .. import lifecycle
from ..access import coordinator_only, login_redirect, signed_in
from ..errors import render_error
from ..models import STATUSES, Event, Organization, Photo
from ..params import page_arg
from ..performance.prepared import prepared
from ..services import DomainError, NotFound, idempotency, participants
from ..services.countries import countries, country_name
from ..services.photos import PhotoError
from ..services.photos import process as process_photo
from ..templating import is_htmx, render_block, render_page, see_other
from .forms import LIVE_FIELDS, ParticipantForm

bp = Blueprint("delegation", __name__)

PER_PAGE = 25


def _account():
    return current_user._get_current_object()


# Run on every delegation page: their SQL is built once (portal/performance/prepared.py).
_first_event = prepared(lambda: Event.select().order_by(Event.id).limit(1))
_organization_by_id = prepared(
    lambda organization_id: Organization.select().where(Organization.id == organization_id).limit(1)
)


def _event():
    """The event, as read with the signed-in account at the start of the request."""
    event = getattr(_account(), "current_event", None)
    return event if event is not None else _first_event.first()


def _page_key(context, *more):
    """What a delegation page shows, for the page cache: the delegation's version, the
    organization's names, the event and the registration state (portal/templating.py)."""
    return (
        context["delegation_key"],
        context["organization"].names_key,
        context["event_key"],
        context["state"],
        *more,
    )


def _context():
    """What every delegation page shows: the organization, the event, the figures."""
    account = _account()
    event = _event()
    # The organization (and its data version) is read before any of the figures: what a page
    # shows is then at least as new as the version its cached parts are stored under. A GET
    # changes nothing: the organization read with the account at the start of the request will
    # do. After a POST (which may have changed the delegation) it is read again.
    if request.method in ("GET", "HEAD") and account.organization is not None:
        organization = account.organization
    else:
        organization = _organization_by_id.first(account.organization_id)
    version = (organization.id, organization.data_version)
    return {
        "organization": organization,
        "delegation_key": version,
        "event": event,
        "event_key": (event.id, event.updated_at) if event else ("no event",),
        "state": event.registration_state() if event else "open",
        "summary": participants.summary(account, version),
        "statuses": STATUSES,
        "country_name": country_name,
    }


# -- Dashboard and list -------------------------------------------------------------------------


@bp.route("/delegation")
@coordinator_only
def dashboard():
    """Show the organization, the event, and the delegation at a glance."""
    context = _context()
    return render_page(
        "delegation/dashboard.html", "counts", cache_key=_page_key(context), **context
    )


@bp.route("/delegation/participants")
@coordinator_only
def participant_list():
    """List the delegation, a page at a time."""
    requested = page_arg()
    account = _account()
    context = _context()
    return render_page(
        "delegation/participants.html",
        "list",
        cache_key=_page_key(context, requested),
        # Run by the template, unless the page's list comes from the fragment cache.
        listing=lambda: participants.page_of(account, requested, PER_PAGE),
        requested_page=requested,
        **context,
    )


# -- The participant form -----------------------------------------------------------------------


def _form(participant=None, formdata=None, **kwargs):
    event = _event()
    if formdata is None and request.method == "POST":
        formdata = CombinedMultiDict([request.files, request.form])
    form = ParticipantForm(formdata=formdata, event=event, **kwargs)
    if participant is not None and request.method == "GET":
        form.load(participant)
    if not form.submission_key.data:
        form.submission_key.data = idempotency.new_key()
    return form


def _render_form(form, participant=None, status=200, message=None, conflict=None, **extra):
    embedded = request.values.get("in_list") == "1"
    context = _context()
    return render_page(
        "delegation/participant_form.html",
        "form",
        status=status,
        form=form,
        participant=participant,
        photo_digest=participants_photo(participant),
        message=message,
        conflict=conflict,
        embedded=embedded,
        **context,
        **extra,
    )


def participants_photo(participant):
    if participant is None or participant.id is None:
        return None
    row = Photo.select(Photo.digest).where(Photo.participant == participant.id).tuples().first()
    return row[0] if row else None


def _mark_missing(form, participant):
    """Put "needed to submit" next to each field a submission still needs."""
    for requirement in lifecycle.missing(participant):
        field = getattr(form, requirement.field, None)
        if field is not None and not field.errors:
            field.errors = [*field.errors, _("Needed to submit for accreditation.")]


def _done_message(result):
    """What a save did, in the same words with or without JavaScript."""
    name = result.participant.full_name or result.participant.family_name
    if result.submitted:
        return _("%(name)s is submitted for accreditation.", name=name)
    return _("%(name)s is saved.", name=name)


def _saved_response(result):
    """After a save: the list (no JavaScript), or the row and the counts (HTMX)."""
    participant = result.participant
    message = _done_message(result)
    anchor = url_for(".participant_list") + "#p-%d" % participant.id
    if not is_htmx():
        flash(message)
        return redirect(anchor, 303)
    if request.form.get("in_list") != "1":
        flash(message)
        response = current_app.response_class("", 204)
        response.headers["HX-Redirect"] = anchor
        return response
    participant.photo_digest = participants_photo(participant)
    body = render_block(
        "delegation/participants.html",
        "saved",
        p=participant,
        created=result.created,
        row_message=message,
        **_context(),
    )
    return make_response(body, 200)


def _upload(form):
    """Return the badge photo sent with the form, processed (None when none was chosen)."""
    upload = form.photo.data
    if not upload or getattr(upload, "filename", None) is None:
        return None
    data = upload.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
    # A chosen file with nothing in it is refused ("The file is empty"), never skipped.
    return process_photo(data, current_app.config["MAX_PHOTO_BYTES"])


def _save(participant_id):
    """Validate the form, then save (and submit) it in one service call; map what comes back."""
    form = _form()
    if not form.validate():
        if form.photo.data and getattr(form.photo.data, "filename", None):
            # A browser never shows a chosen file again: say so rather than lose it silently.
            form.photo.errors = [
                *form.photo.errors,
                _("The photo was not saved: choose it again once the form is corrected."),
            ]
        return _render_form(form, _stored(participant_id), 422)
    try:
        result = participants.save(
            _account(),
            participant_id,
            form.values(),
            _event(),
            version=form.expected_version(),
            photo=_upload(form),
            submit="submit" in request.form,
            key=form.submission_key.data,
        )
    except PhotoError as exc:
        form.photo.errors = [str(exc.message)]
        return _render_form(form, _stored(participant_id), 422)
    except participants.VersionConflict as exc:
        form.version.data = str(exc.current.version)
        conflict = _differences(form, exc.current)
        return _render_form(form, exc.current, exc.status, exc.message, conflict=conflict)
    except NotFound:
        raise
    except DomainError as exc:
        if exc.field == "duplicate":
            form.family_name.errors = [*form.family_name.errors, str(exc.message)]
        return _render_form(form, _stored(participant_id), exc.status, exc.message)
    if result.not_submitted_because is not None:
        return _not_submitted(result)
    return _saved_response(result)


def _stored(participant_id):
    """The participant a form being shown again is about (None for a new one; 404 if not ours)."""
    return participants.get_participant(_account(), participant_id) if participant_id else None


def _not_submitted(result):
    """Saved, but not submitted: say why, and mark the fields still needed; in the list, the
    saved draft's row appears (or changes) behind the form."""
    saved = result.participant
    form = _form(saved, formdata=MultiDict())
    form.load(saved)
    _mark_missing(form, saved)
    saved.photo_digest = participants_photo(saved)
    message = _(
        "Saved as a draft, but not submitted: %(reason)s", reason=result.not_submitted_because
    )
    row_update = "created" if result.created else "updated"
    return _render_form(form, saved, 422, message, row_update=row_update)


def _differences(form, current):
    """The fields where what is saved now differs from the form: (label, value shown)."""
    values = form.values()
    differences = [
        (getattr(form, name).label.text, _shown(name, getattr(current, name)))
        for name in participants.EDITABLE
        if name != "passport_number" and values.get(name) != getattr(current, name)
    ]
    if values.get("passport_number") != current.passport_number:
        differences.append((form.passport_number.label.text, current.masked_passport))
    return differences


def _shown(name, value):
    """A stored value as the conflict table shows it."""
    if value is None or value == "":
        return "—"
    if name in ("nationality", "passport_country"):
        from ..i18n import current_language  # noqa: PLC0415

        return country_name(value, current_language())
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return value


@bp.route("/delegation/participants/new", methods=["GET", "POST"])
@coordinator_only
def participant_new():
    """Add a participant: the form (in the list with HTMX), saved as a draft or submitted."""
    if request.method == "POST":
        return _save(None)
    return _render_form(_form())


@bp.route("/delegation/participants/<int:pid>", methods=["GET", "POST"])
@coordinator_only
def participant_edit(pid):
    """Change a participant of the delegation (404 for anyone else's)."""
    if request.method == "POST":
        return _save(pid)
    participant = participants.get_participant(_account(), pid)
    return _render_form(_form(participant), participant)


@bp.route("/delegation/participants/validate/<name>", methods=["POST"])
@coordinator_only
def validate_field(name):
    """Check one field as it is left (HTMX) and answer with that field's block."""
    if name not in LIVE_FIELDS:
        abort(404)
    form = _form(formdata=request.form)
    form.validate()
    body = render_block(
        "delegation/participant_form.html", "one_field", form=form, f=getattr(form, name)
    )
    return make_response(body, 200)


@bp.route("/delegation/countries/<lang>")
@coordinator_only
def country_options(lang):
    """The country list's options, for a form swapped into the list (cached by the browser)."""
    if lang not in ("fr", "en", "ar"):
        abort(404)
    selected = request.args.get("selected", "")
    names = countries(lang)
    body = '<option value="">—' + "".join(
        '<option value="%s"%s>%s' % (code, " selected" if code == selected else "", escape(name))
        for code, name in names
    )
    response = make_response(body, 200)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


# -- Submit, withdraw, delete -------------------------------------------------------------------


def _row_response(participant, message=None, status=200):
    if not is_htmx():
        if message:
            flash(message, "error" if status >= 400 else "message")
        return redirect(url_for(".participant_list") + "#p-%d" % participant.id, 303)
    participant.photo_digest = participants_photo(participant)
    body = render_block(
        "delegation/participants.html",
        "saved",
        p=participant,
        created=False,
        row_message=message,
        **_context(),
    )
    return make_response(body, status)


def _confirm_page(participant, action, status=200, message=None):
    return render_page(
        "delegation/confirm.html",
        None,
        status=status,
        participant=participant,
        action=action,
        message=message,
        **_context(),
    )


#: What each action of the list says once done.
DONE = {
    "submit": lambda name: _("%(name)s is submitted for accreditation.", name=name),
    "withdraw": lambda name: _("%(name)s is withdrawn.", name=name),
    "delete": lambda name: _("%(name)s is deleted.", name=name),
}


def _take(pid, action):
    """Take ``action`` on a participant of the delegation: the lifecycle decides."""
    account = _account()
    participant = participants.get_participant(account, pid)
    if request.method == "GET":
        return _confirm_page(participant, action)
    name = participant.full_name or participant.family_name
    try:
        outcome = participants.take(action, pid, account, _event())
    except DomainError as exc:
        if is_htmx() or action == "submit":
            return _row_response(participant, exc.message, exc.status)
        return _confirm_page(participant, action, exc.status, exc.message)
    message = DONE[action](name)
    if action != "delete":
        return _row_response(outcome.participant, message)
    if not is_htmx():
        flash(message)
        return redirect(url_for(".participant_list"), 303)
    body = render_block(
        "delegation/participants.html", "deleted", pid=pid, message=message, **_context()
    )
    return make_response(body, 200)


@bp.route("/delegation/participants/<int:pid>/submit", methods=["POST"])
@coordinator_only
def participant_submit(pid):
    """Submit one complete participant for accreditation."""
    return _take(pid, "submit")


@bp.route("/delegation/participants/<int:pid>/withdraw", methods=["GET", "POST"])
@coordinator_only
def participant_withdraw(pid):
    """Withdraw a participant (after confirmation): the record and its history stay."""
    return _take(pid, "withdraw")


@bp.route("/delegation/participants/<int:pid>/delete", methods=["GET", "POST"])
@coordinator_only
def participant_delete(pid):
    """Delete a draft (after confirmation)."""
    return _take(pid, "delete")


# -- Badge photos -------------------------------------------------------------------------------


@bp.route("/photos/<int:pid>/<digest>.jpg")
@bp.route("/photos/<int:pid>/<digest>/thumb.jpg", endpoint="photo_thumb")
@signed_in
def photo(pid, digest):
    """Serve a badge photo to its organization's coordinators and the secretariat only."""
    participant = participants.get_participant(_account(), pid)
    row = Photo.get_or_none((Photo.participant == participant.id) & (Photo.digest == digest))
    if row is None:
        abort(404)
    thumb = request.endpoint.endswith("photo_thumb")
    etag = row.digest + ("-t" if thumb else "")
    response = current_app.response_class(
        bytes(row.thumbnail if thumb else row.data), mimetype="image/jpeg"
    )
    # The digest is in the address: the picture at this address never changes.
    response.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    response.set_etag(etag)
    response.headers["Content-Disposition"] = "inline"
    return response.make_conditional(request)


# -- A form older than its CSRF token -----------------------------------------------------------

FORM_ENDPOINTS = {"delegation.participant_new", "delegation.participant_edit"}


@bp.errorhandler(CSRFError)
def csrf_expired(exc):
    """Show the form again with what was typed, and ask to send it again (never a bare 400)."""
    if not current_user.is_authenticated:
        return login_redirect()
    if not (current_user.is_coordinator and current_user.organization_id):
        return render_error(404)
    message = _(
        "This form was open for too long and could not be accepted for your security. "
        "Check what you typed and send it again."
    )
    pid = (request.view_args or {}).get("pid")
    try:
        participant = participants.get_participant(_account(), pid) if pid else None
    except NotFound:
        return render_error(404)
    if request.endpoint in FORM_ENDPOINTS:
        form = ParticipantForm(formdata=request.form, event=_event(), meta={"csrf": False})
        if not form.submission_key.data:
            form.submission_key.data = idempotency.new_key()
        if participant is not None and not form.version.data:
            form.version.data = str(participant.version)
        if request.files.get("photo"):
            form.photo.errors = [_("Choose the photo again.")]
        return _render_form(form, participant, 422, message)
    if request.endpoint == "delegation.validate_field":
        return make_response("", 204)
    flash(message, "error")
    return see_other(request.referrer if _safe_referrer() else url_for(".participant_list"))


def _safe_referrer():
    from ..i18n import safe_next  # noqa: PLC0415

    ref = request.referrer or ""
    host = request.host_url
    return ref.startswith(host) and safe_next("/" + ref[len(host) :], "") != ""
