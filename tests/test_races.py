"""Edit conflicts raced for real: two coordinators saving the same participant at the same moment
from the same version, and two reviewers deciding the same participant at once, against gunicorn
with several workers (SQLite, and PostgreSQL with ``PORTAL_TEST_DB=postgresql``). One wins; the
other is told (409) and changes nothing. Quota races and replayed forms: tests/test_idempotency.py;
``kill -9`` during writes: ``make test-durability`` (bench/durability.py).
"""

import re

from portal.db import database
from portal.models import ACCREDITED, REJECTED, ROLE_SECRETARIAT, SUBMITTED, Participant
from tests.conftest import csrf_token
from tests.test_idempotency import KEY_RE, Visitor, _ready, race, served  # noqa: F401

VERSION_RE = re.compile(r'name="version" type="hidden" value="([^"]*)"')


def test_two_saves_of_the_same_version_at_once(app, served):  # noqa: F811
    server, org = served
    alice, bob = Visitor(server.url), Visitor(server.url)
    alice.sign_in("coord")
    bob.sign_in("coord")
    rounds = 4
    for n in range(rounds):
        (pid,) = _ready(app, org, 1)
        url = "/delegation/participants/%d" % pid
        forms = []
        for visitor, who in ((alice, "ALICE"), (bob, "BOB")):
            _, page = visitor.request(url)
            forms.append(
                {
                    "csrf_token": csrf_token(page),
                    "submission_key": KEY_RE.search(page).group(1),
                    "version": VERSION_RE.search(page).group(1),
                    "family_name": "%s ROUND %s" % (who, "ABCD"[n]),
                    "given_names": "Quick",
                }
            )
        results = race(
            lambda: alice.request(url, forms[0]),
            lambda: bob.request(url, forms[1]),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [303, 409], [(s, b[:300]) for s, b in results]
        winner = forms[[status for status, _ in results].index(303)]
        loser_page = next(body for status, body in results if status == 409)
        # The one who lost sees what is saved now, to compare with what they typed.
        assert winner["family_name"] in loser_page
        with app.app_context(), database.connection_context():
            saved = Participant.get_by_id(pid)
            assert saved.family_name == winner["family_name"]
            assert saved.version == int(winner["version"]) + 1


def test_two_decisions_on_the_same_participant_at_once(app, served, make_account):  # noqa: F811
    server, org = served
    make_account("rev.one", role=ROLE_SECRETARIAT)
    make_account("rev.two", role=ROLE_SECRETARIAT)
    one, two = Visitor(server.url), Visitor(server.url)
    one.sign_in("rev.one")
    two.sign_in("rev.two")
    rounds = 4
    for _n in range(rounds):
        (pid,) = _ready(app, org, 1)
        with app.app_context(), database.connection_context():
            Participant.update(status=SUBMITTED).where(Participant.id == pid).execute()
            version = Participant.get_by_id(pid).version
        url = "/secretariat/participants/%d" % pid
        decisions = []
        for visitor, decision in ((one, "accredit"), (two, "reject")):
            _, page = visitor.request(url)
            decisions.append(
                {
                    "csrf_token": csrf_token(page),
                    "decision": decision,
                    "reason": "" if decision == "accredit" else "photo_unsuitable",
                    "text": "",
                    "version": str(version),
                }
            )
        hx = {"HX-Request": "true"}
        results = race(
            lambda: one.request(url + "/decision", decisions[0], hx),
            lambda: two.request(url + "/decision", decisions[1], hx),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 409], [(s, b[:300]) for s, b in results]
        won = decisions[[status for status, _ in results].index(200)]["decision"]
        with app.app_context(), database.connection_context():
            decided = Participant.get_by_id(pid)
            assert decided.status == (ACCREDITED if won == "accredit" else REJECTED)
            assert decided.version == version + 1
