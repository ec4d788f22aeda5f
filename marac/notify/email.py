"""Plain-text e-mail through the server in MARAC_SMTP_URL.

Python's own smtplib, run in a thread: the only mail this service sends is a few
reminders a day, which does not justify a dependency, and the thread keeps the event
loop free while the server answers. Nothing here logs an address, a subject or a body.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from marac import settings

log = logging.getLogger("marac.notify")
TIMEOUT_SECONDS = 30
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class EmailNotConfigured(RuntimeError):
    """send() was called while MARAC_SMTP_URL is unset."""


def configured() -> bool:
    return settings.get().smtp_url is not None


async def send(to: list[str] | str, subject: str, body: str) -> None:
    """Send one plain-text message; raises on any refusal, so the caller can try again later."""
    config = settings.get()
    if config.smtp_url is None:
        raise EmailNotConfigured("MARAC_SMTP_URL is not set")
    recipients = [to] if isinstance(to, str) else list(to)
    message = EmailMessage()
    message["From"] = config.mail_from
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    await asyncio.to_thread(_deliver, config.smtp_url, message)
    log.info("email sent recipients=%d", len(recipients))


def _deliver(url: str, message: EmailMessage) -> None:
    with connect(url) as client:
        client.send_message(message)


def connect(url: str) -> smtplib.SMTP:
    """A session ready to send (what `marac check` stops at): connected, EHLO said, TLS up
    (from the start for smtps://, by STARTTLS when offered for smtp://, the certificate
    checked), logged in when the URL names a user."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme]
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if parts.scheme == "smtps":
        client = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    try:
        client.ehlo()
        if parts.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        client.close()
        raise
    return client
