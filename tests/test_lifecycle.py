"""The lifecycle table (portal/lifecycle.py) walked through HTTP: for every status x action x
role, the route does what the table says (done, or the same clear refusal, nothing changed),
and every screen offers exactly the actions the table allows."""

import datetime as dt
import re

import pytest

from portal import lifecycle
from portal.db import database
from portal.lifecycle import ACTIONS, GONE
from portal.models import (
    DRAFT,
    ROLE_SECRETARIAT,
    STATUSES,
    SUBMITTED,
    WITHDRAWN,
    Participant,
)
from tests.conftest import csrf_token
from tests.test_delegation_helpers import HX, PASSWORD, form_of, jpeg

ROLES = ("anonymous", "coordinator", "other coordinator", "secretariat")
#: The actions a request takes directly ("create" and "resubmit" are walked through the form).
WALKED = ("save", "submit", "withdraw", "delete", "accredit", "reject")


@pytest.fixture
def walk(app, make_event, make_org, make_account):
    """An open event, two organizations, a client signed in for each role, and a factory of
    complete participants (photo included) in any status."""
    event = make_event("open")
    org, other = make_org("ITU"), make_org("WHO")
    make_account("coord", organization=org, language="en")
    make_account("intruder", organization=other, language="en")
    make_account("registry", PASSWORD, role=ROLE_SECRETARIAT, language="en")
    clients = {"anonymous": app.test_client()}
    for role, username in (
        ("coordinator", "coord"),
        ("other coordinator", "intruder"),
        ("secretariat", "registry"),
    ):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        response = client.post(
            "/login",
            data={"csrf_token": csrf_token(page), "username": username, "password": PASSWORD},
        )
        assert response.status_code == 303, username
        clients[role] = client

    from portal.services.photos import process, store

    with app.test_request_context():
        photo = process(jpeg(), 5 * 1024 * 1024)
    counter = iter(range(1, 10_000))

    def participant(status):
        n = next(counter)
        letters = "".join(chr(65 + int(d)) for d in "%04d" % n)
        with app.test_request_context(), database.connection_context():
            p = Participant.create(
                organization=org,
                status=status,
                courtesy_title="dr",
                family_name="WALK" + letters,
                given_names="Test",
                gender="f",
                function="Adviser",
                nationality="NG",
                date_of_birth=dt.date(1970, 1, 1),
                passport_number="W%06d" % n,
                passport_key="W%06d" % n,
                passport_country="NG",
                passport_expiry=dt.date(2010, 1, 1),
                email="walk@example.org",
                arrival_date=dt.date(2005, 11, 15),
                departure_date=dt.date(2005, 11, 19),
                visa_required=False,
                rejection_code="not_eligible" if status == "rejected" else "",
            )
            store(p, photo)
            return Participant.get_by_id(p.id)

    return {"event": event, "clients": clients, "participant": participant}


def _form(p):
    return form_of(p, version=str(p.version))


def request_action(client, action, p, headers=None):
    """Take ``action`` on ``p`` the way its screen does (a token from any page of the portal)."""
    page = client.get("/", follow_redirects=True).get_data(as_text=True)
    token = csrf_token(page) if "csrf_token" in page else ""
    if action == "save":
        url, data = "/delegation/participants/%d" % p.id, _form(p)
    elif action in ("accredit", "reject"):
        url = "/secretariat/participants/%d/decision" % p.id
        data = {"decision": action, "version": str(p.version), "reason": "not_eligible"}
    else:
        url, data = "/delegation/participants/%d/%s" % (p.id, action), {}
    return client.post(url, data={"csrf_token": token, **data}, headers=headers or {})


REFUSALS = ("Not possible now", "Only drafts can be deleted")


def refusal_shown(client, response):
    """A 409 that says why; without JavaScript, a decision may instead go back to the page it
    came from (303), which then says why."""
    if response.status_code == 303:
        response = client.get(response.headers["Location"])
    elif response.status_code != 409:
        return False
    body = response.get_data(as_text=True)
    return any(words in body for words in REFUSALS)


def fresh(app, pid):
    with app.app_context(), database.connection_context():
        return Participant.get_or_none(Participant.id == pid)


def expected(role, action, status):
    """What the table says a role's request answers: "done", "same" (a repeat: done, nothing
    changed), "refused" (409), "not found" (404) or "sign in"."""
    if role == "anonymous":
        return "sign in"
    who = {"coordinator": "coordinator", "other coordinator": "coordinator"}.get(role, role)
    if who not in ACTIONS[action].who:
        return "not found"
    if role == "other coordinator":
        return "not found"
    if role == "secretariat" and action in ("save", "submit"):
        # The secretariat enters registrations on an organization's behalf from its own pages
        # (the organization's import): the coordinator's routes stay closed to it.
        return "not found"
    if status in ACTIONS[action].sources:
        return "done"
    if status == ACTIONS[action].target:
        return "same"
    return "refused"


