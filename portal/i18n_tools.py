"""Catalogue tools for developers, translators and CI (see TRANSLATING.md).

    python -m portal.i18n_tools extract           developers: find the strings in the code and
                                                  update the three catalogues (``make extract``)
    python -m portal.i18n_tools compile           translators: check every catalogue and compile
                                                  the sound ones to .mo (``make translations``)
    python -m portal.i18n_tools check [--strict]  CI: the same checks, plus "up to date with the
                                                  code" (``make check-translations``)

``--dir DIRECTORY`` works on another copy of ``translations/`` (the tests use it).

Deterministic catalogues. ``extract`` writes source references as file names without line
numbers (``#: portal/templates/auth/login.html``): line numbers change with every edit elsewhere
in a file, which would rewrite the catalogues and make the "up to date" check flap. A catalogue is
only rewritten when something other than its dates (``POT-Creation-Date``, ``PO-Revision-Date``)
or the ``Generated-By``/``X-Generator`` lines changed, so running ``extract`` twice leaves the
files byte-identical. ``check`` compares the catalogues with a fresh extraction by meaning (the
entries, their source files, comments and flags), so a file re-saved by Poedit with other line
wrapping is not "out of date". New strings are never guessed from old ones (no fuzzy matching);
entries whose string left the code are dropped (the old wording stays in git's history).
"""

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
    """A path as the person at the terminal can open it (relative when possible)."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


# -- Extraction -------------------------------------------------------------------------------


def extract_template(root=ROOT):
    """Return the template catalogue: every translatable string of the portal and the form
    libraries' own messages, in a stable order, with file-level references."""
    with open(os.path.join(root, "babel.cfg"), encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh, "babel.cfg")
    template = Catalog(project=PROJECT, version="1.0", copyright_holder="ITU", fuzzy=False)
    for filename, _lineno, message, comments, context in extract_from_dir(
        root, method_map, options_map, keywords=KEYWORDS, comment_tags=COMMENT_TAGS
    ):
        template.add(
            message,
            None,
            [(filename.replace(os.sep, "/"), None)],
            auto_comments=comments,
            context=context,
        )
    for package, patterns in THIRD_PARTY:
        module = __import__(package)
        directory = os.path.dirname(module.__file__)
        note = THIRD_PARTY_NOTE
        # The libraries have a few f-strings Babel warns about; they are not ours to fix.
        with contextlib.redirect_stderr(io.StringIO()):
            found = list(
                extract_from_dir(
                    directory,
                    [(pattern, "python") for pattern in patterns],
                    keywords=DEFAULT_KEYWORDS,
                )
            )
        for filename, _lineno, message, _comments, context in found:
            location = "%s/%s" % (package, filename.replace(os.sep, "/"))
            template.add(message, None, [(location, None)], auto_comments=[note], context=context)
    return template


def set_plural_forms(catalog, language):
    catalog.mime_headers = [("Plural-Forms", PLURAL_FORMS[language])]


def updated_catalog(template, language, directory=TRANSLATIONS):
    """Return the catalogue of ``language`` brought up to date with ``template``."""
    path = po_path(language, directory)
    if os.path.exists(path):
        with open(path, "rb") as fh:
            # A damaged file stops here rather than being "repaired" by dropping entries.
            catalog = read_po(fh, locale=language, abort_invalid=True)
    else:
        catalog = Catalog(
            locale=language,
            project=PROJECT,
            version="1.0",
            copyright_holder="ITU",
            header_comment=HEADER_COMMENT.format(language=LANGUAGE_NAMES[language]),
            fuzzy=False,
        )
        catalog.language_team = "%s <registration@wsis.example>" % LANGUAGE_NAMES[language]
        catalog.last_translator = "WSIS registration service <registration@wsis.example>"
        catalog.revision_date = template.creation_date
        catalog.msgid_bugs_address = "registration@wsis.example"
    # The plural rule first: update() trims every plural entry to the catalogue's form count.
    set_plural_forms(catalog, language)
    catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
    set_plural_forms(catalog, language)
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
        old, before = None, set()
        problems = msgfmt_errors(path)[1] if os.path.exists(path) else []
        if problems:
            # Babel reads some damaged files without a word (dropping a character of a string
            # with a missing quote): a file msgfmt rejects is left alone, to be fixed first.
            for line, problem in problems:
                print("%s:%s: %s" % (display(path), line or "?", problem), file=out)
            print("%s: not updated: fix the errors above first" % display(path), file=out)
            status = 1
            continue
        try:
            if os.path.exists(path):
                with open(path, "rb") as fh:
                    old = fh.read()
                previous = read_po(io.BytesIO(old), locale=language, abort_invalid=True)
                before = {_key(m) for m in previous if m.id}
            catalog = updated_catalog(template, language, directory)
        except PoFileError as exc:
            print("%s: not updated, the file is damaged: %s" % (display(path), exc), file=out)
            status = 1
            continue
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


