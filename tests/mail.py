"""A real SMTP server (aiosmtpd) on loopback and the settings that send to it: the `smtp` fixture
(conftest.py) and the tests that start a server of their own use these."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from marac import settings

MAIL_FROM = "reminders@marac.example"


@dataclass
class Inbox:
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m, r in zip(self.messages, self.recipients, strict=True) if r == [address]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_settings(url: str) -> Iterator[None]:
    real = settings.get()
    settings.override(settings.load({**os.environ, "MARAC_SMTP_URL": url, "MARAC_MAIL_FROM": MAIL_FROM}))
    try:
        yield
    finally:
        settings.override(real)
