"""The fragment cache (portal/performance/cache.py) and the delegation versions it is keyed on: a cached part
is reused only while nothing it shows has changed, for one organization and one language, and
every page carries its own session's CSRF token."""

import re
import sys

import pytest
from jinja2 import UndefinedError

from portal.db import database
from portal.models import ROLE_SECRETARIAT, SUBMITTED, Organization, Participant, Photo
from portal.performance.cache import CSRF_SLOT, LRUCache
from portal.services import participants as participant_service
from tests.test_delegation_helpers import PASSWORD

LIST = "/delegation/participants"
TOKEN_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def sign_in(app, username):
    client = app.test_client()
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    token = TOKEN_RE.search(page).group(1)
    response = client.post(
        "/login", data={"csrf_token": token, "username": username, "password": PASSWORD}
    )
    assert response.status_code == 303
    return client


def get(client, path=LIST, **headers):
    response = client.get(path, headers={"Accept-Language": "en", **headers})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def version(app, org):
    with app.app_context(), database.connection_context():
        return Organization.get_by_id(org.id).data_version


def cache(app):
    return app.extensions["fragment_cache"]


# -- The versions -------------------------------------------------------------------------------


def test_every_change_to_a_delegation_raises_its_version(app, world, make_participant):
    org, other = world["org"], world["other"]
    seen = [version(app, org)]

    def changed():
        now = version(app, org)
        assert now > seen[-1]
        seen.append(now)

    p = make_participant(org)
    changed()
    with app.app_context(), database.connection_context():
        Participant.update(function="Adviser").where(Participant.id == p.id).execute()
    changed()
    with app.app_context(), database.connection_context():
        Photo.create(participant=p.id, data=b"x", thumbnail=b"y", width=3, height=4, digest="d1")
    changed()
    with app.app_context(), database.connection_context():
        Photo.update(digest="d2").where(Photo.participant == p.id).execute()
    changed()
    with app.app_context(), database.connection_context():
        Photo.delete().where(Photo.participant == p.id).execute()
    changed()
    # Moved to another organization: both change.
    before_other = version(app, other)
    with app.app_context(), database.connection_context():
        Participant.update(organization=other.id).where(Participant.id == p.id).execute()
    changed()
    assert version(app, other) > before_other
    with app.app_context(), database.connection_context():
        Participant.delete().where(Participant.id == p.id).execute()
    assert version(app, other) > before_other + 1


def test_saving_an_organization_never_writes_an_old_version_back(app, world, make_participant):
    org = world["org"]
    with app.app_context(), database.connection_context():
        stale = Organization.get_by_id(org.id)
    make_participant(org)
    raised = version(app, org)
    assert raised > stale.data_version
    with app.app_context(), database.connection_context():
        stale.quota = 12
        stale.save()
        saved = Organization.get_by_id(org.id)
    assert saved.quota == 12
    assert saved.data_version == raised


# -- The pages ----------------------------------------------------------------------------------


def test_list_reused_until_the_delegation_changes_whoever_changes_it(
    app, world, make_participant, make_account
):
    p = make_participant(world["org"], family_name="ALPHA", status=SUBMITTED)
    client = sign_in(app, "coord")
    assert "ALPHA" in get(client)
    hits = cache(app).hits
    assert "ALPHA" in get(client)
    assert cache(app).hits > hits  # the second page came from the cache
    # A change made outside the coordinator's pages (the secretariat's decision) shows at once.
    reviewer = make_account("reviewer", role=ROLE_SECRETARIAT)
    with app.test_request_context(), database.connection_context():
        participant_service.take("accredit", p.id, reviewer)
    page = get(client)
    assert re.search(r'<tr id="p-%d" class="st-accredited"' % p.id, page)
    # And one made straight in the database.
    with app.app_context(), database.connection_context():
        Participant.update(family_name="OMEGA").where(Participant.id == p.id).execute()
    page = get(client)
    assert "OMEGA" in page and "ALPHA" not in page


def test_after_a_change_only_the_changed_row_is_rendered_again(app, world, make_participant):
    people = [make_participant(world["org"], family_name="ROW%02d" % n) for n in range(12)]
    client = sign_in(app, "coord")
    get(client)
    changed = people[5]
    with app.app_context(), database.connection_context():
        Participant.update(function="Interpreter").where(Participant.id == changed.id).execute()
    hits, misses = cache(app).hits, cache(app).misses
    page = get(client)
    row = re.search(r'<tr id="p-%d".*?</tr>' % changed.id, page, re.S).group(0)
    assert "Interpreter" in row
    # Rendered again: the page and its parts (content, list, counts) and the one row; the
    # other eleven rows came from the cache.
    assert cache(app).hits - hits >= 11
    assert cache(app).misses - misses <= 6
    # A photo added straight in the database shows in its row.
    with app.app_context(), database.connection_context():
        Photo.create(
            participant=people[2].id, data=b"x", thumbnail=b"y", width=3, height=4, digest="feed"
        )
    page = get(client)
    row = re.search(r'<tr id="p-%d".*?</tr>' % people[2].id, page, re.S).group(0)
    assert "/feed/thumb.jpg" in row


