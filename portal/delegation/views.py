"""The coordinator's side: the dashboard, the participant list and form."""

from flask import Blueprint
from flask_login import current_user
from peewee import fn

from ..access import coordinator_only
from ..models import STATUSES, Event, Participant
from ..services.participants import participants_for
from ..templating import render_page

bp = Blueprint("delegation", __name__)


@bp.route("/delegation")
@coordinator_only
def dashboard():
    """Show the organization, the event, and the delegation at a glance."""
    account = current_user._get_current_object()
    counts = dict(
        participants_for(account)
        .select(Participant.status, fn.COUNT(Participant.id))
        .group_by(Participant.status)
        .tuples()
    )
    head = participants_for(account).where(Participant.is_head).first()
    return render_page(
        "delegation/dashboard.html",
        "counts",
        organization=account.organization,
        event=Event.get_or_none(),
        counts=counts,
        statuses=STATUSES,
        head=head,
    )
