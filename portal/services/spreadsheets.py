"""Reading a spreadsheet someone uploaded, trusting nothing in it: an XLSX workbook or a CSV
file becomes a list of rows of text, or ``Refused`` says why not (a translated message).

An XLSX file is a ZIP archive: before any XML is parsed, every entry's declared size and its
actual size (read through, counting) are checked against limits, a macro-enabled workbook and
XML with a document type (entity expansion) are refused. The cells are then read by openpyxl in
read-only mode (streaming: memory bounded by a row), values only: a formula is reported, never
computed. A CSV file is read as UTF-8 (with or without a byte-order mark) or Windows-1252, with
commas or semicolons, each line bounded.

Why openpyxl and not python-calamine: see the README ("Importing participants") and
``bench/imports.py``.
"""

import codecs
import csv
import datetime as dt
import io
import zipfile

from flask_babel import lazy_gettext as _l

from . import DomainError

#: The largest file accepted (a 1000-row XLSX is about 80 KB, the CSV about 250 KB).
MAX_FILE_BYTES = 2 * 1024 * 1024
#: Rows of participants in one file (the heading row not counted).
MAX_ROWS = 1000
MAX_COLUMNS = 60
#: A CSV line, or a cell, longer than this is not a participant.
MAX_LINE = 4000
#: What an XLSX may inflate to, all entries together, and the shared strings alone.
MAX_INFLATED = 40 * 1024 * 1024
MAX_SHARED_STRINGS = 8 * 1024 * 1024
MAX_ENTRIES = 200
ZIP_MAGIC = b"PK\x03\x04"


class Refused(DomainError):
    """The file cannot be read as a list of participants; nothing was written."""


def read(filename, data):
    """Return ``(kind, rows)``: "xlsx" or "csv", and the rows (lists of text, the first one
    the headings), from an uploaded file; raise Refused with the reason."""
    name = (filename or "").lower()
    if not data:
        raise Refused(_l("The file is empty."))
    if len(data) > MAX_FILE_BYTES:
        raise Refused(
            _l(
                "The file is too large: at most %(size)s MB.",
                size=MAX_FILE_BYTES // (1024 * 1024),
            )
        )
    if name.endswith((".xlsm", ".xltm", ".xlsb")):
        raise Refused(_l("Macro-enabled workbooks are refused: save the file as .xlsx."))
    if data.startswith(ZIP_MAGIC):
        if name.endswith(".csv"):
            raise Refused(_l("This file is not what its name says: it is not a CSV file."))
        return "xlsx", _xlsx_rows(data)
    if name.endswith((".xlsx", ".xls", ".ods")):
        raise Refused(
            _l("This file is not what its name says: it is not an Excel workbook (.xlsx).")
        )
    if name.endswith((".csv", ".txt")):
        return "csv", _csv_rows(data)
    raise Refused(_l("Choose an Excel workbook (.xlsx) or a CSV file (.csv)."))


# -- XLSX ---------------------------------------------------------------------------------------


