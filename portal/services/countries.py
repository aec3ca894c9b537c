"""Country names from Babel's CLDR data, in the page's language and sorted for it.

There is no ICU here: names are sorted on a key that drops accents and letter case
(Unicode NFKD, combining marks removed, case-folded), which orders French "Égypte" with the
E's and Arabic "أ" / "إ" / "آ" with "ا"; for Arabic, the Unicode order of the base letters is
the alphabetical order.
"""

import unicodedata
from functools import lru_cache

from babel import Locale

# CLDR "territories" that are not countries a passport or a nationality can name.
NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "ZZ", "XA", "XB"}


def sort_key(name):
    """Return a key sorting ``name`` without regard to accents or case."""
    decomposed = unicodedata.normalize("NFKD", name)
    base = "".join(c for c in decomposed if not unicodedata.combining(c) and c not in "\u0640")
    return (base.casefold(), name)


@lru_cache(maxsize=8)
def countries(language):
    """Return ``((code, name), ...)`` for every country, in ``language``, sorted for it."""
    territories = Locale.parse(language).territories
    pairs = [
        (code, name)
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in NOT_COUNTRIES
    ]
    return tuple(sorted(pairs, key=lambda pair: sort_key(pair[1])))


@lru_cache(maxsize=8)
def _names(language):
    return dict(countries(language))


def country_name(code, language):
    """Return the name of the country ``code`` in ``language`` ("" for none)."""
    if not code:
        return ""
    return _names(language).get(code, code)


def is_country(code):
    return code in _names("en")
