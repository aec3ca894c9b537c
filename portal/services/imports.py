"""Many participants at once: a spreadsheet checked row by row with exactly the participant
form's rules, shown, then imported all at once on confirmation.

- ``check`` reads the file (``spreadsheets.read``: hostile files refused), turns each row into
  the form's own data (a MultiDict, choices written as words mapped to the form's values) and
  runs it through ``ParticipantForm`` - the same class, validators and normalization as the
  coordinator's form. A row matches a participant of the delegation by passport number and
  issuing country (the keyed hash ``passport_key``): it updates that participant, otherwise
  creates one. The lifecycle (window, the "create" and "save" actions) and the duplicate check
  of the save are asked for each row. Nothing is written but the checked import itself.
- The import (rows sealed, report) is kept in the database: the preview and the confirmation
  may be answered by different workers.
- ``confirm`` applies it in one transaction holding the delegation's lock, through the form's
  own save (``participants.save_within``), after checking every row again: all rows or none.
  It marks the import applied in the same transaction: the same confirmation twice imports
  once, and the second is shown the first's result.
"""

import datetime as dt
import functools
import json
import secrets
import unicodedata

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from .. import lifecycle
from ..crypto import passport_key
from ..db import database
from ..models import (
    COURTESY_TITLES,
    GENDERS,
    ParticipantImport,
    utcnow,
)
from . import DomainError, NotFound, audit, participants, spreadsheets
from .countries import countries

#: The template's columns: the participant form's fields, in its order.
FIELDS = participants.EDITABLE
LANGUAGES = ("en", "fr", "ar")
DATE_FIELDS = ("date_of_birth", "passport_expiry", "arrival_date", "departure_date")
COUNTRY_FIELDS = ("nationality", "passport_country")
#: An import nobody confirmed is purged after this.
KEPT_FOR = dt.timedelta(days=2)


# -- Words of the spreadsheet -------------------------------------------------------------------


def _key(text):
    """Compare words without case, accents or extra blanks."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(base.casefold().replace("*", " ").split()).strip(" :")


def _form_class():
    from ..delegation.forms import ParticipantForm  # noqa: PLC0415 - forms import services

    return ParticipantForm


def _new_form(formdata=None, event=None):
    return _form_class()(formdata=formdata, event=event, meta={"csrf": False})


@functools.lru_cache(maxsize=4)
def headings(language):
    """The template's headings in ``language``: the form's labels, ``{field: text}``."""
    with force_locale(language):
        form = _new_form()
        return {name: str(form[name].label.text) for name in FIELDS}


@functools.lru_cache(maxsize=1)
def _words():
    """What a cell may say, in any of the three languages, mapped to the form's values."""
    columns, choices = {}, {name: {} for name in ("courtesy_title", "gender", "country")}
    for language in LANGUAGES:
        for name, text in headings(language).items():
            columns[_key(text)] = name
        with force_locale(language):
            for value, label in COURTESY_TITLES.items():
                choices["courtesy_title"][_key(label)] = value
                choices["courtesy_title"][_key(str(label).rstrip("."))] = value
            for value, label in GENDERS.items():
                choices["gender"][_key(label)] = value
        for code, name in countries(language):
            choices["country"][_key(name)] = code
    for name in FIELDS:
        columns[_key(name)] = name
    for kind in ("courtesy_title", "gender"):
        for value in COURTESY_TITLES if kind == "courtesy_title" else GENDERS:
            choices[kind].setdefault(value, value)
    return columns, choices


YES = {"yes", "y", "oui", "o", "نعم", "1", "true", "vrai", "x"}
NO = {"no", "n", "non", "لا", "0", "false", "faux"}


def _date(text):
    """A date as the form takes it (ISO), from ISO or day/month/year text."""
    for separator in ("/", "."):
        parts = text.split(separator)
        if len(parts) == 3 and all(p.strip().isdigit() for p in parts) and len(parts[2]) == 4:
            try:
                return dt.date(int(parts[2]), int(parts[1]), int(parts[0])).isoformat()
            except ValueError:
                return text
    return text[:10] if len(text) > 10 and text[10:11] == "T" else text


def formdata(cells):
    """Turn a row's cells (``{field: text}``) into the participant form's data; return
    ``(MultiDict, errors)``, errors being those the form cannot see (a formula, a yes/no
    column that says neither)."""
    _columns, choices = _words()
    data, errors = MultiDict(), []
    for name, value in cells.items():
        if isinstance(value, spreadsheets.FormulaCell):
            errors.append(
                (
                    name,
                    _l(
                        "This cell holds a formula: write the value itself (formulas are not read)."
                    ),
                )
            )
            continue
        text = value.strip()
        if not text:
            continue
        word = _key(text)
        if name in ("courtesy_title", "gender"):
            text = choices[name].get(word, text)
        elif name in COUNTRY_FIELDS:
            text = text.upper() if len(text) == 2 else choices["country"].get(word, text)
        elif name in DATE_FIELDS:
            text = _date(text)
        elif name == "is_head":
            if word in NO:
                continue
            if word not in YES:
                errors.append((name, _l("Write yes or no.")))
                continue
            text = "y"
        elif name == "visa_required":
            text = "yes" if word in YES else "no" if word in NO else text
        data[name] = text
    return data, errors


