"""The secretariat's side: overview, review queue, participants, settings, accounts, exports,
audit. Every route is ``secretariat_only``: a coordinator gets 404, a visitor is sent to sign in.
"""

import datetime as dt
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError
from werkzeug.wsgi import FileWrapper

from .. import clock
from ..access import PUBLIC, SECRETARIAT, SIGNED_IN, secretariat_only
from ..delegation import imports as import_pages
from ..delegation.views import edit_participant, enter_for, new_participant
from ..documents.forms import BadgeForm
from ..i18n import safe_next
from ..models import (
    CATEGORIES,
    LANGUAGES,
    REJECTION_REASONS,
    ROLES,
    STATUSES,
    Account,
    Event,
    Organization,
    Participant,
    Photo,
)
from ..params import MAX_PAGE, bounded_int, clean_text, int_arg, page_arg, text_arg
from ..services import DomainError, NotFound, decisions, exports, listings, mail, prepcom, scans
from ..services.accounts import (
    LOCK,
    issue_password_link,
    set_account_access,
)
from ..services.accounts import add_coordinator as create_coordinator
from ..services.duplicates import duplicates_for
from ..services.settings import (
    EVENT_FIELDS,
    ORGANIZATION_NAMES,
    update_event,
    update_organization,
)
from ..templating import is_htmx, render_page, see_other
from .forms import (
    CoordinatorForm,
    DecisionForm,
    EventForm,
    ImportForm,
    OrganizationForm,
)
from .history import describe as describe_history

bp = Blueprint("secretariat", __name__)


def _actor():
    return current_user._get_current_object()


def _page():
    return page_arg()


def _event():
    # Read on every request: a change made through another worker is seen at once.
    return Event.select().order_by(Event.id).first()


def _organization_or_404(organization_id):
    organization = Organization.get_or_none(Organization.id == organization_id)
    if organization is None:
        abort(404)
    return organization


# The coordinator's side serves badge photos (to the organization's coordinators and the
# secretariat); the secretariat's own ``photo`` route is the fallback should that endpoint be
# missing or closed to the secretariat. Each: (endpoint, name of its participant argument).
PHOTO_ENDPOINTS = (("delegation.photo_thumb", "pid"),)


def photo_url(participant, digest):
    """Return the URL of the participant's badge photo (thumbnail), or None without one."""
    if not digest:
        return None
    for endpoint, argument in PHOTO_ENDPOINTS:
        view = current_app.view_functions.get(endpoint)
        if view is None or getattr(view, "access", None) not in (PUBLIC, SIGNED_IN, SECRETARIAT):
            continue
        try:
            return url_for(endpoint, **{argument: participant.id, "digest": digest})
        except BuildError:
            continue
    return url_for("secretariat.photo", participant_id=participant.id, digest=digest[:16])


@bp.app_context_processor
def _helpers():
    return {
        "photo_url": photo_url,
        "review_passport_valid": listings.passport_valid,
    }


# -- Overview ------------------------------------------------------------------------------------


@bp.route("/")
@secretariat_only
def overview():
    """List every organization and where its delegation stands; filter, sort, page."""
    args = request.args
    sort = args.get("sort", "name")
    descending = args.get("dir") == "desc"
    result = listings.overview(
        category=args.get("category", ""),
        status=args.get("status", ""),
        text=text_arg("q", 100),
        sort=sort,
        descending=descending,
        page=_page(),
    )
    return render_page(
        "secretariat/overview.html",
        "results",
        result=result,
        categories=CATEGORIES,
        statuses=STATUSES,
        sort=sort,
        descending=descending,
        args=args,
    )


# -- Review queue --------------------------------------------------------------------------------


