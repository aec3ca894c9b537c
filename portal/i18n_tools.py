"""Catalogue tools for developers, translators and CI (see TRANSLATING.md).

    python -m portal.i18n_tools extract           developers: find the strings in the code and
                                                  update the three catalogues (``make extract``)
    python -m portal.i18n_tools compile           translators: check every catalogue and compile
                                                  the sound ones to .mo (``make translations``)
    python -m portal.i18n_tools check [--strict]  CI: the same checks, plus "up to date with the
                                                  code" (``make check-translations``)

``--dir DIRECTORY`` works on another copy of ``translations/`` (the tests use it).

Babel does the work: ``extract_from_dir`` reads ``babel.cfg``, ``Catalog.update`` merges,
``read_po``/``write_po`` parse and write, ``write_mo`` compiles. This module adds what Babel
lacks: the standard plural rules, a placeholder check with messages a translator can act on,
GNU ``msgfmt --check``, the completeness and "up to date" checks, and keeping the previous
``.mo`` of a language whose ``.po`` is broken.

Deterministic catalogues. References name files without line numbers
(``#: portal/templates/auth/login.html``): line numbers change with every edit elsewhere in a
file, which would rewrite the catalogues and make the "up to date" check flap. A catalogue is only
rewritten when something other than its dates (``POT-Creation-Date``, ``PO-Revision-Date``) or
the ``Generated-By``/``X-Generator`` lines changed, so running ``extract`` twice leaves the files
byte-identical. ``check`` compares the catalogues with a fresh extraction by meaning (entries,
source files, comments, flags), so a file re-saved by Poedit with other line wrapping is not "out
of date". New strings are never guessed from old ones (no fuzzy matching); entries whose string
left the code are dropped (the old wording stays in git's history).
"""

import argparse
import ast
import contextlib
import gettext
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po, write_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "translations")
LANGUAGES = ("fr", "en", "ar")
#: Languages that must be complete (English may leave an entry empty: the source text is used).
REQUIRED = ("fr", "ar")
LANGUAGE_NAMES = {"fr": "French", "en": "English", "ar": "Arabic"}

#: The standard GNU gettext / CLDR plural rules. Babel writes other ones for French (three forms,
#: CLDR's "many" for millions) and, in some releases, for Arabic (two forms swapped): ``extract``
#: puts these back and ``check`` insists on them.
PLURAL_FORMS = {
    "fr": "nplurals=2; plural=(n > 1);",
    "en": "nplurals=2; plural=(n != 1);",
    "ar": (
        "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 "
        ": n%100>=11 ? 4 : 5);"
    ),
}

PROJECT = "WSIS Tunis registration portal"
COMMENT_TAGS = ("Translators:",)
#: Every name the code may call a translation function by (aliases included: ``_l``,
#: ``_lp``...). ``check`` fails when the code imports one of Flask-Babel's functions under a
#: name missing here, since its strings would silently stay out of the catalogues.
KEYWORDS = parse_keywords(
    [
        "_",
        "gettext",
        "ngettext:1,2",
        "pgettext:1c,2",
        "npgettext:1c,2,3",
        "_n:1,2",
        "_p:1c,2",
        "_np:1c,2,3",
        "_l",
        "lazy_gettext",
        "lazy_ngettext:1,2",
        "_ln:1,2",
        "lazy_pgettext:1c,2",
        "_lp:1c,2",
        "lazy_npgettext:1c,2,3",
        "_lnp:1c,2,3",
    ]
)
#: Libraries whose own messages users see: WTForms' validation messages and Flask-WTF's file
#: validators. Flask-WTF translates them through the portal's catalogues (WTF_I18N_ENABLED).
THIRD_PARTY = (
    ("wtforms", ("validators.py", "fields/*.py")),
    ("flask_wtf", ("file.py",)),
)
THIRD_PARTY_NOTE = "Translators: a message of the form library, shown under a form field."

HEADER_COMMENT = """\
# {language} translations of the WSIS Tunis registration portal.
# How to edit this file: see TRANSLATING.md at the top of the portal's code.
#"""

