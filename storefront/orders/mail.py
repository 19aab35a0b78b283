"""Outgoing email: SMTP when ``MAIL_SERVER`` is set, otherwise the log.

The shop sends few messages (account links), one at a time, inside the request that asks for
them: no queue to run. ``MAIL_SERVER``, ``MAIL_PORT``, ``MAIL_USE_TLS`` (STARTTLS),
``MAIL_USERNAME``/``MAIL_PASSWORD`` (only when both are set) and ``MAIL_FROM`` come from the
environment (storefront.config).

Without a server, development and testing write the whole message to the ``storefront.mail``
log at INFO, so a developer can follow the link. Production only logs a warning without the
body: the links in these messages are credentials, and logs travel further than mailboxes.

Every message, delivered or not, is announced on :data:`message_sent` (a blinker signal, as
Flask's own): the tests' outbox listens there.
"""
from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from blinker import Namespace
from flask import current_app

log = logging.getLogger("storefront.mail")
message_sent = Namespace().signal("message-sent")

# Where the log stands in for a mail server; anywhere else (production) it must not.
_LOGGED_ENVIRONMENTS = frozenset({"development", "testing"})


def build(to: str, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=_sender_domain())
    message.set_content(body)  # plain text: no HTML to render or to be flagged as phishing
    return message


def _sender_domain() -> str:
    sender = current_app.config["MAIL_FROM"]
    return sender.rpartition("@")[2].strip(" >") or "localhost"


def send(to: str, subject: str, body: str) -> bool:
    """Send one plain-text message; whether it was handed to a server (or, in development and
    testing, written to the log). A failing server is logged, never raised: the pages that send
    mail give the same answer whatever happens to it (they must not tell whether an account
    exists)."""
    message = build(to, subject, body)
    config = current_app.config
    if config.get("MAIL_SERVER"):
        delivered = _deliver(message, config)
    elif config.get("ENV_NAME") in _LOGGED_ENVIRONMENTS:
        # Decoded: the wire form wraps long lines (quoted-printable), which would break the links.
        log.info("MAIL_SERVER is not set; the message instead:\nTo: %s\nSubject: %s\n\n%s",
                 to, subject, message.get_content())
        delivered = True
    else:
        log.warning("MAIL_SERVER is not set: the message %r was not sent", subject)
        delivered = False
    message_sent.send(current_app._get_current_object(), message=message, delivered=delivered)
    return delivered


def _deliver(message: EmailMessage, config) -> bool:
    server, port = config["MAIL_SERVER"], int(config.get("MAIL_PORT") or 25)
    try:
        with smtplib.SMTP(server, port, timeout=float(config.get("MAIL_TIMEOUT_SECONDS") or 10)) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME") and config.get("MAIL_PASSWORD"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.send_message(message)
    except (smtplib.SMTPException, OSError) as error:
        log.warning("sending %r through %s:%s failed: %s", message["Subject"], server, port, error)
        return False
    log.info("sent %r through %s:%s", message["Subject"], server, port)
    return True
