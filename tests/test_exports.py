"""Exports of the participants: CSV and XLSX, names in every script, no formulas, streamed."""

import csv
import io
import re
import zipfile

import pytest

from portal.db import database
from portal.models import ACCREDITED, ROLE_SECRETARIAT, SUBMITTED, Participant
from portal.services import exports

PASSWORD = "Registry-2005-ok"
FORMULA = '=HYPERLINK("http://x")'


@pytest.fixture
def reviewer(make_account, auth, client):
    make_account("registry", PASSWORD, role=ROLE_SECRETARIAT, language="fr")
    auth.login("registry", PASSWORD)
    return client


@pytest.fixture
def people(make_org, make_participant):
    las = make_org("LAS", name_fr="Ligue des États arabes", name_en="League of Arab States")
    oif = make_org("OIF", name_fr="Organisation internationale de la Francophonie")
    return {
        "arabic": make_participant(
            las,
            family_name="AL-FARSI",
            given_names="Layla",
            family_name_original="الفارسي",
            given_names_original="ليلى",
            status=ACCREDITED,
        ),
        "french": make_participant(
            oif, family_name="LEFÈVRE", given_names="Hélène Françoise", status=SUBMITTED
        ),
        "latin": make_participant(
            oif, family_name="Nguyễn", given_names="Đức Łukasz Øystein", status=ACCREDITED
        ),
        "formula": make_participant(
            oif, family_name=FORMULA, given_names="@SUM(A1)", mobile="+41 22 730 51 11"
        ),
        "orgs": (las, oif),
    }


def _csv(reviewer, query=""):
    response = reviewer.get("/secretariat/exports/participants.csv" + query)
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    return raw, list(csv.reader(io.StringIO(raw[3:].decode("utf-8"))))


def test_csv_keeps_every_script_and_defuses_formulas(reviewer, people):
    raw, rows = _csv(reviewer)
    text = raw.decode("utf-8")
    for name in ("الفارسي", "ليلى", "LEFÈVRE", "Hélène Françoise", "Nguyễn", "Đức Łukasz Øystein"):
        assert name in text
    assert "Ligue des États arabes" in text
    # Headings in the reviewer's language (French here): the catalogue's words for the same
    # English source strings.
    from flask_babel import force_locale, gettext

    with reviewer.application.test_request_context(), force_locale("fr"):
        heading = gettext("Family name")
    assert rows[0][6] == heading
    formula_row = next(r for r in rows if FORMULA in "".join(r))
    assert "'" + FORMULA in formula_row
    assert "'@SUM(A1)" in formula_row
    assert "'+41 22 730 51 11" in formula_row
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert len(rows) == 1 + 4


def test_csv_per_organization_and_per_status(reviewer, people):
    las, oif = people["orgs"]
    _raw, rows = _csv(reviewer, "?organization=%d" % oif.id)
    assert {r[0] for r in rows[1:]} == {"OIF"} and len(rows) == 4
    _raw, rows = _csv(reviewer, "?status=accredited")
    assert sorted(r[6] for r in rows[1:]) == ["AL-FARSI", "Nguyễn"]
    _raw, rows = _csv(reviewer, "?organization=%d&status=submitted" % oif.id)
    assert [r[6] for r in rows[1:]] == ["LEFÈVRE"]
    assert reviewer.get("/secretariat/exports/participants.csv?status=nope").status_code == 404
    disposition = reviewer.get("/secretariat/exports/participants.csv?organization=%d" % las.id)
    assert "participants-LAS.csv" in disposition.headers["Content-Disposition"]


def _sheet_strings(data):
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        names = book.namelist()
        sheet = book.read("xl/worksheets/sheet1.xml").decode("utf-8")
        shared = (
            book.read("xl/sharedStrings.xml").decode("utf-8")
            if "xl/sharedStrings.xml" in names
            else ""
        )
    return sheet, shared


def test_xlsx_holds_the_names_as_text(reviewer, people):
    response = reviewer.get("/secretariat/exports/participants.xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    data = response.get_data()
    assert int(response.headers["Content-Length"]) == len(data)
    sheet, shared = _sheet_strings(data)
    strings = sheet + shared
    for name in ("الفارسي", "ليلى", "LEFÈVRE", "Nguyễn", "Đức Łukasz Øystein"):
        assert name in strings
    assert "=HYPERLINK(&quot;http://x&quot;)" in strings or '=HYPERLINK("http://x")' in strings
    assert "<f>" not in sheet  # no cell is a formula
    # Sheets written in constant-memory mode hold their strings inline.
    assert 't="inlineStr"' in sheet
    assert len(re.findall(r"<row ", sheet)) == 5


def test_large_exports_stream_in_batches(app, reviewer, make_org, monkeypatch):
    org = make_org("BIG")
    monkeypatch.setattr(exports, "BATCH", 100)
    with app.app_context(), database.connection_context(), database.atomic():
        Participant.insert_many(
            [
                {"organization": org.id, "family_name": "P%04d" % n, "given_names": "Ana"}
                for n in range(1050)
            ]
        ).execute()
    response = reviewer.get("/secretariat/exports/participants.csv")
    chunks = list(response.response)
    assert len(chunks) > 5  # the body comes out piece by piece, not as one string
    rows = list(csv.reader(io.StringIO(b"".join(chunks)[3:].decode("utf-8"))))
    assert len(rows) == 1051 and rows[-1][6] == "P1049"
    sheet, _shared = _sheet_strings(reviewer.get("/secretariat/exports/participants.xlsx").data)
    assert "P1049" in sheet and len(re.findall(r"<row ", sheet)) == 1051


def test_safe_cell():
    assert exports.safe_cell("=1+2") == "'=1+2"
    assert exports.safe_cell("\tx") == "'\tx"
    assert exports.safe_cell("\rx") == "'\rx"
    assert exports.safe_cell("-5") == "'-5"
    assert exports.safe_cell("Ana-Maria") == "Ana-Maria"
    assert exports.safe_cell(None) == ""


def test_exports_page_links(reviewer, people):
    page = reviewer.get("/secretariat/exports").get_data(as_text=True)
    assert "/secretariat/exports/participants.csv?status=accredited" in page
    assert "/secretariat/exports/participants.xlsx" in page
