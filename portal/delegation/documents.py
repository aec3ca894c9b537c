"""The coordinator's documents: a delegate's letter (confirmation of accreditation and visa
support) and the delegation's list of participants, as a page and as a PDF, rendered on demand.
Which participants a coordinator reaches: ``participants.get_participant`` (404 otherwise)."""

from flask import abort, request
from flask_login import current_user

from ..access import coordinator_only
from ..documents.responses import pdf_response
from ..i18n import current_language
from ..services import letters, lists
from ..templating import render_page
from .views import bp


def letter_language():
    """The ``lang`` asked for a letter or a list (the page's language when absent); 400 for
    anything but fr, en or ar."""
    value = request.args.get("lang", "")
    if not value:
        return current_language()
    if value not in letters.LANGUAGES:
        abort(400)
    return value


@bp.route("/delegation/participants/<int:pid>/letter.pdf")
@coordinator_only
def participant_letter(pid):
    """A delegate's letter, in the language asked for."""
    data, name = letters.letter(current_user._get_current_object(), pid, letter_language())
    return pdf_response(data, name)


def _organization():
    account = current_user._get_current_object()
    return lists.organization_for(account, account.organization_id)


@bp.route("/delegation/list")
@coordinator_only
def accredited_list():
    """The delegation's list of participants: the accredited ones, head of delegation first."""
    organization = _organization()
    rows = lists.of_organization(organization)
    return render_page(
        "documents/list_page.html",
        organization=organization,
        groups=[lists.Group(organization, rows)] if rows else [],
        total=len(rows),
        pdf_endpoint="delegation.accredited_list_pdf",
        pdf_args={},
        **lists.page_context(),
    )


@bp.route("/delegation/list.pdf")
@coordinator_only
def accredited_list_pdf():
    organization = _organization()
    language = letter_language()
    return pdf_response(
        lists.organization_pdf(organization, language), lists.filename(language, organization)
    )