def _check_archive(data):
    """Check the archive's entries before anything parses them; return the ZipFile."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise Refused(_l("This file is damaged or is not an Excel workbook.")) from exc
    names = {e.filename.lower() for e in entries}
    if "xl/workbook.xml" not in names or "[content_types].xml" not in names:
        raise Refused(_l("This file is damaged or is not an Excel workbook."))
    if len(entries) > MAX_ENTRIES:
        raise _bomb()
    if any(n.endswith(".bin") for n in names):
        raise Refused(_l("Macro-enabled workbooks are refused: save the file as .xlsx."))
    declared = 0
    for entry in entries:
        declared += entry.file_size
        limit = MAX_SHARED_STRINGS if entry.filename.endswith("sharedStrings.xml") else None
        if declared > MAX_INFLATED or (limit and entry.file_size > limit):
            raise _bomb()
    # The declared sizes may lie: inflate each entry, counting, and stop at the limit.
    total = 0
    try:
        for entry in entries:
            limit = (
                MAX_SHARED_STRINGS if entry.filename.endswith("sharedStrings.xml") else MAX_INFLATED
            )
            size = 0
            with archive.open(entry) as stream:
                head = stream.read(1024)
                if entry.filename.endswith((".xml", ".rels")) and (
                    b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper()
                ):
                    raise Refused(_l("This file is damaged or is not an Excel workbook."))
                size = len(head)
                while chunk := stream.read(65536):
                    size += len(chunk)
                    if size > limit or total + size > MAX_INFLATED:
                        raise _bomb()
            total += size
        types = next(e for e in entries if e.filename.lower() == "[content_types].xml")
        if b"macroenabled" in archive.read(types).lower():
            raise Refused(_l("Macro-enabled workbooks are refused: save the file as .xlsx."))
    except (zipfile.BadZipFile, NotImplementedError, EOFError, OSError) as exc:
        raise Refused(_l("This file is damaged or is not an Excel workbook.")) from exc
    return archive


def _bomb():
    return Refused(
        _l(
            "This workbook inflates to more than a list of participants can need: it is refused. "
            "Copy the participants into the template and send that."
        )
    )


class FormulaCell:
    """A cell holding a formula: reported, never computed or stored."""

    def __init__(self, formula):
        self.formula = formula


def _xlsx_rows(data):
    import openpyxl  # noqa: PLC0415 - only when a workbook comes

    archive = _check_archive(data)
    try:
        workbook = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=False, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise Refused(_l("This file is damaged or is not an Excel workbook.")) from exc
    finally:
        archive.close()
    try:
        sheet = workbook.worksheets[0]
        rows = []
        for cells in sheet.iter_rows():
            row = [_cell_text(c) for c in cells[: MAX_COLUMNS + 1]]
            if len(row) > MAX_COLUMNS:
                raise Refused(_l("Too many columns: use the template."))
            if len(rows) > MAX_ROWS:
                # Past the limit, only blank (formatted) rows may follow; none is kept.
                if any(v != "" for v in row):
                    raise _too_many()
                continue
            rows.append(row)
    except Refused:
        raise
    except Exception as exc:
        raise Refused(_l("This file is damaged or is not an Excel workbook.")) from exc
    finally:
        workbook.close()
    return _trim(rows)


def _cell_text(cell):
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if getattr(cell, "data_type", None) == "f":
        return FormulaCell(str(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time():
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value)
    if len(text) > MAX_LINE:
        raise Refused(_l("A cell is longer than %(limit)s characters.", limit=MAX_LINE))
    return text


def _too_many():
    return Refused(
        _l(
            "The file has more than %(limit)s participants: send it in several parts.",
            limit=MAX_ROWS,
        )
    )


def _trim(rows):
    """Drop empty rows at the end (a spreadsheet often has formatted blank rows)."""
    while rows and all(v == "" for v in rows[-1]):
        rows.pop()
    if len(rows) > MAX_ROWS + 1:
        raise _too_many()
    return rows


# -- CSV ----------------------------------------------------------------------------------------


def _decode(data):
    if b"\x00" in data:
        raise Refused(_l("This file is not what its name says: it is not a CSV file."))
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _broken_encoding() from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        # Windows-1252, as Excel writes "CSV" on a French or English Windows.
        return data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise _broken_encoding() from exc


def _broken_encoding():
    return Refused(
        _l(
            "The file's characters cannot be read: save it as “CSV UTF-8” (or as an Excel "
            "workbook) and send it again."
        )
    )


def _csv_rows(data):
    text = _decode(data)
    lines = text.splitlines()
    for line in lines:
        if len(line) > MAX_LINE:
            raise Refused(_l("A line is longer than %(limit)s characters.", limit=MAX_LINE))
    first = lines[0] if lines else ""
    delimiter = ";" if first.count(";") > first.count(",") else ","
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True):
            if len(row) > MAX_COLUMNS:
                raise Refused(_l("Too many columns: use the template."))
            if any(len(cell) > MAX_LINE for cell in row):
                raise Refused(_l("A cell is longer than %(limit)s characters.", limit=MAX_LINE))
            if len(rows) > MAX_ROWS:
                if any(cell.strip() for cell in row):
                    raise _too_many()
                continue
            rows.append(row)
    except csv.Error as exc:
        raise Refused(_l("This CSV file is damaged (line %(line)s).", line=len(rows) + 1)) from exc
    return _trim([[cell for cell in row] for row in rows])
