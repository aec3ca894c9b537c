"""The catalogues and the translators' workflow: the checks CI runs, a translator's change going
live, a broken placeholder refused with its line, deterministic extraction, Arabic plurals."""

import gettext
import io
import os
import re
import shutil
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext

from portal import create_app, i18n_tools

from .conftest import ROOT

TRANSLATIONS = os.path.join(ROOT, "translations")
STANDARD_ARABIC = (
    "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
    ": n%100>=11 ? 4 : 5);"
)


def run_tool(*args):
    """Run the documented command (``make translations`` runs ``compile``) as a translator
    would, in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "portal.i18n_tools", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def translations(tmp_path):
    """A copy of the catalogues (without compiled files) to work on."""
    target = tmp_path / "translations"
    shutil.copytree(TRANSLATIONS, target, ignore=shutil.ignore_patterns("*.mo", ".tmp-*"))
    return target


def po_lines(path):
    return path.read_text(encoding="utf-8").splitlines()


def entry_line(path, msgid):
    """The line number of ``msgid "..."`` in a catalogue (what the reports must point at)."""
    needle = 'msgid "%s"' % msgid
    for number, line in enumerate(po_lines(path), 1):
        if line == needle:
            return number
    raise AssertionError("%s not found in %s" % (msgid, path))


def set_msgstr(path, msgid, new):
    lines = po_lines(path)
    index = entry_line(path, msgid)  # 1-based: lines[index] is the msgstr line
    assert lines[index].startswith("msgstr "), lines[index]
    lines[index] = 'msgstr "%s"' % new
    while index + 1 < len(lines) and lines[index + 1].startswith('"'):
        del lines[index + 1]  # the rest of a long msgstr
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def app_with(translations_dir, app_config, **extra):
    return create_app(
        {**app_config, "BABEL_TRANSLATION_DIRECTORIES": str(translations_dir), **extra}
    )


# -- CI's checks on the real catalogues ---------------------------------------------------------


def test_the_catalogues_pass_the_strict_check():
    """What `make check-translations` runs: complete French and Arabic, nothing broken, the
    standard Arabic plural header, up to date with the code, msgfmt --check clean."""
    out = io.StringIO()
    status = i18n_tools.check(strict=True, out=out)
    assert status == 0, out.getvalue()
    assert "catalogues: OK" in out.getvalue()


@pytest.mark.parametrize("language", ["fr", "ar"])
def test_french_and_arabic_are_complete(language):
    with open(i18n_tools.po_path(language), "rb") as fh:
        catalog = read_po(fh, locale=language)
    entries = [m for m in catalog if m.id]
    assert len(entries) > 100
    assert not [m.id for m in entries if m.fuzzy]
    assert not [m.id for m in entries if not i18n_tools._translated(m)]


def test_the_arabic_header_is_the_standard_one():
    with open(i18n_tools.po_path("ar"), encoding="utf-8") as fh:
        text = fh.read()
    header = "".join(re.findall(r'^"(.*)"$', text.split("\n\n", 1)[0], re.M)).replace("\\n", "\n")
    assert "Plural-Forms: " + STANDARD_ARABIC in header
    with open(i18n_tools.po_path("fr"), encoding="utf-8") as fh:
        french = fh.read()
    assert '"Plural-Forms: nplurals=2; plural=(n > 1);\\n"' in french


def test_wtforms_messages_are_in_the_catalogues():
    with open(i18n_tools.po_path("ar"), "rb") as fh:
        catalog = read_po(fh, locale="ar")
    assert catalog.get("This field is required.").string == "هذا الحقل مطلوب."
    assert catalog.get("Not a valid date value.").string


# -- Arabic plurals (what it must show, 3) -----------------------------------------------------


def test_arabic_plural_forms_give_the_right_form(app_config, tmp_path, translations):
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    mo = translations / "ar" / "LC_MESSAGES" / "messages.mo"
    with open(mo, "rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    expected_forms = {0: 0, 1: 1, 2: 2, 3: 3, 10: 3, 11: 4, 99: 4, 100: 5, 101: 5, 103: 3, 111: 4}
    for n, form in expected_forms.items():
        assert compiled.plural(n) == form, n

    with open(translations / "ar" / "LC_MESSAGES" / "messages.po", "rb") as fh:
        catalog = read_po(fh, locale="ar")
    singular = "%(num)d participant accredited."
    forms = catalog.get(singular).string
    assert len(forms) == 6 and len(set(forms)) == 6  # six different wordings
    app = app_with(translations, app_config)
    with app.test_request_context(), force_locale("ar"):
        for n, form in {0: 0, 1: 1, 2: 2, 3: 3, 11: 4, 100: 5}.items():
            text = ngettext(singular, "%(num)d participants accredited.", n)
            assert text == forms[form] % {"num": n}, (n, text)
        # Spot checks a reader can verify: 3 participants (plural), 11 (accusative singular),
        # 100 (genitive singular).
        assert "3 مشاركين" in ngettext(singular, "%(num)d participants accredited.", 3)
        assert "11 مشاركًا" in ngettext(singular, "%(num)d participants accredited.", 11)
        assert ngettext(singular, "%(num)d participants accredited.", 100).endswith("100 مشارك.")


def test_a_swapped_arabic_header_is_refused_and_extract_repairs_it(translations):
    path = translations / "ar" / "LC_MESSAGES" / "messages.po"
    text = path.read_text(encoding="utf-8")
    # The kind of header some Babel releases write: the 11-99 and 100+ forms swapped.
    swapped = text.replace('n%100>=11 ? 4 : 5);\\n"', 'n%100>=11 ? 5 : 4);\\n"')
    assert swapped != text
    path.write_text(swapped, encoding="utf-8")
    result = run_tool("check", "--dir", str(translations))
    assert result.returncode == 1
    assert re.search(r"messages\.po:\d+: error: the Plural-Forms header", result.stdout)
    assert i18n_tools.extract(str(translations), out=io.StringIO()) == 0
    repaired = path.read_text(encoding="utf-8")
    assert "n%100>=11 ? 4 : 5);" in repaired
    assert run_tool("check", "--dir", str(translations)).returncode == 0


# -- A translator's change goes live (what it must show, 2) ------------------------------------


def test_a_translator_changes_a_french_string_and_sees_it_after_a_restart(app_config, translations):
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    client = app_with(translations, app_config).test_client()
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Se connecter</h1>" in page

    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    set_msgstr(fr, "Sign in", "Ouvrir une session")
    result = run_tool("compile", "--dir", str(translations))
    assert result.returncode == 0, result.stdout
    assert "French" in result.stdout and "0 untranslated" in result.stdout

    # The portal restarted: a new app (production keeps catalogues until a restart).
    restarted = app_with(translations, app_config, ENV="production", SECRET_KEY="k" * 32)
    page = restarted.test_client().get("/login", headers={"Accept-Language": "fr"})
    assert "<h1>Ouvrir une session</h1>" in page.get_data(as_text=True)


def test_the_development_server_picks_up_a_recompiled_catalogue(app_config, translations):
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    app = app_with(translations, app_config, ENV="development")
    client = app.test_client()
    assert "<h1>Se connecter</h1>" in client.get(
        "/login", headers={"Accept-Language": "fr"}
    ).get_data(as_text=True)
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    set_msgstr(fr, "Sign in", "Identification")
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    # Same app, same process, no code change: the next page has the new wording.
    page = client.get("/login", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert "<h1>Identification</h1>" in page


def test_a_broken_placeholder_is_reported_with_its_line_and_not_compiled(app_config, translations):
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    mo = translations / "fr" / "LC_MESSAGES" / "messages.mo"
    set_msgstr(fr, "Sign in", "Ouvrir une session")
    assert run_tool("compile", "--dir", str(translations)).returncode == 0
    good_mo = mo.read_bytes()

    set_msgstr(fr, "Username: %(username)s", "Nom d’utilisateur : %(nom)s")
    set_msgstr(fr, "Sign in", "Connexion")  # a good change in the same, now broken, file
    line = entry_line(fr, "Username: %(username)s")
    result = run_tool("compile", "--dir", str(translations))
    assert result.returncode == 1
    report = result.stdout
    assert re.search(
        r"fr/LC_MESSAGES/messages\.po:%d: error: msgstr uses %%\(nom\)s, which the English text "
        r"does not have \(it has %%\(username\)s\)" % line,
        report,
    ), report
    assert "NOT compiled" in report
    # Nothing was compiled from the broken file: the previous .mo is still in place, unchanged.
    assert mo.read_bytes() == good_mo
    # Arabic, unaffected, was compiled.
    assert "compiled: " in report and (translations / "ar/LC_MESSAGES/messages.mo").exists()
    page = (
        app_with(translations, app_config)
        .test_client()
        .get("/login", headers={"Accept-Language": "fr"})
    )
    assert "<h1>Ouvrir une session</h1>" in page.get_data(as_text=True)


def test_the_report_names_untranslated_fuzzy_plural_and_syntax_problems(translations):
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    ar = translations / "ar" / "LC_MESSAGES" / "messages.po"
    set_msgstr(fr, "Sign out", "")
    lines = po_lines(fr)
    lines.insert(entry_line(fr, "Change password") - 1, "#, fuzzy")
    fr.write_text("\n".join(lines) + "\n", encoding="utf-8")
    untranslated_line = entry_line(fr, "Sign out")
    fuzzy_line = entry_line(fr, "Change password")

    # Arabic: an entry with two plural forms instead of six, and a lost quote further down.
    text = ar.read_text(encoding="utf-8")
    start = text.index('msgid "%(num)d participant rejected."')
    end = text.index("\n\n", start)
    entry = text[start:end]
    shortened = "\n".join(
        line for line in entry.splitlines() if not re.match(r"msgstr\[[2-5]\]", line)
    )
    text = text[:start] + shortened + text[end:]
    ar.write_text(text, encoding="utf-8")
    plural_line = entry_line(ar, "%(num)d participant rejected.")

    result = run_tool("check", "--strict", "--dir", str(translations))
    assert result.returncode == 1
    out = result.stdout
    assert re.search(r"French .*: \d+ entries, \d+ translated, 1 untranslated, 1 fuzzy", out), out
    assert 'fr/LC_MESSAGES/messages.po:%d: untranslated: "Sign out"' % untranslated_line in out
    assert "fr/LC_MESSAGES/messages.po:%d: fuzzy" % fuzzy_line in out
    assert (
        "ar/LC_MESSAGES/messages.po:%d: error: this entry has 2 plural forms" % plural_line
    ) in out

    # Bad syntax: msgfmt's own words, with the line.
    lines = po_lines(ar)
    broken = entry_line(ar, "Sign out") + 1
    lines[broken - 1] = 'msgstr "تسجيل الخروج'
    ar.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_tool("compile", "--dir", str(translations))
    assert result.returncode == 1
    # (msgfmt names the line where the string should have ended: the broken one or the next)
    assert re.search(
        r"ar/LC_MESSAGES/messages\.po:(%d|%d): error: msgfmt: end-of-line within string"
        % (broken, broken + 1),
        result.stdout,
    ), result.stdout


def test_english_may_leave_entries_empty_but_french_may_not(translations):
    out = io.StringIO()
    assert i18n_tools.check(str(translations), strict=False, out=out) == 0
    en = translations / "en" / "LC_MESSAGES" / "messages.po"
    set_msgstr(en, "Sign in", "Log in")  # an editor rewording the English source
    assert i18n_tools.check(str(translations), strict=False, out=io.StringIO()) == 0
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    set_msgstr(fr, "Sign in", "")
    assert i18n_tools.check(str(translations), strict=False, out=io.StringIO()) == 0
    # Strict (CI): an incomplete French catalogue fails.
    strict = io.StringIO()
    assert i18n_tools.check(str(translations), strict=True, out=strict) == 1
    assert 'untranslated: "Sign in"' in strict.getvalue()


def test_placeholder_rules():
    report = i18n_tools.Report("ar", "x.po")

    class Message:
        def __init__(self, id, string, python_format=True):
            self.id, self.string, self.lineno = id, string, 7
            self.python_format = python_format
            self.locations = [("portal/x.py", None)]

    singles = i18n_tools.single_value_forms(STANDARD_ARABIC.split("plural=")[1].rstrip(";"), 6)
    assert singles == {0, 1, 2}
    # Arabic may say "one minute" and "two minutes" without the number, not "3 minutes".
    ok = Message(
        ("%(num)d minute", "%(num)d minutes"),
        (
            "%(num)d دقيقة",
            "دقيقة واحدة",
            "دقيقتان",
            "%(num)d دقائق",
            "%(num)d دقيقة",
            "%(num)d دقيقة",
        ),
    )
    i18n_tools.check_placeholders(ok, singles, report)
    assert report.errors == []
    bad = Message(
        ("%(num)d minute", "%(num)d minutes"),
        ("دقيقة", "دقيقة واحدة", "دقيقتان", "دقائق", "%(num)s دقيقة", "%(numb)d دقيقة"),
    )
    i18n_tools.check_placeholders(bad, singles, report)
    texts = [t for _, t in report.errors]
    assert any("msgstr[3] lacks %(num)d" in t for t in texts)
    assert any("msgstr[4] changes %(num)d into %(num)s" in t for t in texts)
    assert any("msgstr[5] uses %(numb)d" in t for t in texts)
    assert not any("msgstr[0]" in t for t in texts)
    report.errors.clear()
    i18n_tools.check_placeholders(
        Message("Upload {extensions}", "Envoi {ext}", False), set(), report
    )
    assert [t for _, t in report.errors] == [
        "msgstr uses {ext}, which the English text does not have",
        "msgstr lacks {extensions}, which the English text has: copy it exactly",
    ]
    report.errors.clear()
    i18n_tools.check_placeholders(Message("%(n)s done", "%(n)s fait à 100 %."), set(), report)
    assert "lone % sign" in report.errors[0][1]


# -- Developers' extraction, and CI's "up to date" -------------------------------------------


def test_extract_twice_leaves_the_files_byte_identical(translations):
    assert i18n_tools.extract(str(translations), out=io.StringIO()) == 0
    first = {p: p.read_bytes() for p in translations.rglob("*.po")}
    stamps = {p: p.stat().st_mtime_ns for p in first}
    out = io.StringIO()
    assert i18n_tools.extract(str(translations), out=out) == 0
    assert out.getvalue().count(": unchanged") == 3
    assert {p: p.read_bytes() for p in first} == first
    assert {p: p.stat().st_mtime_ns for p in first} == stamps  # not even rewritten
    text = first[translations / "fr" / "LC_MESSAGES" / "messages.po"].decode()
    # References name files only: moving code inside a file does not change the catalogues.
    assert "#: portal/templates/auth/login.html" in text
    assert not re.search(r"^#: .*:\d+", text, re.M)


def test_ci_notices_catalogues_out_of_date(translations):
    # Brought up to date first (strings other developers add meanwhile are not this test's).
    assert i18n_tools.extract(str(translations), out=io.StringIO()) == 0
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    text = fr.read_text(encoding="utf-8")
    start = text.index('msgid "Skip to content"')
    start = text.rindex("\n\n", 0, start)
    end = text.index("\n\n", start + 2)
    fr.write_text(text[:start] + text[end:], encoding="utf-8")
    result = run_tool("check", "--strict", "--dir", str(translations))
    assert result.returncode == 1
    assert re.search(
        r'fr/LC_MESSAGES/messages\.po: out of date with the code: 1 new in the code \("Skip to content"\)',
        result.stdout,
    )
    # Re-saving with another line width (as Poedit may) is not "out of date".
    assert i18n_tools.extract(str(translations), out=io.StringIO()) == 0
    set_msgstr(fr, "Skip to content", "Aller au contenu")
    with open(fr, "rb") as fh:
        catalog = read_po(fh, locale="fr")
    from babel.messages.pofile import write_po

    with open(fr, "wb") as fh:
        write_po(fh, catalog, width=120, include_lineno=False)
    assert i18n_tools.out_of_date(str(translations)) == []


def test_an_alias_the_extractor_does_not_know_fails_the_check(tmp_path):
    package = tmp_path / "portal"
    package.mkdir()
    (package / "views.py").write_text(
        "from flask_babel import lazy_ngettext as plural\nfrom flask_babel import gettext as _\n"
    )
    found = i18n_tools.unknown_aliases(str(tmp_path))
    assert len(found) == 1 and "lazy_ngettext imported as plural" in found[0]
    assert i18n_tools.unknown_aliases() == []


def test_extract_leaves_a_damaged_catalogue_alone(translations):
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    lines = po_lines(fr)
    broken = entry_line(fr, "Sign out") + 1
    lines[broken - 1] = lines[broken - 1].rstrip('"')  # a lost closing quote
    fr.write_text("\n".join(lines) + "\n", encoding="utf-8")
    damaged = fr.read_bytes()
    out = io.StringIO()
    assert i18n_tools.extract(str(translations), out=out) == 1
    assert "end-of-line within string" in out.getvalue()
    assert "fr/LC_MESSAGES/messages.po: not updated" in out.getvalue()
    assert fr.read_bytes() == damaged  # not "repaired" by dropping a letter


def test_the_report_names_encoding_doubled_plural_and_missing_file_problems(translations):
    fr = translations / "fr" / "LC_MESSAGES" / "messages.po"
    ar = translations / "ar" / "LC_MESSAGES" / "messages.po"
    en = translations / "en" / "LC_MESSAGES" / "messages.po"
    # A French line typed in an editor set to Latin-1.
    first = entry_line(fr, "Sign in") + 1
    set_msgstr(fr, "Sign in", "Connexion")
    fr.write_bytes(
        fr.read_bytes().replace(b'msgstr "Connexion"', 'msgstr "Entrée"'.encode("latin-1"))
    )
    # Arabic: a plural entry with msgstr[1] twice and no msgstr[5].
    lines = po_lines(ar)
    plural_line = entry_line(ar, "%(num)d participant rejected.")
    start = plural_line + 1  # the msgid_plural line
    five = next(i for i in range(start, len(lines)) if lines[i].startswith("msgstr[5]"))
    lines[five] = lines[five].replace("msgstr[5]", "msgstr[1]", 1)
    ar.write_text("\n".join(lines) + "\n", encoding="utf-8")
    en.unlink()

    out = io.StringIO()
    assert i18n_tools.compile_all(str(translations), out=out) == 1
    report = out.getvalue()
    assert "fr/LC_MESSAGES/messages.po:%d: error: not valid UTF-8" % first in report, report
    assert (
        "ar/LC_MESSAGES/messages.po:%d: error: this entry has 6 plural forms (msgstr[0], "
        "msgstr[1], msgstr[2], msgstr[3], msgstr[4], msgstr[1]) where the language has 6"
        % plural_line
    ) in report, report
    assert "en/LC_MESSAGES/messages.po:?: error: the file is missing: run `make extract`" in report
    assert report.count("NOT compiled") == 3
    assert not list(translations.rglob("*.mo"))


def test_a_mistyped_command_prints_the_usage():
    result = run_tool("compil")
    assert result.returncode == 2
    assert "extract" in result.stderr and "compile" in result.stderr and "check" in result.stderr
