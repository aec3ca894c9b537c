"""The participant form on a 412-pixel phone, with JavaScript and without: the error summary
gets the focus, the visa's place shows only with "Yes" (style sheet only), a photo chosen with
a form that came back is kept and not sent again, and touch targets are at least 44 px."""

import pytest

from portal.db import database
from portal.models import Participant, Photo
from tests.test_delegation_helpers import jpeg

#: The error summary has the focus (a function: Playwright would eval() a bare expression it
#: polls, which the portal's Content Security Policy refuses).
FOCUSED = "() => document.activeElement && document.activeElement.id === 'error-summary'"


def _sign_in(page, base):
    page.goto(base + "/login")
    page.fill("input[name=username]", "wipo-focal")
    page.fill("input[name=password]", "Geneva#WSIS")
    page.click("button.primary")
    page.wait_for_url("**/delegation")


def _shown(page, selector):
    return page.locator(selector).is_visible()


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
def test_errors_focus_the_summary_and_the_photo_is_kept(app, phone, demo_server, javascript):
    base = demo_server.url
    page = phone(javascript=javascript, language="en")
    _sign_in(page, base)
    page.goto(base + "/delegation/participants/new")
    assert page.locator("h1").inner_text() == "Add a participant"

    # The visa's place follows the answer, by the style sheet alone.
    assert not _shown(page, "#visa_place")
    page.check("#visa_required-0")
    assert _shown(page, "#visa_place")
    page.check("#visa_required-1")
    assert not _shown(page, "#visa_place")

    page.fill("#family_name", "Гагарин")
    page.fill("#email", "not an address")
    page.set_input_files(
        "#photo", files=[{"name": "me.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.click("button[name=save]")
    page.wait_for_selector("#error-summary")
    page.wait_for_function(FOCUSED)
    if not javascript:
        assert page.url.endswith("/delegation/participants/new#error-summary")
    links = page.locator("#error-summary a")
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == [
        "#family_name",
        "#email",
    ]
    # Following a link puts the reader on the field.
    links.nth(1).click()
    assert page.evaluate("location.hash") == "#email"
    assert page.locator("#email").is_visible()

    # The photo is kept: shown, and its file input hidden while "Keep" is ticked.
    page.wait_for_function(
        "() => { const img = document.querySelector('.kept img');"
        " return img && img.complete && img.naturalWidth > 0; }"
    )
    assert page.locator(".kept img").evaluate("img => img.naturalWidth") == 60
    assert not _shown(page, "#photo")
    page.check("#photo_choice-1")
    assert _shown(page, "#photo")
    page.check("#photo_choice-0")
    page.fill("#family_name", "GAGARINA")
    page.fill("#email", "v.gagarina@example.org")
    page.click("button[name=save]")
    page.wait_for_url("**/delegation/participants#p-*")
    with app.app_context(), database.connection_context():
        person = Participant.get(Participant.family_name == "GAGARINA")
        assert Photo.select().where(Photo.participant == person.id).exists()


@pytest.mark.browser
def test_touch_targets_are_at_least_44_px_on_a_phone(phone, demo_server):
    page = phone(javascript=True, language="fr")
    page.goto(demo_server.url + "/login")
    page.fill("input[name=username]", "unesco.dfp")
    page.fill("input[name=password]", "Tunis2005!")
    page.click("button.primary")
    page.wait_for_url("**/delegation")
    page.goto(demo_server.url + "/delegation/participants")
    small = page.evaluate(
        """[...document.querySelectorAll('.top a, .top button, .plist .ac a, .plist .ac button')]
           .map(e => [e.textContent.trim(), e.getBoundingClientRect().height])
           .filter(([, height]) => height < 44)"""
    )
    assert small == []
    assert page.locator(".plist .ac a").count() > 0
