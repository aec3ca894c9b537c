"""The coordinator's side: the dashboard, the participant list and form, badge photos.

Every page works without JavaScript (a POST ends in a 303 redirect); with HTMX, the same URLs
answer with the fragment to swap: the form (422 when invalid), or the confirmation and every
part of the list that the change touched (``_list_update``), so that the page shows what a
reload would.
"""

import hashlib
from urllib.parse import parse_qs, urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
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
from ..access import coordinator_only, entering, login_redirect, signed_in
from ..errors import render_error
from ..i18n import current_language
from ..models import STATUSES, Event, Organization, Photo
from ..params import MAX_PAGE, bounded_int, page_arg
from ..performance.prepared import prepared
from ..services import DomainError, NotFound, idempotency, participants, pending_photos, scans
from ..services.countries import countries, country_name
from ..services.photos import PhotoError
from ..services.photos import process as process_photo
from ..templating import is_htmx, render_block, render_page, see_other
from . import imports as import_pages
from .forms import LIVE_FIELDS, ParticipantForm

bp = Blueprint("delegation", __name__)

PER_PAGE = 25


def _account():
    return current_user._get_current_object()


class Entry:
    """Whose delegation the participant form enters into: the coordinator's own (the default),
    or, for the secretariat entering a registration sent on paper or by e-mail, the
    organization its page names (``enter_for``). The form's views, template and save are the
    same; only the organization and the addresses differ."""

    def __init__(self, organization_id=None):
        self.organization_id = organization_id
        self.for_secretariat = organization_id is not None

    def form_url(self, pid=None):
        if self.for_secretariat:
            if pid is None:
                return url_for("secretariat.entry_new", organization_id=self.organization_id)
            return url_for("secretariat.entry_edit", organization_id=self.organization_id, pid=pid)
        if pid is None:
            return url_for("delegation.participant_new")
        return url_for("delegation.participant_edit", pid=pid)

    def list_url(self, pid=None):
        anchor = "#p-%d" % pid if pid else ""
        if self.for_secretariat:
            return (
                url_for("secretariat.organization", organization_id=self.organization_id) + anchor
            )
        return url_for("delegation.participant_list") + anchor


def enter_for(organization_id):
    """Make this request's participant form enter into ``organization_id`` (the secretariat)."""
    g.entry = Entry(organization_id)


def _entry():
    return g.get("entry") or Entry()


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
    entry = _entry()
    # The organization (and its data version) is read before any of the figures: what a page
    # shows is then at least as new as the version its cached parts are stored under. A GET
    # changes nothing: the organization read with the account at the start of the request will
    # do. After a POST (which may have changed the delegation) it is read again.
    if entry.for_secretariat:
        organization = _organization_by_id.first(entry.organization_id)
        account = participants.delegation_scope(entry.organization_id)
    elif request.method in ("GET", "HEAD") and account.organization is not None:
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
        "entry": entry,
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


# -- The list after a change made in place ------------------------------------------------------


@bp.app_template_global()
def row_version(p, state):
    """A short digest of what a list row shows (the parts of its cache key, and the language):
    the row carries it (``data-v``), and delegation.js sends those of the rows on screen back
    with each change (``HX-Rows``), so the answer brings only the rows that differ. Stable across
    workers (unlike ``hash()``)."""
    shown = (sorted(p.__data__.items()), getattr(p, "photo_digest", None), state)
    text = repr((shown, current_language()))
    return hashlib.blake2s(text.encode(), digest_size=5).hexdigest()


def _list_page():
    """The page of the list the coordinator is looking at (HTMX's ``HX-Current-URL``)."""
    url = urlsplit(request.headers.get("HX-Current-URL", ""))
    page = parse_qs(url.query).get("page", ["1"])[0]
    return bounded_int(page, 1, MAX_PAGE) or 1


