"""The sign-in page in a real browser, with and without JavaScript."""

import pytest


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False])
def test_coordinator_signs_in_on_a_phone(phone, demo_server, javascript):
    page = phone(javascript=javascript)
    page.goto(demo_server.url + "/login")
    page.fill("input[name=username]", " UNESCO.dfp ")
    page.fill("input[name=password]", "Tunis2005!")
    page.click("button.primary")
    page.wait_for_url("**/delegation")
    assert "la science et la culture" in page.inner_text("h1")
