"""Import of the PrepCom accounts export (see tests/data and the README): every row is checked
first; if any is bad nothing is imported, and every bad row is reported with its line."""

import csv
import io
import logging
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms.validators import Email, ValidationError

from ..db import database
from ..forms import normalize
from ..models import CATEGORIES, ROLE_COORDINATOR, Account, Organization, new_token, utcnow
from . import audit, passwords, usernames

log = logging.getLogger(__name__)

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
ORG_COLUMNS = (
    "org_name_en",
    "org_name_fr",
    "org_name_ar",
    "org_acronym",
    "org_acronym_en",
    "org_acronym_ar",
    "org_category",
)
#: Optional columns and the organization's field each fills. A column the file does not have
#: leaves the field as it is (the PrepCom export has no Arabic name: a name set by the
#: secretariat survives a re-import). ``org_acronym`` is the French acronym (see its format).
OPTIONAL_ORG_COLUMNS = {
    "org_name_ar": "name_ar",
    "org_acronym": "acronym_fr",
    "org_acronym_en": "acronym_en",
    "org_acronym_ar": "acronym_ar",
}


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
    organizations_updated: int = 0
    passwords_replaced: int = 0
    errors: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.errors


def decode(data: bytes) -> str:
    """Decode an export: UTF-8 (with or without BOM), else Windows-1252.

    Windows-1252 text with accents is almost never valid UTF-8, so trying UTF-8 first is safe.
    Raises UnicodeDecodeError if the bytes are neither (Windows-1252 leaves five bytes
    undefined).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


class _Lines:
    """Physical lines of the text (CRLF, LF or CR), counted as the CSV reader takes them."""

    def __init__(self, text):
        self._lines = iter(io.StringIO(text, newline=""))
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self._lines)
        self.count += 1
        return line


def parse(data: bytes):
    """Return (rows, errors): rows as (line, dict) with values normalized by the forms' own
    ``normalize`` (a value it refuses is the row's error), where ``line`` is the physical line
    on which the row starts (a quoted field may hold line breaks)."""
    try:
        text = decode(data)
    except UnicodeDecodeError as exc:
        return [], [RowError(1, str(_l("unreadable file: %(reason)s", reason=exc.reason)))]
    lines = _Lines(text)
    reader = csv.reader(lines, strict=True)
    errors = []
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, str(_l("the file is empty")))]
    except csv.Error as exc:
        return [], [RowError(1, str(exc))]
    header = [h.strip().lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        errors.append(
            RowError(1, str(_l("missing columns: %(columns)s", columns=", ".join(missing))))
        )
    repeated = sorted({h for h in header if h and header.count(h) > 1})
    if repeated:
        errors.append(
            RowError(1, str(_l("repeated columns: %(columns)s", columns=", ".join(repeated))))
        )
    if errors:
        return [], errors
    rows = []
    while True:
        start = lines.count + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, str(exc)))
            break
        if not any(value.strip() for value in record):
            continue  # a blank line
        if len(record) != len(header):
            errors.append(
                RowError(
                    start,
                    str(
                        _l(
                            "%(found)s fields where the header has %(expected)s",
                            found=len(record),
                            expected=len(header),
                        )
                    ),
                )
            )
            continue
        # Unknown extra columns are ignored; known ones are read by name, each value normalized
        # as every form's text is (NFC, blanks trimmed, control and format characters refused).
        values, problems = {}, []
        for name, value in zip(header, record, strict=True):
            if not name:
                continue
            try:
                # A quoted value may hold line breaks (FORMAT.md): one space each, as a name
                # wrapped in the export; any other control character is the row's error.
                values[name] = " ".join(normalize(value, multiline=True).split(None))
            except ValueError as exc:
                problems.append("%s: %s" % (name, exc))
        if problems:
            errors.append(RowError(start, "; ".join(problems)))
            continue
        rows.append((start, values))
    return rows, errors


# Longest value each column may hold (the database's column sizes).
MAX_LENGTHS = {
    "username": 150,
    "password_hash": 300,
    "org_code": 32,
    "org_name_en": 300,
    "org_name_fr": 300,
    "org_name_ar": 300,
    "org_acronym": 32,
    "org_acronym_en": 32,
    "org_acronym_ar": 32,
    "title": 32,
    "given_name": 150,
    "family_name": 150,
    "email": 254,
    "phone": 64,
}


def validate(rows):
    errors = []
    seen = {}
    organizations = {}
    email = Email()
    secretariat = {
        key
        for (key,) in Account.select(Account.username_key)
        .where(Account.role != ROLE_COORDINATOR)
        .tuples()
    }
    existing, similar = _confusable_keys()
    for line, row in rows:
        problems = []
        key = Account.key(row.get("username"))
        if not key:
            problems.append(_l("username is empty"))
        elif key in seen:
            problems.append(_l("username repeats line %(line)s", line=seen[key]))
        else:
            seen[key] = line
        if key in secretariat:
            problems.append(_l("username belongs to a secretariat account"))
        if key and usernames.username_problem(row.get("username")):
            problems.append(_l("username has spaces, control characters or invisible ones"))
        elif key:
            twin = _look_alike(key, row.get("username"), existing, similar)
            if twin:
                problems.append(_l("username looks like %(username)s", username=twin))
        if passwords.scheme_of(row.get("password_hash")) in (None, passwords.ARGON2):
            problems.append(_l("unknown password hash scheme"))
        for column in ("org_code", "org_name_en", "org_name_fr"):
            if not row.get(column):
                problems.append(_l("%(column)s is empty", column=column))
        if row.get("org_category") not in CATEGORIES:
            problems.append(
                _l("unknown organization category %(value)r", value=row.get("org_category"))
            )
        code = row.get("org_code")
        if code:
            org = tuple(row.get(c, "") for c in ORG_COLUMNS)
            first = organizations.setdefault(code, (line, org))
            if first[1] != org:
                problems.append(
                    _l(
                        "organization %(code)s differs from line %(line)s",
                        code=code,
                        line=first[0],
                    )
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
        for column, limit in MAX_LENGTHS.items():
            if len(row.get(column, "")) > limit:
                problems.append(
                    _l("%(column)s is longer than %(max)s characters", column=column, max=limit)
                )
        if problems:
            errors.append(RowError(line, "; ".join(str(p) for p in problems)))
    return errors


def _confusable_keys():
    """Map each existing account's confusable key to its (username key, username)."""
    existing, similar = {}, {}
    for username, key in Account.select(Account.username, Account.username_key).tuples():
        existing[key] = username
        similar[usernames.confusable_key(username)] = (key, username)
    return existing, similar


def _look_alike(key, username, existing, similar):
    """Return the account or earlier row that ``username`` looks like (an account of the same
    username is the same account, updated); remember this row for the rows after it."""
    if key in existing:
        return None
    other = similar.setdefault(usernames.confusable_key(username), (key, username))
    return other[1] if other[0] != key else None


class _Value:
    """The bit of a WTForms field that its Email validator reads."""

    def __init__(self, data):
        self.data = data
        self.errors = []

    def gettext(self, s):
        return s


def import_accounts(data: bytes, dry_run=False, actor=None, source=""):
    """Validate and import an export; nothing is written if any row is bad or on dry run.

    A dry run does the whole import inside a transaction and rolls it back, so its counts are
    exactly those a real run would print.
    """
    rows, errors = parse(data)
    # Every bad row is reported: the rows read whole are checked even when others were not.
    errors = sorted(errors + validate(rows), key=lambda error: error.line)
    report = ImportReport(errors=errors)
    if errors:
        log.warning("accounts import %s refused: %d bad rows", source, len(errors))
        return report
    with database.atomic() as txn:
        for _line, row in rows:
            _import_row(row, report)
        audit.record(
            "accounts.import",
            account=actor,
            source=source,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            passwords_replaced=report.passwords_replaced,
            organizations_created=report.organizations_created,
            organizations_updated=report.organizations_updated,
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
        "category": row["org_category"],
    }
    for column, name in OPTIONAL_ORG_COLUMNS.items():
        if column in row:
            org_values[name] = row[column]
    if "name_ar" in org_values:
        org_values["name_ar"] = org_values["name_ar"] or None  # no Arabic name: NULL, as stored
    if org is None:
        org = Organization.create(code=row["org_code"], **org_values)
        report.organizations_created += 1
    elif any(getattr(org, k) != v for k, v in org_values.items()):
        for k, v in org_values.items():
            setattr(org, k, v)
        org.updated_at = now
        org.save()
        report.organizations_updated += 1

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
        report.passwords_replaced += 1
        changed = True
    if changed:
        account.updated_at = now
        account.save()
        report.updated += 1
    else:
        report.unchanged += 1