# -- Check --------------------------------------------------------------------------------------


def _columns_of(first_row):
    """Map the heading row to the form's fields: ``{index: field}``; raise Refused if it is not
    the template's."""
    columns, _choices = _words()
    found = {}
    for index, heading in enumerate(first_row):
        name = columns.get(_key(heading)) if isinstance(heading, str) else None
        if name is not None and name not in found.values():
            found[index] = name
    if "family_name" not in found.values():
        raise spreadsheets.Refused(
            _l(
                "The first row must hold the template's headings (the family name's column "
                "was not found): download the template and copy the participants into it."
            )
        )
    return found


def rows_of(kind, table):
    """The participants of a table (its first row the headings): ``[{"n": row number in the
    file, "data": {field: text}}]``, empty rows left out; formula cells kept as such."""
    columns = _columns_of(table[0] if table else [])
    rows = []
    for number, row in enumerate(table[1:], start=2):
        cells = {name: (row[i] if i < len(row) else "") for i, name in columns.items()}
        if all(isinstance(v, str) and not v.strip() for v in cells.values()):
            continue
        rows.append({"n": number, "data": cells})
    return rows


def _stored(rows):
    """Rows as JSON: a formula cell is kept as a marker (it is reported, never its content)."""

    def cell(value):
        return {"formula": True} if isinstance(value, spreadsheets.FormulaCell) else value

    return [{"n": r["n"], "data": {k: cell(v) for k, v in r["data"].items()}} for r in rows]


def _loaded(rows):
    def cell(value):
        return spreadsheets.FormulaCell("") if isinstance(value, dict) else value

    return [{"n": r["n"], "data": {k: cell(v) for k, v in r["data"].items()}} for r in rows]


def _existing(delegation):
    """The delegation's participants by passport: the number's key and the issuing country."""
    found = {}
    for same_number in delegation.by_passport.values():
        for p in same_number:
            found.setdefault((p.passport_key, p.passport_country), p)
    return found


class Checked:
    """The outcome of a check: ``report`` (JSON-ready, what the preview shows) and, for each
    row, the form's values and the participant it updates."""

    def __init__(self):
        self.report = {"rows": [], "counts": {"create": 0, "update": 0, "same": 0, "error": 0}}
        self.values = []
        self.targets = []

    @property
    def ok(self):
        return self.report["counts"]["error"] == 0 and bool(self.report["rows"])


def check_rows(actor, organization_id, rows, event):
    """Check each row with the participant form and the lifecycle; write nothing."""
    checked = Checked()
    delegation = participants.delegation_of(organization_id)
    existing = _existing(delegation)
    seen, head_row = {}, None
    for row in rows:
        data, errors = formdata(row["data"])
        form = _new_form(data, event)
        form.validate()
        for name in FIELDS:
            for message in form[name].errors:
                errors.append((name, message))
        values = form.values()
        name = " ".join(v for v in (values["given_names"], values["family_name"]) if v)
        target = None
        key = passport_key(values["passport_number"]) if values["passport_number"] else ""
        if key:
            match = (key, values["passport_country"])
            if match in seen:
                errors.append(
                    ("passport_number", _l("The same passport as row %(row)s.", row=seen[match]))
                )
            seen[match] = row["n"]
            target = existing.get(match)
        if values["is_head"]:
            if head_row is not None:
                errors.append(
                    (
                        "is_head",
                        _l(
                            "Only one head of delegation: row %(row)s is marked already.",
                            row=head_row,
                        ),
                    )
                )
            head_row = head_row or row["n"]
        refusal = lifecycle.refusal(target, "save" if target else "create", actor, event)
        if refusal is not None:
            errors.append(("", refusal.message))
        if not errors:
            duplicate = delegation.duplicate(
                {**(target.__data__ if target else {}), **values}, target and target.id
            )
            if duplicate is not None:
                errors.append(("family_name", participants.duplicate_message(duplicate)))
        changed = sorted(k for k, v in values.items() if target is None or getattr(target, k) != v)
        if errors:
            action = "error"
        elif target is None:
            action = "create"
        else:
            action = "update" if changed else "same"
        checked.report["counts"][action] += 1
        checked.report["rows"].append(
            {
                "n": row["n"],
                "name": name,
                "action": action,
                "pid": target.id if target else None,
                "changed": changed if target else [],
                "errors": [[field, str(message)] for field, message in errors],
            }
        )
        checked.values.append(values)
        checked.targets.append(target)
    return checked


