"""The PrepCom accounts import: encodings, line endings, quoting, columns by name, all-or-nothing
validation with line numbers, re-imports, dry runs, the audit, and `accounts list`."""

import base64
import hashlib
import os

from passlib.hash import md5_crypt

from portal.db import database
from portal.models import Account, AuditLog, Organization, PasswordLink

from .conftest import DATA

SAMPLE = os.path.join(DATA, "accounts-sample.csv")
BAD = os.path.join(DATA, "accounts-bad.csv")
HEADER = (
    "username,password_hash,org_code,org_name_en,org_name_fr,org_acronym,org_category,title,"
    "given_name,family_name,email,phone,language"
)


def md5(password):
    return hashlib.md5(password.encode("utf-8")).hexdigest()  # noqa: S324


def ldap_sha(password):
    return "{SHA}" + base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()  # noqa: S324


def ldap_ssha(password, salt):
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def row(username, password_hash, org="ITC", **values):
    fields = {
        "org_name_en": "International Trade Centre",
        "org_name_fr": "Centre du commerce international",
        "org_acronym": org,
        "org_category": "UN",
        "title": "Mr.",
        "given_name": "Peter",
        "family_name": "Brown",
        "email": "%s@example.org" % username.strip().lower(),
        "phone": "",
        "language": "en",
        **values,
    }
    return ",".join(
        [username, password_hash, org]
        + [
            fields[c]
            for c in HEADER.split(",")[3:]
            if c not in ("username", "password_hash", "org_code")
        ]
    )


def write(tmp_path, lines, name="export.csv", encoding="utf-8", newline="\r\n", bom=False):
    path = tmp_path / name
    data = newline.join(lines) + newline
    raw = data.encode(encoding)
    if bom:
        raw = b"\xef\xbb\xbf" + raw
    path.write_bytes(raw)
    return str(path)


def counts(app):
    with app.app_context(), database.connection_context():
        return {
            model.__name__: model.select().count()
            for model in (Account, Organization, AuditLog, PasswordLink)
        }


def accounts_by_key(app):
    with app.app_context(), database.connection_context():
        return {a.username_key: a for a in Account.select()}


def test_sample_in_windows_1252_with_crlf_imports(app, runner):
    with open(SAMPLE, "rb") as fh:
        raw = fh.read()
    assert b"\r\n" in raw and b"\xe9" in raw  # really Windows-1252 with CRLF
    result = runner.invoke(args=["accounts", "import", SAMPLE])
    assert result.exit_code == 0, result.output
    assert "accounts: 8 created, 0 updated, 0 unchanged" in result.output
    assert "organizations: 7 created" in result.output
    with app.app_context(), database.connection_context():
        unesco = Organization.get(Organization.code == "UNESCO")
        assert unesco.name_fr == (
            "Organisation des Nations Unies pour l'éducation, la science et la culture"
        )
        assert unesco.name_en == "United Nations Educational, Scientific and Cultural Organization"
        assert Organization.get(Organization.code == "LAS").name_fr == "Ligue des États arabes"
        dfp = Account.get(Account.username_key == "unesco.dfp")
        assert (dfp.given_name, dfp.family_name) == ("Hélène", "Lefèvre")
        assert Account.get(Account.username_key == "unesco.deputy").given_name == "François"
        schemes = {a.username: a.password_scheme for a in Account.select()}
    assert schemes == {
        "unesco.dfp": "md5",
        "unesco.deputy": "md5-crypt",
        "wipo-focal": "md5-crypt",
        "las.coord": "ldap-ssha",
        "oif_coord": "ldap-sha1",
        "undp.wsis": "none",
        "escwa.dfp": "md5",
        "au.dfp": "md5-crypt",
    }