def _key(message):
    msgid = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
    return (msgid, message.context or "")


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


# -- Checks -----------------------------------------------------------------------------------

PYTHON_PLACEHOLDER = re.compile(
    r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?(?P<type>[diouxXeEfFgGcrsa%])"
)
BRACE_PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][A-Za-z0-9_]*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")


def python_placeholders(text):
    """Return (named {name: type}, positional [type], stray) for a %-format string."""
    named, positional, stray = {}, [], False
    position = 0
    while True:
        index = text.find("%", position)
        if index < 0:
            break
        match = PYTHON_PLACEHOLDER.match(text, index)
        if not match:
            stray = True
            position = index + 1
            continue
        position = match.end()
        kind = match.group("type")
        if kind == "%":
            continue
        kind = "d" if kind in "diu" else ("s" if kind in "sra" else kind)
        if match.group("name") is not None:
            named[match.group("name")] = kind
        else:
            positional.append(kind)
    return named, positional, stray


def _show(name, kind):
    return "%%(%s)%s" % (name, kind)


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
        summary = "%s (%s): %d entries, %d translated, %d untranslated, %d fuzzy, %d errors" % (
            name,
            where,
            self.entries,
            self.translated,
            len(self.untranslated),
            len(self.fuzzy),
            len(self.errors),
        )
        yield summary
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


def _short(msgid):
    text = msgid[0] if isinstance(msgid, (list, tuple)) else msgid
    text = text.replace("\n", " ")
    return '"%s"' % (text if len(text) <= 70 else text[:67] + "...")


def _translated(message):
    if isinstance(message.string, (list, tuple)):
        return all(message.string)
    return bool(message.string)


def single_value_forms(plural_expr, nplurals):
    """Plural forms used for exactly one number (Arabic: 0, 1 and 2; English: 1): a translation
    may leave the number out there ("one minute", "two minutes")."""
    plural = gettext.c2py(plural_expr)
    seen = {}
    for n in range(0, 2000):
        seen.setdefault(plural(n), set()).add(n)
    return {form for form in range(nplurals) if len(seen.get(form, ())) == 1}


