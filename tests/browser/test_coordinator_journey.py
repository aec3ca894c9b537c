"""What must show (1) and (2): on a 412-pixel phone in a real browser, in Arabic and in French,
with JavaScript and without: sign in, name a head of delegation and two delegates (one with a
name in Arabic script, one with an apostrophe and accents), upload a photo taken sideways,
submit, sign out, sign in again: everything is there, in the right state."""

import io

import pytest
from PIL import Image

from tests.test_delegation_helpers import jpeg

ACCOUNTS = {"ar": ("las.coord", "Qahira2005"), "fr": ("oif_coord", "Francophonie-05")}

PEOPLE = [
    {
        "courtesy_title": "he",
        "family_name": "MOUSSA",
        "given_names": "Amr",
        "gender": "m",
        "function": "Secretary-General",
        "is_head": True,
        "nationality": "EG",
        "passport": "A01234567",
        "mobile": "+20 2 2575 0511",
        "photo": jpeg(1000, 600, orientation=6),  # taken sideways: EXIF Orientation 6
    },
    {
        "courtesy_title": "dr",
        "family_name": "AL-HASHIMI",
        "given_names": "Layla",
        "family_name_original": "الهاشمي",
        "given_names_original": "ليلى",
        "gender": "f",
        "function": "Adviser",
        "nationality": "JO",
        "passport": "J7654321",
        "mobile": "+962 6 500 0000",
        "photo": jpeg(600, 800, color=(60, 120, 90)),
    },
    {
        "courtesy_title": "ms",
        "family_name": "O'Brien-Lefèvre",
        "given_names": "Siobhán Hélène",
        "gender": "f",
        "function": "Programme officer",
        "nationality": "IE",
        "passport": "PX1234567",
        "mobile": "+353 1 234 5678",
        "photo": jpeg(700, 900, color=(90, 60, 120)),
    },
]


def sign_in(page, base, language):
    username, password = ACCOUNTS[language]
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button.primary")
    page.wait_for_url("**/delegation")


def fill(page, person, javascript):
    page.select_option("#courtesy_title", person["courtesy_title"])
    page.fill("#family_name", person["family_name"])
    page.fill("#given_names", person["given_names"])
    if "family_name_original" in person:
        page.fill("#family_name_original", person["family_name_original"])
        page.fill("#given_names_original", person["given_names_original"])
    page.check("#gender-%d" % ["f", "m", "x"].index(person["gender"]))
    page.fill("#function", person["function"])
    if person.get("is_head"):
        page.check("#is_head")
    page.select_option("#nationality", person["nationality"])
    page.fill("#date_of_birth", "1965-03-21")
    page.fill("#passport_number", person["passport"])
    page.select_option("#passport_country", person["nationality"])
    page.fill("#passport_expiry", "2010-06-30")
    page.fill("#email", "delegate@example.org")
    page.fill("#mobile", person["mobile"])
    page.fill("#arrival_date", "2005-11-15")
    page.fill("#departure_date", "2005-11-19")
    page.check("#visa_required-1")  # no visa needed
    page.set_input_files(
        "#photo",
        files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": person["photo"]}],
    )


@pytest.mark.browser
@pytest.mark.parametrize("javascript", [True, False], ids=["js", "nojs"])
@pytest.mark.parametrize("language", ["ar", "fr"])
def test_register_a_delegation_on_a_phone(phone, demo_server, language, javascript):
    base = demo_server.url
    page = phone(javascript=javascript, language=language)
    sign_in(page, base, language)
    assert page.get_attribute("html", "dir") == ("rtl" if language == "ar" else "ltr")
    assert page.get_attribute("html", "lang") == language
    page.goto(base + "/delegation/participants")
    assert page.viewport_size["width"] == 412

    if javascript:
        # A field is checked as it is left: the message appears without a page load.
        page.click("a[href='/delegation/participants/new']")
        page.wait_for_selector("#editor form")
        page.fill("#passport_number", "12")
        page.press("#passport_number", "Tab")
        page.wait_for_selector("#passport_number-error")
        assert page.get_attribute("#passport_number", "aria-invalid") == "true"
        page.fill("#passport_number", "")
        page.goto(base + "/delegation/participants")

    for person in PEOPLE:
        page.click("a[href='/delegation/participants/new']")
        if javascript:
            page.wait_for_selector("#editor form")  # the form opens inside the list
            assert "/participants/new" not in page.url
        else:
            page.wait_for_url("**/delegation/participants/new")
        fill(page, person, javascript)
        page.click("button[name=submit]")
        if javascript:
            # The row is swapped into the list and the counts change, without a page load.
            row = "#plist-body tr.st-submitted >> text=%s" % person["given_names"]
            page.wait_for_selector(row)
            assert "/delegation/participants" in page.url
        else:
            page.wait_for_url("**/delegation/participants#p-*")
        # No layout wider than the phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 412

    # Sign out, sign in again: everything is there, in the right state.
    page.click(".who button.link")
    page.wait_for_url("**/login**")
    sign_in(page, base, language)
    dashboard = page.inner_text("#counts")
    assert "3" in dashboard
    assert "MOUSSA" in dashboard  # the head of delegation is named
    page.goto(base + "/delegation/participants")
    rows = page.locator("#plist-body tr")
    assert rows.count() == 3
    assert page.locator("#plist-body tr.st-submitted").count() == 3
    text = page.inner_text("#plist-body")
    assert "ليلى الهاشمي" in text
    assert "O'BRIEN-LEFÈVRE, Siobhán Hélène" in text
    head_row = page.locator("#plist-body tr", has=page.locator("strong.head"))
    assert head_row.count() == 1 and "MOUSSA" in head_row.inner_text()
    assert "•••567" in text and "A01234567" not in text
    # Thumbnails are lazy, sized, and served.
    thumbs = page.locator("#plist-body img")
    assert thumbs.count() == 3
    assert thumbs.first.get_attribute("loading") == "lazy"
    assert thumbs.first.get_attribute("width") == "60"
    # The sideways photo is stored upright: a 300x400 portrait, its top band now on the right.
    head_row.locator("a").first.click()
    page.wait_for_url("**/delegation/participants/*")
    src = page.get_attribute("img.badge-photo", "src")
    response = page.request.get(base + src)
    assert response.status == 200
    assert "private" in response.headers["cache-control"]
    image = Image.open(io.BytesIO(response.body()))
    assert image.size == (300, 400)
    assert image.getpixel((295, 200))[0] < 40 and image.getpixel((5, 200))[0] > 90
    # Its own form shows the whole passport number and the saved values.
    assert page.input_value("#passport_number") == "A01234567"
    assert page.input_value("#mobile") == "+20225750511"
    assert page.is_checked("#is_head")