def test_the_same_export_in_utf8_with_or_without_bom_and_lf_reads_the_same(app, runner, tmp_path):
    with open(SAMPLE, "rb") as fh:
        text = fh.read().decode("cp1252")
    lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    for bom, newline in ((True, "\n"), (False, "\n"), (True, "\r\n")):
        path = write(tmp_path, lines, bom=bom, newline=newline)
        result = runner.invoke(args=["accounts", "import", path])
        assert result.exit_code == 0, result.output
    with app.app_context(), database.connection_context():
        assert Account.select().count() == 8
        assert Organization.get(Organization.code == "LAS").name_fr == "Ligue des États arabes"
        assert Account.get(Account.username_key == "unesco.dfp").family_name == "Lefèvre"
        # The byte-order mark did not become part of the first column's name.
        assert Account.get_or_none(Account.username_key == "unesco.dfp") is not None


def test_bad_file_is_refused_with_every_bad_row_named_and_nothing_changes(app, runner):
    runner.invoke(args=["accounts", "import", SAMPLE])
    before = counts(app)
    result = runner.invoke(args=["accounts", "import", BAD])
    assert result.exit_code != 0
    output = result.output
    for line, reason in (
        (4, "username repeats line 3"),
        (5, "unknown password hash scheme"),
        (6, "org_code is empty"),
        (7, "invalid e-mail address"),
        (8, "unknown organization category"),
        (9, "unsupported language"),
    ):
        assert "accounts-bad.csv: line %d: " % line in output
        assert reason in [ln for ln in output.splitlines() if "line %d:" % line in ln][0]
    assert "line 2:" not in output and "line 3:" not in output
    assert "6 bad rows: nothing imported" in output
    assert counts(app) == before
    with app.app_context(), database.connection_context():
        assert not Account.select().where(Account.username_key == "ok.user").exists()
        assert not Organization.select().where(Organization.code == "ITC").exists()


def test_line_numbers_are_where_each_row_starts_despite_line_breaks_in_quotes(runner, tmp_path):
    lines = [
        HEADER,
        # line 2, spanning 2-3: a quoted name with a line break and a doubled quote
        row("first", md5("x"), org="ITC1", org_name_en='"International Trade\r\nCentre ""ITC"""'),
        row("second", "plain-nonsense"),  # line 4: bad
        row("third", md5("x"), org="ITC3", org_name_fr='"Centre du commerce\r\ninternational"'),
        # lines 5-6 above; line 7: bad
        row("fourth", md5("x"), email="nope"),
        "",  # line 8: blank, skipped
        row("fifth", md5("x"), language="de"),  # line 9: bad
    ]
    path = write(tmp_path, lines)
    result = runner.invoke(args=["accounts", "import", path])
    assert result.exit_code != 0
    named = sorted(
        int(ln.split("line ")[1].split(":")[0])
        for ln in result.output.splitlines()
        if ": line " in ln
    )
    assert named == [4, 7, 9], result.output


def test_columns_by_name_in_any_order_extra_columns_ignored(app, runner, tmp_path):
    header = (
        "Language,email,family_name,given_name,legacy_id,org_category,org_name_fr,"
        "org_name_en,org_code,password_hash,username"
    )
    line = ",".join(
        [
            "fr",
            "c.ndiaye@itc.example",
            "Ndiaye",
            "Cécile",
            "12345",
            "UN",
            '"Centre du commerce international, Genève"',
            "International Trade Centre",
            "ITC",
            md5("secret-itc"),
            "c.ndiaye",
        ]
    )
    result = runner.invoke(args=["accounts", "import", write(tmp_path, [header, line])])
    assert result.exit_code == 0, result.output
    account = accounts_by_key(app)["c.ndiaye"]
    assert (account.given_name, account.language, account.email) == (
        "Cécile",
        "fr",
        "c.ndiaye@itc.example",
    )
    with app.app_context(), database.connection_context():
        itc = Organization.get(Organization.code == "ITC")
        assert itc.name_fr == "Centre du commerce international, Genève"
        assert itc.acronym_fr == ""


