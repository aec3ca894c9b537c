"""Many participants at once, through HTTP as a browser sends them: the template, a file
checked and previewed (nothing written), confirmed once (all rows or none), imported again
(updates, nothing new); the same from the secretariat's page for an organization without any
coordinator; and hostile files, each refused with its message and nothing written."""

import csv
import datetime as dt
import io
import json
import re
import zipfile

import openpyxl
import pytest
import xlsxwriter

from portal.db import database
from portal.models import (
    ROLE_SECRETARIAT,
    SUBMITTED,
    AuditLog,
    Participant,
    ParticipantImport,
)
from portal.services import spreadsheets
from tests.conftest import csrf_token
from tests.test_delegation_helpers import PASSWORD

HEADINGS_EN = {
    "courtesy_title": "Title",
    "family_name": "Family name (as in the passport)",
    "given_names": "Given names (as in the passport)",
    "gender": "Gender",
    "function": "Function or title in the organization",
    "is_head": "Head of delegation",
    "nationality": "Nationality",
    "date_of_birth": "Date of birth",
    "passport_number": "Passport number",
    "passport_country": "Passport issued by",
    "passport_expiry": "Passport expiry date",
    "email": "E-mail",
    "arrival_date": "Arrival in Tunis",
    "departure_date": "Departure from Tunis",
    "visa_required": "Does this person need an entry visa for Tunisia?",
    "visa_place": "Where the visa will be requested (embassy or consulate, city)",
}
FIELDS = list(HEADINGS_EN)


def person(i, **values):
    """Row ``i`` of a delegation: every field right (choices as a person writes them)."""
    row = {
        "courtesy_title": "Ms." if i % 2 else "Mr.",
        "family_name": "NOM%s" % _letters(i),
        "given_names": "Anne",
        "gender": "Female" if i % 2 else "Male",
        "function": "Expert",
        "is_head": "yes" if i == 0 else "",
        "nationality": "TN" if i % 3 else "France",
        "date_of_birth": dt.date(1960, 1, 1) + dt.timedelta(days=i),
        "passport_number": "P%07d" % i,
        "passport_country": "TN" if i % 3 else "FR",
        "passport_expiry": "2009-01-01",
        "email": "p%d@example.org" % i,
        "arrival_date": "15/11/2005",
        "departure_date": "2005-11-19",
        "visa_required": "no" if i % 4 else "yes",
        "visa_place": "" if i % 4 else "Paris",
    }
    row.update(values)
    return row


def _letters(i):
    """A name part from a number (names take letters only)."""
    text = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        text = chr(65 + r) + text
    return text


