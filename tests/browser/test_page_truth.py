"""What a coordinator (and the secretariat) sees is true: after each change made in place with
HTMX (a save, a submission, a withdrawal, a deletion, a change of head, a decision or a bulk
decision in the review queue), the page shows what a reload of the same address shows.

On a 412-pixel phone with JavaScript, in French, English and Arabic: after each action, the
visible text of the page's main element as HTMX left it (``innerText``) is compared with that of
the same address loaded fresh in another tab; the one-time confirmation (``.flash``) aside."""

import datetime as dt
import difflib

import pytest

from portal.db import database
from portal.models import SUBMITTED, Organization, Participant, utcnow
from tests.test_delegation_helpers import jpeg

ACCOUNTS = {
    "fr": ("unesco.dfp", "Tunis2005!"),  # three participants already, one of them the head
    "en": ("wipo-focal", "Geneva#WSIS"),  # none yet
    "ar": ("las.coord", "Qahira2005"),  # none yet
}

#: The visible text of <main>, the confirmations (and what ``hide`` names) left out.
MAIN_TEXT = """(hide) => {
  const gone = [...document.querySelectorAll(".flash" + (hide ? "," + hide : ""))];
  const before = gone.map((e) => e.style.display);
  gone.forEach((e) => { e.style.display = "none"; });
  const text = document.querySelector("main").innerText;
  gone.forEach((e, i) => { e.style.display = before[i]; });
  return text;
}"""

# Functions, not bare expressions: Playwright evaluates an expression it polls with eval(), which
# the portal's Content Security Policy refuses.
#: HTMX has finished: no request, swap or settling under way.
SETTLED = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
#: The error summary has the focus.
FOCUSED = "() => document.activeElement && document.activeElement.id === 'error-summary'"


def _lines(text):
    """The text's lines, blanks collapsed and empty lines (a row left with no text) dropped."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def assert_as_reloaded(page, what, hide=None):
    """The page as HTMX left it reads as the same address loaded fresh."""
    page.wait_for_function(SETTLED)
    shown = _lines(page.evaluate(MAIN_TEXT, hide))
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url.split("#")[0])
        reloaded = _lines(fresh.evaluate(MAIN_TEXT, hide))
    finally:
        fresh.close()
    diff = "\n".join(difflib.unified_diff(reloaded, shown, "reload", "in place", lineterm=""))
    assert shown == reloaded, "after %s, the page differs from a reload:\n%s" % (what, diff)


def _id(app, family_name):
    with app.app_context(), database.connection_context():
        return Participant.get(Participant.family_name == family_name).id


def _seed_queue(app, number):
    """``number`` submitted participants of the OIF, oldest first: more than a queue page."""
    with app.app_context(), database.connection_context():
        oif = Organization.get(Organization.code == "OIF")
        for n in range(number):
            Participant.create(
                organization=oif,
                family_name="QUEUE%02d" % n,
                given_names="Pat",
                status=SUBMITTED,
                submitted_at=utcnow() - dt.timedelta(hours=100 - n),
            )


def _sign_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_load_state()


def _in_list(page):
    """Open the form inside the list (HTMX) with the list's "Add a participant"."""
    page.click("main a[href='/delegation/participants/new']")
    page.wait_for_selector("#editor form")


