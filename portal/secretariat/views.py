"""The secretariat's side: overview, review queue, settings, accounts, exports, audit."""

from flask import Blueprint

from ..access import secretariat_only
from ..models import Organization
from ..templating import render_page

bp = Blueprint("secretariat", __name__)


@bp.route("/")
@secretariat_only
def overview():
    """List every organization and where its delegation stands."""
    organizations = Organization.select().order_by(Organization.code)
    return render_page("secretariat/overview.html", organizations=organizations)
