"""Letters: the confirmation of an accredited delegate's accreditation, which doubles as a
visa-support letter (addressed for the place where the visa will be requested, with the passport
number and the dates of stay), in French, English or Arabic as asked for each letter.

A letter is rendered on demand (one page). Each carries a verification code of its own (a
``VerificationToken`` of kind "letter", valid for the dates of stay): ``/verify/<code>`` tells an
embassy that the letter is genuine, for whom and for which dates. Who may have a letter is the
lifecycle's "letter" action; which participant an account may reach, ``get_participant``.
"""

from .. import lifecycle
from ..db import database
from ..models import COURTESY_TITLES, Event, utcnow
from . import Conflict, NotFound, audit, verification
from .participants import get_participant

LANGUAGES = ("fr", "en", "ar")


def stay_of(participant, event):
    """The dates of stay a letter states: the participant's arrival and departure, or the
    summit's own dates when they are not known."""
    start = participant.arrival_date or (event.starts_on if event else None)
    end = participant.departure_date or (event.ends_on if event else None)
    return start, end


def letter(account, participant_id, language):
    """Issue a letter's verification code and render the letter of a participant ``account``
    may reach; return ``(pdf bytes, file name)``. NotFound outside the account's reach,
    Conflict when the participant is not accredited."""
    participant = get_participant(account, participant_id)
    refusal = lifecycle.refusal(participant, "letter", account)
    if refusal is not None:
        if refusal.kind == "role":
            raise NotFound()
        raise Conflict(refusal.message)
    event = Event.current()
    start, end = stay_of(participant, event)
    with database.atomic():
        code = verification.issue(
            participant, "letter", actor=account, valid_from=start, valid_until=end
        )
        audit.record("participant.letter", account=account, obj=participant, language=language)
    from ..documents.pdf import render_pdf  # noqa: PLC0415 - loads WeasyPrint
    from ..documents.qr import qr_svg  # noqa: PLC0415

    pdf = render_pdf(
        "documents/letter.html",
        lang=language,
        participant=participant,
        organization=participant.organization,
        event=event,
        arrival=start,
        departure=end,
        code=code,
        address=verification.verification_url(code),
        today=utcnow().date(),
        titles=COURTESY_TITLES,
        qr_svg=qr_svg,
    )
    return pdf, filename(participant, language)


def filename(participant, language):
    return "letter-%06d-%s.pdf" % (participant.id, language)
