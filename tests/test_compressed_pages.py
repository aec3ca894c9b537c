"""Pages rendered again are the same bytes, so their compressed form is reused
(portal/performance/responses.py): a session keeps its signed CSRF token for ten minutes in a worker, and
compressed bodies are kept per hash of the body and encoding."""

import gzip
import time

import brotli
import time_machine

from portal.performance import responses
from tests.test_delegation_helpers import PASSWORD
from tests.test_fragment_cache import LIST, TOKEN_RE, sign_in


def fetch(client, path=LIST, encoding="br"):
    response = client.get(path, headers={"Accept-Language": "en", "Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    raw = response.get_data()
    return raw, (brotli.decompress(raw) if encoding == "br" else gzip.decompress(raw)).decode()


def token_of(page):
    tokens = set(TOKEN_RE.findall(page))
    assert len(tokens) == 1
    return tokens.pop()


def test_a_session_keeps_its_signed_token_for_ten_minutes(app, world, make_participant):
    p = make_participant(world["org"], family_name="ALPHA")
    kept = make_participant(world["org"], family_name="KEPT")
    first, second = sign_in(app, "coord"), sign_in(app, "deputy")
    # The signed token carries the time it was signed at, read by itsdangerous from
    # time.time(): time-machine moves that (and the portal's clock with it) instead of waiting.
    # Cookies signed while travelling would be from the future afterwards, so the test ends
    # inside the journey.
    with time_machine.travel(time.time(), tick=False) as traveller:
        _, page = fetch(first)
        token = token_of(page)
        traveller.shift(responses.TOKEN_REUSE_SECONDS - 1)  # a token signed now would differ
        assert token_of(fetch(first)[1]) == token
        assert token_of(fetch(second)[1]) != token  # each session its own
        traveller.shift(2)
        later = token_of(fetch(first)[1])
        assert later != token
        # Both tokens are the session's: the old page's form still works (nothing typed is lost).
        response = first.post(LIST + "/%d/delete" % p.id, data={"csrf_token": token})
        assert response.status_code == 303
        # Another session's token is refused (and said so).
        other = token_of(fetch(second)[1])
        response = first.post(LIST + "/%d/delete" % kept.id, data={"csrf_token": other})
        assert response.status_code == 303
        page = fetch(first)[1]
        assert "could not be accepted" in page and 'id="p-%d"' % kept.id in page
        assert 'id="p-%d"' % p.id not in page


def test_a_new_session_gets_a_new_token(app, world):
    client = sign_in(app, "coord")
    token = token_of(fetch(client)[1])
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    fresh = token_of(page)
    assert fresh != token
    response = client.post(
        "/login", data={"csrf_token": fresh, "username": "coord", "password": PASSWORD}
    )
    assert response.status_code == 303
    with client.session_transaction() as new_session:
        assert new_session.get("csrf_token")  # the new session's secret, set at sign-in
    page = client.get(LIST, headers={"Accept-Language": "en"})
    assert "Set-Cookie" not in page.headers  # so the first page need not send the cookie
    assert token_of(page.get_data(as_text=True)) not in (token, fresh)


def test_a_timed_out_session_signs_in_again_with_the_login_pages_token(app, world, clock):
    client = sign_in(app, "coord")
    token = token_of(fetch(client)[1])
    clock.shift(int(app.config["SESSION_IDLE_MINUTES"]) * 60 + 60)
    page = client.get("/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    fresh = token_of(page)
    assert fresh != token  # the timed-out session's token is not handed on
    response = client.post(
        "/login", data={"csrf_token": fresh, "username": "coord", "password": PASSWORD}
    )
    assert response.status_code == 303


def test_compressed_pages_reused_for_the_same_body_only(app, world, make_participant):
    p = make_participant(world["org"], family_name="BRAVO")
    client = sign_in(app, "coord")
    from portal.extensions import compress

    store = compress.cache
    first_raw, first = fetch(client)
    hits = store.hits
    again_raw, again = fetch(client)
    assert store.hits > hits and again_raw == first_raw and again == first
    # The same page in gzip is its own entry.
    gz_raw, gz_page = fetch(client, encoding="gzip")
    assert gz_raw[:2] == b"\x1f\x8b" and gz_page == first
    # A change gives a new body, compressed anew: never the old bytes.
    assert "BRAVO" in first
    response = client.post(LIST + "/%d/delete" % p.id, data={"csrf_token": token_of(first)})
    assert response.status_code == 303
    client.get(LIST, headers={"Accept-Language": "en"})  # the flash, shown once
    changed_raw, changed = fetch(client)
    assert changed_raw != first_raw and "BRAVO" not in changed


def test_no_compressed_cache_when_turned_off(app_config, world):
    from portal import create_app
    from portal.extensions import compress

    app = create_app({**app_config, "COMPRESSED_CACHE_MB": 0})
    client = sign_in(app, "coord")
    assert compress.cache is None
    raw, page = fetch(client)
    assert "coord" in page.lower() and fetch(client)[0] == raw