def xlsx(rows, headings=HEADINGS_EN, formulas=()):
    """An XLSX file of ``rows`` (dicts by field) under ``headings``; ``formulas``: (row, col,
    formula) written as formulas."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet()
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    for c, name in enumerate(FIELDS):
        sheet.write_string(0, c, headings[name])
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(FIELDS):
            value = row.get(name, "")
            if isinstance(value, dt.date):
                sheet.write_datetime(r, c, dt.datetime.combine(value, dt.time()), day)
            else:
                sheet.write_string(r, c, str(value))
    for r, c, formula in formulas:
        sheet.write_formula(r, c, formula)
    book.close()
    return out.getvalue()


def csv_file(rows, delimiter=",", encoding="utf-8", bom=False):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow([HEADINGS_EN[n] for n in FIELDS])
    for row in rows:
        writer.writerow([str(row.get(n, "")) for n in FIELDS])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


@pytest.fixture
def world(app, make_event, make_org, make_account):
    event = make_event("open")
    org = make_org("UNESCO")
    other = make_org("WHO")
    paper = make_org("ESCWA")  # sends its registrations on paper: no coordinator account
    make_account("coord", organization=org)
    make_account("intruder", organization=other)
    make_account("sec", role=ROLE_SECRETARIAT, organization=None)
    return {"event": event, "org": org, "other": other, "paper": paper}


def count(app, organization=None):
    with app.app_context(), database.connection_context():
        query = Participant.select()
        if organization is not None:
            query = query.where(Participant.organization == organization.id)
        return query.count()


def imports_count(app):
    with app.app_context(), database.connection_context():
        return ParticipantImport.select().count()


def send(client, url, data, filename):
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    token = csrf_token(page.get_data(as_text=True))
    return client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def confirm(client, preview_url, submit=False):
    page = client.get(preview_url)
    token = csrf_token(page.get_data(as_text=True))
    data = {"csrf_token": token}
    if submit:
        data["submit"] = "1"
    return client.post(preview_url, data=data)


def bad_rows():
    """200 people, 7 of them wrong in 7 different ways: {row number in the file: column}."""
    rows = [person(i) for i in range(200)]
    wrong = {
        5: ("family_name", "Müller 2"),  # a digit: not a name
        17: ("date_of_birth", "31/02/1970"),  # no such day
        40: ("passport_country", "Atlantis"),  # no such country
        77: ("email", "not-an-address"),
        101: ("passport_expiry", "2005-11-01"),  # expires before the summit ends
        150: ("visa_required", "perhaps"),
        180: ("passport_number", "P0000003"),  # the same passport as row 5 (index 3)
    }
    for index, (field, value) in wrong.items():
        rows[index][field] = value
        if field == "passport_number":
            rows[index]["passport_country"] = rows[3]["passport_country"]
    return rows, {index + 2: field for index, (field, _v) in wrong.items()}


def test_template_in_each_language(client, auth, world):
    auth.login("coord", PASSWORD)
    page = client.get("/delegation/import")
    assert page.status_code == 200
    for language, heading in (("en", "Family name"), ("fr", "Nom"), ("ar", "اسم")):
        client.get("/language/" + language)
        response = client.get("/delegation/import/template.xlsx")
        assert response.status_code == 200
        assert response.headers["Content-Disposition"].startswith("attachment")
        book = openpyxl.load_workbook(io.BytesIO(response.data), read_only=True)
        first, second = book.worksheets
        headings = [c.value for c in next(first.iter_rows(max_row=1))]
        assert any(heading in h for h in headings), headings
        assert len(headings) == 20
        explained = [row for row in second.iter_rows(values_only=True) if row[0]]
        assert len(explained) > 20  # instructions, then each column
        book.close()
        text = client.get("/delegation/import/template.csv").data.decode("utf-8-sig")
        assert heading in text.splitlines()[0]
        assert (";" if language == "fr" else ",") in text.splitlines()[0]


def test_seven_bad_rows_then_corrected_then_again(client, auth, world, app):
    auth.login("coord", PASSWORD)
    rows, wrong = bad_rows()
    response = send(client, "/delegation/import", xlsx(rows), "delegation.xlsx")
    assert response.status_code == 303
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "200 rows: 193 to create, 0 to update, 0 unchanged, 7 with errors." in page
    shown = dict(
        re.findall(r"<tr><td>(\d+)</td><td><bdi>[^<]*</bdi></td><td><ul><li>([^<:]+):", page)
    )
    assert {int(n): label for n, label in shown.items()} == {
        n: HEADINGS_EN[field] for n, field in wrong.items()
    }
    assert "The same passport as row 5." in page
    assert "Choose a country from the list." in page
    assert "Import 193" not in page  # no confirmation offered
    # Confirming a file with errors anyway imports nothing.
    refused = confirm(client, preview)
    assert refused.status_code == 422
    assert "Nothing was imported." in refused.get_data(as_text=True)
    assert count(app) == 0

    # Corrected: 200 participants in one step.
    fixed = [person(i) for i in range(200)]
    response = send(client, "/delegation/import", xlsx(fixed), "delegation.xlsx")
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "200 rows: 200 to create" in page
    assert count(app) == 0  # nothing written before the confirmation
    done = confirm(client, preview)
    assert done.status_code == 303
    assert count(app, world["org"]) == 200
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Imported: 200 created, 0 updated, 0 unchanged." in page
    # The same confirmation again imports nothing more, and says so.
    token = csrf_token(page)
    again = client.post(preview, data={"csrf_token": token})
    assert again.status_code == 303
    assert count(app) == 200
    assert "imported already" in client.get(preview).get_data(as_text=True)

    # Imported again with two changes: nothing new, the two updated.
    changed = [person(i) for i in range(200)]
    changed[10]["function"] = "Minister"
    changed[20]["email"] = "new@example.org"
    response = send(client, "/delegation/import", csv_file(changed, ";", bom=True), "d.csv")
    preview = response.headers["Location"]
    page = client.get(preview).get_data(as_text=True)
    assert "200 rows: 0 to create, 2 to update, 198 unchanged, 0 with errors." in page
    assert confirm(client, preview).status_code == 303
    assert count(app) == 200
    with app.app_context(), database.connection_context():
        p = Participant.get(Participant.family_name == "NOM" + _letters(10))
        assert p.function == "Minister"
        assert p.date_of_birth == dt.date(1960, 1, 11)
        assert p.arrival_date == dt.date(2005, 11, 15)
        head = Participant.get(Participant.is_head == True)  # noqa: E712
        assert head.family_name == "NOM" + _letters(0)
        audits = [
            json.loads(a.details)
            for a in AuditLog.select().where(AuditLog.action == "participant.import")
        ]
        assert [(a["created"], a["updated"]) for a in audits] == [(200, 0), (0, 2)]


def test_submit_complete_rows_keeps_incomplete_as_drafts(client, auth, world, app):
    auth.login("coord", PASSWORD)
    response = send(client, "/delegation/import", xlsx([person(1), person(2)]), "d.xlsx")
    done = confirm(client, response.headers["Location"], submit=True)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    # No badge photo yet: a submission needs one; the rows are kept as drafts.
    assert "Kept as drafts, not submitted: 2." in page
    assert "This participant is not complete: Badge photo." in page
    with app.app_context(), database.connection_context():
        assert Participant.select().where(Participant.status == SUBMITTED).count() == 0


def test_another_organization_import_is_not_found(client, auth, world, app):
    auth.login("coord", PASSWORD)
    response = send(client, "/delegation/import", xlsx([person(1)]), "d.xlsx")
    preview = response.headers["Location"]
    auth.logout()
    auth.login("intruder", PASSWORD)
    assert client.get(preview).status_code == 404
    page = client.get("/delegation/import")
    assert client.post(preview, data={"csrf_token": csrf_token(page.data)}).status_code == 404
    assert count(app) == 0


def test_secretariat_enters_for_an_organization_without_coordinator(client, auth, world, app):
    auth.login("sec", PASSWORD)
    paper = world["paper"]
    base = "/secretariat/organizations/%d/import" % paper.id
    organization_page = client.get("/secretariat/organizations/%d" % paper.id).get_data(
        as_text=True
    )
    assert base in organization_page
    rows, wrong = bad_rows()
    response = send(client, base, xlsx(rows), "paper.xlsx")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "7 with errors" in page
    assert count(app) == 0
    response = send(client, base, xlsx([person(i) for i in range(200)]), "paper.xlsx")
    preview = response.headers["Location"]
    assert preview.startswith(base + "/")
    assert confirm(client, preview).status_code == 303
    assert count(app, paper) == 200
    again = [person(i) for i in range(200)]
    again[0]["function"] = "Ambassador"
    response = send(client, base, xlsx(again), "paper.xlsx")
    assert "0 to create, 1 to update, 199 unchanged" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    assert confirm(client, response.headers["Location"]).status_code == 303
    assert count(app) == 200
    with app.app_context(), database.connection_context():
        audit = AuditLog.select().where(AuditLog.action == "participant.create").first()
        assert json.loads(audit.details)["entered_by_secretariat"] is True
        p = Participant.get(Participant.family_name == "NOM" + _letters(0))
        assert p.created_by.is_secretariat and p.function == "Ambassador"
    # The secretariat's page of another organization names that one only.
    other = "/secretariat/organizations/%d/import" % world["other"].id
    assert client.get(other + "/" + preview.rsplit("/", 1)[1]).status_code == 404


def test_coordinator_sees_entered_by_the_secretariat(client, auth, world, app):
    auth.login("sec", PASSWORD)
    base = "/secretariat/organizations/%d/import" % world["org"].id
    response = send(client, base, xlsx([person(1)]), "paper.xlsx")
    confirm(client, response.headers["Location"])
    auth.logout()
    auth.login("coord", PASSWORD)
    with app.app_context(), database.connection_context():
        pid = Participant.get().id
    page = client.get("/delegation/participants/%d" % pid).get_data(as_text=True)
    assert "Entered by the secretariat" in page


def test_csv_encodings_and_separators(client, auth, world, app):
    auth.login("coord", PASSWORD)
    rows = [person(1, given_names="Hélène"), person(2)]
    for data in (
        csv_file(rows),
        csv_file(rows, ";", bom=True),
        csv_file(rows, ";", encoding="cp1252"),
    ):
        response = send(client, "/delegation/import", data, "d.csv")
        assert response.status_code == 303
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "2 rows: 2 to create" in page
        assert "Hélène" in page


def test_formula_injection_is_stored_as_text_and_exported_safely(client, auth, world, app):
    auth.login("coord", PASSWORD)
    attack = '=HYPERLINK("http://evil.example/","x")'
    response = send(client, "/delegation/import", csv_file([person(1, function=attack)]), "d.csv")
    assert confirm(client, response.headers["Location"]).status_code == 303
    with app.app_context(), database.connection_context():
        assert Participant.get().function == attack
        from portal.services.exports import safe_cell

        assert safe_cell(attack).startswith("'")


# -- Hostile files ------------------------------------------------------------------------------


def _zip(entries, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def _workbook_entries():
    with zipfile.ZipFile(io.BytesIO(xlsx([person(1)]))) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _lying_sizes():
    """An archive whose entry says it is small and inflates far past the limit."""
    entries = _workbook_entries()
    entries["xl/worksheets/sheet2.xml"] = b"<a>" + b"A" * (spreadsheets.MAX_INFLATED + 10) + b"</a>"
    data = bytearray(_zip(entries))
    # Rewrite the declared uncompressed size of that entry (local header and central directory).
    name = b"xl/worksheets/sheet2.xml"
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        position = 0
        while (position := data.find(signature, position)) != -1:
            name_length_at = 26 if signature == b"PK\x03\x04" else 28
            start = position + (30 if signature == b"PK\x03\x04" else 46)
            length = int.from_bytes(
                data[position + name_length_at : position + name_length_at + 2], "little"
            )
            if bytes(data[start : start + length]) == name:
                data[position + offset : position + offset + 4] = (1000).to_bytes(4, "little")
            position += 4
    return bytes(data)


def hostile_files():
    entries = _workbook_entries()
    macro = dict(entries)
    macro["xl/vbaProject.bin"] = b"\x00" * 100
    shared = dict(entries)
    shared["xl/sharedStrings.xml"] = b"<sst>" + b"<si><t>A</t></si>" * 600_000 + b"</sst>"
    entity = dict(entries)
    entity["xl/sharedStrings.xml"] = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><sst><si><t>&a;</t></si></sst>'
    )
    return {
        "not a workbook": ("d.xlsx", b"%PDF-1.4 not a workbook", "not what its name says"),
        "a zip that is no workbook": (
            "d.xlsx",
            _zip({"a.txt": b"x"}),
            "damaged or is not an Excel",
        ),
        "a workbook called csv": ("d.csv", xlsx([person(1)]), "not what its name says"),
        "binary called csv": ("d.csv", b"abc\x00def", "not what its name says"),
        "macro file name": ("d.xlsm", xlsx([person(1)]), "Macro-enabled"),
        "macro inside": ("d.xlsx", _zip(macro), "Macro-enabled"),
        "shared strings bomb": ("d.xlsx", _zip(shared), "inflates"),
        "lying sizes": ("d.xlsx", _lying_sizes(), "damaged or is not an Excel"),
        "entities": ("d.xlsx", _zip(entity), "damaged or is not an Excel"),
        "too many rows": (
            "d.csv",
            csv_file([person(i % 5) for i in range(spreadsheets.MAX_ROWS + 1)]),
            "more than 1000 participants",
        ),
        "broken encoding": ("d.csv", b"\xef\xbb\xbfFamily name\r\n\xff\xfe\xfa", "cannot be read"),
        "long line": ("d.csv", b"Family name\r\n" + b"A" * 5000, "longer than 4000"),
        "other headings": ("d.csv", b"a,b\r\n1,2\r\n", "headings"),
        "empty": ("d.csv", b"", "empty"),
        "other type": ("d.pdf", b"%PDF", "Choose an Excel workbook"),
    }


@pytest.mark.parametrize("kind", list(hostile_files()))
def test_hostile_file_refused(client, auth, world, app, kind):
    filename, data, message = hostile_files()[kind]
    auth.login("coord", PASSWORD)
    response = send(client, "/delegation/import", data, filename)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(app) == 0 and imports_count(app) == 0


def test_formula_cell_reported(client, auth, world, app):
    auth.login("coord", PASSWORD)
    data = xlsx([person(1), person(2)], formulas=[(2, 3, '=CONCATENATE("A","B")')])
    response = send(client, "/delegation/import", data, "d.xlsx")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 with errors" in page
    assert "Gender: This cell holds a formula" in page
    assert count(app) == 0


def test_too_large_file_refused(client, auth, world, app):
    auth.login("coord", PASSWORD)
    data = b"Family name\r\n" + (b"DOE\r\n" * (spreadsheets.MAX_FILE_BYTES // 5 + 10))
    response = send(client, "/delegation/import", data, "d.csv")
    assert response.status_code == 422
    assert "too large" in response.get_data(as_text=True)
    assert imports_count(app) == 0


# -- The participant form, entered by the secretariat ---------------------------------------------


def test_secretariat_enters_one_participant_with_the_coordinators_form(client, auth, world, app):
    from tests.test_delegation_helpers import complete, jpeg, open_form, post_form

    auth.login("sec", PASSWORD)
    paper = world["paper"]
    new = "/secretariat/organizations/%d/participants/new" % paper.id
    assert new in client.get("/secretariat/organizations/%d" % paper.id).get_data(as_text=True)
    form = open_form(client, new)
    assert "Entered by the secretariat on the organization" in form[0]
    # The form's own rules: a wrong field is refused (422), nothing written.
    bad = post_form(client, complete(email="not-an-address"), url=new, form=form)
    assert bad.status_code == 422
    assert count(app) == 0
    # Saved and submitted with its photo, for the organization named.
    done = post_form(client, {**complete(), "submit": "1"}, url=new, photo=jpeg())
    assert done.status_code == 303
    assert done.headers["Location"].startswith("/secretariat/organizations/%d#p-" % paper.id)
    with app.app_context(), database.connection_context():
        p = Participant.get()
        assert p.organization_id == paper.id and p.status == SUBMITTED
        assert p.entered_by_secretariat
        created = AuditLog.get(AuditLog.action == "participant.create")
        assert json.loads(created.details)["entered_by_secretariat"] is True
        assert AuditLog.get(AuditLog.action == "participant.submit").actor == "sec"
    history = client.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert (
        "Registration created as a draft. Entered by the secretariat on the organization" in history
    )
    # Edited from the organization's page; another organization's address does not reach it.
    edit = "/secretariat/organizations/%d/participants/%d/edit" % (paper.id, p.id)
    html, token, key, version = open_form(client, edit)
    assert 'value="BENALI"' in html
    other = "/secretariat/organizations/%d/participants/%d/edit" % (world["other"].id, p.id)
    assert client.get(other).status_code == 404
    saved = post_form(client, complete(function="Ambassador"), url=edit)
    assert saved.status_code == 303
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(p.id).function == "Ambassador"


def test_coordinators_cannot_reach_the_secretariat_entry(client, auth, world, app):
    auth.login("coord", PASSWORD)
    url = "/secretariat/organizations/%d/participants/new" % world["org"].id
    assert client.get(url).status_code == 404
    page = client.get("/delegation/import")
    response = client.post(
        url, data={"csrf_token": csrf_token(page.data), **{"family_name": "DOE"}}
    )
    assert response.status_code == 404
    assert count(app) == 0


def test_preview_of_500_rows_fits_a_2g_link(client, auth, world, app):
    import gzip

    auth.login("coord", PASSWORD)
    response = send(client, "/delegation/import", xlsx([person(i) for i in range(500)]), "d.xlsx")
    preview = response.headers["Location"]
    page = client.get(preview)
    assert "500 rows: 500 to create" in page.get_data(as_text=True)
    # 50 rows a page: a warm page's budget (8 KB compressed) holds, far under a cold one's.
    assert len(gzip.compress(page.data)) < 8 * 1024
    assert 'rel="next"' in page.get_data(as_text=True)
    last = client.get(preview + "?page=10").get_data(as_text=True)
    assert "<td>501</td>" in last and 'rel="next"' not in last
    assert client.get(preview + "?page=0").status_code == 400


# -- The scan of a paper registration -------------------------------------------------------------


def _attach(client, pid, data, filename):
    page = client.get("/secretariat/participants/%d" % pid)
    return client.post(
        "/secretariat/participants/%d/scan" % pid,
        data={"csrf_token": csrf_token(page.data), "scan": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def test_paper_scan_served_to_the_secretariat_and_the_organization_only(
    client, auth, world, app, make_participant
):
    from tests.test_delegation_helpers import jpeg

    p = make_participant(world["org"], family_name="PAPER")
    auth.login("sec", PASSWORD)
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    refused = _attach(client, p.id, b"<html><script>alert(1)</script></html>", "scan.pdf")
    assert refused.status_code == 422
    assert "A scan is a PDF file or an image" in refused.get_data(as_text=True)
    too_large = _attach(client, p.id, b"%PDF-" + b"0" * (5 * 1024 * 1024), "big.pdf")
    assert too_large.status_code == 422
    assert _attach(client, p.id, pdf, "registration.pdf").status_code == 303
    page = client.get("/secretariat/participants/%d" % p.id).get_data(as_text=True)
    assert "Scan of the paper registration attached." in page
    scan = client.get("/participants/%d/scan" % p.id)
    assert scan.status_code == 200 and scan.data == pdf
    assert scan.headers["Content-Type"] == "application/pdf"
    assert scan.headers["Content-Disposition"].startswith("attachment")
    assert scan.headers["X-Content-Type-Options"] == "nosniff"
    # An image replaces it, typed by its content whatever its name says.
    assert _attach(client, p.id, jpeg(), "scan.pdf").status_code == 303
    assert client.get("/participants/%d/scan" % p.id).headers["Content-Type"] == "image/jpeg"
    auth.logout()
    auth.login("coord", PASSWORD)
    assert client.get("/participants/%d/scan" % p.id).status_code == 200
    assert _attach(client, p.id, pdf, "x.pdf").status_code == 404  # the secretariat's only
    auth.logout()
    auth.login("intruder", PASSWORD)
    assert client.get("/participants/%d/scan" % p.id).status_code == 404


def test_privacy_purge_removes_scans_and_waiting_spreadsheets(
    client, auth, world, app, runner, make_participant
):
    from portal.models import PaperScan

    p = make_participant(world["paper"], family_name="PAPER")
    auth.login("sec", PASSWORD)
    assert _attach(client, p.id, b"%PDF-1.4\n%%EOF\n", "r.pdf").status_code == 303
    base = "/secretariat/organizations/%d/import" % world["paper"].id
    assert send(client, base, xlsx([person(1)]), "paper.xlsx").status_code == 303
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    done = runner.invoke(args=["privacy", "purge", "--before", tomorrow])
    assert done.exit_code == 0, done.output
    assert "1 scans of paper registrations and 1 spreadsheets awaiting confirmation" in done.output
    with app.app_context(), database.connection_context():
        assert PaperScan.select().count() == 0
        assert ParticipantImport.select().count() == 0


def test_two_confirmations_at_once_import_once(app, world):
    """Two sessions confirm the same import at the same moment: the delegation's lock orders
    them; the second finds it applied and imports nothing."""
    import threading

    from tests.conftest import AuthActions

    clients = [app.test_client() for _ in range(2)]
    for c in clients:
        assert AuthActions(c).login("coord", PASSWORD).status_code == 303
    response = send(
        clients[0], "/delegation/import", xlsx([person(i) for i in range(30)]), "d.xlsx"
    )
    preview = response.headers["Location"]
    tokens = [csrf_token(c.get(preview).data) for c in clients]
    barrier = threading.Barrier(2)
    statuses = []

    def go(c, token):
        barrier.wait()
        statuses.append(c.post(preview, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clients, tokens)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [303, 303]
    assert count(app) == 30
    with app.app_context(), database.connection_context():
        assert AuditLog.select().where(AuditLog.action == "participant.import").count() == 1


def test_unchanged_complete_rows_are_submitted_when_asked(client, auth, world, app):
    from portal.services.photos import process, store
    from tests.test_delegation_helpers import jpeg

    auth.login("coord", PASSWORD)
    rows = [person(1, mobile=""), person(2)]
    confirm(client, send(client, "/delegation/import", xlsx(rows), "d.xlsx").headers["Location"])
    with app.test_request_context(), database.connection_context():
        first = Participant.get(Participant.family_name == "NOM" + _letters(1))
        store(first, process(jpeg(), 5 * 1024 * 1024))  # its photo, added on its page
    response = send(client, "/delegation/import", xlsx(rows), "d.xlsx")
    assert "0 to create, 0 to update, 2 unchanged" in client.get(
        response.headers["Location"]
    ).get_data(as_text=True)
    done = confirm(client, response.headers["Location"], submit=True)
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Submitted for accreditation: 1." in page
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(first.id).status == SUBMITTED
        assert Participant.select().where(Participant.status == SUBMITTED).count() == 1


# -- Badge photos in bulk -------------------------------------------------------------------------


def test_photos_in_bulk_matched_by_passport_the_rest_reported(client, auth, world, app):
    from portal.models import Photo
    from tests.test_delegation_helpers import jpeg

    auth.login("coord", PASSWORD)
    rows = [person(1), person(2)]
    confirm(client, send(client, "/delegation/import", xlsx(rows), "d.xlsx").headers["Location"])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("P0000001.jpg", jpeg())
        z.writestr("p 0000002.JPEG", jpeg(color=(10, 200, 10)))
        z.writestr("P9999999.jpg", jpeg())  # nobody's
        z.writestr("../P0000001.jpg", jpeg())
        z.writestr("notes.txt", b"hello")
        z.writestr("P0000002.png", b"not a picture")
        z.writestr("big.jpg", b"\0" * (6 * 1024 * 1024))
    page = client.get("/delegation/import")
    response = client.post(
        "/delegation/import/photos",
        data={
            "csrf_token": csrf_token(page.data),
            "photos": (io.BytesIO(archive.getvalue()), "p.zip"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Photos saved: 2." in text
    for name, why in (
        ("P9999999.jpg", "No participant of the delegation has this passport number."),
        ("../P0000001.jpg", "A name with a folder"),
        ("notes.txt", "Not a JPEG or PNG file"),
        ("P0000002.png", "photo"),
        ("big.jpg", "Too large for a photo"),
    ):
        assert re.search(
            r"<bdi>%s</bdi></td><td>[^<]*%s" % (re.escape(name), re.escape(why)), text
        ), name
    with app.app_context(), database.connection_context():
        assert Photo.select().count() == 2
    # Not an archive: refused, nothing written.
    refused = client.post(
        "/delegation/import/photos",
        data={"csrf_token": csrf_token(page.data), "photos": (io.BytesIO(b"%PDF"), "p.zip")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "not a ZIP archive" in refused.get_data(as_text=True)


def test_key_rotation_reseals_spreadsheets_awaiting_confirmation(
    app, app_config, world, client, auth
):
    from portal import create_app
    from portal.crypto import new_key

    auth.login("coord", PASSWORD)
    assert send(client, "/delegation/import", xlsx([person(1)]), "d.xlsx").status_code == 303
    rotated = {**app_config, "DATA_KEY": new_key(), "DATA_KEY_OLD": app_config["DATA_KEY"]}
    result = create_app(rotated).test_cli_runner().invoke(args=["privacy", "rotate-key"])
    assert result.exit_code == 0, result.output
    # Without the old key: the waiting spreadsheet still opens, and imports.
    fresh = create_app({**app_config, "DATA_KEY": rotated["DATA_KEY"]})
    with fresh.app_context(), database.connection_context():
        rows = json.loads(ParticipantImport.get().rows)
        assert rows[0]["data"]["passport_number"] == "P0000001"