VOLATILE_HEADER = re.compile(rb'^"(POT-Creation-Date|PO-Revision-Date|Generated-By|X-Generator): ')


def po_path(language, directory=TRANSLATIONS):
    return os.path.join(directory, language, "LC_MESSAGES", "messages.po")


def display(path):
    """Return ``path`` as the person at the terminal can open it (relative when possible)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _key(message):
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return (msgid, message.context or "")


def _translated(message):
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def _short(msgid):
    text = msgid[0] if isinstance(msgid, (list, tuple)) else msgid
    text = text.replace("\n", " ")
    return '"%s"' % (text if len(text) <= 70 else text[:67] + "...")


# -- Extraction and update: Babel's, with file-level references and the standard plural rules ----


def extract_template(root=ROOT):
    """Return the template catalogue: the portal's strings and the form libraries' messages."""
    with open(os.path.join(root, "babel.cfg"), encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    template = Catalog(project=PROJECT, version="1.0", copyright_holder="ITU", fuzzy=False)
    found = extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS, comment_tags=COMMENT_TAGS
    )
    for filename, _lineno, message, comments, context in found:
        location = filename.replace(os.sep, "/")
        template.add(message, None, [(location, None)], auto_comments=comments, context=context)
    for package, patterns in THIRD_PARTY:
        directory = os.path.dirname(__import__(package).__file__)
        # The libraries have a few f-strings Babel warns about; they are not ours to fix.
        with contextlib.redirect_stderr(io.StringIO()):
            found = list(
                extract_from_dir(
                    directory, [(p, "python") for p in patterns], keywords=DEFAULT_KEYWORDS
                )
            )
        for filename, _lineno, message, _comments, context in found:
            location = "%s/%s" % (package, filename.replace(os.sep, "/"))
            template.add(
                message, None, [(location, None)], auto_comments=[THIRD_PARTY_NOTE], context=context
            )
    return template


def new_catalog(language, template):
    """Return an empty catalogue of ``language`` with the portal's header."""
    name = LANGUAGE_NAMES[language]
    catalog = Catalog(
        locale=language,
        project=PROJECT,
        version="1.0",
        copyright_holder="ITU",
        header_comment=HEADER_COMMENT.format(language=name),
        fuzzy=False,
    )
    catalog.language_team = "%s <registration@wsis.example>" % name
    catalog.last_translator = "WSIS registration service <registration@wsis.example>"
    catalog.revision_date = template.creation_date
    catalog.msgid_bugs_address = "registration@wsis.example"
    return catalog


def updated_catalog(template, language, catalog):
    """Bring ``catalog`` (or a new one when None) up to date with ``template``; return it."""
    if catalog is None:
        catalog = new_catalog(language, template)
    # The plural rule first (update() trims every plural entry to the catalogue's form count),
    # and again after, since update() takes the rule of Babel's locale data.
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]
    catalog.fuzzy = False
    return catalog


def render_po(catalog):
    buffer = io.BytesIO()
    write_po(
        buffer,
        catalog,
        width=76,
        include_lineno=False,
        ignore_obsolete=True,
        include_previous=False,
    )
    return buffer.getvalue()


def _normalized(data):
    return b"\n".join(line for line in data.splitlines() if not VOLATILE_HEADER.match(line))