def check_placeholders(message, single_forms, report):
    ids = list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]
    strings = (
        list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]
    )
    plural = isinstance(message.id, (list, tuple))
    in_template = any(
        location.endswith((".html", ".txt")) for location, _ in message.locations or ()
    )
    source_named, source_positional, formatted = {}, None, False
    for text in ids:
        named, positional, _stray = python_placeholders(text)
        source_named.update(named)
        if source_positional is None or len(positional) > len(source_positional):
            source_positional = positional
        formatted = formatted or bool(named or positional)
    formatted = formatted or message.python_format or in_template
    source_braces = set()
    for text in ids:
        source_braces.update(BRACE_PLACEHOLDER.findall(text))
    for index, text in enumerate(strings):
        if not text:
            continue
        label = "msgstr[%d]" % index if plural else "msgstr"
        named, positional, stray = python_placeholders(text)
        for name, kind in named.items():
            if name not in source_named:
                report.error(
                    message.lineno,
                    "%s uses %s, which the English text does not have (%s)"
                    % (label, _show(name, kind), _expected(source_named, source_braces)),
                )
            elif source_named[name] != kind:
                report.error(
                    message.lineno,
                    "%s changes %s into %s: keep it exactly as in the English text"
                    % (label, _show(name, source_named[name]), _show(name, kind)),
                )
        may_omit = plural and index in single_forms
        for name, kind in source_named.items():
            if name in named:
                continue
            if may_omit and (name == "num" or kind == "d"):
                continue
            report.error(
                message.lineno,
                "%s lacks %s, which the English text has: copy it exactly"
                % (label, _show(name, kind)),
            )
        if positional != (source_positional or []) and not (may_omit and not positional):
            report.error(
                message.lineno,
                "%s has the placeholders %s where the English text has %s"
                % (label, _list(positional), _list(source_positional or [])),
            )
        if stray and formatted:
            report.error(
                message.lineno,
                "%s has a lone %% sign: write %%%% for a percent sign, or copy the placeholder "
                "exactly (like %%(name)s)" % label,
            )
        if source_braces:
            braces = set(BRACE_PLACEHOLDER.findall(text))
            for name in sorted(braces - source_braces):
                report.error(
                    message.lineno,
                    "%s uses {%s}, which the English text does not have" % (label, name),
                )
            for name in sorted(source_braces - braces):
                report.error(
                    message.lineno,
                    "%s lacks {%s}, which the English text has: copy it exactly" % (label, name),
                )


def _expected(named, braces):
    found = [_show(n, k) for n, k in sorted(named.items())] + ["{%s}" % b for b in sorted(braces)]
    return "it has " + ", ".join(found) if found else "it has none"


def _list(kinds):
    return ", ".join("%" + k for k in kinds) if kinds else "none"


PLURAL_INDEX = re.compile(r"^msgstr\[(\d+)\]")


def check_plural_counts(text, nplurals, report):
    """Every plural entry must have exactly ``nplurals`` forms, msgstr[0] to msgstr[n-1]."""
    entry = {"line": None, "plural": False, "indexes": []}
    context_pending = False

    def finish():
        indexes = entry["indexes"]
        if entry["line"] and entry["plural"] and sorted(indexes) != list(range(nplurals)):
            report.error(
                entry["line"],
                "this entry has %d plural forms (%s) where the language has %d "
                "(msgstr[0] to msgstr[%d])"
                % (
                    len(indexes),
                    ", ".join("msgstr[%d]" % i for i in indexes) or "none",
                    nplurals,
                    nplurals - 1,
                ),
            )

    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith("msgctxt "):
            finish()
            entry = {"line": number, "plural": False, "indexes": []}
            context_pending = True
        elif line.startswith("msgid "):
            if context_pending:
                entry["line"] = number
                context_pending = False
            else:
                finish()
                entry = {"line": number, "plural": False, "indexes": []}
        elif line.startswith("msgid_plural "):
            entry["plural"] = True
        else:
            match = PLURAL_INDEX.match(line)
            if match:
                entry["indexes"].append(int(match.group(1)))
    finish()


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
        line = None
        text = raw
        if raw.startswith(path + ":"):
            rest = raw[len(path) + 1 :]
            number, _, text = rest.partition(":")
            if number.isdigit():
                line = int(number)
            else:
                text = rest
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
    """Check one catalogue: syntax, header, plural forms, placeholders, completeness."""
    path = po_path(language, directory)
    report = Report(language, path)
    if not os.path.exists(path):
        report.error(None, "the file is missing: run `make extract`")
        return report, None
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(line, "not valid UTF-8: save the file as UTF-8")
        return report, None
    available, problems = msgfmt_errors(path)
    for line, problem in problems:
        report.error(line, problem)
    if not available and require_msgfmt:
        report.error(None, "msgfmt (GNU gettext) is not installed: `make test` installs it")
    try:
        catalog = read_po(io.BytesIO(data), locale=language, abort_invalid=True)
    except PoFileError as exc:
        match = re.search(r"on (\d+)$", str(exc))
        report.error(int(match.group(1)) + 1 if match else None, "bad syntax: %s" % exc)
        return report, None
    except Exception as exc:  # noqa: BLE001 - any parse failure is the translator's to fix
        report.error(None, "the file cannot be read: %s" % exc)
        return report, None
    expected = PLURAL_FORMS[language]
    if normalize_rule(catalog.plural_forms) != normalize_rule(expected):
        line = next((n for n, t in enumerate(text.splitlines(), 1) if '"Plural-Forms:' in t), None)
        report.error(
            line,
            "the Plural-Forms header is %r; it must be the standard %r"
            % (catalog.plural_forms, expected),
        )
        return report, None
    check_plural_counts(text, catalog.num_plurals, report)
    singles = single_value_forms(catalog.plural_expr, catalog.num_plurals)
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
        check_placeholders(message, singles, report)
    return report, catalog


