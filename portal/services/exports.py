"""Exports of the participants as CSV and XLSX: headings in the reader's language, names in
every script intact, and safe in a spreadsheet (no cell can run as a formula).

Both formats are produced row by row from the database in batches, so a large export never sits
whole in memory: the CSV as a generator of encoded chunks, the XLSX through XlsxWriter's
``constant_memory`` mode into a temporary file that is then streamed.
"""

import csv
import io
import tempfile

import xlsxwriter
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..models import (
    CATEGORIES,
    COURTESY_TITLES,
    GENDERS,
    STATUSES,
    Organization,
    Participant,
)

BATCH = 1000

#: Characters that make a spreadsheet treat a cell as a formula (tab and CR too: some
#: spreadsheets strip them and then read what follows).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _columns():
    """(heading, value function) pairs, headings in the current language."""

    def day(value):
        return value.isoformat() if value else ""

    def yes_no(value):
        if value is None:
            return ""
        return _("yes") if value else _("no")

    return [
        (_l("Organization code"), lambda p: p.organization.code),
        (_l("Organization"), lambda p: p.organization.name()),
        (_l("Category"), lambda p: str(CATEGORIES.get(p.organization.category, ""))),
        (_l("Status"), lambda p: str(STATUSES.get(p.status, p.status))),
        (_l("Head of delegation"), lambda p: yes_no(p.is_head)),
        (_l("Title"), lambda p: str(COURTESY_TITLES.get(p.courtesy_title, ""))),
        (_l("Family name"), lambda p: p.family_name),
        (_l("Given names"), lambda p: p.given_names),
        (_l("Family name (original script)"), lambda p: p.family_name_original),
        (_l("Given names (original script)"), lambda p: p.given_names_original),
        (_l("Gender"), lambda p: str(GENDERS.get(p.gender, ""))),
        (_l("Function"), lambda p: p.function),
        (_l("Nationality"), lambda p: p.nationality),
        (_l("Date of birth"), lambda p: day(p.date_of_birth)),
        (_l("Passport number"), lambda p: p.passport_number),
        (_l("Passport country"), lambda p: p.passport_country),
        (_l("Passport expiry"), lambda p: day(p.passport_expiry)),
        (_l("Visa required"), lambda p: yes_no(p.visa_required)),
        (_l("Visa place"), lambda p: p.visa_place),
        (_l("E-mail"), lambda p: p.email),
        (_l("Mobile"), lambda p: p.mobile),
        (_l("Arrival"), lambda p: day(p.arrival_date)),
        (_l("Departure"), lambda p: day(p.departure_date)),
        (_l("Rejection reason"), lambda p: p.rejection_reason),
        (
            _l("Submitted"),
            lambda p: p.submitted_at.isoformat(" ", "minutes") if p.submitted_at else "",
        ),
        (_l("Decided"), lambda p: p.decided_at.isoformat(" ", "minutes") if p.decided_at else ""),
    ]


def safe_cell(value):
    """Return ``value`` as text a spreadsheet shows as it is (formula starts defused)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def participants(organization_id=None, status=None):
    """Yield the participants to export, in batches by id (each batch one query)."""
    last_id = 0
    while True:
        query = (
            Participant.select(Participant, Organization)
            .join(Organization)
            .where(Participant.id > last_id)
        )
        if organization_id:
            query = query.where(Participant.organization == organization_id)
        if status:
            query = query.where(Participant.status == status)
        batch = list(query.order_by(Participant.id).limit(BATCH))
        if not batch:
            return
        yield from batch
        last_id = batch[-1].id


def csv_chunks(organization_id=None, status=None):
    """Yield the CSV export as UTF-8 bytes (with a BOM, so spreadsheets detect UTF-8)."""
    columns = _columns()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(str(heading)) for heading, _value in columns])
    yield b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for n, p in enumerate(participants(organization_id, status), 1):
        writer.writerow([safe_cell(value(p)) for _heading, value in columns])
        if n % 200 == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def xlsx_file(organization_id=None, status=None):
    """Write the XLSX export to a temporary file and return it, open at its start.

    Every value is written as a string cell (``write_string``): a name beginning with ``=``
    stays text. The caller streams and closes the file (it is deleted on close).
    """
    columns = _columns()
    out = tempfile.TemporaryFile(suffix=".xlsx")  # noqa: SIM115 - the caller closes it
    workbook = xlsxwriter.Workbook(
        out,
        {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
            "tmpdir": tempfile.gettempdir(),
        },
    )
    sheet = workbook.add_worksheet(_("Participants")[:31])
    bold = workbook.add_format({"bold": True})
    for col, (heading, _value) in enumerate(columns):
        sheet.write_string(0, col, str(heading), bold)
    for row, p in enumerate(participants(organization_id, status), 1):
        for col, (_heading, value) in enumerate(columns):
            text = value(p)
            if text:
                sheet.write_string(row, col, str(text))
    sheet.freeze_panes(1, 0)
    workbook.close()
    out.seek(0)
    return out


def filename(extension, organization=None, status=None):
    parts = ["participants"]
    if organization is not None:
        parts.append(organization.code)
    if status:
        parts.append(status)
    return "-".join(parts) + "." + extension
