"""Documents on the web: the public verification page of badges and letters, and a badge
downloaded on demand."""

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from ..access import public
from ..models import ROLE_SECRETARIAT, Photo
from ..services import audit, verification

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
