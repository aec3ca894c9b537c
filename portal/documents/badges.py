"""Badges: one per page, CR80 card (54 x 85.6 mm, portrait) for a card printer or the same
card enlarged on an A6 page for a plain printer.

A badge shows the photo, the family name in capitals and the given names as in the passport,
the name in its original script (shaped, in its own direction), the organization (in French,
or English on an English badge, and in Arabic when it has an Arabic name), the category as a
colour band with its words in French, English and Arabic, the badge number and a QR code of the
verification address. Without a token (a coordinator's preview) it is marked as a specimen and
has no QR code.

``render_badges`` never stops a run for one record: a participant that cannot get a badge (no
photo, not accredited, a record whose badge fails to lay out) is reported in ``problems`` and
the others are printed. A long name gets a smaller font and wraps inside its fixed box; a name
in a script that the shipped fonts lack is left off the badge (the Latin names, as in the
passport, stay) and reported.
"""

import base64
import logging
import unicodedata
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from .. import lifecycle
from ..models import BADGE_PRINTED, Event, Organization, Photo
from .pdf import lay_out, render_html, uncovered, write
from .qr import qr_png_data_url

log = logging.getLogger(__name__)

#: (page width, page height, scale of the card on the page) in mm.
SIZES = {"cr80": (54, 85.6, 1.0), "a6": (105, 148, 1.7)}

#: Badges laid out in one document: a failure is looked for badge by badge within the chunk.
CHUNK = 50

HEAD = "head"
DELEGATE = "delegate"
#: Category: (band colour, words). The words are printed in French, English and Arabic.
CATEGORIES = {
    # Translators: category printed on a badge.
    HEAD: ("#8a1c1c", _l("Head of delegation")),
    # Translators: category printed on a badge.
    DELEGATE: ("#1f4f8b", _l("Delegate")),
}
#: The languages of a badge's fixed words, in the order printed (the template's order too).
BADGE_LANGUAGES = ("fr", "en", "ar")


@dataclass
class Problem:
    """Why a participant's badge was not printed (``printed`` False), or was printed with
    something left off (``printed`` True). ``message`` is translated when it is shown (a lazy
    string: ``str()`` it in the reader's language)."""

    participant_id: int
    name: str
    message: object
    printed: bool = False

    def __str__(self):
        return "%s (no. %s): %s" % (self.name, self.participant_id, self.message)


def category_of(participant):
    return HEAD if participant.is_head else DELEGATE


def _words(lazy):
    """``lazy`` in each of the badge's languages: [(language, text)]."""
    words = []
    for language in BADGE_LANGUAGES:
        with force_locale(language):
            words.append((language, str(lazy)))
    return words


def _font_pt(text, width_mm, lines, largest, smallest):
    """A font size at which ``text`` fits ``lines`` lines of ``width_mm`` (an average glyph
    being about 0.6 em wide), between ``smallest`` and ``largest`` points: in tenths of a point,
    by steps of half a point (the template's classes)."""
    length = max(1, len(text))
    fitting = width_mm * lines / (length * 0.6 * 0.3528)
    points = max(smallest, min(largest, fitting))
    return int(points * 2) * 5


def _direction(text):
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("R", "AL"):
            return "rtl"
        if kind == "L":
            return "ltr"
    return "ltr"


def _is_arabic(text):
    return any("ARABIC" in unicodedata.name(c, "") for c in text)


@dataclass
class Card:
    """What one badge shows, worked out before the layout."""

    participant: object
    family: str
    given: str
    original: str
    original_dir: str
    original_lang: str
    organization: str
    organization_ar: str
    category: str
    words: list
    number: str
    photo: str
    qr: object
    sizes: dict


def card_for(participant, organization, photo, token_url, language, words_cache):
    """Return ``(card, note)``: the badge's contents, and what was left off (or None)."""
    note = None
    family = participant.family_name.upper()
    given = participant.given_names
    original = " ".join(
        part
        for part in (participant.given_names_original, participant.family_name_original)
        if part
    )
    missing = uncovered(original)
    if missing:
        note = _l(
            "Printed without the name in its original script: no font for %(chars)s.",
            chars=" ".join(missing),
        )
        original = ""
    name = organization.name_en if language == "en" else organization.name_fr
    key = category_of(participant)
    _colour, lazy = CATEGORIES[key]
    if key not in words_cache:
        words_cache[key] = _words(lazy)
    return (
        Card(
            participant=participant,
            family=family,
            given=given,
            original=original,
            original_dir=_direction(original),
            original_lang="ar" if _is_arabic(original) else "",
            organization=name,
            organization_ar=organization.name_ar or "",
            category=key,
            words=words_cache[key],
            number=participant.badge_number,
            photo="data:image/jpeg;base64," + base64.b64encode(bytes(photo)).decode("ascii"),
            qr=qr_png_data_url(token_url) if token_url else None,
            sizes={
                "family": _font_pt(family, 48, 2, 15, 5),
                "given": _font_pt(given, 48, 2, 10, 4.5),
                "original": _font_pt(original, 48, 1, 12, 4.5),
                "organization": _font_pt(name, 48, 2, 7, 4),
                "organization_ar": _font_pt(organization.name_ar or "", 48, 2, 7.5, 4),
            },
        ),
        note,
    )


