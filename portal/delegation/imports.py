"""Importing participants from a spreadsheet: the pages, shared by the coordinator (their own
delegation, ``/delegation/import``) and the secretariat entering on an organization's behalf
(``/secretariat/organizations/<id>/import``). Each blueprint declares its routes and access,
names the organization, and calls here; the service (portal/services/imports.py) checks and
imports."""

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from ..i18n import current_language
from ..models import Event
from ..params import page_arg
from ..services import DomainError, imports, photo_archives, spreadsheets
from ..templating import render_page

#: Rows of the preview per page (a 500-row file: 10 pages of about 3 KB compressed).
PER_PAGE = 50


class Place:
    """Where the import pages are: the coordinator's delegation, or an organization's page
    of the secretariat; builds their addresses."""

    def __init__(self, blueprint, organization):
        self.blueprint = blueprint
        self.organization = organization
        self.for_secretariat = blueprint == "secretariat"

    @property
    def organization_id(self):
        return self.organization.id

    def url(self, name, **values):
        if self.for_secretariat:
            values["organization_id"] = self.organization.id
        return url_for("%s.import_%s" % (self.blueprint, name), **values)

    def back(self):
        if self.for_secretariat:
            return url_for("secretariat.organization", organization_id=self.organization.id)
        return url_for("delegation.participant_list")


def _actor():
    return current_user._get_current_object()


def _event():
    event = getattr(_actor(), "current_event", None)
    return event if event is not None else Event.current()


def _page(place, status=200, message=None, found=None, photo_report=None, **context):
    report = imports.report_of(found) if found is not None else None
    shown, pages, page = [], 1, 1
    if report is not None:
        rows = report["rows"]
        if report["counts"]["error"]:
            rows = [r for r in rows if r["action"] == "error"]
        pages = max(1, -(-len(rows) // PER_PAGE))
        page = min(page_arg(), pages)
        shown = rows[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_page(
        "delegation/import.html",
        status=status,
        place=place,
        organization=place.organization,
        message=message,
        found=found,
        report=report,
        photo_report=photo_report,
        result=imports.result_of(found) if found is not None else None,
        shown=shown,
        page=page,
        pages=pages,
        columns=imports.headings(current_language()),
        limit=spreadsheets.MAX_ROWS,
        size=spreadsheets.MAX_FILE_BYTES // (1024 * 1024),
        **context,
    )


def start(place):
    """The page: the template to download, and the file to send."""
    return _page(place)


def template(place, extension):
    """The template in the page's language, as XLSX or CSV."""
    language = current_language()
    if extension == "xlsx":
        body = imports.template_xlsx(language)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        body = imports.template_csv(language)
        mimetype = "text/csv; charset=utf-8"
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = "attachment; filename=participants-%s.%s" % (
        language,
        extension,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The same address in each language: never kept past a language change.
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _uploaded():
    """The uploaded file's name and bytes, read no further than the limit (+1 to tell)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None, None
    return upload.filename, upload.read(spreadsheets.MAX_FILE_BYTES + 1)


def upload(place):
    """Check the uploaded file and keep it; then show the preview (303), or why not (422)."""
    try:
        filename, data = _uploaded()
    except RequestEntityTooLarge:
        filename, data = "", None
    if filename is None:
        return _page(place, 422, _("Choose the file to send."))
    try:
        found = imports.upload(_actor(), place.organization_id, filename, data, _event())
    except spreadsheets.Refused as exc:
        return _page(place, 422, exc.message)
    return redirect(place.url("preview", participant_import_id=found.id), 303)


def preview(place, import_id):
    """What the file would do, row by row, and every error; or, once imported, what it did."""
    found = imports.get_import(_actor(), place.organization_id, import_id)
    return _page(place, found=found)


def confirm(place, import_id):
    """Import the checked file: all rows or none, once."""
    try:
        result, replayed = imports.confirm(
            _actor(),
            place.organization_id,
            import_id,
            _event(),
            submit=request.form.get("submit") == "1",
        )
    except imports.Changed as exc:
        found = imports.get_import(_actor(), place.organization_id, import_id)
        return _page(place, exc.status, exc.message, found=found)
    except DomainError as exc:
        if exc.status == 404:
            raise
        found = imports.get_import(_actor(), place.organization_id, import_id)
        return _page(place, exc.status, exc.message, found=found)
    if replayed:
        flash(_("This file was imported already: nothing more was done."), "message")
    else:
        flash(done_message(result), "ok")
    return redirect(place.url("preview", participant_import_id=import_id), 303)


def done_message(result):
    return _(
        "Imported: %(created)s created, %(updated)s updated, %(same)s unchanged.",
        created=result["created"],
        updated=result["updated"],
        same=result["same"],
    )


def photos(place):
    """Badge photos in bulk: a ZIP of photos named by passport number; what was saved, and
    each file left out with why."""
    upload = request.files.get("photos")
    if upload is None or not upload.filename:
        return _page(place, 422, _("Choose the file to send."))
    data = upload.read(current_app.config["MAX_CONTENT_LENGTH"] + 1)
    try:
        report = photo_archives.attach_photos(
            _actor(), place.organization_id, data, _event(), current_app.config["MAX_PHOTO_BYTES"]
        )
    except photo_archives.ArchiveRefused as exc:
        return _page(place, 422, exc.message)
    return _page(place, photo_report=report)