def _shown_rows():
    """The rows the coordinator's list shows, as ``[(id, version)]`` in screen order, from the
    ``HX-Rows`` header (delegation.js); None when the request does not say."""
    header = request.headers.get("HX-Rows")
    if header is None:
        return None
    rows = []
    for item in header.split()[: 2 * PER_PAGE]:
        pid, _dot, version = item.partition(".")
        if pid.isdigit():
            rows.append((int(pid), version))
    return rows


def _common_order(a, b):
    """The longest sequence of ids in the same order in ``a`` and in ``b`` (a page: 25 rows)."""
    lengths = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) - 1, -1, -1):
        for j in range(len(b) - 1, -1, -1):
            lengths[i][j] = (
                lengths[i + 1][j + 1] + 1
                if a[i] == b[j]
                else max(lengths[i + 1][j], lengths[i][j + 1])
            )
    common, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        if a[i] == b[j]:
            common.append(a[i])
            i, j = i + 1, j + 1
        elif lengths[i + 1][j] >= lengths[i][j + 1]:
            i += 1
        else:
            j += 1
    return common


def list_changes(shown, rows, version):
    """What turns the rows on screen (``shown``: ``[(id, version)]``) into ``rows`` (the page as
    a reload shows it): ``inserts`` as ``(id of the row on screen to put them after, or None for
    the top, [rows])``, ``replaces`` (rows whose content changed) and ``deletes`` (ids). Rows
    that keep their order stay; the others (new, gone, moved) are inserted or deleted."""
    before = dict(shown)
    stay = set(_common_order([pid for pid, _v in shown], [p.id for p in rows]))
    inserts, replaces, run, after = [], [], [], None
    for p in rows:
        if p.id not in stay:
            run.append(p)
            continue
        if run:
            inserts.append((after, run))
            run = []
        if before[p.id] != version(p):
            replaces.append(p)
        after = p.id
    if run:
        inserts.append((after, run))
    deletes = [pid for pid, _v in shown if pid not in stay]
    return {"inserts": inserts, "replaces": replaces, "deletes": deletes}


def _list_update(state=None):
    """Every part of the list page a change may touch, as it is now: the counts, the caption,
    the pages and the rows that differ from those on screen (the whole list when the screen
    did not say which it shows, or when the list was or becomes empty)."""
    if state is None:
        event = _event()
        state = event.registration_state() if event else "open"
    rows, total, pages, page = participants.page_of(_account(), _list_page(), PER_PAGE)
    update = {"listing": (rows, total, pages, page), "whole": True}
    shown = _shown_rows()
    if shown and rows:
        update["whole"] = False
        update.update(list_changes(shown, rows, lambda p: row_version(p, state)))
    return update


def _list_answer(message, status=200):
    """The HTMX answer to a change made in the list: the message (in the editor), and the list
    brought to what a reload would show."""
    context = _context()
    body = render_block(
        "delegation/participants.html",
        "changed",
        message=message,
        failed=status >= 400,
        update=_list_update(context["state"]),
        **context,
    )
    return make_response(body, status)


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


def _render_form(
    form, participant=None, status=200, message=None, conflict=None, pending=None, **extra
):
    """The form: the page, or the form alone for HTMX. ``pending`` is the photo kept from this
    form's last sending (offered to keep or replace)."""
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
        pending=pending,
        errors=error_summary(form),
        **context,
        **extra,
    )


def participants_photo(participant):
    if participant is None or participant.id is None:
        return None
    row = Photo.select(Photo.digest).where(Photo.participant == participant.id).tuples().first()
    return row[0] if row else None


#: The fields a submission needs (the form marks them), from the one list of the lifecycle.
NEEDED_TO_SUBMIT = frozenset(r.field for r in lifecycle.REQUIREMENTS)


@bp.app_template_global()
def submission_mark(field):
    """How a field's label is marked: "needed" (to submit for accreditation, from
    ``lifecycle.REQUIREMENTS``), "optional", or None (a tick box, a choice about the form)."""
    if field.type in ("BooleanField", "HiddenField", "CSRFTokenField"):
        return None
    if field.name not in participants.EDITABLE and field.name != "photo":
        return None
    return "needed" if field.name in NEEDED_TO_SUBMIT else "optional"