# -- Keep, show, confirm ------------------------------------------------------------------------


def upload(actor, organization_id, filename, data, event):
    """Read and check an uploaded file; keep it (rows and report) for the preview and the
    confirmation; return the ParticipantImport. A file that cannot be read raises Refused:
    then nothing at all is written."""
    organization_id = participants.organization_for(actor, organization_id)
    kind, table = spreadsheets.read(filename, data)
    rows = rows_of(kind, table)
    if not rows:
        raise spreadsheets.Refused(_l("The file has no participant under its headings."))
    checked = check_rows(actor, organization_id, rows, event)
    checked.report["kind"] = kind
    with database.atomic():
        ParticipantImport.delete().where(
            ParticipantImport.created_at < utcnow() - KEPT_FOR
        ).execute()
        return ParticipantImport.create(
            id=secrets.token_hex(16),
            organization=organization_id,
            account=actor.id,
            filename=(filename or "")[:200],
            rows=json.dumps(_stored(rows), ensure_ascii=False),
            report=json.dumps(checked.report, ensure_ascii=False),
            created_at=utcnow(),
        )


def get_import(actor, organization_id, import_id):
    """Return the import if it is of the delegation ``actor`` may enter for; else NotFound."""
    organization_id = participants.organization_for(actor, organization_id)
    if not isinstance(import_id, str) or not (0 < len(import_id) <= 32) or not import_id.isalnum():
        raise NotFound()
    found = ParticipantImport.get_or_none(
        (ParticipantImport.id == import_id) & (ParticipantImport.organization == organization_id)
    )
    if found is None:
        raise NotFound()
    return found


def report_of(found):
    return json.loads(found.report)


def result_of(found):
    return json.loads(found.result) if found.result else None


class Changed(DomainError):
    """The delegation changed between the check and the confirmation: rows no longer pass."""


def confirm(actor, organization_id, import_id, event, submit=False):
    """Import every row in one transaction (all or none); return ``(result, replayed)``.

    The rows are checked again inside the delegation's lock (the delegation, the window or the
    quota may have changed since the preview); the import is marked applied in the same
    transaction, so a second confirmation finds it done and returns the first one's result.
    """
    organization_id = participants.organization_for(actor, organization_id)
    with database.atomic():
        participants.lock_organization(organization_id)
        found = get_import(actor, organization_id, import_id)
        if found.applied_at is not None:
            return result_of(found), True
        checked = check_rows(actor, organization_id, _loaded(json.loads(found.rows)), event)
        if not checked.ok:
            raise Changed(
                _l(
                    "The delegation changed since the file was checked: upload it again to see "
                    "what to put right. Nothing was imported."
                )
            )
        result = {"created": 0, "updated": 0, "same": 0, "submitted": 0, "not_submitted": 0}
        reasons = result["reasons"] = []  # why rows were not submitted (the first few kinds)
        for row, values, target in zip(
            checked.report["rows"], checked.values, checked.targets, strict=True
        ):
            if row["action"] == "same":
                result["same"] += 1
                if submit and participants.submit_within(actor, target, event):
                    result["submitted"] += 1
                continue
            saved = participants.save_within(
                actor,
                organization_id,
                target.id if target else None,
                values,
                event,
                version=target.version if target else None,
                submit=submit,
            )
            result["created" if saved.created else "updated"] += 1
            if saved.submitted:
                result["submitted"] += 1
            elif submit and saved.not_submitted_because is not None:
                result["not_submitted"] += 1
                reason = str(saved.not_submitted_because)
                if reason not in reasons and len(reasons) < 5:
                    reasons.append(reason)
        found.applied_at = utcnow()
        found.result = json.dumps(result)
        found.rows = "[]"  # the passports and dates are in the participants now
        found.save()
        audit.record(
            "participant.import",
            account=actor,
            organization=organization_id,
            obj=None,
            file=found.filename,
            **result,
            **({"entered_by_secretariat": True} if actor.is_secretariat else {}),
        )
        return result, False


# -- The template -------------------------------------------------------------------------------


