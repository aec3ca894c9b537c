"""The secretariat's documents: any accredited delegate's letter, any organization's list of
participants, the summit's list (rendered by the documents worker), print runs of badges, and
the page of a document job (its progress, its problems, its PDF)."""

from flask import request, url_for
from flask_login import current_user

from ..access import secretariat_only
from ..delegation.documents import letter_language
from ..documents.responses import pdf_response
from ..i18n import current_language
from ..models import JOB_QUEUED, JOB_RUNNING
from ..params import page_arg
from ..services import DomainError, jobs, letters, lists, print_runs
from ..templating import render_page, see_other
from .forms import ListForm, PrintRunForm
from .views import bp


def _actor():
    return current_user._get_current_object()


@bp.route("/participants/<int:participant_id>/letter.pdf")
@secretariat_only
def participant_letter(participant_id):
    """A delegate's letter, in the language asked for."""
    data, name = letters.letter(_actor(), participant_id, letter_language())
    return pdf_response(data, name)


# -- Lists of participants ----------------------------------------------------------------------


@bp.route("/organizations/<int:organization_id>/list")
@secretariat_only
def organization_list(organization_id):
    organization = lists.organization_for(_actor(), organization_id)
    rows = lists.of_organization(organization)
    return render_page(
        "documents/list_page.html",
        organization=organization,
        groups=[lists.Group(organization, rows)] if rows else [],
        total=len(rows),
        pdf_endpoint="secretariat.organization_list_pdf",
        pdf_args={"organization_id": organization.id},
        **lists.page_context(),
    )


@bp.route("/organizations/<int:organization_id>/list.pdf")
@secretariat_only
def organization_list_pdf(organization_id):
    organization = lists.organization_for(_actor(), organization_id)
    language = letter_language()
    return pdf_response(
        lists.organization_pdf(organization, language), lists.filename(language, organization)
    )


def _summit_page(form=None, status=200):
    groups, total, pages, page = lists.summit_page(current_language(), page_arg())
    return render_page(
        "documents/list_page.html",
        "rows",
        status=status,
        organization=None,
        groups=groups,
        total=total,
        pages=pages,
        page=page,
        form=form or ListForm(language=current_language()),
        jobs=jobs.recent_jobs(["summit_list"], limit=5),
        job_states=jobs.STATE_LABELS,
        **lists.page_context(),
    )


@bp.route("/list")
@secretariat_only
def summit_list():
    """The summit's list of participants, a page at a time; its PDF is made in the background."""
    return _summit_page()


@bp.route("/list", methods=["POST"])
@secretariat_only
def summit_list_queue():
    form = ListForm()
    if not form.validate():
        return _summit_page(form, 422)
    job = lists.queue_summit(_actor(), form.language.data)
    return see_other(url_for("secretariat.document_job", job_id=job.id))


# -- Print runs -------------------------------------------------------------------------------


def _print_page(form=None, status=200, message=None):
    if form is None:
        form = PrintRunForm(formdata=None)
        code = request.args.get("organization", "")[:32]
        if code:
            form.organization.data, form.scope.data = code, "organization"
    return render_page(
        "secretariat/print_runs.html",
        status=status,
        form=form,
        message=message,
        waiting=print_runs.waiting_count(),
        jobs=jobs.recent_jobs(["badges"]),
        job_states=jobs.STATE_LABELS,
    )


@bp.route("/badges")
@secretariat_only
def print_runs_page():
    """Start a print run of badges; the runs of late."""
    return _print_page()


@bp.route("/badges", methods=["POST"])
@secretariat_only
def print_run_queue():
    """Queue a print run (the documents worker renders it); go to its page."""
    form = PrintRunForm()
    if not form.validate():
        return _print_page(form, 422)
    try:
        job = print_runs.queue(
            _actor(),
            form.scope.data,
            form.size.data,
            current_language(),
            organization_id=form.organization_id(),
            ids=form.participant_ids(),
        )
    except DomainError as exc:
        return _print_page(form, exc.status, message=exc.message)
    return see_other(url_for("secretariat.document_job", job_id=job.id))


# -- A document job ---------------------------------------------------------------------------


@bp.route("/documents/<int:job_id>")
@secretariat_only
def document_job(job_id):
    """A job's progress (HTMX polls the "job" block while it runs), problems and PDF."""
    job = jobs.get_job(job_id)
    return render_page(
        "secretariat/document_job.html",
        "job",
        job=job,
        working=job.state in (JOB_QUEUED, JOB_RUNNING),
        problems=jobs.problems_of(job),
        kinds=jobs.KIND_LABELS,
        job_states=jobs.STATE_LABELS,
        failure=jobs.failure_text(job) if job.error else "",
    )


@bp.route("/documents/<int:job_id>/document.pdf")
@secretariat_only
def document_file(job_id):
    stored = jobs.file_of(jobs.get_job(job_id))
    return pdf_response(stored.data, stored.filename)