@pytest.mark.browser
def test_failed_request_keeps_what_was_typed_and_retries(phone, demo_server):
    """The link drops the save: a retry message, the typed values still there; the second try
    saves it once."""
    base = demo_server.url
    page = phone(javascript=True, language="fr")
    sign_in(page, base, "fr")
    page.goto(base + "/delegation/participants")
    page.click("a[href='/delegation/participants/new']")
    page.wait_for_selector("#editor form")
    person = PEOPLE[2]
    fill(page, person, True)
    # A field checked as it is left after a photo was chosen: the photo is not uploaded with it.
    checks = []
    page.on(
        "request", lambda r: checks.append(r.post_data_buffer) if "/validate/" in r.url else None
    )
    page.fill("#function", "Programme officer, ICT")
    page.press("#function", "Tab")
    page.wait_for_timeout(500)
    assert checks and all(b"IMG_0001.jpg" not in (body or b"") for body in checks)
    assert any(b"Programme officer, ICT" in (body or b"") for body in checks)
    dropped = []

    def drop(route):
        if route.request.method == "POST" and not dropped:
            dropped.append(route.request.url)
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/delegation/participants/new", drop)
    page.click("button[name=save]")
    page.wait_for_selector("#editor form .retry:not([hidden])")
    assert dropped
    assert page.input_value("#family_name") == "O'Brien-Lefèvre"
    assert page.input_value("#passport_number") == person["passport"]
    page.click("button[name=save]")
    page.wait_for_selector("#plist-body tr.st-draft >> text=Siobhán")
    assert page.locator("#plist-body tr").count() == 1


@pytest.mark.browser
def test_withdraw_and_delete_ask_for_confirmation(phone, demo_server):
    base = demo_server.url
    page = phone(javascript=True, language="ar")
    sign_in(page, base, "ar")
    page.goto(base + "/delegation/participants")
    for name in ("KEEP", "GONE"):
        page.click("a[href='/delegation/participants/new']")
        page.wait_for_selector("#editor form")
        page.fill("#family_name", name)
        page.click("button[name=save]")
        page.wait_for_selector("#plist-body tr >> text=%s" % name)
    answers = []

    def answer(dialog):
        answers.append(dialog.message)
        dialog.dismiss() if len(answers) == 1 else dialog.accept()

    page.on("dialog", answer)
    gone = page.locator("#plist-body tr", has_text="GONE")
    gone.locator("a[href$='/delete']").click()  # dismissed: nothing happens
    page.wait_for_timeout(300)
    assert page.locator("#plist-body tr", has_text="GONE").count() == 1
    gone.locator("a[href$='/delete']").click()  # accepted
    page.wait_for_selector("#plist-body tr >> text=GONE", state="detached")
    assert len(answers) == 2 and "GONE" in answers[0]
    # The counts were swapped too: one draft left (in Arabic digits or not).
    assert page.locator("#counts li strong").first.inner_text() in ("1", "١")
    assert page.locator("#plist-body tr").count() == 1


@pytest.mark.browser
def test_a_file_beyond_the_request_limit_keeps_the_form(phone, demo_server):
    """A photo larger than the server accepts at all (413): a message, the form as typed."""
    import os

    base = demo_server.url
    page = phone(javascript=True, language="fr")
    sign_in(page, base, "fr")
    page.goto(base + "/delegation/participants")
    page.click("a[href='/delegation/participants/new']")
    page.wait_for_selector("#editor form")
    page.fill("#family_name", "Lourd")
    page.fill("#special_needs", "Fauteuil roulant")
    huge = os.urandom(9 * 1024 * 1024)
    page.set_input_files(
        "#photo", files=[{"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": huge}]
    )
    page.click("button[name=save]")
    page.wait_for_selector("#editor form .too-large:not([hidden])")
    assert page.input_value("#family_name") == "Lourd"
    assert page.input_value("#special_needs") == "Fauteuil roulant"
    assert page.locator("#plist-body tr").count() == 0
