"""The event's settings and the organizations' own (quota, Arabic name), set by the secretariat."""

from flask_babel import lazy_gettext as _l

from ..db import database
from ..models import Event, Organization, utcnow
from . import DomainError, audit

EVENT_FIELDS = (
    "name_en",
    "name_fr",
    "name_ar",
    "venue_en",
    "venue_fr",
    "venue_ar",
    "starts_on",
    "ends_on",
    "registration_opens_on",
    "registration_closes_on",
    "notification_mode",
)
NOTIFICATION_MODES = {
    "immediate": _l("One e-mail per decision"),
    "digest": _l("One e-mail a day per coordinator (digest)"),
}


def update_event(actor, **values):
    """Change the event's settings; every worker reads them from the database on each request."""
    values = {k: v for k, v in values.items() if k in EVENT_FIELDS}
    if values.get("notification_mode", "immediate") not in NOTIFICATION_MODES:
        raise DomainError(_l("Unknown notification mode."), field="notification_mode")
    if values["ends_on"] < values["starts_on"]:
        raise DomainError(_l("The event cannot end before it starts."), field="ends_on")
    if values["registration_closes_on"] < values["registration_opens_on"]:
        raise DomainError(
            _l("Registration cannot close before it opens."), field="registration_closes_on"
        )
    with database.atomic():
        event = Event.select().order_by(Event.id).first()
        if event is None:
            event = Event(**values)
            changed = sorted(values)
        else:
            changed = sorted(k for k, v in values.items() if getattr(event, k) != v)
            for k, v in values.items():
                setattr(event, k, v)
        event.save()
        audit.record("event.update", account=actor, obj=event, fields=changed)
    return event


def update_organization(actor, organization_id, quota, name_ar):
    """Set an organization's quota (None: no limit) and Arabic name (empty: French shown)."""
    if quota is not None and quota < 0:
        raise DomainError(_l("The quota cannot be negative."), field="quota")
    name_ar = (name_ar or "").strip() or None
    with database.atomic():
        organization = Organization.get_by_id(organization_id)
        changed = []
        if organization.quota != quota:
            changed.append("quota")
        if organization.name_ar != name_ar:
            changed.append("name_ar")
        organization.quota = quota
        organization.name_ar = name_ar
        organization.updated_at = utcnow()
        organization.save()
        audit.record(
            "organization.update",
            account=actor,
            obj=organization,
            organization=organization.id,
            fields=changed,
            quota=quota,
        )
    return organization
