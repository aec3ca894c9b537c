"""Demo data: an event open for registration now, the PrepCom sample's organizations and
coordinators (with what the export lacks: Arabic names, acronyms in each language), a
secretariat account, and a few participants."""

import csv
import datetime as dt
import os

from .db import database
from .models import (
    ACCREDITED,
    DRAFT,
    SUBMITTED,
    Account,
    Event,
    Organization,
    Participant,
    utcnow,
)
from .services import prepcom
from .services.accounts import create_secretariat, find_account

SAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo", "accounts-sample.csv")
#: What the PrepCom export does not hold, per organization code: Arabic names, and acronyms in
#: each language (empty where the language has none: the name stands in).
ORGANIZATIONS = os.path.join(os.path.dirname(SAMPLE), "organizations.csv")
SECRETARIAT_USERNAME = "secretariat"
SECRETARIAT_PASSWORD = "Secretariat-2005"  # noqa: S105 - documented demo password

TUNIS_EVENT = {
    "name_en": "World Summit on the Information Society, Tunis phase",
    "name_fr": "Sommet mondial sur la société de l'information, phase de Tunis",
    "name_ar": "القمة العالمية لمجتمع المعلومات، مرحلة تونس",
    "venue_en": "Kram Palexpo, Tunis",
    "venue_fr": "Palais des expositions du Kram, Tunis",
    "venue_ar": "قصر المعارض بالكرم، تونس",
    "starts_on": dt.date(2005, 11, 16),
    "ends_on": dt.date(2005, 11, 18),
}


def ensure_event(opens_on=None, closes_on=None):
    """Create the Tunis event if there is none; return it."""
    event = Event.get_or_none()
    if event is None:
        event = Event.create(
            registration_opens_on=opens_on or dt.date(2005, 9, 1),
            registration_closes_on=closes_on or dt.date(2005, 10, 28),
            **TUNIS_EVENT,
        )
    return event


def _demo_details(n, nationality, status):
    """Passport and travel data for a demo participant (the last draft is left incomplete)."""
    if status == DRAFT and n == 2:
        return {"date_of_birth": dt.date(1975, 5, 17)}
    number = "%s%07d" % (nationality, 4500000 + 1371 * n)
    return {
        "date_of_birth": dt.date(1937 + 11 * n, 1 + n, 2 + n),
        "passport_number": number,
        "passport_country": nationality,
        "passport_expiry": dt.date(2009, 3, 31),
        "email": "participant%d@unesco.example" % (n + 1),
        "mobile": "+3314568%04d" % (1000 + n),
        "arrival_date": dt.date(2005, 11, 15),
        "departure_date": dt.date(2005, 11, 19),
        "visa_required": n == 2,
        "visa_place": "Embassy of Tunisia, Amman" if n == 2 else "",
    }


def _demo_portrait(n):
    """A plain badge-like portrait drawn with Pillow (a head and shoulders on a light ground)."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 800), (225, 232, 240))
    draw = ImageDraw.Draw(image)
    skin = [(224, 184, 150), (198, 150, 110), (150, 105, 75)][n % 3]
    draw.ellipse((80, 560, 520, 1000), fill=[(40, 50, 80), (90, 40, 50), (40, 80, 60)][n % 3])
    draw.ellipse((190, 180, 410, 470), fill=skin)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def complete_organizations():
    """Give the demo organizations their Arabic names and their acronyms in each language."""
    with open(ORGANIZATIONS, encoding="utf-8", newline="") as fh, database.atomic():
        for row in csv.DictReader(fh):
            values = {k: v for k, v in row.items() if k != "code"}
            Organization.update(**values).where(Organization.code == row["code"]).execute()


def load():
    """Load the demo data; return a short report."""
    today = utcnow().date()
    with database.atomic():
        event = ensure_event(today - dt.timedelta(days=7), today + dt.timedelta(days=60))
        event.registration_opens_on = today - dt.timedelta(days=7)
        event.registration_closes_on = today + dt.timedelta(days=60)
        event.save()
    with open(SAMPLE, "rb") as fh:
        report = prepcom.import_accounts(fh.read())
    if not report.ok:
        raise RuntimeError("; ".join(str(e) for e in report.errors))
    complete_organizations()
    if not find_account(SECRETARIAT_USERNAME):
        create_secretariat(
            SECRETARIAT_USERNAME,
            SECRETARIAT_PASSWORD,
            given_name="Registration",
            family_name="Service",
            email="registration@itu.example",
        )
    with database.atomic():
        unesco = Organization.get(Organization.code == "UNESCO")
        if not Participant.select().where(Participant.organization == unesco).exists():
            coordinator = Account.get(Account.username_key == "unesco.dfp")
            people = [
                ("he", "MATSUURA", "Koichiro", "m", "Director-General", True, "JP", SUBMITTED),
                ("ms", "LEFÈVRE", "Hélène", "f", "Focal point", False, "FR", DRAFT),
                ("dr", "AL-HASHIMI", "Layla", "f", "Programme specialist", False, "JO", DRAFT),
            ]
            for n, (title, family, given, gender, function, head, nat, status) in enumerate(people):
                participant = Participant.create(
                    organization=unesco,
                    courtesy_title=title,
                    family_name=family,
                    given_names=given,
                    gender=gender,
                    function=function,
                    is_head=head,
                    nationality=nat,
                    status=status,
                    submitted_at=utcnow() if status == SUBMITTED else None,
                    created_by=coordinator,
                    updated_by=coordinator,
                    **_demo_details(n, nat, status),
                )
                if status == SUBMITTED or n == 1:
                    from .services.photos import process, store

                    store(participant, process(_demo_portrait(n), 5 * 1024 * 1024))
        escwa = Organization.get(Organization.code == "ESCWA")
        if not Participant.select().where(Participant.organization == escwa).exists():
            _accredited_delegate(escwa)
    return report


def _accredited_delegate(organization):
    """An accredited delegate with a name in Arabic script and a badge photo: what the
    badge, the letter, the list of participants and the verification page show."""
    from .services.photos import process, store

    secretariat = find_account(SECRETARIAT_USERNAME)
    participant = Participant.create(
        organization=organization,
        courtesy_title="dr",
        family_name="HADDAD",
        given_names="Leila",
        family_name_original="حداد",
        given_names_original="ليلى",
        gender="f",
        function="Director, Information Society Department",
        nationality="LB",
        status=ACCREDITED,
        date_of_birth=dt.date(1960, 3, 2),
        passport_number="RL1234567",
        passport_country="LB",
        passport_expiry=dt.date(2009, 5, 1),
        email="l.haddad@escwa.example",
        mobile="+9611234567",
        arrival_date=dt.date(2005, 11, 14),
        departure_date=dt.date(2005, 11, 19),
        visa_required=True,
        visa_place="Embassy of Tunisia, Beirut",
        submitted_at=utcnow(),
        decided_by=secretariat,
        decided_at=utcnow(),
    )
    store(participant, process(_demo_portrait(2), 5 * 1024 * 1024))