def error_summary(form):
    """The form's errors in the order of its fields, for the summary at its top:
    ``[(id of the control to link to, label, message)]``."""
    errors = []
    for field in form:
        if not field.errors or field.type in ("HiddenField", "CSRFTokenField"):
            continue
        target = field.id + "-0" if field.type == "RadioField" else field.id
        errors.append((target, field.label.text, " ".join(str(e) for e in field.errors)))
    return errors


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
    """After a save: the list (no JavaScript, or the form on its own page), or in the list the
    message and every part of the list the save touched (HTMX)."""
    participant = result.participant
    message = _done_message(result)
    anchor = _entry().list_url(participant.id)
    if not is_htmx():
        flash(message)
        return redirect(anchor, 303)
    if request.form.get("in_list") != "1":
        flash(message)
        response = current_app.response_class("", 204)
        response.headers["HX-Redirect"] = anchor
        return response
    return _list_answer(message)


def _chosen_photo(form):
    """The badge photo the form brings: a file chosen now (processed; PhotoError if it is not
    a usable photo), else the one kept from the form's last sending if the form keeps it, else
    None. Returns ``(photo, kept row or None, fresh)``."""
    upload = form.photo.data
    if upload and getattr(upload, "filename", None) is not None:
        data = upload.read(current_app.config["MAX_PHOTO_BYTES"] + 1)
        # A chosen file with nothing in it is refused ("The file is empty"), never skipped.
        return process_photo(data, current_app.config["MAX_PHOTO_BYTES"]), None, True
    if form.keeps_pending_photo():
        row = pending_photos.find(form.submission_key.data, _account())
        if row is not None:
            return pending_photos.badge_photo(row), row, False
    return None, None, False


def _save(participant_id):
    """Validate the form, then save (and submit) it in one service call; map what comes back.

    A photo chosen with a form that cannot be saved is processed all the same and kept against
    the form's submission key: the corrected form offers to keep it and does not send it again.
    """
    form = _form()
    account = _account()
    key = form.submission_key.data
    valid = form.validate()
    try:
        photo, kept, fresh = _chosen_photo(form)
    except PhotoError as exc:
        form.photo.errors = [*form.photo.errors, str(exc.message)]
        photo, kept, fresh, valid = None, None, False, False
        if form.keeps_pending_photo():
            kept = pending_photos.find(key, account)

    def again(participant, status, message=None, **extra):
        pending = pending_photos.keep(key, account, photo) if fresh else kept
        return _render_form(form, participant, status, message, pending=pending, **extra)

    if not valid:
        return again(_stored(participant_id), 422)
    try:
        result = participants.save(
            account,
            participant_id,
            form.values(),
            _event(),
            version=form.expected_version(),
            photo=photo,
            submit="submit" in request.form,
            key=key,
            organization_id=_entry().organization_id,
        )
    except participants.VersionConflict as exc:
        form.version.data = str(exc.current.version)
        conflict = _differences(form, exc.current)
        return again(exc.current, exc.status, exc.message, conflict=conflict)
    except NotFound:
        raise
    except DomainError as exc:
        if exc.field == "duplicate":
            # The message is the family name's: the error summary links to it.
            form.family_name.errors = [*form.family_name.errors, str(exc.message)]
            return again(_stored(participant_id), exc.status)
        return again(_stored(participant_id), exc.status, exc.message)
    if kept is not None or fresh:
        pending_photos.discard(key, account)
    if result.not_submitted_because is not None:
        return _not_submitted(result)
    return _saved_response(result)


def _stored(participant_id):
    """The participant a form being shown again is about (None for a new one; 404 if not ours)."""
    if not participant_id:
        return None
    return participants.get_participant(_account(), participant_id, _entry().organization_id)