def _queue_context(args=None):
    """The queue as the request's query selects it, or as ``args`` do: the filters and page of
    the screen an answer changes in place (from a header: read leniently)."""
    if args is None:
        args = request.args
        organization_id = int_arg("organization")
        page = _page()
        text = text_arg("q", 100)
    else:
        organization_id = bounded_int(args.get("organization"))
        page = bounded_int(args.get("page"), 1, MAX_PAGE) or 1
        text = clean_text(args.get("q"), 100) or ""
    participants, total = listings.queue(page, organization_id, text)
    return {
        "participants": participants,
        "total": total,
        "page": page,
        "pages": max(1, -(-total // listings.QUEUE_PAGE_SIZE)),
        "duplicates": duplicates_for(participants),
        "event": _event(),
        "form": DecisionForm(),
        "reasons": REJECTION_REASONS,
        "args": args,
    }


def _screen_args():
    """The filters and page of the queue the secretariat is looking at (HTMX's
    ``HX-Current-URL``), for an answer that changes that screen in place."""
    url = urlsplit(request.headers.get("HX-Current-URL", ""))
    return MultiDict(parse_qsl(url.query))


@bp.route("/queue")
@secretariat_only
def queue():
    """The submitted participants, oldest first, with what a decision needs."""
    return render_page("secretariat/queue.html", "queue", **_queue_context())


def _parse_items(values):
    items = []
    for value in values:
        participant_id, _sep, version = value.partition(":")
        participant_id = bounded_int(participant_id, 1)
        if participant_id is not None:
            items.append((participant_id, bounded_int(version)))
    return items


@bp.route("/queue/decide", methods=["POST"])
@secretariat_only
def decide_many():
    """The same decision for every participant ticked in the queue."""
    form = DecisionForm()
    items = _parse_items(request.form.getlist("participant"))
    errors = []
    if not items:
        errors.append(_("Tick at least one participant."))
    if not form.validate():
        errors.extend(e for field_errors in form.errors.values() for e in field_errors)
    if errors:
        context = _queue_context()
        context.update(form=form, bulk_errors=errors)
        return render_page("secretariat/queue.html", "queue", status=422, **context)
    result = decisions.decide_many(
        items, _actor(), form.decision.data, form.reason.data, form.text.data or ""
    )
    messages = []
    if result.done:
        count = len(result.done)
        if form.decision.data == decisions.ACCREDIT:
            text = ngettext(
                "%(num)d participant accredited.", "%(num)d participants accredited.", count
            )
        else:
            text = ngettext(
                "%(num)d participant rejected.", "%(num)d participants rejected.", count
            )
        messages.append(("ok", text))
    for _participant_id, message in result.failed:
        messages.append(("error", str(message)))
    if is_htmx():
        # The queue as a reload shows it: decided rows gone, others moved up, the form blank.
        context = _queue_context()
        context["messages"] = messages
        context["form"] = DecisionForm(formdata=None)
        return render_page("secretariat/queue.html", "queue", **context)
    for category, message in messages:
        flash(message, category)
    return redirect(url_for(".queue", **request.args), 303)


@bp.route("/participants/<int:participant_id>/decision", methods=["POST"])
@secretariat_only
def decide(participant_id):
    """One decision: from a queue row (HTMX swaps the row) or the participant's page."""
    participant = Participant.get_or_none(Participant.id == participant_id)
    if participant is None:
        abort(404)
    form = DecisionForm()
    back = safe_next(
        request.form.get("next"), url_for(".participant", participant_id=participant_id)
    )
    if not form.validate():
        if is_htmx():
            return _row(participant, form=form, status=422)
        return participant_page(participant, form, status=422)
    try:
        participant = decisions.decide(
            participant_id,
            _actor(),
            form.decision.data,
            form.reason.data,
            form.text.data or "",
            form.version.data,
        )
    except DomainError as error:
        if is_htmx():
            return _row(
                Participant.get_by_id(participant_id), message=error.message, status=error.status
            )
        flash(error.message, "error")
        return redirect(back, 303)
    message = _decided_message(participant)
    if is_htmx():
        return _decided_in_queue(participant, message)
    flash(message, "ok")
    return redirect(back, 303)


def _decided_in_queue(participant, message):
    """After a decision taken in a queue row (HTMX), the queue as a reload shows it, the
    confirmation aside: the row gives way to the confirmation, the count and pages change, and
    the row that moves up from the next page arrives at the end; a page left empty is drawn
    again whole."""
    context = _queue_context(_screen_args())
    if not context["participants"]:
        context["messages"] = [("ok", message)]
        response = render_page("secretariat/queue.html", "queue", **context)
        response.headers["HX-Retarget"] = "#queue"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    arrived = None
    if len(context["participants"]) == listings.QUEUE_PAGE_SIZE:
        # The page was full before the decision too: its last row was the next page's first.
        arrived = context["participants"][-1]
    return render_page(
        "secretariat/queue.html",
        "decided",
        message=message,
        decided=participant,
        p=arrived,
        oob=True,
        **context,
    )


def _decided_message(participant):
    if participant.status == "accredited":
        return _("%(name)s is accredited.", name=participant.full_name)
    return _("%(name)s is rejected.", name=participant.full_name)


def _row(participant, form=None, message=None, status=200):
    """Render one queue row (the HTMX answer to a decision taken in the queue)."""
    participant = (
        Participant.select(Participant, Organization)
        .join(Organization)
        .where(Participant.id == participant.id)
        .get()
    )
    listings.attach_photo_digests([participant])
    return render_page(
        "secretariat/queue.html",
        "row",
        status=status,
        p=participant,
        duplicates=duplicates_for([participant]),
        event=_event(),
        form=form or DecisionForm(),
        reasons=REJECTION_REASONS,
        row_message=message,
        row_error=form.errors if form is not None else None,
        args=request.args,
    )


# -- A participant -------------------------------------------------------------------------------


def participant_page(participant, form=None, status=200, scan_error=None):
    participant = (
        Participant.select(Participant, Organization)
        .join(Organization)
        .where(Participant.id == participant.id)
        .get()
    )
    listings.attach_photo_digests([participant])
    form = form or DecisionForm(version=participant.version)
    return render_page(
        "secretariat/participant.html",
        status=status,
        p=participant,
        event=_event(),
        duplicates=duplicates_for([participant]).get(participant.id, []),
        history=list(listings.history(participant)),
        describe=describe_history,
        form=form,
        reasons=REJECTION_REASONS,
        has_scan=scans.has_scan(participant.id),
        scan_error=scan_error,
        max_scan=scans.MAX_SCAN_BYTES // 1048576,
        badge_form=BadgeForm(),
    )


@bp.route("/participants/<int:participant_id>")
@secretariat_only
def participant(participant_id):
    """Everything about one participant: identity, duplicates, decision, history."""
    found = Participant.get_or_none(Participant.id == participant_id)
    if found is None:
        abort(404)
    return participant_page(found)


@bp.route("/participants/<int:participant_id>/scan", methods=["POST"])
@secretariat_only
def attach_scan(participant_id):
    """Attach the scan of the participant's paper registration (PDF or image)."""
    upload = request.files.get("scan")
    data = upload.read(scans.MAX_SCAN_BYTES + 1) if upload and upload.filename else b""
    try:
        scans.attach(_actor(), participant_id, upload.filename if upload else "", data)
    except NotFound:
        abort(404)
    except DomainError as exc:
        found = Participant.get_or_none(Participant.id == participant_id)
        if found is None:
            abort(404)
        return participant_page(found, status=exc.status, scan_error=exc.message)
    flash(_("The scan is attached."), "ok")
    return see_other(url_for(".participant", participant_id=participant_id))


@bp.route("/participants/<int:participant_id>/photo/<digest>")
@secretariat_only
def photo(participant_id, digest):
    """The participant's badge photo (thumbnail, or ``?size=full``)."""
    found = Photo.get_or_none(Photo.participant == participant_id)
    if found is None:
        abort(404)
    full = request.args.get("size") == "full"
    data = found.data if full or not found.thumbnail else found.thumbnail
    response = current_app.response_class(bytes(data), mimetype=found.content_type)
    response.set_etag(found.digest + ("-full" if full else ""))
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response.make_conditional(request)


# -- Organizations -------------------------------------------------------------------------------


def _organization_page(organization, form=None, coordinator_form=None, status=200):
    participants, duplicates = listings.delegation(organization)
    coordinators = (
        Account.select()
        .where(Account.organization == organization.id)
        .order_by(Account.username_key)
    )
    return render_page(
        "secretariat/organization.html",
        status=status,
        organization=organization,
        participants=participants,
        duplicates=duplicates,
        coordinators=list(coordinators),
        form=form or OrganizationForm(obj=organization),
        coordinator_form=coordinator_form or CoordinatorForm(),
        categories=CATEGORIES,
    )


@bp.route("/organizations/<int:organization_id>")
@secretariat_only
def organization(organization_id):
    """One delegation: its participants, coordinators, quota, names and acronyms."""
    return _organization_page(_organization_or_404(organization_id))


@bp.route("/organizations/<int:organization_id>", methods=["POST"])
@secretariat_only
def organization_update(organization_id):
    """Change an organization's quota, names and acronyms."""
    organization = _organization_or_404(organization_id)
    form = OrganizationForm()
    if form.validate():
        # Only the names the form sent: an absent field leaves its value as it is.
        names = {name: form[name].data for name in ORGANIZATION_NAMES if name in request.form}
        try:
            update_organization(_actor(), organization.id, form.quota.data, **names)
        except DomainError as error:
            form[error.field if error.field in form else "quota"].errors.append(error.message)
        else:
            flash(_("The organization is saved."), "ok")
            url = url_for(".organization", organization_id=organization.id)
            return see_other(url)
    return _organization_page(organization, form=form, status=422)


# The same import as the coordinators', entered on the organization's behalf
# (portal/delegation/imports.py).


def _import_place(organization_id):
    return import_pages.Place("secretariat", _organization_or_404(organization_id))


@bp.route("/organizations/<int:organization_id>/import")
@secretariat_only
def import_start(organization_id):
    """Download the template, send a filled file for this organization."""
    place = _import_place(organization_id)
    return import_pages.start(place)


@bp.route("/organizations/<int:organization_id>/import/template.<any(xlsx, csv):extension>")
@secretariat_only
def import_template(organization_id, extension):
    """The template to fill, in the page's language."""
    place = _import_place(organization_id)
    return import_pages.template(place, extension)


@bp.route("/organizations/<int:organization_id>/import", methods=["POST"])
@secretariat_only
def import_upload(organization_id):
    """Check the file, keep it, show what it would do."""
    place = _import_place(organization_id)
    return import_pages.upload(place)


@bp.route("/organizations/<int:organization_id>/import/photos", methods=["POST"])
@secretariat_only
def import_photos(organization_id):
    """Badge photos in bulk for this organization: a ZIP named by passport numbers."""
    place = _import_place(organization_id)
    return import_pages.photos(place)


@bp.route(
    "/organizations/<int:organization_id>/import/<participant_import_id>", methods=["GET", "POST"]
)
@secretariat_only
def import_preview(organization_id, participant_import_id):
    """What the file would do (GET), and its confirmation (POST)."""
    place = _import_place(organization_id)
    if request.method == "POST":
        return import_pages.confirm(place, participant_import_id)
    return import_pages.preview(place, participant_import_id)


# The coordinators' participant form, entered on the organization's behalf (a registration sent
# on paper or by e-mail): the same views, template, rules and save (portal/delegation/views.py).


@bp.route("/organizations/<int:organization_id>/participants/new", methods=["GET", "POST"])
@secretariat_only
def entry_new(organization_id):
    """Add a participant to this organization's delegation."""
    enter_for(_organization_or_404(organization_id).id)
    return new_participant()


@bp.route(
    "/organizations/<int:organization_id>/participants/<int:pid>/edit", methods=["GET", "POST"]
)
@secretariat_only
def entry_edit(organization_id, pid):
    """Change a participant of this organization's delegation (404 for another's)."""
    enter_for(_organization_or_404(organization_id).id)
    return edit_participant(pid)


@bp.route("/organizations/<int:organization_id>/coordinators", methods=["POST"])
@secretariat_only
def add_coordinator(organization_id):
    """Add a coordinator to an organization, and e-mail a link to set the password."""
    organization = _organization_or_404(organization_id)
    form = CoordinatorForm()
    if form.validate():
        try:
            account = create_coordinator(
                _actor(),
                organization.id,
                form.username.data,
                form.given_name.data,
                form.family_name.data,
                form.email.data,
                form.language.data,
            )
        except DomainError as error:
            getattr(form, error.field or "username").errors.append(error.message)
        else:
            flash(_("The account %(username)s is created.", username=account.username), "ok")
            if form.send_link.data:
                _send_link(account, True)
            url = url_for(".organization", organization_id=organization.id)
            return see_other(url)
    return _organization_page(organization, coordinator_form=form, status=422)


# -- Settings ------------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@secretariat_only
def settings():
    """The event: names, dates, venue, registration window, notification mode."""
    event = _event()
    form = EventForm(obj=event)
    if request.method == "POST":
        if form.validate():
            try:
                update_event(_actor(), **{name: form[name].data for name in EVENT_FIELDS})
            except DomainError as error:
                form[error.field].errors.append(error.message)
            else:
                flash(_("The settings are saved."), "ok")
                return see_other(url_for(".settings"))
        return render_page("secretariat/settings.html", "form", status=422, form=form)
    if event is None:
        form.registration_opens_on.data = dt.date(2005, 9, 1)
        form.starts_on.data = dt.date(2005, 11, 16)
        form.ends_on.data = dt.date(2005, 11, 18)
        form.notification_mode.data = "immediate"
    return render_page("secretariat/settings.html", "form", form=form)


# -- Accounts ------------------------------------------------------------------------------------


@bp.route("/accounts")
@secretariat_only
def accounts():
    """Every account: search, lock and unlock, one-time password links."""
    page = _page()
    found, total = listings.search_accounts(text_arg("q", 100), page)
    return render_page(
        "secretariat/accounts.html",
        "results",
        accounts=found,
        total=total,
        page=page,
        pages=max(1, -(-total // listings.PAGE_SIZE)),
        roles=ROLES,
        languages=LANGUAGES,
        now=clock.now(),
        args=request.args,
    )


def _back_to_accounts():
    return safe_next(request.form.get("next"), url_for(".accounts"))


@bp.route("/accounts/<int:account_id>/access", methods=["POST"])
@secretariat_only
def account_access(account_id):
    """Lock an account (it may not sign in) or unlock it."""
    action = request.form.get("action", "")
    try:
        account = set_account_access(_actor(), account_id, action)
    except DomainError as error:
        flash(error.message, "error")
    else:
        if action == LOCK:
            flash(_("%(username)s may not sign in any more.", username=account.username), "ok")
        else:
            flash(_("%(username)s may sign in again.", username=account.username), "ok")
    return see_other(_back_to_accounts())


def _send_link(account, send_email):
    """Issue a one-time password link; tell the reviewer what happened. Return the URL."""
    try:
        url = issue_password_link(account, _actor(), send_email=send_email)
    except DomainError as error:
        flash(error.message, "error")
        return None
    if send_email:
        flash(_("A link to set the password was sent to %(email)s.", email=account.email), "ok")
    return url


@bp.route("/accounts/import", methods=["GET", "POST"])
@secretariat_only
def accounts_import():
    """Import a PrepCom export from the browser: all rows or none, with the same report."""
    form = ImportForm()
    report = None
    status = 200
    if request.method == "POST":
        if form.validate():
            data = form.file.data.read()
            report = prepcom.import_accounts(
                data,
                dry_run=bool(form.dry_run.data),
                actor=_actor(),
                source=(form.file.data.filename or "")[:100],
            )
            status = 200 if report.ok else 422
        else:
            status = 422
    return render_page("secretariat/import.html", "result", status=status, form=form, report=report)


# -- Exports -------------------------------------------------------------------------------------


def _export_filters():
    organization = None
    organization_id = int_arg("organization")
    if organization_id:
        organization = _organization_or_404(organization_id)
    status = request.args.get("status", "")
    if status and status not in STATUSES:
        abort(404)
    return organization, status or None


@bp.route("/exports")
@secretariat_only
def exports_page():
    """Choose what to export, and as what."""
    organization, status = _export_filters()
    return render_page(
        "secretariat/exports.html", organization=organization, status=status, statuses=STATUSES
    )


@bp.route("/exports/participants.csv")
@secretariat_only
def export_csv():
    """The participants as CSV (UTF-8 with BOM), streamed."""
    organization, status = _export_filters()
    chunks = exports.csv_chunks(organization.id if organization else None, status)
    response = Response(stream_with_context(chunks), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = "attachment; filename=%s" % exports.filename(
        "csv", organization, status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/exports/participants.xlsx")
@secretariat_only
def export_xlsx():
    """The participants as an XLSX workbook, built in a temporary file and streamed."""
    organization, status = _export_filters()
    out = exports.xlsx_file(organization.id if organization else None, status)
    size = out.seek(0, 2)
    out.seek(0)
    response = Response(
        FileWrapper(out),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        direct_passthrough=True,
    )
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = "attachment; filename=%s" % exports.filename(
        "xlsx", organization, status
    )
    response.headers["Cache-Control"] = "no-store"
    response.call_on_close(out.close)
    return response


# -- Audit ---------------------------------------------------------------------------------------


def _date_arg(name):
    try:
        return dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.route("/audit")
@secretariat_only
def audit():
    """The audit log: who did what, when, from where; filter and page."""
    page = _page()
    rows, total = listings.audit_log(
        action=text_arg("action"),
        username=text_arg("account", 150),
        organization_id=int_arg("organization"),
        since=_date_arg("since"),
        until=_date_arg("until"),
        page=page,
    )
    return render_page(
        "secretariat/audit.html",
        "results",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // listings.PAGE_SIZE)),
        actions=listings.audit_actions(),
        args=request.args,
    )


# -- E-mail ----------------------------------------------------------------------------------------


@bp.route("/mail")
@secretariat_only
def mail_queue():
    """The outbox: how many e-mails wait or failed, and why the failed ones failed."""
    return render_page(
        "secretariat/mail.html",
        counts=mail.counts(),
        oldest=mail.oldest_waiting(),
        failed=mail.failed_messages(),
        hours=round(mail.retry_window().total_seconds() / 3600),
    )


@bp.route("/mail/retry", methods=["POST"])
@secretariat_only
def mail_retry():
    """Queue the failed e-mails again."""
    number = mail.retry_failed(_actor())
    flash(ngettext("%(num)d e-mail queued again.", "%(num)d e-mails queued again.", number), "ok")
    return see_other(url_for(".mail_queue"))