def test_missing_column_and_undecodable_bytes_are_reported_not_crashes(app, runner, tmp_path):
    missing = write(tmp_path, ["username,password_hash", "a," + md5("x")], name="missing.csv")
    result = runner.invoke(args=["accounts", "import", missing])
    assert result.exit_code != 0
    assert "line 1: missing columns: org_code" in result.output
    # 0x81 is undefined in Windows-1252 and not UTF-8 either.
    junk = tmp_path / "junk.csv"
    junk.write_bytes(HEADER.encode() + b"\r\n\x81\x81\r\n")
    result = runner.invoke(args=["accounts", "import", str(junk)])
    assert result.exit_code != 0
    assert "unreadable file" in result.output
    assert "Traceback" not in result.output
    assert counts(app)["Account"] == 0


def test_organization_named_differently_on_two_rows_is_an_error(runner, tmp_path):
    lines = [
        HEADER,
        row("a.one", md5("x")),
        row("b.two", md5("x"), org_name_en="International Trade Center"),
    ]
    result = runner.invoke(args=["accounts", "import", write(tmp_path, lines)])
    assert result.exit_code != 0
    assert "line 3: organization ITC differs from line 2" in result.output


def test_dry_run_reports_the_counts_and_writes_nothing(app, runner):
    before = counts(app)
    result = runner.invoke(args=["accounts", "import", "--dry-run", SAMPLE])
    assert result.exit_code == 0, result.output
    assert "dry run" in result.output
    assert "accounts: 8 created, 0 updated, 0 unchanged" in result.output
    assert counts(app) == before
    result = runner.invoke(args=["accounts", "import", "--dry-run", BAD])
    assert result.exit_code != 0
    assert counts(app) == before


def test_reimport_updates_keeps_upgraded_hash_unless_prepcom_changed_it(
    app, runner, auth, client, tmp_path
):
    lines = [
        HEADER,
        row("alice", md5("Alice-pass-1")),
        row("bob", md5("Bob-pass-1")),
        row("carol", md5("Carol-pass-1")),
    ]
    result = runner.invoke(args=["accounts", "import", write(tmp_path, lines)])
    assert "accounts: 3 created" in result.output
    # Alice and Bob sign in: their MD5 hashes become argon2id.
    for name in ("alice", "bob"):
        assert auth.login(name, name.capitalize() + "-pass-1").status_code == 303
        auth.logout()
    upgraded = accounts_by_key(app)
    assert upgraded["alice"].password_scheme == "argon2id"
    # The same export again: nothing changes, the upgraded hashes stay.
    result = runner.invoke(args=["accounts", "import", write(tmp_path, lines)])
    assert "accounts: 0 created, 0 updated, 3 unchanged" in result.output, result.output
    again = accounts_by_key(app)
    assert again["alice"].password_hash == upgraded["alice"].password_hash
    # A newer export: Alice's e-mail changed, Bob's password was changed in PrepCom; Carol is
    # missing from it (and is not deleted).
    newer = [
        HEADER,
        row("alice", md5("Alice-pass-1"), email="alice.new@example.org"),
        row("BOB ", md5("Bob-pass-2")),
    ]
    result = runner.invoke(args=["accounts", "import", write(tmp_path, newer)])
    assert "accounts: 0 created, 2 updated, 0 unchanged" in result.output, result.output
    final = accounts_by_key(app)
    assert set(final) == {"alice", "bob", "carol"}
    assert final["alice"].email == "alice.new@example.org"
    assert final["alice"].password_hash == upgraded["alice"].password_hash  # kept
    assert final["bob"].password_scheme == "md5"  # the new PrepCom hash won
    assert auth.login("bob", "Bob-pass-1").status_code == 422
    assert auth.login("bob", "Bob-pass-2").status_code == 303


def test_import_is_audited_without_hashes(app, runner):
    runner.invoke(args=["accounts", "import", SAMPLE])
    with app.app_context(), database.connection_context():
        row_ = AuditLog.get(AuditLog.action == "accounts.import")
        assert '"created": 8' in row_.details
        assert "accounts-sample.csv" in row_.details
        everything = " ".join(a.details for a in AuditLog.select())
    with open(SAMPLE, encoding="cp1252") as fh:
        hashes = [line.split(",")[1] for line in fh.read().splitlines()[1:]]
    for value in filter(None, hashes):
        assert value not in everything