def extract(directory=TRANSLATIONS, root=ROOT, out=sys.stdout):
    """Update the three catalogues from the code; rewrite a file only if its content changed."""
    template = extract_template(root)
    print("%d strings in the code" % len(template), file=out)
    status = 0
    for language in LANGUAGES:
        path = po_path(language, directory)
        old, catalog, before = None, None, set()
        if os.path.exists(path):
            problems = msgfmt_errors(path)[1]
            if problems:
                # Babel reads some damaged files without a word (dropping a character of a
                # string with a missing quote): a file msgfmt rejects is left alone, to be fixed.
                for line, problem in problems:
                    print("%s:%s: %s" % (display(path), line or "?", problem), file=out)
                print("%s: not updated: fix the errors above first" % display(path), file=out)
                status = 1
                continue
            with open(path, "rb") as fh:
                old = fh.read()
            try:
                # A damaged file stops here rather than being "repaired" by dropping entries.
                catalog = read_po(io.BytesIO(old), locale=language, abort_invalid=True)
            except PoFileError as exc:
                print("%s: not updated, the file is damaged: %s" % (display(path), exc), file=out)
                status = 1
                continue
            before = {_key(m) for m in catalog if m.id}
        catalog = updated_catalog(template, language, catalog)
        new = render_po(catalog)
        if old is not None and _normalized(old) == _normalized(new):
            print("%s: unchanged" % display(path), file=out)
            continue
        after = {_key(m) for m in catalog if m.id}
        os.makedirs(os.path.dirname(path), exist_ok=True)
        _atomic_write(path, new)
        untranslated = sum(1 for m in catalog if m.id and not _translated(m))
        print(
            "%s: updated: %d new, %d removed, %d entries, %d untranslated"
            % (display(path), len(after - before), len(before - after), len(after), untranslated),
            file=out,
        )
    return status


def _atomic_write(path, data):
    """Write next to ``path`` then rename, so a running portal never reads half a file."""
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as fh:
            fh.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# -- The translators' report -------------------------------------------------------------------


@dataclass
class Report:
    language: str
    path: str
    entries: int = 0
    translated: int = 0
    untranslated: list = field(default_factory=list)
    fuzzy: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    def error(self, line, text):
        self.errors.append((line, text))

    @property
    def complete(self):
        return not self.untranslated and not self.fuzzy

    def lines(self):
        where = display(self.path)
        name = LANGUAGE_NAMES.get(self.language, self.language)
        yield "%s (%s): %d entries, %d translated, %d untranslated, %d fuzzy, %d errors" % (
            name,
            where,
            self.entries,
            self.translated,
            len(self.untranslated),
            len(self.fuzzy),
            len(self.errors),
        )
        if self.language == "en" and self.untranslated:
            yield "  (English: an empty entry shows the English text written in the code)"
        for line, text in sorted(self.errors, key=lambda e: e[0] or 0):
            yield "  %s:%s: error: %s" % (where, line or "?", text)
        for line, msgid in self.fuzzy:
            yield "  %s:%s: fuzzy (check it, then remove the fuzzy mark): %s" % (
                where,
                line,
                _short(msgid),
            )
        if self.language != "en":
            for line, msgid in self.untranslated:
                yield "  %s:%s: untranslated: %s" % (where, line, _short(msgid))


# -- Placeholders: checked both ways, with the Arabic singular forms ------------------------------

#: What Python's ``%`` operator accepts (Babel's PYTHON_FORMAT misses ``%a`` and combined flags,
#: which would turn a misspelt placeholder into a "lone %" report).
PYTHON_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)

BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def python_placeholders(text):
    """Return (named {name: type}, positional [type], stray %) of a %-format string."""
    named, positional = {}, []
    for match in PYTHON_PLACEHOLDER.finditer(text):
        name, kind = match.group("name", "type")
        if kind == "%":
            continue
        kind = "d" if kind in "diu" else ("s" if kind in "sra" else kind)
        if name is None:
            positional.append(kind)
        else:
            named[name] = kind
    return named, positional, "%" in PYTHON_PLACEHOLDER.sub("", text)


def single_value_forms(plural_expr, nplurals):
    """Return the plural forms used for exactly one number (Arabic: 0, 1 and 2; English: 1): a
    translation may leave the number out there ("one minute", "two minutes")."""
    plural = gettext.c2py(plural_expr)
    seen = {}
    for n in range(0, 2000):
        seen.setdefault(plural(n), set()).add(n)
    return {form for form in range(nplurals) if len(seen.get(form, ())) == 1}


def _show(name, kind):
    return "%%(%s)%s" % (name, kind)


