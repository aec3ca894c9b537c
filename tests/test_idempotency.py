"""What must show (3): the same POST sent twice, and twice at once, creates one participant;
two submissions racing for the last quota place: one wins, one gets a clear message. The races
run against a real gunicorn with several worker processes."""

import datetime as dt
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

import pytest

from portal.db import database
from portal.models import SUBMITTED, Organization, Participant, SubmissionKey
from portal.services import idempotency
from tests.conftest import csrf_token
from tests.test_delegation_helpers import NEW, PASSWORD, complete, jpeg, open_form, post_form

KEY_RE = re.compile(r'name="submission_key" type="hidden" value="([^"]*)"')


def count(app, **where):
    with app.app_context(), database.connection_context():
        query = Participant.select()
        for name, value in where.items():
            query = query.where(getattr(Participant, name) == value)
        return query.count()


@pytest.fixture
def coordinator(client, auth, make_event, make_org, make_account):
    make_event("open")
    org = make_org("ITU")
    make_account("coord", organization=org)
    auth.login("coord", PASSWORD)
    return client


# -- In process ---------------------------------------------------------------------------------


@pytest.mark.parametrize("hx", [False, True])
def test_same_post_twice_creates_one(coordinator, hx):
    headers = {"HX-Request": "true"} if hx else {}
    form = open_form(coordinator)
    data = complete(in_list="1")
    first = post_form(coordinator, data, form=form, photo=jpeg(), headers=headers)
    second = post_form(coordinator, data, form=form, photo=jpeg(), headers=headers)
    assert first.status_code == second.status_code == (200 if hx else 303)
    assert count(coordinator.application) == 1
    if hx:
        # The repeat answers with the same row, not a second one.
        pid = re.search(r'id="p-(\d+)"', first.get_data(as_text=True)).group(1)
        assert 'id="p-%s"' % pid in second.get_data(as_text=True)
        assert "afterbegin" not in second.get_data(as_text=True)
    else:
        assert first.headers["Location"] == second.headers["Location"]


def test_key_left_free_when_the_form_was_invalid(coordinator):
    form = open_form(coordinator)
    bad = post_form(coordinator, {"family_name": "Bad 1"}, form=form)
    assert bad.status_code == 422
    good = post_form(coordinator, {"family_name": "Good"}, form=form)
    assert good.status_code == 303
    assert count(coordinator.application) == 1


def test_run_once_returns_the_first_result(app, db, make_org, make_account):
    org = make_org("X")
    account = make_account("x", organization=org)
    made = []

    def change():
        made.append(Participant.create(organization=org, family_name="ONCE"))
        return made[-1]

    row, replayed = idempotency.run_once("k-1", account, "test", change)
    again, replayed_again = idempotency.run_once("k-1", account, "test", change)
    assert (replayed, replayed_again) == (False, True)
    assert row.object_id == again.object_id == made[0].id and len(made) == 1
    assert SubmissionKey.select().count() == 1
    # Another account's key neither replays nor blocks.
    other = make_account("y", organization=org)
    third, replayed_third = idempotency.run_once("k-1", other, "test", change)
    assert not replayed_third and third.object_id == made[1].id


# -- Against gunicorn ---------------------------------------------------------------------------


class Visitor:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect()
        )

    def request(self, path, data=None, headers=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def sign_in(self, username):
        _, page = self.request("/login")
        status, _ = self.request(
            "/login", {"csrf_token": csrf_token(page), "username": username, "password": PASSWORD}
        )
        assert status == 303


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def race(*calls):
    """Run the calls at the same moment, one thread each; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.fixture
def served(app, gunicorn_server, make_event, make_org, make_account):
    make_event("open")
    org = make_org("ITU")
    make_account("coord", organization=org)
    server = gunicorn_server(workers=3, threads=4)
    return server, org


def test_same_post_at_once_in_gunicorn_creates_one(app, served):
    server, org = served
    visitors = [Visitor(server.url) for _ in range(2)]
    for v in visitors:
        v.sign_in("coord")
    rounds = 6
    for n in range(rounds):
        _, page = visitors[0].request(NEW)
        data = {
            "csrf_token": csrf_token(page),
            "submission_key": KEY_RE.search(page).group(1),
            "family_name": "Twice",
            "given_names": "Round " + "ABCDEFGH"[n],
        }
        # The same form, sent twice at once by the same browser (a double tap) and by a retry
        # on another connection of the same session.
        results = race(*[lambda: visitors[0].request(NEW, data)] * 3)
        assert [status for status, _ in results] == [303, 303, 303], [
            re.findall(r"class=\"error\"[^>]*>([^<]*)", body) for _, body in results
        ]
    assert count(app) == rounds
    for n in range(rounds):
        assert count(app, given_names="Round " + "ABCDEFGH"[n]) == 1


def _ready(app, org, n):
    """``n`` complete drafts with photos, made directly."""
    from portal.services.photos import process, store

    ids = []
    with app.test_request_context(), database.connection_context():
        photo = process(jpeg(), 5 * 1024 * 1024)
        for i in range(n):
            p = Participant.create(
                organization=org,
                courtesy_title="mr",
                family_name="RACER%d" % Participant.select().count(),
                given_names="Quick",
                gender="m",
                function="Delegate",
                nationality="FR",
                date_of_birth=dt.date(1970, 1, 1 + i),
                passport_number="R%07d" % (Participant.select().count()),
                passport_country="FR",
                passport_expiry=dt.date(2010, 1, 1),
                email="r@example.org",
                arrival_date=dt.date(2005, 11, 15),
                departure_date=dt.date(2005, 11, 19),
                visa_required=False,
            )
            store(p, photo)
            ids.append(p.id)
    return ids


def test_two_submissions_racing_for_the_last_place(app, served):
    server, org = served
    alice, bob = Visitor(server.url), Visitor(server.url)
    alice.sign_in("coord")
    bob.sign_in("coord")
    rounds = 4
    for n in range(rounds):
        a, b = _ready(app, org, 2)
        with app.app_context(), database.connection_context():
            used = Participant.select().where(Participant.status == SUBMITTED).count()
            Organization.update(quota=used + 1).where(Organization.id == org.id).execute()
        _, page = alice.request("/delegation/participants")
        token_a = csrf_token(page)
        _, page = bob.request("/delegation/participants")
        token_b = csrf_token(page)
        hx = {"HX-Request": "true"}
        results = race(
            lambda: alice.request(
                "/delegation/participants/%d/submit" % a, {"csrf_token": token_a}, hx
            ),
            lambda: bob.request(
                "/delegation/participants/%d/submit" % b, {"csrf_token": token_b}, hx
            ),
        )
        statuses = sorted(status for status, _ in results)
        assert statuses == [200, 422], results
        loser = next(body for status, body in results if status == 422)
        assert "quota of %d participants is reached" % (used + 1) in loser
        assert count(app, status=SUBMITTED) == used + 1