def _explanations():
    """What each column takes (in the current language): ``{field: text}``."""
    from flask_babel import gettext  # noqa: PLC0415

    date = gettext("A date: YYYY-MM-DD (for example 2005-11-16), DD/MM/YYYY, or a date cell.")
    country = gettext(
        "A country: its two-letter code (for example TN) or its name in French, English or Arabic."
    )
    yes, no = yes_no_words_current()
    yes_no = gettext("%(yes)s or %(no)s.", yes=yes, no=no)
    latin = gettext("In Latin letters, as in the passport's machine-readable line.")
    text = {
        "courtesy_title": gettext(
            "One of: %(choices)s.", choices=", ".join(map(str, COURTESY_TITLES.values()))
        ),
        "family_name": latin,
        "given_names": latin,
        "family_name_original": gettext("In the person's own script (optional)."),
        "given_names_original": gettext("In the person's own script (optional)."),
        "gender": gettext("One of: %(choices)s.", choices=", ".join(map(str, GENDERS.values()))),
        "function": gettext("Text."),
        "is_head": yes_no + " " + gettext("One row at most."),
        "nationality": country,
        "date_of_birth": date,
        "passport_number": gettext(
            "5 to 20 letters and digits, as printed. With the issuing country it finds the "
            "participant: a passport already in the delegation updates that participant."
        ),
        "passport_country": country,
        "passport_expiry": date,
        "email": gettext("An e-mail address."),
        "mobile": gettext("In international form, with + and the country code."),
        "arrival_date": date,
        "departure_date": date,
        "visa_required": yes_no,
        "visa_place": gettext("Embassy or consulate, city: when a visa is needed."),
        "special_needs": gettext("Text."),
    }
    return text


def yes_no_words_current():
    from flask_babel import gettext  # noqa: PLC0415

    return gettext("Yes"), gettext("No")


def instructions():
    """The template's instructions (in the current language), one line each."""
    from flask_babel import gettext  # noqa: PLC0415

    return [
        gettext(
            "One row per participant, under the headings of the first sheet; keep the headings."
        ),
        gettext(
            "Nothing is saved when you upload the file: every row is checked first, every error "
            "is shown with its row and column, and you confirm."
        ),
        gettext(
            "At most %(limit)s participants per file. Formulas are not read.",
            limit=spreadsheets.MAX_ROWS,
        ),
        gettext("A badge photo is added afterwards, on each participant's page."),
    ]


def needed_fields():
    return {r.field for r in lifecycle.REQUIREMENTS}


def template_xlsx(language):
    """The template in ``language`` (the current one): the participants' sheet with the
    headings, and a sheet explaining each column. Returns the file's bytes."""
    import io  # noqa: PLC0415

    import xlsxwriter  # noqa: PLC0415
    from flask_babel import gettext  # noqa: PLC0415

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False})
    bold = book.add_format({"bold": True, "text_wrap": True, "valign": "top"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    text_cell = book.add_format({"num_format": "@"})
    titles = headings(language)
    sheet = book.add_worksheet(gettext("Participants")[:31])
    help_sheet = book.add_worksheet(gettext("Columns")[:31])
    if language == "ar":
        sheet.right_to_left()
        help_sheet.right_to_left()
    yes, no = yes_no_words_current()
    lists = {
        "courtesy_title": [str(v) for v in COURTESY_TITLES.values()],
        "gender": [str(v) for v in GENDERS.values()],
        "is_head": [yes, no],
        "visa_required": [yes, no],
    }
    for column, name in enumerate(FIELDS):
        sheet.write_string(0, column, titles[name], bold)
        fmt = day if name in DATE_FIELDS else text_cell
        sheet.set_column(column, column, 18, fmt)
        if name in lists:
            sheet.data_validation(
                1,
                column,
                spreadsheets.MAX_ROWS,
                column,
                {"validate": "list", "source": lists[name]},
            )
    sheet.freeze_panes(1, 0)
    help_sheet.set_column(0, 0, 32)
    help_sheet.set_column(1, 1, 70)
    help_sheet.set_column(2, 2, 28)
    line = 0
    for text in instructions():
        help_sheet.write_string(line, 0, text)
        line += 1
    line += 1
    help_sheet.write_string(line, 0, gettext("Column"), bold)
    help_sheet.write_string(line, 1, gettext("What to write"), bold)
    help_sheet.write_string(line, 2, gettext("Needed to submit for accreditation."), bold)
    needed = needed_fields()
    for name, text in _explanations().items():
        line += 1
        help_sheet.write_string(line, 0, titles[name], wrap)
        help_sheet.write_string(line, 1, text, wrap)
        help_sheet.write_string(line, 2, yes if name in needed else "", wrap)
    book.close()
    return out.getvalue()


def template_csv(language):
    """The template as CSV: the headings only, UTF-8 with a byte-order mark (so that Excel
    reads it right), separated by semicolons in French (as French Excel writes) else commas."""
    import csv  # noqa: PLC0415
    import io  # noqa: PLC0415

    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")
    titles = headings(language)
    writer.writerow([titles[name] for name in FIELDS])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