@pytest.mark.parametrize("headers", [{}, HX], ids=["plain", "htmx"])
@pytest.mark.parametrize("status", list(STATUSES))
def test_every_route_answers_as_the_table_says(app, walk, status, headers):
    for action in WALKED:
        for role in ROLES:
            p = walk["participant"](status)
            response = request_action(walk["clients"][role], action, p, headers)
            after = fresh(app, p.id)
            outcome = expected(role, action, status)
            cell = "%s x %s x %s: %s" % (status, action, role, outcome)
            if outcome == "sign in":
                assert response.status_code in (204, 302, 303), cell
                location = response.headers.get("Location") or response.headers["HX-Redirect"]
                assert "/login" in location, cell
            elif outcome == "not found":
                assert response.status_code == 404, cell
            elif outcome == "refused":
                assert refusal_shown(walk["clients"][role], response), cell
            else:
                assert response.status_code in ((200, 204) if headers else (303,)), cell
            if outcome != "done":
                assert (after.status, after.version) == (p.status, p.version), cell
                continue
            target = ACTIONS[action].target
            if target is GONE:
                assert after is None, cell
            else:
                assert after.status == (target or status), cell
                assert after.version > p.version, cell


def test_a_draft_cannot_be_withdrawn_by_any_request(app, walk):
    for role in ROLES:
        for headers in ({}, HX):
            p = walk["participant"](DRAFT)
            response = request_action(walk["clients"][role], "withdraw", p, headers)
            assert response.status_code in (204, 302, 303, 404, 409), role
            assert fresh(app, p.id).status == DRAFT, role
    with app.test_request_context(), database.connection_context():
        refusal = lifecycle.refusal(p, "withdraw")
        assert refusal.kind == "status"


def _offered_in_list(page, pid):
    row = re.search(r'<tr id="p-%d".*?</tr>' % pid, page, re.S).group(0)
    return {
        "save": ">Edit</a>" in row,
        "submit": "/%d/submit" % pid in row,
        "withdraw": "/%d/withdraw" % pid in row,
        "delete": "/%d/delete" % pid in row,
    }


def test_every_screen_offers_exactly_the_allowed_actions(app, walk):
    people = {status: walk["participant"](status) for status in STATUSES}
    page = walk["clients"]["coordinator"].get("/delegation/participants").get_data(as_text=True)
    for status, p in people.items():
        offered = _offered_in_list(page, p.id)
        for action, shown in offered.items():
            assert shown == (status in ACTIONS[action].sources), (status, action)
    for status, p in people.items():
        page = (
            walk["clients"]["secretariat"]
            .get("/secretariat/participants/%d" % p.id)
            .get_data(as_text=True)
        )
        for action in ("accredit", "reject"):
            shown = 'name="decision" value="%s"' % action in page
            assert shown == (status in ACTIONS[action].sources), (status, action)
        form = walk["clients"]["coordinator"].get("/delegation/participants/%d" % p.id)
        html = form.get_data(as_text=True)
        assert ('name="submit"' in html) == (status in ACTIONS["submit"].sources), status
        assert ("<fieldset disabled>" in html) == (status not in ACTIONS["save"].sources), status


def test_a_closed_registration_offers_and_takes_nothing(app, walk, make_event):
    with app.app_context(), database.connection_context():
        event = walk["event"]
        event.registration_closes_on = dt.date.today() - dt.timedelta(days=1)
        event.registration_opens_on = dt.date.today() - dt.timedelta(days=30)
        event.save()
    coordinator = walk["clients"]["coordinator"]
    people = {status: walk["participant"](status) for status in STATUSES}
    page = coordinator.get("/delegation/participants").get_data(as_text=True)
    for p in people.values():
        assert not any(_offered_in_list(page, p.id).values())
    for status, p in people.items():
        for action in ("save", "submit", "withdraw", "delete"):
            if status not in ACTIONS[action].sources:
                continue
            response = request_action(coordinator, action, p)
            if response.status_code == 303:  # the list, without JavaScript, says why
                response = coordinator.get(response.headers["Location"])
            else:
                assert response.status_code == 422, (status, action)
            assert "Registration is closed" in response.get_data(as_text=True), (status, action)
            assert fresh(app, p.id).version == p.version


