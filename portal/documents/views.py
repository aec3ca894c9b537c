"""Documents on the web: the public verification page of badges and letters, and a badge
downloaded on demand."""

from flask import Blueprint, abort, current_app, flash, render_template, request
from flask_login import current_user

from ..access import public, secretariat_only, signed_in
from ..models import ROLE_SECRETARIAT, Photo
from ..services import DomainError, audit, badges, participants, verification
from .badges import SIZES
from .forms import BadgeForm

bp = Blueprint("documents", __name__)


@bp.route("/verify/<token>")
@public
def verify(token):
    """What a guard or an embassy needs to know about a badge or a letter: whose it is, for
    which organization, whether it is valid (and a letter's dates); the photo only for the
    secretariat. An unknown token gets the portal's plain "not found" page."""
    found, wait = verification.check(token, audit.client_address())
    if wait:
        response = current_app.make_response(_refused())
        response.status_code = 429
        response.headers["Retry-After"] = str(wait)
        return response
    if found is None:
        from ..errors import render_error  # noqa: PLC0415

        return render_error(404)
    participant = found.participant
    photo = None
    if current_user.is_authenticated and current_user.role == ROLE_SECRETARIAT:
        photo = Photo.select(Photo.digest).where(Photo.participant == participant.id).scalar()
    response = current_app.make_response(
        render_template(
            "documents/verify.html",
            token=found,
            participant=participant,
            organization=participant.organization,
            state=found.state(participant),
            photo_digest=photo,
        )
    )
    # A verification is answered now, never from a cache, and its address is not sent on.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _refused():
    from ..errors import render_error  # noqa: PLC0415

    body, _code = render_error(429)
    return body


# -- A badge on demand ----------------------------------------------------------------------------


def _pdf(data, filename):
    response = current_app.response_class(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = 'attachment; filename="%s"' % filename
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/secretariat/participants/<int:participant_id>/badge", methods=["POST"])
@secretariat_only
def print_badge(participant_id):
    """Print one participant's badge (a first print, or with ``reprint`` a replacement that
    revokes the lost one): the PDF itself, or the participant's page saying why not."""
    participant = participants.get_participant(current_user, participant_id)
    form = BadgeForm()
    reprint = request.form.get("reprint") == "1"
    if not form.validate():
        abort(422)
    try:
        data = badges.print_one(participant, current_user, form.size.data, reprint=reprint)
    except DomainError as exc:
        from ..secretariat.views import participant_page  # noqa: PLC0415

        flash(str(exc.message), "error")
        return participant_page(participant, status=422)
    fresh = participants.get_participant(current_user, participant_id)
    return _pdf(data, "badge-%s.pdf" % fresh.badge_number)


@bp.route("/participants/<int:participant_id>/badge-specimen.pdf")
@signed_in
def badge_specimen(participant_id):
    """A specimen of a participant's badge, to check how the names come out: for the
    participant's coordinators and the secretariat (404 for anyone else); no QR code, marked
    as not valid, nothing recorded."""
    participant = participants.get_participant(current_user, participant_id)
    size = request.args.get("size", "cr80")
    if size not in SIZES:
        abort(404)
    data = badges.preview(participant, size)
    return _pdf(data, "badge-specimen-%d.pdf" % participant.id)
