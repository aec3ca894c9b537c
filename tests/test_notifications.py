"""Coordinators hear of decisions: one e-mail each in their own language, or a daily digest;
both written to the outbox in the transaction of their cause and sent by the sender."""

import pytest
from flask_babel import force_locale, format_date, pgettext

from portal.db import database
from portal.models import (
    ACCREDITED,
    OUTBOX_PENDING,
    REJECTION_REASONS,
    ROLE_SECRETARIAT,
    SUBMITTED,
    AuditLog,
    Event,
    Notification,
    OutboxMessage,
    Participant,
    utcnow,
)

from .conftest import csrf_token, deliver_mail, free_port

PASSWORD = "Registry-2005-ok"


@pytest.fixture
def setup(app, make_event, make_org, make_account, make_participant, auth, client):
    make_event()
    org = make_org("LAS", name_fr="Ligue des États arabes", name_ar="جامعة الدول العربية")
    arabic = make_account("las.ar", organization=org, language="ar", email="ar@las.example")
    french = make_account("las.fr", organization=org, language="fr", email="fr@las.example")
    make_account("las.off", organization=org, language="fr", is_active=False)
    make_account("other", organization=make_org("OIF"), email="x@oif.example")
    make_account("registry", PASSWORD, role=ROLE_SECRETARIAT)
    people = [
        make_participant(org, status=SUBMITTED, submitted_at=utcnow(), given_names=name)
        for name in ("Amal", "Badr", "Chadia")
    ]
    auth.login("registry", PASSWORD)
    return {"client": client, "people": people, "arabic": arabic, "french": french, "org": org}


def _decide(client, participant, **data):
    token = csrf_token(client.get("/secretariat/queue").get_data(as_text=True))
    return client.post(
        "/secretariat/participants/%d/decision" % participant.id,
        data={"csrf_token": token, "version": 1, **data},
    )


def _in(app, language, value):
    with app.test_request_context(), force_locale(language):
        return str(value() if callable(value) else value)


def test_each_coordinator_gets_the_decision_in_their_language(app, setup, smtp_server):
    amal, badr, _ = setup["people"]
    assert _decide(setup["client"], amal, decision="accredit").status_code == 303
    assert (
        _decide(setup["client"], badr, decision="reject", reason="photo_unsuitable").status_code
        == 303
    )
    assert smtp_server == []  # queued, not sent by the request
    assert deliver_mail(app).sent == 4
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp_server) == sorted(
        ["ar@las.example", "fr@las.example"] * 2
    )
    with app.app_context(), database.connection_context():
        decided = Participant.get_by_id(badr.id).decided_at
    by = {(m["To"].split("<")[1][:2], "Badr" in m["Subject"]): m for m in smtp_server}
    arabic, french = by[("ar", True)].get_content(), by[("fr", True)].get_content()
    reason = REJECTION_REASONS["photo_unsuitable"]
    assert _in(app, "ar", reason) in arabic
    assert _in(app, "fr", reason) in french
    assert _in(app, "ar", lambda: format_date(decided, "long")) in arabic
    assert _in(app, "fr", lambda: format_date(decided, "long")) in french
    assert "جامعة الدول العربية" in arabic and "Ligue des États arabes" in french
    assert by[("ar", False)]["Content-Type"].startswith("text/plain")


def test_no_mail_when_the_decision_fails(app, setup, smtp_server):
    amal = setup["people"][0]
    with app.test_request_context(), database.connection_context():
        Participant.update(version=Participant.version + 1).where(
            Participant.id == amal.id
        ).execute()
    response = _decide(setup["client"], amal, decision="accredit")
    assert response.status_code == 303
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(amal.id).status == SUBMITTED
        assert OutboxMessage.select().count() == 0
    assert deliver_mail(app).claimed == 0 and smtp_server == []


def test_a_mail_failure_does_not_undo_the_decision(app, setup):
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens
    amal = setup["people"][0]
    assert _decide(setup["client"], amal, decision="accredit").status_code == 303
    report = deliver_mail(app)
    assert (report.sent, report.retrying) == (0, 2)
    with app.app_context(), database.connection_context():
        assert Participant.get_by_id(amal.id).status == ACCREDITED
        waiting = list(OutboxMessage.select())
    assert [(m.state, m.attempts) for m in waiting] == [(OUTBOX_PENDING, 1)] * 2
    assert all("Connection" in m.last_error for m in waiting)


def test_digest_mode_queues_and_the_command_sends_one_mail_each(app, setup, smtp_server, runner):
    with app.app_context(), database.connection_context():
        Event.update(notification_mode="digest").execute()
    amal, badr, chadia = setup["people"]
    _decide(setup["client"], amal, decision="accredit")
    _decide(setup["client"], badr, decision="reject", text="Pas dans la liste")
    _decide(setup["client"], chadia, decision="accredit")
    assert smtp_server == []
    with app.app_context(), database.connection_context():
        assert Notification.select().where(Notification.sent_at.is_null()).count() == 6

    result = runner.invoke(args=["notifications", "send-digest"])
    assert result.exit_code == 0, result.output
    assert "digests queued: 2" in result.output
    assert smtp_server == []
    assert deliver_mail(app).sent == 2
    assert sorted(m["To"].split("<")[1] for m in smtp_server) == [
        "ar@las.example>",
        "fr@las.example>",
    ]
    arabic = next(m for m in smtp_server if "ar@" in m["To"]).get_content()
    for name in ("Amal DOE", "Badr DOE", "Chadia DOE", "Pas dans la liste"):
        assert name in arabic
    assert _in(app, "ar", lambda: pgettext("status", "Accredited")) in arabic
    assert "جامعة الدول العربية" in arabic
    with app.app_context(), database.connection_context():
        assert Notification.select().where(Notification.sent_at.is_null()).count() == 0
        assert AuditLog.select().where(AuditLog.action == "notification.digest").count() == 2

    smtp_server.clear()
    result = runner.invoke(args=["notifications", "send-digest"])
    assert "digests queued: 0" in result.output
    assert deliver_mail(app).claimed == 0 and smtp_server == []


def test_a_digest_waits_in_the_outbox_while_the_mail_server_is_down(app, setup, runner):
    with app.app_context(), database.connection_context():
        Event.update(notification_mode="digest").execute()
    _decide(setup["client"], setup["people"][0], decision="accredit")
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=free_port())  # nobody listens
    result = runner.invoke(args=["notifications", "send-digest"])
    assert result.exit_code == 0 and "digests queued: 2" in result.output
    assert deliver_mail(app).retrying == 2
    with app.app_context(), database.connection_context():
        assert Notification.select().where(Notification.sent_at.is_null()).count() == 0
        digests = list(OutboxMessage.select().where(OutboxMessage.template == "digest"))
    assert [(m.state, m.attempts) for m in digests] == [(OUTBOX_PENDING, 1)] * 2


def test_a_digest_run_that_fails_queues_nothing_and_marks_nothing(app, setup, runner, monkeypatch):
    with app.app_context(), database.connection_context():
        Event.update(notification_mode="digest").execute()
    _decide(setup["client"], setup["people"][0], decision="accredit")
    from portal.services import mail

    def broken(*args, **kwargs):
        raise RuntimeError("template broken")

    monkeypatch.setattr(mail, "render", broken)
    result = runner.invoke(args=["notifications", "send-digest"])
    assert result.exit_code != 0
    with app.app_context(), database.connection_context():
        assert Notification.select().where(Notification.sent_at.is_null()).count() == 2
        assert OutboxMessage.select().count() == 0
