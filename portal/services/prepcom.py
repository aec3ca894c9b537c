"""Import of the PrepCom accounts export (see tests/data and the README): every row is checked
first; if any is bad nothing is imported, and every bad row is reported with its line."""

import csv
import io
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms.validators import Email, ValidationError

from ..db import database
from ..models import CATEGORIES, ROLE_COORDINATOR, Account, Organization, new_token, utcnow
from . import audit, passwords

REQUIRED_COLUMNS = (
    "username",
    "password_hash",
    "org_code",
    "org_name_en",
    "org_name_fr",
    "org_category",
    "given_name",
    "family_name",
    "email",
    "language",
)
LANGUAGES = ("fr", "en", "ar")


@dataclass
class RowError:
    line: int
    message: str

    def __str__(self):
        return "line %d: %s" % (self.line, self.message)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    organizations_created: int = 0
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


def decode(data: bytes) -> str:
    """Decode an export: UTF-8 (with or without BOM), else Windows-1252."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def parse(data: bytes):
    """Return (rows, errors): rows as (line, dict) with values stripped."""
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    errors = []
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        return [], [
            RowError(1, str(_l("missing columns: %(columns)s", columns=", ".join(missing))))
        ]
    rows = []
    line = reader.line_num
    for record in reader:
        start = line + 1
        line = reader.line_num
        values = {k: (v or "").strip() for k, v in record.items() if k}
        rows.append((start, values))
    return rows, errors


def validate(rows):
    errors = []
    seen = {}
    email = Email()
    for line, row in rows:
        problems = []
        key = Account.key(row.get("username"))
        if not key:
            problems.append(_l("username is empty"))
        elif key in seen:
            problems.append(_l("username repeats line %(line)s", line=seen[key]))
        else:
            seen[key] = line
        if passwords.scheme_of(row.get("password_hash")) in (None, passwords.ARGON2):
            problems.append(_l("unknown password hash scheme"))
        for column in ("org_code", "org_name_en", "org_name_fr"):
            if not row.get(column):
                problems.append(_l("%(column)s is empty", column=column))
        if row.get("org_category") not in CATEGORIES:
            problems.append(
                _l("unknown organization category %(value)r", value=row.get("org_category"))
            )
        for column in ("given_name", "family_name"):
            if not row.get(column):
                problems.append(_l("%(column)s is empty", column=column))
        try:
            email(None, _Value(row.get("email", "")))
        except ValidationError:
            problems.append(_l("invalid e-mail address %(value)r", value=row.get("email")))
        if row.get("language") not in LANGUAGES:
            problems.append(_l("unsupported language %(value)r", value=row.get("language")))
        if problems:
            errors.append(RowError(line, "; ".join(str(p) for p in problems)))
    return errors


class _Value:
    """The bit of a WTForms field that its Email validator reads."""

    def __init__(self, data):
        self.data = data
        self.errors = []

    def gettext(self, s):
        return s


def import_accounts(data: bytes, dry_run=False, actor=None):
    """Validate and import an export; nothing is written if any row is bad or on dry run."""
    rows, errors = parse(data)
    errors += validate(rows)
    report = ImportReport(errors=errors)
    if errors:
        return report
    with database.atomic() as txn:
        for _line, row in rows:
            _import_row(row, report)
        audit.record(
            "accounts.import",
            account=actor,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            dry_run=dry_run,
        )
        if dry_run:
            txn.rollback()
    return report


def _import_row(row, report):
    now = utcnow()
    org = Organization.get_or_none(Organization.code == row["org_code"])
    org_values = {
        "name_en": row["org_name_en"],
        "name_fr": row["org_name_fr"],
        "acronym": row.get("org_acronym", ""),
        "category": row["org_category"],
    }
    if org is None:
        org = Organization.create(code=row["org_code"], **org_values)
        report.organizations_created += 1
    elif any(getattr(org, k) != v for k, v in org_values.items()):
        for k, v in org_values.items():
            setattr(org, k, v)
        org.updated_at = now
        org.save()

    exported_hash = row["password_hash"]
    values = {
        "username": row["username"],
        "organization": org.id,
        "title": row.get("title", ""),
        "given_name": row["given_name"],
        "family_name": row["family_name"],
        "email": row["email"],
        "phone": row.get("phone", ""),
        "language": row["language"],
    }
    key = Account.key(row["username"])
    account = Account.get_or_none(Account.username_key == key)
    if account is None:
        Account.create(
            username_key=key,
            role=ROLE_COORDINATOR,
            password_hash=exported_hash,
            password_scheme=passwords.scheme_of(exported_hash),
            prepcom_hash=exported_hash,
            **values,
        )
        report.created += 1
        return
    changed = False
    for k, v in values.items():
        current = account.organization_id if k == "organization" else getattr(account, k)
        if current != v:
            setattr(account, k, v)
            changed = True
    if exported_hash != account.prepcom_hash:
        # The password was changed in PrepCom since the last import: the new one wins.
        account.password_hash = exported_hash
        account.password_scheme = passwords.scheme_of(exported_hash)
        account.prepcom_hash = exported_hash
        account.session_token = new_token()
        changed = True
    if changed:
        account.updated_at = now
        account.save()
        report.updated += 1
    else:
        report.unchanged += 1