def test_an_accredited_participant_whose_badge_changes_goes_back_to_review(app, walk):
    p = walk["participant"]("accredited")
    response = walk["clients"]["coordinator"].post(
        "/delegation/participants/%d" % p.id,
        data={
            "csrf_token": csrf_token(
                walk["clients"]["coordinator"].get("/delegation").get_data(as_text=True)
            ),
            **_form(p),
            "function": "Minister",
        },
    )
    assert response.status_code == 303
    assert fresh(app, p.id).status == SUBMITTED
    # A change that the badge does not show leaves the accreditation alone.
    q = walk["participant"]("accredited")
    walk["clients"]["coordinator"].post(
        "/delegation/participants/%d" % q.id,
        data={
            "csrf_token": csrf_token(
                walk["clients"]["coordinator"].get("/delegation").get_data(as_text=True)
            ),
            **_form(q),
            "email": "other@example.org",
        },
    )
    assert fresh(app, q.id).status == "accredited"


def test_the_readme_table_is_generated_from_the_code():
    with open("README.md", encoding="utf-8") as readme:
        text = readme.read()
    assert lifecycle.table_markdown() in text
    assert lifecycle.matrix_markdown() in text


def test_the_table_is_whole():
    """Every action leads somewhere from somewhere; a withdrawn participant stays withdrawn."""
    for action in ACTIONS.values():
        assert action.sources and action.who
    assert not any(WITHDRAWN in a.sources for a in ACTIONS.values())
    assert ACTIONS["withdraw"].target == WITHDRAWN


def test_completeness_in_python_and_sql_agree(app, walk):
    """On a generated delegation (every requirement met or not, at random), each requirement's
    Python test and SQL expression pick the same participants, and so does the whole rule."""
    import random

    from peewee import JOIN

    from portal.models import Photo

    rng = random.Random(2005)
    blanks = {
        "courtesy_title": "",
        "family_name": "",
        "given_names": "",
        "gender": "",
        "function": "",
        "nationality": "",
        "date_of_birth": None,
        "passport_number": "",
        "passport_country": "",
        "passport_expiry": None,
        "email": "",
        "arrival_date": None,
        "departure_date": None,
        "visa_required": None,
    }
    ids = []
    for _ in range(60):
        p = walk["participant"](rng.choice([DRAFT, SUBMITTED, "rejected", "accredited"]))
        changes = {k: v for k, v in blanks.items() if rng.random() < 0.15}
        visa = rng.choice([None, False, True, True])
        changes.update(visa_required=visa, visa_place=rng.choice(["", "  ", "Paris"]))
        with app.app_context(), database.connection_context():
            Participant.update(**changes).where(Participant.id == p.id).execute()
            if rng.random() < 0.2:
                Photo.delete().where(Photo.participant == p.id).execute()
        ids.append(p.id)
    with app.test_request_context(), database.connection_context():
        people = list(
            Participant.select(Participant, Photo.id.alias("photo_id"))
            .join(Photo, JOIN.LEFT_OUTER, on=(Photo.participant == Participant.id))
            .where(Participant.id.in_(ids))
            .objects()
        )
        for requirement in lifecycle.REQUIREMENTS:
            in_python = {p.id for p in people if requirement.missing(p)}
            in_sql = {
                row.id
                for row in Participant.select(Participant.id)
                .join(Photo, JOIN.LEFT_OUTER, on=(Photo.participant == Participant.id))
                .where(Participant.id.in_(ids) & requirement.missing_sql())
            }
            assert in_python == in_sql, requirement.field
        counted = set(lifecycle.ACTIONS["submit"].sources | {SUBMITTED})
        in_python = {p.id for p in people if p.status in counted and lifecycle.missing(p)}
        in_sql = {
            p.id
            for p in lifecycle.incomplete(Participant.select(Participant.id)).where(
                Participant.id.in_(ids)
            )
        }
        assert in_python == in_sql
        assert 10 < len(in_python) < 55  # the generated delegation has both kinds


@pytest.mark.parametrize("version", [None, "abc", "99999999999999999999999"])
def test_an_edit_that_does_not_say_its_version_is_refused(app, walk, version):
    """Without the version it started from, an edit would overwrite anything: 422, nothing
    saved, and what is saved now is shown beside the form."""
    p = walk["participant"]("draft")
    client = walk["clients"]["coordinator"]
    data = {**_form(p), "function": "Overwriter"}
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    token = csrf_token(client.get("/delegation").get_data(as_text=True))
    response = client.post("/delegation/participants/%d" % p.id, data={"csrf_token": token, **data})
    expected_status = 422 if version != "99999999999999999999999" else 409
    assert response.status_code == expected_status
    assert "Overwriter" in response.get_data(as_text=True)  # what was typed is still there
    assert fresh(app, p.id).function == "Adviser"
