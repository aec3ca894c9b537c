"""Sessions: a new one at sign-in, a copied cookie refused after sign-out or a password change,
idle and absolute timeouts on the server, HTMX requests sent to sign in with HX-Redirect."""

from urllib.parse import parse_qs, urlsplit

import pytest

from .conftest import csrf_token

PASSWORD = "Correct-horse-42"


@pytest.fixture
def coordinator(make_org, make_account):
    org = make_org("UNESCO", name_en="UNESCO in English")
    return make_account("amina", organization=org)


def next_of(location):
    parts = urlsplit(location)
    assert parts.path == "/login"
    return parse_qs(parts.query)["next"][0]


def cookie(client):
    return client.get_cookie("portal_session").value


def copy_client(app, client):
    other = app.test_client()
    other.set_cookie("portal_session", cookie(client))
    return other


def test_sign_in_starts_a_new_session(app, client, auth, coordinator):
    client.get("/language/ar")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = cookie(client)
    assert auth.login("amina", PASSWORD).status_code == 303
    assert cookie(client) != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "ar"  # the chosen language survives
        assert session["_user_id"].startswith("%d:" % coordinator.id)


def test_cookie_flags(app, auth, coordinator):
    header = auth.login("amina", PASSWORD).headers["Set-Cookie"]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header
    app.config.update(SESSION_COOKIE_SECURE=True)
    secure = type(auth)(app.test_client())
    header = secure.login("amina", PASSWORD).headers["Set-Cookie"]
    assert "Secure" in header


def test_copied_cookie_is_refused_after_sign_out(app, client, auth, coordinator):
    """What it must show, 4 (first part)."""
    auth.login("amina", PASSWORD)
    thief = copy_client(app, client)
    assert thief.get("/delegation").status_code == 200
    other_device = app.test_client()
    AuthOther = type(auth)
    AuthOther(other_device).login("amina", PASSWORD)
    assert auth.logout().status_code == 303
    for visitor in (thief, client, other_device):
        response = visitor.get("/delegation")
        assert response.status_code == 303
        assert response.headers["Location"].startswith("/login")


def test_password_change_ends_other_sessions_and_keeps_this_one(app, client, auth, coordinator):
    auth.login("amina", PASSWORD)
    thief = copy_client(app, client)
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page),
            "current_password": PASSWORD,
            "new_password": "Kram-Palexpo-2005",
            "confirm": "Kram-Palexpo-2005",
        },
    )
    assert response.status_code == 303
    assert client.get("/delegation").status_code == 200
    assert thief.get("/delegation").status_code == 303


@pytest.mark.parametrize("setting", ["idle", "lifetime"])
def test_timeouts_are_enforced_on_the_server(app, client, auth, coordinator, clock, setting):
    auth.login("amina", PASSWORD)

    def at(minutes):
        """Request a page ``minutes`` after signing in."""
        clock.reset()
        clock.shift(minutes * 60)
        return client.get("/delegation").status_code

    if setting == "idle":
        app.config.update(SESSION_IDLE_MINUTES=60, SESSION_LIFETIME_MINUTES=600)
        assert at(59) == 200
        assert at(118) == 200  # each request restarts the idle clock
        assert at(118 + 61) == 303
    else:
        app.config.update(SESSION_IDLE_MINUTES=60, SESSION_LIFETIME_MINUTES=120)
        assert at(50) == 200
        assert at(100) == 200
        assert at(121) == 303  # active all along, but the lifetime is over
    response = client.get("/delegation")
    assert response.status_code == 303
    assert next_of(response.headers["Location"]) == "/delegation"
    # The clock back to now does not revive it: the server cleared the session.
    clock.reset()
    assert client.get("/delegation").status_code == 303


def test_htmx_request_with_expired_session_gets_hx_redirect(app, client, auth, coordinator, clock):
    auth.login("amina", PASSWORD)
    clock.shift(app.config["SESSION_IDLE_MINUTES"] * 60 + 61)
    response = client.get(
        "/delegation",
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/delegation?tab=2"},
    )
    assert response.status_code == 204
    assert next_of(response.headers["HX-Redirect"]) == "/delegation?tab=2"
    clock.reset()
    # After signing in again the coordinator lands back there, without JavaScript too.
    login = client.get(response.headers["HX-Redirect"]).get_data(as_text=True)
    assert 'name="next" value="/delegation?tab=2"' in login
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(login),
            "username": "AMINA",
            "password": PASSWORD,
            "next": "/delegation?tab=2",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/delegation?tab=2"


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_only_local_next_is_followed(client, auth, coordinator, target):
    response = auth.login("amina", PASSWORD, next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_htmx_sign_in_answers_with_hx_redirect(app, client, coordinator):
    page = client.get("/login?next=/delegation").get_data(as_text=True)
    response = client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page),
            "username": "amina",
            "password": PASSWORD,
            "next": "/delegation",
        },
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 204
    assert response.headers["HX-Redirect"] == "/delegation"
    other = app.test_client()
    page = other.get("/login").get_data(as_text=True)
    failed = other.post(
        "/login",
        data={"csrf_token": csrf_token(page), "username": "amina", "password": "nope"},
        headers={"HX-Request": "true"},
    )
    assert failed.status_code == 422
    body = failed.get_data(as_text=True)
    assert "<html" not in body and 'id="login-error"' in body