def test_dashboard_counts_and_missing_follow_changes(app, world, make_participant):
    p = make_participant(world["org"], family_name="GAMMA")
    client = sign_in(app, "coord")
    page = get(client, "/delegation")
    assert "GAMMA" in page and "Draft: <strong>1</strong>" in page
    assert "GAMMA" in get(client, "/delegation")
    with app.app_context(), database.connection_context():
        Participant.update(status=SUBMITTED).where(Participant.id == p.id).execute()
    page = get(client, "/delegation")
    assert "Draft: <strong>0</strong>" in page and "Submitted: <strong>1</strong>" in page
    # The HTMX fragment of the counts agrees with the page.
    fragment = get(client, "/delegation", **{"HX-Request": "true"})
    assert "Submitted: <strong>1</strong>" in fragment


def test_each_page_carries_its_own_sessions_token(app, world, make_participant):
    p = make_participant(world["org"], family_name="DELTA")
    first, second = sign_in(app, "coord"), sign_in(app, "deputy")
    page_one = get(first)
    page_two = get(second)  # the list part comes from the cache filled by the first
    tokens_one, tokens_two = set(TOKEN_RE.findall(page_one)), set(TOKEN_RE.findall(page_two))
    assert len(tokens_one) == 1 and len(tokens_two) == 1
    assert tokens_one != tokens_two
    assert CSRF_SLOT not in page_two
    # The form in the cached row works for the second session.
    token = tokens_two.pop()
    assert 'hx-headers:inherited=\'{"X-CSRFToken": "%s"}\'' % token in page_two
    response = second.post(LIST + "/%d/delete" % p.id, data={"csrf_token": token})
    assert response.status_code in (200, 303)
    assert 'id="p-%d"' % p.id in page_two and 'id="p-%d"' % p.id not in get(second)


def test_organizations_and_languages_kept_apart(app, world, make_participant):
    make_participant(world["org"], family_name="ITU-ONLY")
    make_participant(world["other"], family_name="WHO-ONLY")
    assert version(app, world["org"]) == version(app, world["other"])  # same numbers, two keys
    itu, who = sign_in(app, "coord"), sign_in(app, "who-coord")
    for _ in range(2):
        mine, theirs = get(itu), get(who)
        assert "ITU-ONLY" in mine and "WHO-ONLY" not in mine
        assert "WHO-ONLY" in theirs and "ITU-ONLY" not in theirs
    english = get(itu)
    itu.get("/language/fr?next=/delegation/participants")
    french = itu.get(LIST).get_data(as_text=True)
    assert "Draft" in english and "Brouillon" in french and "Brouillon" not in english


def test_a_key_with_a_missing_part_is_refused(app):
    template = app.jinja_env.from_string('{% cache "x", nothing_here %}secret{% endcache %}')
    with app.test_request_context(), pytest.raises((RuntimeError, UndefinedError)):
        template.render()


def test_pages_are_right_with_the_cache_off(app_config, world, make_participant):
    from portal import create_app

    app = create_app({**app_config, "FRAGMENT_CACHE_MB": 0})
    make_participant(world["org"], family_name="EPSILON")
    client = sign_in(app, "coord")
    assert "EPSILON" in get(client)
    assert len(cache(app)) == 0


def test_cache_bounded_least_recently_used_first_out():
    one = sys.getsizeof("x" * 20)
    store = LRUCache(5 * one)
    store.set("a", "x" * 20)
    store.set("b", "y" * 20)
    assert store.get("a") == "x" * 20  # a is now the most recent
    store.set("c", "z" * 20)
    store.set("d", "w" * 20)
    store.set("e", "v" * 20)  # five: all kept
    assert len(store) == 5
    store.set("f", "u" * 20)  # a sixth: the least recently used (b) goes
    assert store.get("b") is None
    assert store.get("a") == "x" * 20 and store.get("c") == "z" * 20
    store.set("big", "q" * (2 * one))  # over a quarter of the whole: not kept
    assert store.get("big") is None
    # Arabic text takes twice the memory of Latin text: it counts so.
    assert sys.getsizeof("ع" * 20) > sys.getsizeof("x" * 20) + 19


def test_whole_pages_kept_per_person_address_and_message(app, world, make_participant):
    for n in range(30):
        make_participant(world["org"], family_name="P%02d" % n)
    first, second = sign_in(app, "coord"), sign_in(app, "deputy")
    for _ in range(2):
        mine, theirs = get(first), get(second)
        assert "COORD" in mine and "DEPUTY" not in mine  # each header names its own person
        assert "DEPUTY" in theirs and "COORD" not in theirs
    page_two = get(first, LIST + "?page=2")
    assert "P29" in page_two and "P00" not in page_two
    assert "P00" in get(first) and "P29" not in get(first)
    # A message waiting to be shown (a flash) is never served from, nor kept in, the cache.
    token = TOKEN_RE.search(mine).group(1)
    pid = int(re.search(r'id="p-(\d+)"', mine).group(1))
    first.post(LIST + "/%d/delete" % pid, data={"csrf_token": token})
    after = get(first)
    assert 'class="flash' in after and 'id="p-%d"' % pid not in after
    assert 'class="flash' not in get(first)
