"""The review queue in a real browser: decisions in place with HTMX, and the same without
JavaScript."""

import datetime as dt

import pytest

from portal.db import database
from portal.models import ACCREDITED, REJECTED, SUBMITTED, Organization, Participant, utcnow


def _submit(app, names):
    with app.app_context(), database.connection_context():
        org = Organization.get(Organization.code == "WIPO")
        return [
            Participant.create(
                organization=org,
                family_name=family,
                given_names=given,
                status=SUBMITTED,
                submitted_at=utcnow() - dt.timedelta(minutes=10 - n),
            ).id
            for n, (given, family) in enumerate(names)
        ]


def _status(app, pid):
    with app.app_context(), database.connection_context():
        return Participant.get_by_id(pid).status


def _sign_in(page, url):
    page.goto(url + "/login")
    page.fill("input[name=username]", "secretariat")
    page.fill("input[name=password]", "Secretariat-2005")
    page.click("button.primary")
    page.wait_for_url("**/secretariat/")


@pytest.mark.browser
def test_queue_decisions_in_place_with_htmx(app, phone, demo_server):
    ids = _submit(app, [("Ana", "ONE"), ("Ben", "TWO"), ("Cy", "THREE"), ("Di", "FOUR")])
    page = phone(javascript=True, language="en")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(page, demo_server.url)
    page.goto(demo_server.url + "/secretariat/queue")
    page.wait_for_function("window.htmx !== undefined")

    # One participant: the row is replaced in place, the page stays.
    page.click("#p-%d button.primary" % ids[0])
    page.wait_for_selector("#p-%d.done" % ids[0])
    assert "Ana ONE is accredited." in page.inner_text("#p-%d" % ids[0])
    assert page.url.endswith("/secretariat/queue")
    assert _status(app, ids[0]) == ACCREDITED

    # A rejection with a reason, from the row's own form.
    page.click("#p-%d summary" % ids[1])
    page.select_option("#reason-%d" % ids[1], "incomplete")
    page.click("#p-%d button.danger" % ids[1])
    page.wait_for_selector("#p-%d.done" % ids[1])
    assert _status(app, ids[1]) == REJECTED

    # Many at once: ticked boxes outside the bulk form belong to it.
    page.check("#p-%d input[type=checkbox]" % ids[2])
    page.check("#p-%d input[type=checkbox]" % ids[3])
    page.check("#bulk input[value=reject]")
    page.fill("#bulk-text", "Not on the invitation list")
    page.click("#bulk button.primary")
    page.wait_for_selector("text=2 participants rejected.")
    assert [_status(app, pid) for pid in ids[2:]] == [REJECTED, REJECTED]
    assert not [e for e in errors if "Content Security Policy" in e]


@pytest.mark.browser
def test_queue_decisions_without_javascript(app, phone, demo_server):
    ids = _submit(app, [("Eve", "FIVE"), ("Fay", "SIX")])
    page = phone(javascript=False, language="en")
    _sign_in(page, demo_server.url)
    page.goto(demo_server.url + "/secretariat/queue")
    page.click("#p-%d button.primary" % ids[0])
    page.wait_for_selector("text=Eve FIVE is accredited.")
    assert page.url.endswith("/secretariat/queue")
    assert _status(app, ids[0]) == ACCREDITED
    page.check("#p-%d input[type=checkbox]" % ids[1])
    page.check("#bulk input[value=reject]")
    page.select_option("#bulk-reason", "duplicate")
    page.click("#bulk button.primary")
    page.wait_for_selector("text=1 participant rejected.")
    assert _status(app, ids[1]) == REJECTED
