"""The event's settings and the organizations' own (quota, names and acronyms), set by the
secretariat."""

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


#: What the secretariat may name: required names, optional Arabic name and acronyms.
ORGANIZATION_NAMES = ("name_en", "name_fr", "name_ar", "acronym_en", "acronym_fr", "acronym_ar")


def update_organization(actor, organization_id, quota, name_ar=None, **names):
    """Set an organization's quota (None: no limit) and, among its names and acronyms
    (``ORGANIZATION_NAMES``), those given: an empty Arabic name or acronym means none (the
    fallbacks of ``Organization`` then apply); English and French names are required."""
    if quota is not None and quota < 0:
        raise DomainError(_l("The quota cannot be negative."), field="quota")
    unknown = set(names) - set(ORGANIZATION_NAMES)
    if unknown:
        raise TypeError("unknown organization fields: %s" % ", ".join(sorted(unknown)))
    if name_ar is not None:
        names["name_ar"] = name_ar
    values = {k: (v or "").strip() for k, v in names.items() if v is not None}
    for required in ("name_en", "name_fr"):
        if required in values and not values[required]:
            raise DomainError(_l("This name is required."), field=required)
    if "name_ar" in values:
        values["name_ar"] = values["name_ar"] or None
    with database.atomic():
        organization = Organization.get_by_id(organization_id)
        changed = []
        if organization.quota != quota:
            changed.append("quota")
        for k, v in values.items():
            if getattr(organization, k) != v:
                changed.append(k)
            setattr(organization, k, v)
        organization.quota = quota
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
