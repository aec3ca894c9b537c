"""E-mail: plain text, in the recipient's preferred language whatever language the person who
triggered it is using. Sent through SMTP when ``PORTAL_SMTP_HOST`` is set, otherwise written to
the log (development)."""

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale

log = logging.getLogger(__name__)


def render(template, language, **context):
    """Render ``mail/<template>.txt`` in ``language``; its first line is the subject."""
    with force_locale(language):
        text = render_template("mail/%s.txt" % template, language=language, **context)
    subject, _, body = text.strip("\n").partition("\n")
    return subject.strip(), body.lstrip("\n")


def send_to_account(account, template, **context):
    """Send ``template`` to an account, in the account's preferred language."""
    subject, body = render(template, account.language or "fr", account=account, **context)
    send(formataddr((account.full_name, account.email)), subject, body)


def send(to, subject, body):
    """Send one plain-text message (UTF-8)."""
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="wsis.example")
    message.set_content(body, charset="utf-8")
    host = config["SMTP_HOST"]
    if not host:
        log.info("mail (not sent, no SMTP host) to %s: %s\n%s", to, subject, body)
        return message
    port = int(config["SMTP_PORT"])
    if config["SMTP_SSL"]:
        smtp = smtplib.SMTP_SSL(host, port, timeout=20, context=ssl.create_default_context())
    else:
        smtp = smtplib.SMTP(host, port, timeout=20)
    with smtp:
        if config["SMTP_STARTTLS"] and not config["SMTP_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
        smtp.send_message(message)
    log.info("mail sent to %s: %s", to, subject)
    return message
