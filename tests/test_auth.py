"""Sign-in: usernames, the one generic failure and its cost, accounts without a password,
lock-outs counted in the database, the audit; password change; one-time password links."""

import datetime as dt
import gzip
import hashlib
import re

import brotli
import pytest
from argon2 import PasswordHasher

from portal.db import database
from portal.models import Account, AuditLog, PasswordLink, utcnow
from portal.services import passwords

from .conftest import csrf_token, deliver_mail

PASSWORD = "Correct-horse-42"


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def org_a(make_org):
    return make_org("ORGA", name_en="Organization A")


def english_client(app):
    """A client whose browser asks for English, the language these assertions are written in."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def error_of(response):
    match = re.search(r'id="login-error">([^<]*)<', response.get_data(as_text=True))
    return match.group(1) if match else None


def fresh_login(app, username, password, **extra):
    client = english_client(app)
    page = client.get("/login").get_data(as_text=True)
    data = {"csrf_token": csrf_token(page), "username": username, "password": password, **extra}
    return client.post("/login", data=data)


def account(app, username):
    with app.app_context(), database.connection_context():
        return Account.get(Account.username_key == username)


# -- Sign-in --------------------------------------------------------------------------------


def test_username_matches_case_insensitively_with_blanks_password_exactly(
    app, client, auth, make_account, org_a
):
    make_account("Wipo-Focal", organization=org_a)
    assert fresh_login(app, "  WIPO-focal \t", PASSWORD).status_code == 303
    assert fresh_login(app, "wipo-focal", PASSWORD.lower()).status_code == 422
    assert fresh_login(app, "wipo-focal", " " + PASSWORD).status_code == 422
    response = auth.login("wipo-focal", PASSWORD)
    assert response.headers["Location"] == "/"
    assert "Organization A" in client.get("/delegation").get_data(as_text=True)


def test_one_generic_message_for_every_failure(app, demo):
    """Unknown username, wrong password, and an account with no usable password (undp.wsis):
    the same words, which tell a coordinator without a password where to get one."""
    answers = {
        "unknown": fresh_login(app, "nobody.here", "Tunis2005!"),
        "wrong password": fresh_login(app, "unesco.dfp", "Tunis2006!"),
        "no password": fresh_login(app, "undp.wsis", "anything at all"),
        "no password, empty-looking": fresh_login(app, "UNDP.WSIS ", " "),
    }
    messages = {name: error_of(r) for name, r in answers.items()}
    assert all(r.status_code == 422 for r in answers.values())
    assert len(set(messages.values())) == 1, messages
    message = messages["unknown"]
    assert "not correct" in message and "secretariat" in message
    # The pages are the same but for the CSRF token and the username typed back.
    pages = {re.sub(r'value="[^"]*"', "", r.get_data(as_text=True)) for r in answers.values()}
    assert len(pages) == 1


def test_every_failure_costs_one_argon2_verification(app, demo, monkeypatch):
    """Whatever the account (or none), a failure does the same work, so its time tells nothing
    (``make bench-signin`` prints the times; a test counts the work instead)."""
    app.config["LOCKOUT_THRESHOLD"] = 10**6
    with app.app_context(), database.connection_context():
        Account.update(locked_until=utcnow() + dt.timedelta(hours=1)).where(
            Account.username_key == "au.dfp"
        ).execute()
    cases = {
        "unknown": ("nobody.here", "x-password"),
        "argon2 account": ("secretariat", "x-password"),
        "md5 account": ("unesco.dfp", "x-password"),
        "md5-crypt account": ("wipo-focal", "x-password"),
        "ldap-ssha account": ("las.coord", "x-password"),
        "no password": ("undp.wsis", "x-password"),
        "locked account, right password": ("au.dfp", "Addis+2005"),
    }
    verified = []
    real_verify = PasswordHasher.verify

    def counting_verify(self, stored, password):
        verified.append(stored)
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting_verify)
    counts = {}
    for name, (username, password) in cases.items():
        client = english_client(app)
        token = csrf_token(client.get("/login").get_data(as_text=True))
        verified.clear()
        data = {"csrf_token": token, "username": username, "password": password}
        assert client.post("/login", data=data).status_code == 422, name
        counts[name] = len(verified)
        assert all(stored.startswith("$argon2id$") for stored in verified), name
    assert counts == dict.fromkeys(cases, 1)


def test_legacy_hash_is_upgraded_to_argon2id_at_sign_in(app, demo):
    before = account(app, "las.coord")
    assert before.password_scheme == "ldap-ssha"
    assert fresh_login(app, "las.coord", "Qahira2005").status_code == 303
    after = account(app, "las.coord")
    assert after.password_scheme == "argon2id"
    assert after.password_hash.startswith("$argon2id$")
    assert after.prepcom_hash == before.password_hash  # to notice a change in PrepCom
    assert after.last_login_at is not None
    assert fresh_login(app, "las.coord", "Qahira2005").status_code == 303
    assert fresh_login(app, "las.coord", "Qahira2006").status_code == 422


def test_every_legacy_scheme_verifies_exactly():
    import base64

    for salt in (b"", b"\x00", b"1234", b"x" * 40):
        digest = hashlib.sha1(b"p\xc3\xa4ss" + salt).digest()  # noqa: S324
        stored = "{SSHA}" + base64.b64encode(digest + salt).decode()
        assert passwords.scheme_of(stored) == ("ldap-ssha" if salt else None)
        if salt:
            assert passwords._verify_legacy("ldap-ssha", stored, "päss")
            assert not passwords._verify_legacy("ldap-ssha", stored, "pass")
    md5 = hashlib.md5("päss".encode()).hexdigest().upper()  # noqa: S324
    assert passwords.scheme_of(md5) == "md5"
    assert passwords._verify_legacy("md5", md5, "päss")
    for bad in (
        "$1$abc",
        "{SHA}not base64!",
        "{SHA}" + base64.b64encode(b"short").decode(),
        "$6$rounds=5000$abc$x",
        "$2b$12$" + "a" * 53,
        "abc",
    ):
        assert passwords.scheme_of(bad) is None, bad


# -- Lock-outs ------------------------------------------------------------------------------


def test_lockout_after_repeated_failures_says_when_and_spares_other_accounts(
    app, make_account, org_a, clock
):
    app.config.update(LOCKOUT_THRESHOLD=3, LOCKOUT_MINUTES=15)
    make_account("victim", organization=org_a)
    make_account("neighbour", organization=org_a)
    for _ in range(3):
        assert fresh_login(app, "victim", "wrong-password").status_code == 422
    # Locked: even the right password is refused, and the message says when to try again.
    response = fresh_login(app, "victim", PASSWORD)
    assert response.status_code == 422
    assert "Try again in 15 minutes" in error_of(response)
    assert 14 * 60 < int(response.headers["Retry-After"]) <= 15 * 60
    # The same address (a whole conference behind one router) signs other accounts in.
    assert fresh_login(app, "neighbour", PASSWORD).status_code == 303
    with app.app_context(), database.connection_context():
        locked = Account.get(Account.username_key == "victim")
        assert locked.failed_logins == 3
    # A minute before the end of the wait, still locked; after it, the right password works.
    clock.shift(dt.timedelta(minutes=14))
    assert "Try again in 1 minute" in error_of(fresh_login(app, "victim", PASSWORD))
    clock.shift(dt.timedelta(minutes=1, seconds=1))
    assert fresh_login(app, "victim", PASSWORD).status_code == 303
    assert account(app, "victim").failed_logins == 0
    # A second series of failures earns a longer wait.
    for _ in range(3):
        fresh_login(app, "victim", "wrong-password")
    clock.shift(dt.timedelta(minutes=15, seconds=1))
    for _ in range(3):
        fresh_login(app, "victim", "wrong-password")
    assert "Try again in 30 minutes" in error_of(fresh_login(app, "victim", PASSWORD))
    with app.app_context(), database.connection_context():
        actions = [a.action for a in AuditLog.select().order_by(AuditLog.id)]
    assert actions.count("signin.locked") == 3
    assert "signin.refused" in actions


def test_unknown_usernames_are_locked_out_the_same_way(app, make_account, org_a):
    """Otherwise "try again in N minutes" would tell which usernames exist."""
    app.config.update(LOCKOUT_THRESHOLD=3, LOCKOUT_MINUTES=15)
    make_account("real.one", organization=org_a)
    answers = {}
    for username in ("real.one", "made.up"):
        for _ in range(3):
            fresh_login(app, username, "wrong-password")
        answers[username] = fresh_login(app, username, "wrong-password")
    assert error_of(answers["real.one"]) == error_of(answers["made.up"])
    assert "Try again in 15 minutes" in error_of(answers["made.up"])
    # Another unknown username is not affected.
    assert "Try again" not in error_of(fresh_login(app, "other.made.up", "x"))


# -- Audit ----------------------------------------------------------------------------------


def test_audit_records_sign_ins_failures_lockouts_and_never_secrets(
    app, demo, smtp_server, caplog, capsys
):
    app.config.update(LOCKOUT_THRESHOLD=2)
    secret_words = ["Tunis2005!", "Beyrouth_2005", "wrong-Tunis", "Brand-new-pass-2005"]
    fresh_login(app, "unesco.dfp", "Tunis2005!")
    fresh_login(app, "escwa.dfp", "Beyrouth_2005")
    fresh_login(app, "unesco.deputy", "wrong-Tunis")
    fresh_login(app, "unesco.deputy", "wrong-Tunis")
    fresh_login(app, "Tunis2005!", "oops, password typed as username")
    # A password change and a link.
    client = english_client(app)
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={"csrf_token": csrf_token(page), "username": "au.dfp", "password": "Addis+2005"},
    )
    page = client.get("/account/password").get_data(as_text=True)
    response = client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page),
            "current_password": "Addis+2005",
            "new_password": "Brand-new-pass-2005",
            "confirm": "Brand-new-pass-2005",
        },
    )
    assert response.status_code == 303
    url = issue_link(app, "undp.wsis", send_email=True)
    assert deliver_mail(app).sent == 1
    token = url.split("token=")[1]
    secret_words.append(token)
    with app.app_context(), database.connection_context():
        rows = list(AuditLog.select().order_by(AuditLog.id))
        hashes = [a.password_hash for a in Account.select()] + [
            a.prepcom_hash for a in Account.select() if a.prepcom_hash
        ]
        hashes += [link.token_hash for link in PasswordLink.select()]
    actions = [r.action for r in rows]
    for action in (
        "signin",
        "signin.failed",
        "signin.locked",
        "signin.unknown",
        "password.change",
        "password_link.create",
        "accounts.import",
    ):
        assert action in actions, action
    signin = next(r for r in rows if r.action == "signin")
    assert signin.account_id and signin.address == "127.0.0.1" and signin.at
    dump = "\n".join("%s %s %s %s" % (r.action, r.actor, r.details, r.object_type) for r in rows)
    logged = caplog.text + "".join(capsys.readouterr())
    for word in secret_words + [h for h in hashes if h]:
        assert word not in dump, word
        assert word not in logged, word
    assert "mail sent to" in logged  # the log was really captured


# -- Password change ------------------------------------------------------------------------


def change(client, current, new, confirm=None, htmx=False):
    page = client.get("/account/password").get_data(as_text=True)
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf_token(page),
            "current_password": current,
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
        headers={"HX-Request": "true"} if htmx else {},
    )


@pytest.mark.parametrize(
    "current,new,confirm,field",
    [
        ("wrong-current", "Kram-Palexpo-2005", None, "current_password"),
        (PASSWORD, "short-7", None, "new_password"),
        (PASSWORD, "x" * 129, None, "new_password"),
        (PASSWORD, "password123", None, "new_password"),
        (PASSWORD, "SunShine1", None, "new_password"),  # common, whatever the case
        (PASSWORD, "Amina.Benali", None, "new_password"),  # the username
        (PASSWORD, "Kram-Palexpo-2005", "Kram-Palexpo-2006", "confirm"),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_password_change_refuses_bad_passwords(
    app, client, auth, make_account, org_a, current, new, confirm, field, htmx
):
    make_account("amina.benali", organization=org_a)
    auth.login("amina.benali", PASSWORD)
    response = change(client, current, new, confirm, htmx=htmx)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="%s-error"' % field in html
    assert ("<html" in html) is not htmx
    assert "<script" not in html
    assert fresh_login(app, "amina.benali", PASSWORD).status_code == 303


@pytest.mark.parametrize("htmx", [False, True])
def test_password_change_works_and_the_old_password_stops(
    app, client, auth, make_account, org_a, htmx
):
    make_account("amina", organization=org_a)
    auth.login("amina", PASSWORD)
    page = client.get("/account/password")
    assert page.status_code == 200 and "<script" not in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    response = change(client, PASSWORD, "Kram-Palexpo-2005", htmx=htmx)
    if htmx:
        assert response.status_code == 204 and response.headers["HX-Redirect"] == "/"
    else:
        assert response.status_code == 303 and response.headers["Location"] == "/"
    home = client.get("/delegation").get_data(as_text=True)
    assert "Your password has been changed" in home
    assert fresh_login(app, "amina", PASSWORD).status_code == 422
    assert fresh_login(app, "amina", "Kram-Palexpo-2005").status_code == 303
    with app.app_context(), database.connection_context():
        assert AuditLog.get(AuditLog.action == "password.change").account_id


def test_password_page_in_three_languages(app, client, auth, make_account, org_a):
    make_account("amina", organization=org_a)
    auth.login("amina", PASSWORD)
    for code, direction in (("fr", "ltr"), ("en", "ltr"), ("ar", "rtl")):
        client.get("/language/" + code)
        html = client.get("/account/password").get_data(as_text=True)
        assert '<html lang="%s" dir="%s">' % (code, direction) in html
        assert 'name="current_password"' in html


# -- One-time password links ----------------------------------------------------------------


def issue_link(app, username, send_email=False):
    client = english_client(app)
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "csrf_token": csrf_token(page),
            "username": "secretariat",
            "password": "Secretariat-2005",
        },
    )
    token = csrf_token(client.get("/account/password").get_data(as_text=True))
    target = account(app, username)
    data = {"csrf_token": token}
    if send_email:
        data["send_email"] = "y"
    response = client.post("/secretariat/accounts/%d/password-link" % target.id, data=data)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    return re.search(r'value="(http[^"]+/password/[^"]+)" id="password-link-url"', html).group(1)


def set_with_link(client, path, new, confirm=None, htmx=False):
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'action="/password/set"' in html  # the token is not in the form's address
    return client.post(
        "/password/set",
        data={
            "token": re.search(r'name="token" value="([^"]+)"', html).group(1),
            "csrf_token": csrf_token(html),
            "new_password": new,
            "confirm": new if confirm is None else confirm,
        },
        headers={"HX-Request": "true"} if htmx else {},
    )


def test_password_link_emailed_lets_an_account_without_password_sign_in(
    app, demo, client, smtp_server
):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert fresh_login(app, "undp.wsis", "Programme-2005").status_code == 422
    url = issue_link(app, "undp.wsis", send_email=True)
    assert url.startswith(app.config["BASE_URL"] + "/password/set?token=")
    assert smtp_server == []  # queued by the request, sent by the sender
    deliver_mail(app)
    (message,) = smtp_server
    assert message["To"] == "Sarah Kim <s.kim@undp.example>"
    assert "password" in message["Subject"].lower()
    body = message.get_content()
    assert url in body and "undp.wsis" in body and "48 hours" in body
    token = url.split("token=")[1]
    with app.app_context(), database.connection_context():
        link = PasswordLink.get()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
        for row in database.execute_sql("SELECT * FROM password_link").fetchall():
            assert token not in " ".join(str(v) for v in row)
    path = "/password/set?token=" + token
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert "<script" not in html and "undp.wsis" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert set_with_link(client, path, "password1").status_code == 422  # common
    response = set_with_link(client, path, "Programme-2005")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "Your password is set" in client.get("/login").get_data(as_text=True)
    # Single use.
    again = client.get(path)
    assert again.status_code == 404 and "not valid any more" in again.get_data(as_text=True)
    assert fresh_login(app, "UNDP.wsis", "Programme-2005").status_code == 303
    assert account(app, "undp.wsis").password_scheme == "argon2id"


def test_password_link_expires_and_a_new_one_replaces_the_old(app, demo, client, clock):
    first = issue_link(app, "wipo-focal").replace(app.config["BASE_URL"], "")
    second = issue_link(app, "wipo-focal").replace(app.config["BASE_URL"], "")
    assert client.get(first).status_code == 404  # replaced
    assert client.get(second).status_code == 200
    hours = int(app.config["PASSWORD_LINK_HOURS"])
    clock.shift(dt.timedelta(hours=hours, seconds=-60))
    assert client.get(second).status_code == 200
    clock.shift(dt.timedelta(seconds=61))
    assert client.get(second).status_code == 404
    assert client.get("/password/set?token=made-up-token").status_code == 404
    assert client.get("/password/set").status_code == 404
    # An unused link does not change the password.
    assert fresh_login(app, "wipo-focal", "Geneva#WSIS").status_code == 303


def test_password_link_htmx_path_and_it_ends_sessions(app, demo, client, auth):
    auth.login("oif_coord", "Francophonie-05")
    signed_in = english_client(app)
    signed_in.set_cookie("portal_session", client.get_cookie("portal_session").value)
    path = issue_link(app, "oif_coord").replace(app.config["BASE_URL"], "")
    visitor = english_client(app)
    bad = set_with_link(visitor, path, "Francophonie-06", "Francophonie-07", htmx=True)
    assert bad.status_code == 422 and "<html" not in bad.get_data(as_text=True)
    good = set_with_link(visitor, path, "Francophonie-2006", htmx=True)
    assert good.status_code == 204 and good.headers["HX-Redirect"] == "/login"
    assert signed_in.get("/delegation").status_code == 303
    assert fresh_login(app, "oif_coord", "Francophonie-2006").status_code == 303


def test_password_link_mail_in_the_account_language(app, demo, smtp_server):
    issue_link(app, "las.coord", send_email=True)
    issue_link(app, "unesco.dfp", send_email=True)
    deliver_mail(app)
    assert [m["To"].addresses[0].addr_spec for m in smtp_server] == [
        "k.elamrani@las.example",
        "h.lefevre@unesco.example",
    ]
    from portal.services import mail

    with app.test_request_context():
        for message, language in zip(smtp_server, ("ar", "fr"), strict=True):
            subject, _body = mail.render(
                "password_link", language, account=Account(username="x"), url="u", hours=48
            )
            assert message["Subject"] == subject


def test_only_the_secretariat_makes_links(app, demo, client, auth):
    auth.login("unesco.dfp", "Tunis2005!")
    token = csrf_token(client.get("/account/password").get_data(as_text=True))
    target = account(app, "undp.wsis")
    response = client.post(
        "/secretariat/accounts/%d/password-link" % target.id, data={"csrf_token": token}
    )
    assert response.status_code == 404
    with app.app_context(), database.connection_context():
        assert PasswordLink.select().count() == 0


# -- The pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["fr", "en", "ar"])
def test_sign_in_page_is_tiny_and_needs_no_script(app, language):
    client = english_client(app)
    client.get("/language/" + language)
    page = client.get("/login", headers={"Accept-Encoding": "br, gzip"})
    assert page.status_code == 200
    html = page.get_data()
    if page.headers.get("Content-Encoding") == "br":
        html = brotli.decompress(html)
    elif page.headers.get("Content-Encoding") == "gzip":
        html = gzip.decompress(html)
    text = html.decode()
    assert "<script" not in text
    assert '<html lang="%s"' % language in text
    assert 'method="post"' in text and 'name="username"' in text and 'name="password"' in text
    css_url = re.search(r'href="(/static/style\.[^"]+\.css)"', text).group(1)
    css = client.get(css_url, headers={"Accept-Encoding": "br, gzip"})
    cold = len(brotli.compress(html)) + len(css.get_data())
    assert cold < 10 * 1024, cold


def test_password_link_from_the_command_line(app, demo, runner, client, smtp_server):
    result = runner.invoke(args=["accounts", "password-link", " UNDP.wsis", "--email"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith(app.config["BASE_URL"] + "/password/set?token=")
    deliver_mail(app)
    assert url in smtp_server[0].get_content()
    path = url.replace(app.config["BASE_URL"], "")
    assert set_with_link(client, path, "Programme-2005").status_code == 303
    assert fresh_login(app, "undp.wsis", "Programme-2005").status_code == 303
    assert runner.invoke(args=["accounts", "password-link", "nobody"]).exit_code != 0
    with app.app_context(), database.connection_context():
        created = AuditLog.get(AuditLog.action == "password_link.create")
        assert created.object_id == account(app, "undp.wsis").id and created.account_id is None


def test_wrong_current_passwords_lock_the_password_change_too(
    app, client, auth, make_account, org_a
):
    app.config.update(LOCKOUT_THRESHOLD=3)
    make_account("amina", organization=org_a)
    auth.login("amina", PASSWORD)
    for _ in range(3):
        assert change(client, "guess-%d" % _, "Kram-Palexpo-2005").status_code == 422
    response = change(client, PASSWORD, "Kram-Palexpo-2005")
    assert response.status_code == 422
    assert "Try again in" in response.get_data(as_text=True)
    assert fresh_login(app, "amina", "Kram-Palexpo-2005").status_code == 422


def test_password_pages_are_tiny_and_need_no_script(app, demo, client, auth):
    path = issue_link(app, "undp.wsis").replace(app.config["BASE_URL"], "")
    visitor = english_client(app)
    auth.login("unesco.dfp", "Tunis2005!")
    for who, url in ((visitor, path), (client, "/account/password")):
        page = who.get(url, headers={"Accept-Encoding": "br"})
        assert page.status_code == 200, url
        body = page.get_data()
        text = (brotli.decompress(body) if page.headers.get("Content-Encoding") else body).decode()
        assert "<script" not in text and 'method="post"' in text, url
        css = re.search(r'href="(/static/style\.[^"]+\.css)"', text).group(1)
        cold = len(brotli.compress(text.encode())) + len(
            who.get(css, headers={"Accept-Encoding": "br"}).get_data()
        )
        assert cold < 10 * 1024, (url, cold)