def catalog_signature(catalog):
    """What the code decides about a catalogue: its entries, sources, comments and flags."""
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


def out_of_date(directory=TRANSLATIONS, root=ROOT):
    """Return a list of (language, description) where the catalogues lag behind the code."""
    template = extract_template(root)
    problems = []
    for language in LANGUAGES:
        path = po_path(language, directory)
        if not os.path.exists(path):
            problems.append((language, "missing"))
            continue
        with open(path, "rb") as fh:
            current = catalog_signature(read_po(fh, locale=language))
        fresh = catalog_signature(updated_catalog(template, language, directory))
        if current == fresh:
            continue
        new = [key for key in fresh if key not in current]
        gone = [key for key in current if key not in fresh]
        changed = [key for key in fresh if key in current and fresh[key] != current[key]]
        parts = []
        for label, keys in (("new in the code", new), ("gone from the code", gone)):
            if keys:
                parts.append("%d %s (%s)" % (len(keys), label, _keys(keys)))
        if changed:
            parts.append("%d with other sources or comments (%s)" % (len(changed), _keys(changed)))
        problems.append((language, "; ".join(parts)))
    return problems


def _keys(keys):
    shown = [_short(key[0] if isinstance(key, tuple) else key) for key in keys[:3]]
    return ", ".join(shown) + (", ..." if len(keys) > 3 else "")


GETTEXT_NAMES = {
    "gettext",
    "ngettext",
    "pgettext",
    "npgettext",
    "lazy_gettext",
    "lazy_ngettext",
    "lazy_pgettext",
    "lazy_npgettext",
}


def unknown_aliases(root=ROOT):
    """Imports of a translation function under a name ``extract`` does not look for."""
    found = []
    for base, dirs, files in os.walk(os.path.join(root, "portal")):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(base, name)
            with open(path, encoding="utf-8") as fh:
                try:
                    tree = ast.parse(fh.read(), path)
                except SyntaxError:
                    continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "flask_babel"
                ):
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
    for language in LANGUAGES:
        report, _catalog = check_language(language, directory, require_msgfmt=strict)
        for line in report.lines():
            print(line, file=out)
        if report.errors:
            failed = True
        if strict and language in REQUIRED and not report.complete:
            failed = True
    for problem in unknown_aliases():
        print("error: " + problem, file=out)
        failed = True
    if strict:
        stale = out_of_date(directory)
        for language, description in stale:
            print(
                "%s: out of date with the code: %s. Run `make extract`."
                % (display(po_path(language, directory)), description),
                file=out,
            )
        failed = failed or bool(stale)
    print("catalogues: %s" % ("NOT OK" if failed else "OK"), file=out)
    return 1 if failed else 0


# -- Compilation ------------------------------------------------------------------------------


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


USAGE = "usage: python -m portal.i18n_tools extract|compile|check [--strict] [--dir DIRECTORY]"


def main(argv=None):
    args = list(sys.argv[1:] if argv is None else argv)
    directory = TRANSLATIONS
    if "--dir" in args:
        index = args.index("--dir")
        try:
            directory = os.path.abspath(args[index + 1])
        except IndexError:
            print(USAGE, file=sys.stderr)
            return 2
        del args[index : index + 2]
    strict = "--strict" in args
    args = [a for a in args if a != "--strict"]
    command = args[0] if args else "compile"
    if command == "extract" and len(args) == 1:
        return extract(directory)
    if command == "compile" and len(args) == 1:
        return compile_all(directory)
    if command == "check" and len(args) == 1:
        return check(directory, strict=strict)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