def _not_submitted(result):
    """Saved, but not submitted: say why, and mark the fields still needed; in the list, the
    list changes behind the form as the save changed it."""
    saved = result.participant
    form = _form(saved, formdata=MultiDict())
    form.load(saved)
    _mark_missing(form, saved)
    message = _(
        "Saved as a draft, but not submitted: %(reason)s", reason=result.not_submitted_because
    )
    in_list = is_htmx() and request.values.get("in_list") == "1"
    return _render_form(form, saved, 422, message, update=_list_update() if in_list else None)


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
    return new_participant()


def new_participant():
    """The new participant's form (GET) and its save (POST), for the entry's delegation."""
    if request.method == "POST":
        return _save(None)
    return _render_form(_form())


@bp.route("/delegation/participants/<int:pid>", methods=["GET", "POST"])
@coordinator_only
def participant_edit(pid):
    """Change a participant of the delegation (404 for anyone else's)."""
    return edit_participant(pid)


def edit_participant(pid):
    """A participant's form (GET) and its save (POST), in the entry's delegation only."""
    if request.method == "POST":
        return _save(pid)
    participant = participants.get_participant(_account(), pid, _entry().organization_id)
    return _render_form(_form(participant), participant)


@bp.route("/delegation/participants/validate/<name>", methods=["POST"])
@entering
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
@entering
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
    """After an action on a row: the list at the row (no JavaScript), or the message and the
    list as the action left it (HTMX)."""
    if not is_htmx():
        if message:
            flash(message, "error" if status >= 400 else "message")
        return redirect(url_for(".participant_list") + "#p-%d" % participant.id, 303)
    return _list_answer(message, status)


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
    return _list_answer(message)


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


# -- Many participants at once: a spreadsheet (portal/delegation/imports.py) ------------------


def _import_place():
    return import_pages.Place("delegation", _organization_by_id.first(_account().organization_id))


@bp.route("/delegation/import")
@coordinator_only
def import_start():
    """Download the template, send the filled file."""
    place = _import_place()
    return import_pages.start(place)


@bp.route("/delegation/import/template.<any(xlsx, csv):extension>")
@coordinator_only
def import_template(extension):
    """The template to fill, in the page's language."""
    place = _import_place()
    return import_pages.template(place, extension)


@bp.route("/delegation/import", methods=["POST"])
@coordinator_only
def import_upload():
    """Check the file, keep it, show what it would do."""
    place = _import_place()
    return import_pages.upload(place)


@bp.route("/delegation/import/photos", methods=["POST"])
@coordinator_only
def import_photos():
    """Badge photos in bulk: a ZIP named by passport numbers."""
    place = _import_place()
    return import_pages.photos(place)


@bp.route("/delegation/import/<participant_import_id>", methods=["GET", "POST"])
@coordinator_only
def import_preview(participant_import_id):
    """What the file would do (GET), and its confirmation (POST)."""
    place = _import_place()
    if request.method == "POST":
        return import_pages.confirm(place, participant_import_id)
    return import_pages.preview(place, participant_import_id)


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


@bp.route("/participants/<int:pid>/scan")
@signed_in
def paper_scan(pid):
    """The scan of a paper registration, to the secretariat and the organization's coordinators
    only; always a download, never shown in the page (a PDF or image sent by anyone)."""
    scan = scans.find(_account(), pid)
    response = current_app.response_class(bytes(scan.data), mimetype=scan.content_type)
    extension = {"application/pdf": "pdf"}.get(scan.content_type, scan.content_type.split("/")[1])
    response.headers["Content-Disposition"] = "attachment; filename=registration-%d.%s" % (
        pid,
        extension,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.route("/delegation/photos/kept/<key>/<digest>.jpg")
@entering
def pending_photo(key, digest):
    """The thumbnail of a photo kept from a form that could not be saved (its sender only)."""
    row = pending_photos.find(key, _account())
    if row is None or row.digest != digest:
        abort(404)
    response = current_app.response_class(bytes(row.thumbnail), mimetype="image/jpeg")
    # The digest is in the address: the picture at this address never changes.
    response.headers["Cache-Control"] = "private, max-age=86400, immutable"
    response.set_etag(row.digest + "-k")
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
