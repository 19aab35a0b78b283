"""Mail in the tests: an outbox that records every message the app sends, the links in a
message, a registration driven through its emailed link, and a tiny SMTP server (a sink) for
the tests that check a real SMTP conversation (aiosmtpd is not a dependency of the shop)."""
from __future__ import annotations

import base64
import re
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from urllib.parse import urlsplit

from storefront.orders import mail

LINK = re.compile(r"https?://\S+")


@contextmanager
def outbox(app) -> Iterator[list[EmailMessage]]:
    """The messages ``app`` sends (delivered or logged) while the block runs."""
    messages: list[EmailMessage] = []

    def record(sender, message, delivered):  # the signal's arguments
        messages.append(message)

    with mail.message_sent.connected_to(record, sender=app):
        yield messages


def links_in(message: EmailMessage) -> list[str]:
    return LINK.findall(message.get_content())


def local(url: str) -> str:
    """An absolute link as the test client requests it: path and query."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def link_to(message: EmailMessage, path_prefix: str) -> str:
    """The message's link to a page under ``path_prefix`` (e.g. ``/account/password/reset/``)."""
    (link,) = [url for url in links_in(message) if urlsplit(url).path.startswith(path_prefix)]
    return link


def register(client, email: str, password: str, name: str = "Ada Lovelace", confirm: str | None = None,
             url: str = "/account/register", **kwargs):
    """The whole registration: the address, the emailed link, the name and password. Returns the
    last response (a redirect once the account exists)."""
    with outbox(client.application) as sent:
        first = client.post(url, data={"email": email}, **kwargs)
    assert first.status_code == 200, first.get_data(as_text=True)[:500]
    (message,) = sent
    link = link_to(message, "/account/register/")
    return client.post(local(link), data={"name": name, "password": password, "confirm": confirm or password})


# --- a tiny SMTP server -------------------------------------------------------------------------


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class SmtpSink:
    host: str
    port: int
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)


class _Conversation(socketserver.StreamRequestHandler):
    """Just enough of RFC 5321 for smtplib: EHLO/HELO, AUTH PLAIN, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    sink: SmtpSink

    def reply(self, *lines: str) -> None:
        self.wfile.write("".join(f"{line}\r\n" for line in lines).encode())

    def handle(self) -> None:
        self.reply("220 sink.test ESMTP")
        sender, recipients = "", []
        while line := self.rfile.readline():
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            verb, _, argument = command.partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                self.reply("250-sink.test", "250-AUTH PLAIN", "250 8BITMIME")
            elif verb in ("HELO", "NOOP"):
                self.reply("250 OK")
            elif verb == "RSET":
                sender, recipients = "", []
                self.reply("250 OK")
            elif verb == "AUTH":
                _, user, password = base64.b64decode(argument.split(" ")[1]).decode().split("\0")
                self.sink.logins.append((user, password))
                self.reply("235 Authentication successful")
            elif verb == "MAIL":
                sender = argument.partition(":")[2].strip().split(" ")[0].strip("<>")
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(argument.partition(":")[2].strip().strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                self.sink.received.append(Received(sender, recipients, self._read_data()))
                sender, recipients = "", []
                self.reply("250 OK queued")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Command not implemented")

    def _read_data(self) -> EmailMessage:
        lines = []
        while (line := self.rfile.readline()) not in (b".\r\n", b""):
            lines.append(line[1:] if line.startswith(b"..") else line)  # undo the dot-stuffing
        return message_from_bytes(b"".join(lines), policy=policy.default)


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP server on a free local port, in a thread, for the block."""
    sink = SmtpSink("127.0.0.1", 0)
    server = socketserver.ThreadingTCPServer((sink.host, 0), type("Conversation", (_Conversation,), {"sink": sink}))
    server.daemon_threads = True
    sink.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