def test_accounts_list_shows_scheme_and_last_sign_in(app, runner, auth):
    runner.invoke(args=["accounts", "import", SAMPLE])
    auth.login("unesco.dfp", "Tunis2005!")
    result = runner.invoke(args=["accounts", "list"])
    assert result.exit_code == 0
    lines = {ln.split("\t")[0]: ln.split("\t") for ln in result.output.splitlines()}
    assert lines["unesco.dfp"][1:4] == ["coordinator", "UNESCO", "argon2id"]
    assert lines["unesco.dfp"][4] != "never"
    assert lines["las.coord"][1:] == ["coordinator", "LAS", "ldap-ssha", "never"]
    assert lines["undp.wsis"][3] == "none"


def test_create_secretariat_from_the_environment(app, runner, monkeypatch, auth):
    monkeypatch.setenv("PORTAL_NEW_PASSWORD", "password123")
    result = runner.invoke(args=["accounts", "create-secretariat", "registry"])
    assert result.exit_code != 0
    assert "most common" in result.output
    monkeypatch.setenv("PORTAL_NEW_PASSWORD", "Kram-Palexpo-2005")
    result = runner.invoke(args=["accounts", "create-secretariat", "Registry"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["accounts", "create-secretariat", " registry"]).exit_code != 0
    listing = runner.invoke(args=["accounts", "list"]).output
    assert "Registry\tsecretariat\t-\targon2id\tnever" in listing
    assert auth.login("registry", "Kram-Palexpo-2005").status_code == 303


def test_utf8_bom_mixed_case_blanks_comma_and_non_ascii_passwords_sign_in(
    app, runner, auth, client, tmp_path
):
    """What it must show, 2."""
    people = {
        # username as exported -> (hash, password, as typed at sign-in)
        "  Amina.Benali ": (md5("Mot-de-passe-été"), "Mot-de-passe-été", "AMINA.BENALI"),
        "Jose.Nunez": (ldap_sha("Añoranza-ñandú"), "Añoranza-ñandú", "  jose.nunez  "),
        "Layla.H": (ldap_ssha("كلمة-السر-٢٠٠٥", b"\x01\x02"), "كلمة-السر-٢٠٠٥", " LAYLA.h"),
        "Zoe.K": (md5_crypt.hash("Zoë-Ελλάδα-05"), "Zoë-Ελλάδα-05", "zoe.k "),
        "Long.Salt": (ldap_ssha("Çà-et-là-2005", os.urandom(24)), "Çà-et-là-2005", "long.salt"),
    }
    lines = [HEADER]
    for username, (hashed, _password, _typed) in people.items():
        lines.append(
            row(
                username,
                hashed,
                org="CNUCED",
                org_name_en='"United Nations Conference on Trade and Development, Geneva"',
                org_name_fr='"Conférence des Nations Unies sur le commerce et le développement"',
                given_name="Élodie",
                email="%s@unctad.example" % username.strip().lower(),
            )
        )
    path = write(tmp_path, lines, bom=True, newline="\n")
    result = runner.invoke(args=["accounts", "import", path])
    assert result.exit_code == 0, result.output
    assert "accounts: 5 created" in result.output
    with app.app_context(), database.connection_context():
        org = Organization.get(Organization.code == "CNUCED")
        assert org.name_en == "United Nations Conference on Trade and Development, Geneva"
        assert Account.get(Account.username_key == "amina.benali").username == "Amina.Benali"
    for _username, (_hashed, password, typed) in people.items():
        assert auth.login(typed, password + "x").status_code == 422
        response = auth.login(typed, password)
        assert response.status_code == 303, typed
        page = client.get("/delegation").get_data(as_text=True)
        assert "United Nations Conference on Trade and Development, Geneva" in page
        auth.logout()
    assert {a.password_scheme for a in accounts_by_key(app).values()} == {"argon2id"}
    # And again with the argon2id hash.
    assert auth.login(" ZOE.K", "Zoë-Ελλάδα-05").status_code == 303