def badge_action(participant, specimen=False):
    """The lifecycle's action that a badge of ``participant`` is (portal/lifecycle.py decides
    who gets one): a first print, a reprint, or a specimen."""
    if specimen:
        return "preview_badge"
    return "reprint_badge" if participant.badge_state == BADGE_PRINTED else "print_badge"


def _name(participant):
    return participant.full_name or participant.family_name


def layout(participants, size="cr80", tokens=None, language="fr"):
    """Lay the badges out (a ``Layout``), one page per badge printed, in order. ``tokens``:
    participant id -> verification address; without one, a badge is a specimen."""
    if size not in SIZES:
        raise ValueError("unknown badge size: %r" % size)
    tokens = tokens or {}
    participants = list(participants)
    photos = _photos(participants)
    organizations = _organizations(participants)
    event = Event.current()
    words_cache = {}
    cards, problems = [], []
    for participant in participants:
        photo_id, photo = photos.get(participant.id, (None, None))
        participant.photo_id = photo_id  # what the lifecycle's photo condition reads
        action = badge_action(participant, specimen=participant.id not in tokens)
        refused = lifecycle.refusal(participant, action)
        if refused is not None:
            problems.append(Problem(participant.id, _name(participant), refused.message))
            continue
        try:
            card, note = card_for(
                participant,
                organizations[participant.organization_id],
                photo,
                tokens.get(participant.id),
                language,
                words_cache,
            )
        except Exception as exc:  # noqa: BLE001 - one bad record never stops the run
            log.exception("the badge of participant %d", participant.id)
            problems.append(Problem(participant.id, _name(participant), _failed(exc)))
            continue
        if note is not None:
            problems.append(Problem(participant.id, _name(participant), note, True))
        cards.append(card)

    def render(chunk):
        html = render_html(
            "documents/badges.html",
            lang=language,
            cards=chunk,
            size=SIZES[size],
            event_fr=event.name("fr") if event else "",
            event_ar=event.name("ar") if event else "",
            specimen_words=_words(SPECIMEN),
            categories=CATEGORIES,
        )
        return lay_out(html)

    pages, documents = [], []
    for start in range(0, len(cards), CHUNK):
        chunk = cards[start : start + CHUNK]
        try:
            document = render(chunk)
            if len(document.pages) != len(chunk):
                raise _Overflow()
            documents.append(document)
            pages.extend(
                (c.participant, page) for c, page in zip(chunk, document.pages, strict=True)
            )
            continue
        except Exception:  # noqa: BLE001 - found badge by badge below
            log.warning("badges %d to %d: laid out again one by one", start, start + len(chunk))
        for card in chunk:
            try:
                document = render([card])
                if len(document.pages) != 1:
                    raise _Overflow()
                documents.append(document)
                pages.append((card.participant, document.pages[0]))
            except Exception as exc:  # noqa: BLE001 - one bad record never stops the run
                log.exception("the badge of participant %d", card.participant.id)
                problems.append(Problem(card.participant.id, _name(card.participant), _failed(exc)))
    return Layout(pages, problems, documents)


@dataclass
class Layout:
    """Badges laid out: ``pages`` [(participant, page)], one per badge, in order; the
    ``documents`` they belong to (the first one writes them all)."""

    pages: list
    problems: list
    documents: list

    def write(self, participant_ids=None):
        """The PDF of the badges (of ``participant_ids`` only, if given); b"" when none."""
        pages = [
            page
            for participant, page in self.pages
            if participant_ids is None or participant.id in participant_ids
        ]
        if not pages:
            return b""
        return write(self.documents[0], pages)


class _Overflow(Exception):
    pass


def _failed(exc):
    if isinstance(exc, _Overflow):
        return _l("The badge could not be laid out on one card.")
    return _l("The badge could not be laid out (%(error)s).", error=type(exc).__name__)


#: Printed across a coordinator's preview, which carries no QR code.
# Translators: printed across a badge that is only a preview.
SPECIMEN = _l("Specimen, not valid")


def render_badges(participants, size="cr80", tokens=None, language="fr"):
    """Render the badges of ``participants``: ``(pdf_bytes, problems)`` (b"" when none could be
    printed). ``tokens``: participant id -> verification address, printed as the QR code; a
    participant without one gets a specimen. Nothing is recorded: printing a badge for real is
    ``portal.services.badges.print_badges``."""
    laid_out = layout(participants, size, tokens, language)
    return laid_out.write(), laid_out.problems


def _photos(participants):
    ids = [p.id for p in participants]
    if not ids:
        return {}
    rows = Photo.select(Photo.participant, Photo.id, Photo.data).where(Photo.participant.in_(ids))
    return {participant: (photo_id, data) for participant, photo_id, data in rows.tuples()}


def _organizations(participants):
    ids = {p.organization_id for p in participants}
    return {o.id: o for o in Organization.select().where(Organization.id.in_(ids))}
