"""Outgoing mail: a real SMTP conversation (a tiny server in the test), a server that is down,
and what happens without ``MAIL_SERVER`` in development/testing (the log) and in production."""
from __future__ import annotations

import logging
import socket

import pytest

from storefront import create_app
from storefront.extensions import db
from storefront.orders import mail
from tests import factories
from tests.storefront.support.mail import link_to, local, smtp_sink
from tests.storefront.support.shop import new_customer

RESET = "/account/password/reset/"
NEW_PASSWORD = "over the wire 2024"


@pytest.fixture
def mail_loggers():
    logging.getLogger("storefront.mail").disabled = False  # see test_hardening


def _app_with(app_config, **settings):
    return create_app({**app_config, **settings})


def _dispose(flask_app) -> None:
    with flask_app.app_context():
        db.engine.dispose()  # the fixture empties the database after the test


def test_a_reset_link_travels_through_smtp_and_works(app_config, app):
    with smtp_sink() as sink:
        mailing = _app_with(app_config, MAIL_SERVER=sink.host, MAIL_PORT=sink.port, MAIL_USERNAME="shop",
                            MAIL_PASSWORD="mail-secret", MAIL_FROM="Storefront <shop@example.com>")
        _, email = new_customer(mailing, "smtp.reader@example.com", name="Sam Smtp")
        response = mailing.test_client().post("/account/password/forgot", data={"email": email})
        assert response.status_code == 200
    (received,) = sink.received
    assert sink.logins == [("shop", "mail-secret")]
    assert (received.sender, received.recipients) == ("shop@example.com", [email])
    message = received.message
    assert (message["From"], message["To"]) == ("Storefront <shop@example.com>", email)
    assert message["Subject"] == "Reset your Storefront password" and message["Message-ID"]
    assert "Hello Sam Smtp" in message.get_content()

    link = link_to(message, RESET)  # absolute, decoded from the wire form (quoted-printable)
    assert link.startswith("http://localhost/account/password/reset/")
    browser = mailing.test_client()
    done = browser.post(local(link), data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and browser.get("/account/orders").status_code == 200
    assert factories.login(mailing.test_client(), email, NEW_PASSWORD).status_code == 302
    _dispose(mailing)


def test_without_credentials_there_is_no_login(app_config, app):
    with smtp_sink() as sink:
        mailing = _app_with(app_config, MAIL_SERVER=sink.host, MAIL_PORT=sink.port)
        with mailing.app_context():
            assert mail.send("someone@example.com", "Hello", "A body.") is True
    assert sink.logins == [] and [r.recipients for r in sink.received] == [["someone@example.com"]]
    _dispose(mailing)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again when the block ends: nothing listens


def test_a_server_that_is_down_is_logged_and_the_answer_stays_the_same(app_config, app, caplog, mail_loggers):
    broken = _app_with(app_config, MAIL_SERVER="127.0.0.1", MAIL_PORT=_closed_port(), MAIL_TIMEOUT_SECONDS=2)
    _, email = new_customer(broken)
    response = broken.test_client().post("/account/password/forgot", data={"email": email})
    assert response.status_code == 200  # never a 500, and nothing tells the address apart
    assert "If an account exists for that address" in response.get_data(as_text=True)
    assert "sending 'Reset your Storefront password' through 127.0.0.1" in caplog.text
    _dispose(broken)


def test_testing_and_development_write_the_message_to_the_log(app, caplog, mail_loggers):
    caplog.set_level(logging.INFO, logger="storefront.mail")
    with app.app_context():
        assert mail.send("dev@example.com", "Hi", "Open https://shop.test/a-long-link?token=abc " + "x" * 100)
    assert "To: dev@example.com" in caplog.text
    assert "https://shop.test/a-long-link?token=abc " + "x" * 100 in caplog.text  # not wrapped


def test_production_without_a_server_logs_no_body(app, caplog, mail_loggers):
    with app.app_context():
        app.config["ENV_NAME"] = "production"
        try:
            assert mail.send("prod@example.com", "Reset your password", "secret-link-123") is False
        finally:
            app.config["ENV_NAME"] = "testing"
    assert "was not sent" in caplog.text and "secret-link-123" not in caplog.text