def _fill(page, family, given, head=False, complete=False):
    page.fill("#family_name", family)
    page.fill("#given_names", given)
    if head:
        page.check("#is_head")
    if complete:
        page.select_option("#courtesy_title", "ms")
        page.check("#gender-0")
        page.fill("#function", "Adviser")
        page.select_option("#nationality", "SN")
        page.fill("#date_of_birth", "1970-05-04")
        page.fill("#passport_number", "SN%07d" % (hash(family) % 10**7))
        page.select_option("#passport_country", "SN")
        page.fill("#passport_expiry", "2010-01-31")
        page.fill("#email", "awa@example.org")
        page.fill("#arrival_date", "2005-11-15")
        page.fill("#departure_date", "2005-11-19")
        page.check("#visa_required-1")
        page.set_input_files(
            "#photo", files=[{"name": "a.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
        )


def _act(page, selector):
    """Take a row's action: its answer lands in the (emptied) editor."""
    page.evaluate("document.getElementById('editor').replaceChildren()")
    page.click(selector)
    page.wait_for_selector("#editor > .flash")


@pytest.mark.browser
@pytest.mark.parametrize("language", ["fr", "en", "ar"])
def test_every_change_in_place_shows_what_a_reload_shows(app, phone, demo_server, language):
    base = demo_server.url
    _seed_queue(app, 22)
    page = phone(javascript=True, language=language)
    page.on("dialog", lambda dialog: dialog.accept())  # hx-confirm
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, *ACCOUNTS[language])

    # From the dashboard's "Add a participant": the form's own page, then the list with the
    # confirmation.
    page.goto(base + "/delegation")
    page.click("main a[href='/delegation/participants/new']")
    page.wait_for_selector("#participant-form")
    _fill(page, "NGUYEN", "Lan")
    page.click("button[name=save]")
    page.wait_for_url("**/delegation/participants#p-*")
    assert page.locator("main .flash").count() == 1
    assert_as_reloaded(page, "a save from the dashboard's form")

    # A new head of delegation, added in the list: the old head's mark goes (fr: MATSUURA).
    _in_list(page)
    _fill(page, "BERNARD", "Paul", head=True)
    page.click("#editor button[name=save]")
    page.wait_for_selector("#editor > .flash")
    assert_as_reloaded(page, "a new head of delegation")
    assert page.locator("#plist-body strong.head").count() == 1

    # A complete participant saved as a draft (with a photo), then submitted from its row.
    _in_list(page)
    _fill(page, "DIALLO", "Awa", complete=True)
    page.click("#editor button[name=save]")
    page.wait_for_selector("#editor > .flash")
    assert_as_reloaded(page, "a complete draft with a photo")
    diallo = _id(app, "DIALLO")
    _act(page, "#p-%d .ac button.link" % diallo)
    assert_as_reloaded(page, "a submission from the row")

    # An edit that renames (the row moves) and names a new head (the mark moves again).
    nguyen = _id(app, "NGUYEN")
    page.evaluate("document.getElementById('editor').replaceChildren()")
    page.click("#p-%d .ac a[hx-get]" % nguyen)
    page.wait_for_selector("#editor form")
    page.fill("#family_name", "ABADI")
    page.check("#is_head")
    page.click("#editor button[name=save]")
    page.wait_for_selector("#editor > .flash")
    assert_as_reloaded(page, "a renaming and a change of head")

    # Submitted without what a submission needs: saved as a draft, the form stays open with
    # its error summary, and the list behind it changes as the save changed it.
    _in_list(page)
    _fill(page, "ZIDANE", "Karim")
    page.click("#editor button[name=submit]")
    page.wait_for_selector("#editor #error-summary")
    page.wait_for_function(FOCUSED)
    assert_as_reloaded(page, "a refused submission", hide="#editor")

    # Withdrawn (moves to the end), and a draft deleted.
    _act(page, "#p-%d .ac a[href$='/withdraw']" % diallo)
    assert_as_reloaded(page, "a withdrawal")
    _act(page, "#p-%d .ac a[href$='/delete']" % _id(app, "ZIDANE"))
    assert_as_reloaded(page, "a deletion")
    assert not errors, errors

    # The secretariat's review queue, in the same language: more than a page waits.
    page.context.clear_cookies()
    _sign_in(page, base, "secretariat", "Secretariat-2005")
    page.goto(base + "/secretariat/queue")
    if page.get_attribute("html", "lang") != language:
        page.click(".langs a[lang=%s]" % language)
        page.wait_for_load_state()
    first = _id(app, "QUEUE00")
    page.click("#p-%d button.primary" % first)
    page.wait_for_selector("#p-%d.done" % first)
    assert_as_reloaded(page, "a decision in the queue (a row moves up from the next page)")
    second = _id(app, "QUEUE01")
    page.click("#p-%d summary" % second)
    page.select_option("#reason-%d" % second, "incomplete")
    page.click("#p-%d button.danger" % second)
    page.wait_for_selector("#p-%d.done" % second)
    assert_as_reloaded(page, "a rejection in the queue")
    page.check("#p-%d input[type=checkbox]" % _id(app, "QUEUE02"))
    page.check("#p-%d input[type=checkbox]" % _id(app, "QUEUE03"))
    page.check("#bulk input[value=accredit]")
    page.click("#bulk button.primary")
    page.wait_for_selector("#queue > .flash")
    assert_as_reloaded(page, "a bulk decision")
    assert not errors, errors
