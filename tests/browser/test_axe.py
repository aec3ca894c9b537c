"""axe-core (vendored: tests/browser/vendor, MPL-2.0) on every page of both sides, in the three
languages, JavaScript on: no violation of any rule axe runs by default. A new one fails the test,
with the rule, the page and the elements it found."""

import datetime as dt
import os

import pytest

from portal.db import database
from portal.models import ACCREDITED, DRAFT, Account, DocumentJob, Event, Organization, Participant
from portal.services import imports, verification

#: A file of two participants, the second one wrong (the import pages' preview).
IMPORT_CSV = (
    b"Family name (as in the passport),Given names (as in the passport),Passport number,"
    b"Passport issued by\r\nAXELSSON,Maria,X1234567,SE\r\nB4D,Jo,X7654321,SE\r\n"
)

AXE_VERSION = "4.10.2"
AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe-%s.min.js" % AXE_VERSION)

COORDINATOR_PAGES = [
    "/delegation",
    "/delegation/participants",
    "/delegation/participants/new",
    "/delegation/participants/{draft}",
    "/delegation/participants/{draft}/delete",
    "/delegation/participants/{submitted}/withdraw",
    "/account/password",
    "/delegation/import",
    "/delegation/import/{import_with_errors}",
    "/delegation/list",
]
SECRETARIAT_PAGES = [
    "/secretariat/",
    "/secretariat/queue",
    "/secretariat/participants/{submitted}",
    "/secretariat/organizations/{organization}",
    "/secretariat/settings",
    "/secretariat/accounts",
    "/secretariat/audit",
    "/secretariat/exports",
    "/secretariat/accounts/import",
    "/secretariat/mail",
    "/secretariat/organizations/{organization}/import",
    "/secretariat/organizations/{organization}/import/{import_ready}",
    "/secretariat/participants/{accredited}",
    # The verification page as the secretariat sees it: with the photo.
    "/verify/{badge}",
    "/secretariat/list",
    "/secretariat/organizations/{organization}/list",
    "/secretariat/badges",
    "/secretariat/documents/{job}",
]
#: What a guard or an embassy sees, without signing in.
PUBLIC_PAGES = ["/verify/{badge}", "/verify/{letter}"]


def _ids(app):
    with app.test_request_context(), database.connection_context(), database.atomic():
        unesco = Organization.get(Organization.code == "UNESCO")
        people = Participant.select().where(Participant.organization == unesco)
        draft = next(p.id for p in people if p.status == DRAFT)
        submitted = next(p.id for p in people if p.status != DRAFT)
        # An accredited participant, with a name in Arabic script, a badge and a letter.
        accredited = Participant.create(
            organization=unesco,
            status=ACCREDITED,
            courtesy_title="dr",
            family_name="HADDAD",
            given_names="Leila",
            family_name_original="حداد",
            given_names_original="ليلى",
        )
        badge = verification.issue(accredited, "badge")
        letter = verification.issue(
            accredited,
            "letter",
            valid_from=dt.date(2005, 11, 15),
            valid_until=dt.date(2005, 11, 19),
        )
        # A print run waiting for the documents worker (none runs here): its page polls.
        job = DocumentJob.create(kind="summit_list", parameters='{"language": "fr"}')
        unesco_id = unesco.id
    with app.test_request_context(), database.connection_context():
        coordinator = Account.get(Account.username_key == Account.key("unesco.dfp"))
        event = Event.current()
        with_errors = imports.upload(coordinator, None, "a.csv", IMPORT_CSV, event)
        ready = imports.upload(coordinator, None, "b.csv", IMPORT_CSV.rsplit(b"B4D", 1)[0], event)
    return {
        "organization": unesco_id,
        "draft": draft,
        "submitted": submitted,
        "import_with_errors": with_errors.id,
        "import_ready": ready.id,
        "accredited": accredited.id,
        "badge": badge,
        "letter": letter,
        "job": job.id,
    }


def _violations(page):
    return page.evaluate(
        """async () => {
            const result = await axe.run(document);
            return [result.passes.length, result.violations.map(v => ({
                rule: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary)
            }))];
        }"""
    )


@pytest.mark.browser
@pytest.mark.parametrize(
    "username,password,pages,width",
    [
        ("unesco.dfp", "Tunis2005!", COORDINATOR_PAGES, 412),
        ("secretariat", "Secretariat-2005", SECRETARIAT_PAGES, 1366),
        (None, None, PUBLIC_PAGES, 412),
    ],
    ids=["coordinator", "secretariat", "public"],
)
def test_no_axe_violation_on_any_page(app, browser, demo_server, username, password, pages, width):
    with open(AXE, encoding="utf-8") as fh:
        axe = fh.read()
    ids = _ids(app)
    # Playwright evaluates axe through the DevTools protocol: the page's CSP does not apply.
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr")
    page = context.new_page()
    try:
        if username:
            page.goto(demo_server.url + "/login")
            page.fill("input[name=username]", username)
            page.fill("input[name=password]", password)
            page.click("button.primary")
            page.wait_for_load_state()
        found, checked = [], 0
        for language in ("fr", "en", "ar"):
            page.goto(demo_server.url + "/language/%s?next=/" % language)
            for path in pages:
                url = demo_server.url + path.format(**ids)
                response = page.goto(url)
                assert response.status < 400, (url, response.status)
                page.evaluate(axe)
                passed, violations = _violations(page)
                assert passed > 10, (url, passed)  # axe ran its rules
                for violation in violations:
                    found.append((language, path, violation))
                checked += 1
        summary = "\n".join(
            "%s %s: %s (%s) %s" % (lang, path, v["rule"], v["impact"], v["nodes"])
            for lang, path, v in found
        )
        assert not found, "%d violations:\n%s" % (len(found), summary)
        assert checked == 3 * len(pages)
    finally:
        context.close()