def check_placeholders(message, single_forms, report):
    """Report every msgstr whose placeholders differ from the English text's."""
    plural = isinstance(message.id, (list, tuple))
    ids = list(message.id) if plural else [message.id]
    strings = list(message.string) if plural else [message.string]
    source_named, source_positional, source_braces = {}, [], set()
    for text in ids:
        named, positional, _stray = python_placeholders(text)
        source_named.update(named)
        source_positional = max(source_positional, positional, key=len)
        source_braces.update(BRACE_PLACEHOLDER.findall(text))
    in_template = any(loc.endswith((".html", ".txt")) for loc, _ in message.locations or ())
    formatted = bool(source_named or source_positional or message.python_format or in_template)
    have = ", ".join(
        [_show(n, k) for n, k in sorted(source_named.items())]
        + ["{%s}" % b for b in sorted(source_braces)]
    )
    expected = "it has " + have if have else "it has none"

    def error(text):
        report.error(message.lineno, text)

    for index, text in enumerate(strings):
        if not text:
            continue
        label = "msgstr[%d]" % index if plural else "msgstr"
        named, positional, stray = python_placeholders(text)
        for name, kind in named.items():
            if name not in source_named:
                error(
                    "%s uses %s, which the English text does not have (%s)"
                    % (label, _show(name, kind), expected)
                )
            elif source_named[name] != kind:
                error(
                    "%s changes %s into %s: keep it exactly as in the English text"
                    % (label, _show(name, source_named[name]), _show(name, kind))
                )
        may_omit = plural and index in single_forms
        for name, kind in source_named.items():
            if name not in named and not (may_omit and (name == "num" or kind == "d")):
                error(
                    "%s lacks %s, which the English text has: copy it exactly"
                    % (label, _show(name, kind))
                )
        if positional != source_positional and not (may_omit and not positional):
            error(
                "%s has the placeholders %s where the English text has %s"
                % (label, _kinds(positional), _kinds(source_positional))
            )
        if stray and formatted:
            error(
                "%s has a lone %% sign: write %%%% for a percent sign, or copy the placeholder "
                "exactly (like %%(name)s)" % label
            )
        if source_braces:
            braces = set(BRACE_PLACEHOLDER.findall(text))
            for name in sorted(braces - source_braces):
                error("%s uses {%s}, which the English text does not have" % (label, name))
            for name in sorted(source_braces - braces):
                error("%s lacks {%s}, which the English text has: copy it exactly" % (label, name))


def _kinds(kinds):
    return ", ".join("%" + k for k in kinds) if kinds else "none"


# -- The other checks: msgfmt, plural forms, completeness, up to date, aliases -------------------

PLURAL_INDEX = re.compile(r"^msgstr\[(\d+)\]")


def written_plural_forms(lines, message):
    """Return the msgstr[N] indexes written in the file for ``message``: Babel's parser fills
    the missing ones with empty strings, which would hide them."""
    indexes = []
    for line in lines[message.lineno :]:  # the lines after the msgid
        match = PLURAL_INDEX.match(line)
        if match:
            indexes.append(int(match.group(1)))
        elif not line.startswith(('"', "msgid_plural ")):
            break
    return indexes


def normalize_rule(rule):
    return re.sub(r"\s+", "", rule or "").rstrip(";")


def msgfmt_errors(path):
    """Return (available, [(line, text)]) from GNU ``msgfmt --check``."""
    msgfmt = shutil.which("msgfmt")
    if not msgfmt:
        return False, []
    result = subprocess.run(  # noqa: S603 - a fixed program on our own file
        [msgfmt, "--check", "--output-file=" + os.devnull, path],
        capture_output=True,
        text=True,
        env={**os.environ, "LC_ALL": "C"},
    )
    problems = []
    for raw in result.stderr.splitlines():
        line, text = None, raw
        if raw.startswith(path + ":"):
            number, _, rest = raw[len(path) + 1 :].partition(":")
            line, text = (int(number), rest) if number.isdigit() else (None, number + ":" + rest)
        text = text.strip()
        if not text or text.startswith("msgfmt: found") or "fatal error" in text:
            continue
        if text.startswith("warning:"):
            continue  # header niceties (Last-Translator...): not a translator's problem
        problems.append((line, "msgfmt: " + text))
    if result.returncode and not problems:
        problems.append((None, "msgfmt --check failed: " + result.stderr.strip()))
    return True, problems


