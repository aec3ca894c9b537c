"""The list of participants: accredited participants only, by organization, the head of
delegation first, with their names in Latin and in their original script and their function.

One organization's list (its coordinators, the secretariat) is a page and a PDF rendered on
demand; the summit's list (the secretariat) is a page a few rows at a time and a PDF rendered
by the documents worker (``portal.services.jobs``) in chunks of ``DOCUMENTS_LIST_CHUNK``
participants joined with pypdf, so that the worker's memory stays bounded whatever the size.
"""

from dataclasses import dataclass

from flask import current_app
from peewee import fn

from ..models import (
    ACCREDITED,
    COURTESY_TITLES,
    LANGUAGES,
    Event,
    Organization,
    Participant,
    utcnow,
)
from . import NotFound
from .jobs import Result, enqueue, kind

#: Rows of the summit's list on one page of the portal.
PAGE_SIZE = 100

COLUMNS = (
    Participant.id,
    Participant.organization,
    Participant.courtesy_title,
    Participant.family_name,
    Participant.given_names,
    Participant.family_name_original,
    Participant.given_names_original,
    Participant.function,
    Participant.is_head,
)


def page_context():
    """What the list's templates need besides the rows."""
    return {"titles": COURTESY_TITLES, "languages": LANGUAGES}


def organization_for(account, organization_id):
    """Return the organization whose list ``account`` may see: a coordinator's own, any for the
    secretariat; NotFound otherwise."""
    if not account.is_secretariat and account.organization_id != organization_id:
        raise NotFound()
    organization = Organization.get_or_none(Organization.id == organization_id)
    if organization is None:
        raise NotFound()
    return organization


def _organization_order(language):
    """Organizations in the order of their names in ``language`` (the names' own fallbacks)."""
    if language == "ar":
        return [fn.COALESCE(Organization.name_ar, Organization.name_fr), Organization.id]
    if language == "en":
        return [Organization.name_en, Organization.id]
    return [Organization.name_fr, Organization.id]


def _participants(query):
    """Accredited participants of ``query``'s scope, head of delegation first, then by name."""
    return query.where(Participant.status == ACCREDITED).order_by(
        Participant.is_head.desc(),
        fn.LOWER(Participant.family_name),
        fn.LOWER(Participant.given_names),
        Participant.id,
    )


def of_organization(organization):
    """Return the organization's accredited participants, head of delegation first."""
    return list(
        _participants(
            Participant.select(*COLUMNS).where(Participant.organization == organization.id)
        )
    )


def _summit_query(language):
    return (
        Participant.select(*COLUMNS)
        .join(Organization)
        .where(Participant.status == ACCREDITED)
        .order_by(
            *_organization_order(language),
            Participant.is_head.desc(),
            fn.LOWER(Participant.family_name),
            fn.LOWER(Participant.given_names),
            Participant.id,
        )
    )


def summit_count():
    return Participant.select().where(Participant.status == ACCREDITED).count()


@dataclass
class Group:
    """One organization's rows on a page of the summit's list (``continued``: its first rows
    were on an earlier page)."""

    organization: Organization
    rows: list
    continued: bool = False


def _organizations(ids):
    return {o.id: o for o in Organization.select().where(Organization.id.in_(sorted(ids)))}


def _grouped(rows, previous_organization_id=None):
    """Group ``rows`` (in list order) by organization."""
    organizations = _organizations({r.organization_id for r in rows})
    groups = []
    for row in rows:
        if not groups or groups[-1].organization.id != row.organization_id:
            organization = organizations[row.organization_id]
            continued = not groups and previous_organization_id == row.organization_id
            groups.append(Group(organization, [], continued))
        groups[-1].rows.append(row)
    return groups


def summit_page(language, page=1, per_page=None):
    """Return ``(groups, total, pages, page)``: one page of the summit's list."""
    per_page = per_page or PAGE_SIZE
    total = summit_count()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    offset = (page - 1) * per_page
    rows = list(_summit_query(language).offset(offset).limit(per_page))
    before = None
    if offset:
        before = _summit_query(language).offset(offset - 1).limit(1).first()
    return _grouped(rows, before.organization_id if before else None), total, pages, page


# -- PDF ----------------------------------------------------------------------------------------


def _render(language, **context):
    from ..documents.pdf import render_pdf  # noqa: PLC0415 - loads WeasyPrint

    return render_pdf(
        "documents/list.html",
        lang=language,
        event=Event.current(),
        printed_on=utcnow().date(),
        **page_context(),
        **context,
    )


def organization_pdf(organization, language):
    """Render one organization's list to PDF, on demand (a delegation fits a few pages)."""
    rows = of_organization(organization)
    groups = [Group(organization, rows)] if rows else []
    return _render(language, groups=groups, total=len(rows), scope=organization)


def filename(language, organization=None):
    name = organization.code if organization is not None else "summit"
    return "participants-%s-%s.pdf" % (name, language)


def queue_summit(actor, language):
    """Queue the summit's list in ``language`` for the documents worker; return the job."""
    return enqueue("summit_list", {"language": language}, actor, total=summit_count())


@kind("summit_list")
def render_summit(job, parameters, progress):
    """Render the summit's list a chunk of participants at a time (in DOCUMENTS_RENDER_PROCESSES
    processes side by side), joined into one PDF numbered across: who is on it is read once, at
    the start (a participant accredited meanwhile waits for the next list)."""
    from ..documents.chunks import join  # noqa: PLC0415 - loads WeasyPrint
    from ..documents.pdf import render_html  # noqa: PLC0415
    from ..i18n import text_direction  # noqa: PLC0415

    language = parameters.get("language") or "fr"
    config = current_app.config
    size = int(config["DOCUMENTS_LIST_CHUNK"])
    ids = [pid for (pid,) in _summit_query(language).select(Participant.id).tuples()]
    total = len(ids)
    starts = list(range(0, max(total, 1), size))
    progress(0, total)
    event = Event.current()
    today = utcnow().date()

    def htmls():
        previous = None
        for start in starts:
            part = ids[start : start + size]
            found = {r.id: r for r in Participant.select(*COLUMNS).where(Participant.id.in_(part))}
            rows = [found[i] for i in part if i in found]
            yield render_html(
                "documents/list.html",
                lang=language,
                event=event,
                printed_on=today,
                groups=_grouped(rows, previous),
                total=total,
                scope=None,
                cover=start == 0,
                numbered=False,
                **page_context(),
            )
            if rows:
                previous = rows[-1].organization_id

    data = join(
        htmls(),
        processes=int(config["DOCUMENTS_RENDER_PROCESSES"]),
        progress=lambda index: progress(min((index + 1) * size, total), total),
        lang=language,
        dir=text_direction(language),
    )
    return Result(data, filename(language))