def check_language(language, directory=TRANSLATIONS, require_msgfmt=False):
    """Check one catalogue; return its report and, when it can be compiled, the catalogue."""
    path = po_path(language, directory)
    report = Report(language, path)
    if not os.path.exists(path):
        report.error(None, "the file is missing: run `make extract`")
        return report, None
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        report.error(data[: exc.start].count(b"\n") + 1, "not valid UTF-8: save the file as UTF-8")
        return report, None
    available, problems = msgfmt_errors(path)
    for line, problem in problems:
        report.error(line, problem)
    if not available and require_msgfmt:
        report.error(None, "msgfmt (GNU gettext) is not installed: `make test` installs it")
    try:
        catalog = read_po(io.BytesIO(data), locale=language, abort_invalid=True)
    except PoFileError as exc:
        report.error(exc.lineno + 1, "bad syntax: %s" % exc)
        return report, None
    except Exception as exc:  # noqa: BLE001 - any parse failure is the translator's to fix
        report.error(None, "the file cannot be read: %s" % exc)
        return report, None
    expected = PLURAL_FORMS[language]
    if normalize_rule(catalog.plural_forms) != normalize_rule(expected):
        line = next((n for n, t in enumerate(lines, 1) if '"Plural-Forms:' in t), None)
        report.error(
            line,
            "the Plural-Forms header is %r; it must be the standard %r"
            % (catalog.plural_forms, expected),
        )
        return report, None
    nplurals = catalog.num_plurals
    singles = single_value_forms(catalog.plural_expr, nplurals)
    for message in catalog:
        if not message.id:
            continue
        report.entries += 1
        if message.fuzzy:
            report.fuzzy.append((message.lineno, message.id))
        elif _translated(message):
            report.translated += 1
        else:
            report.untranslated.append((message.lineno, message.id))
        if message.pluralizable:
            written = written_plural_forms(lines, message)
            if sorted(written) != list(range(nplurals)):
                report.error(
                    message.lineno,
                    "this entry has %d plural forms (%s) where the language has %d "
                    "(msgstr[0] to msgstr[%d])"
                    % (
                        len(written),
                        ", ".join("msgstr[%d]" % i for i in written) or "none",
                        nplurals,
                        nplurals - 1,
                    ),
                )
        check_placeholders(message, singles, report)
    return report, catalog


def catalog_signature(catalog):
    """Return what the code decides about a catalogue: entries, sources, comments and flags."""
    return {
        _key(message): (
            tuple(message.id) if isinstance(message.id, (list, tuple)) else message.id,
            tuple(sorted({location for location, _ in message.locations})),
            # write_po wraps long comments over several lines: compare the words.
            " ".join(" ".join(message.auto_comments).split()),
            tuple(sorted(message.flags - {"fuzzy"})),
        )
        for message in catalog
        if message.id
    }


def out_of_date(directory=TRANSLATIONS, root=ROOT, catalogs=None):
    """Return (language, description) for each catalogue that lags behind the code.

    ``catalogs`` maps languages to catalogues already read (they are updated in place)."""
    template = extract_template(root)
    problems = []
    for language in LANGUAGES:
        catalog = (catalogs or {}).get(language)
        if catalog is None:
            path = po_path(language, directory)
            if not os.path.exists(path):
                problems.append((language, "missing"))
                continue
            try:
                with open(path, "rb") as fh:
                    catalog = read_po(fh, locale=language, abort_invalid=True)
            except PoFileError:
                problems.append((language, "damaged (see the errors above)"))
                continue
        current = catalog_signature(catalog)
        fresh = catalog_signature(updated_catalog(template, language, catalog))
        if current == fresh:
            continue
        new = [key for key in fresh if key not in current]
        gone = [key for key in current if key not in fresh]
        changed = [key for key in fresh if key in current and fresh[key] != current[key]]
        parts = []
        for label, keys in (
            ("new in the code", new),
            ("gone from the code", gone),
            ("with other sources or comments", changed),
        ):
            if keys:
                shown = ", ".join(_short(key[0]) for key in keys[:3])
                parts.append(
                    "%d %s (%s%s)" % (len(keys), label, shown, ", ..." if len(keys) > 3 else "")
                )
        problems.append((language, "; ".join(parts)))
    return problems


#: Flask-Babel's translation functions, whatever name the code imports them under.
GETTEXT_NAMES = {"gettext", "ngettext", "pgettext", "npgettext"}
GETTEXT_NAMES |= {"lazy_" + name for name in GETTEXT_NAMES}


def unknown_aliases(root=ROOT):
    """Return the imports of a translation function under a name ``extract`` does not know."""
    found = []
    for base, dirs, files in os.walk(os.path.join(root, "portal")):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(base, name)
            with open(path, encoding="utf-8") as fh:
                source = fh.read()
            if "flask_babel" not in source:
                continue  # parsing only the files that can import one is much faster
            try:
                tree = ast.parse(source, path)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").startswith("flask_babel")
                ):
                    continue
                for alias in node.names:
                    local = alias.asname or alias.name
                    if alias.name in GETTEXT_NAMES and local not in KEYWORDS:
                        found.append(
                            "%s:%d: %s imported as %s, a name `extract` does not look for "
                            "(add it to KEYWORDS in portal/i18n_tools.py)"
                            % (display(path), node.lineno, alias.name, local)
                        )
    return found


def check(directory=TRANSLATIONS, strict=False, out=sys.stdout):
    """Report on every catalogue; return the exit status."""
    failed = False
    catalogs = {}
    for language in LANGUAGES:
        report, catalogs[language] = check_language(language, directory, require_msgfmt=strict)
        for line in report.lines():
            print(line, file=out)
        failed = failed or bool(report.errors)
        failed = failed or (strict and language in REQUIRED and not report.complete)
    for problem in unknown_aliases():
        print("error: " + problem, file=out)
        failed = True
    if strict:
        stale = out_of_date(directory, catalogs=catalogs)
        for language, description in stale:
            print(
                "%s: out of date with the code: %s. Run `make extract`."
                % (display(po_path(language, directory)), description),
                file=out,
            )
        failed = failed or bool(stale)
    print("catalogues: %s" % ("NOT OK" if failed else "OK"), file=out)
    return 1 if failed else 0


# -- Compilation: Babel's write_mo, for the sound catalogues only -----------------------------


def compile_all(directory=TRANSLATIONS, out=sys.stdout):
    """Check each catalogue and compile the sound ones; a broken one keeps its old .mo."""
    status = 0
    if not shutil.which("msgfmt"):
        print(
            "note: msgfmt (GNU gettext) is not installed: the files' syntax is checked less "
            "thoroughly (make test installs it)",
            file=out,
        )
    for language in LANGUAGES:
        report, catalog = check_language(language, directory)
        for line in report.lines():
            print(line, file=out)
        if report.errors or catalog is None:
            print(
                "  NOT compiled: fix the errors above and run the command again "
                "(the portal keeps the previous version of this language meanwhile)",
                file=out,
            )
            status = 1
            continue
        buffer = io.BytesIO()
        write_mo(buffer, catalog)
        mo = po_path(language, directory)[:-3] + ".mo"
        _atomic_write(mo, buffer.getvalue())
        print("  compiled: %s" % display(mo), file=out)
    return status


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m portal.i18n_tools")
    parser.add_argument(
        "command", nargs="?", default="compile", choices=("extract", "compile", "check")
    )
    parser.add_argument("--strict", action="store_true", help="check: what CI requires")
    parser.add_argument("--dir", default=TRANSLATIONS, help="another copy of translations/")
    args = parser.parse_args(argv)
    directory = os.path.abspath(args.dir)
    if args.command == "extract":
        return extract(directory)
    if args.command == "check":
        return check(directory, strict=args.strict)
    return compile_all(directory)


if __name__ == "__main__":
    sys.exit(main())
