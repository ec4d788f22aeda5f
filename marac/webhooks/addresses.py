"""Where a webhook may send: no server-side request forgery (docs/security.md#webhooks).

A receiver's address must be public: every address its name resolves to is checked at send time and the
connection goes to the checked address itself, so a second DNS answer cannot differ from the first. Private,
loopback, link-local, shared, reserved and other non-global addresses are refused unless the setting
MARAC_WEBHOOK_ALLOW names the host or a network holding the address; production also refuses plain http.
Registration checks what it can without DNS (the form of the URL, an address written in it).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from marac import settings
from marac.errors import RuleViolation
from marac.i18n import gettext

Resolver = Callable[[str, int], Awaitable[list[str]]]  # (host, port) -> addresses, as getaddrinfo gives them
MAX_URL = 2000


class Refused(Exception):
    """The receiver's address is not one a webhook may reach."""


async def system_resolver(host: str, port: int) -> list[str]:
    answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


def check_url(url: str) -> str:
    """The URL as stored, or a RuleViolation on the `url` field naming what is wrong with it."""
    url = (url or "").strip()

    def wrong(message: str) -> RuleViolation:
        return RuleViolation("The URL cannot be used", {"url": message})

    if not url or len(url) > MAX_URL or not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise wrong(
            gettext("Enter the receiver's URL, like https://hooks.agency.example/marac (up to %(num)d characters)")
            % {"num": MAX_URL}
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError:
        raise wrong(gettext("Enter a URL like https://hooks.agency.example/marac")) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise wrong(gettext("Enter a URL starting https:// and naming a host"))
    if parts.username is not None or parts.password is not None:
        raise wrong(gettext("Leave the user name and password out of the URL: each delivery is signed with the secret"))
    if parts.fragment or url.endswith("#"):
        raise wrong(gettext("Leave the #fragment out of the URL"))
    if settings.get().production and parts.scheme != "https":
        raise wrong(gettext("Use https: deliveries never go over plain http"))
    try:
        address = ipaddress.ip_address(parts.hostname)
    except ValueError:
        address = None
    if (address is not None or parts.hostname == "localhost") and not allowed(
        parts.hostname, str(address or "127.0.0.1")
    ):
        raise wrong(
            gettext("This address is not public: an administrator of the server must allow it (MARAC_WEBHOOK_ALLOW)")
        )
    return url


def allowed(host: str, address: str) -> bool:
    """Whether a webhook may connect to `address` (which `host` resolved to)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.0.1 is 10.0.0.1
    exceptions = settings.get().webhook_allow
    if host.lower() in exceptions:
        return True
    for entry in exceptions:
        if "/" in entry and ip in ipaddress.ip_network(entry):
            return True
    return ip.is_global and not ip.is_multicast


async def checked_address(url: str, resolver: Resolver) -> str:
    """The one address to connect to for `url`, every answer checked; Refused otherwise."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if settings.get().production and parts.scheme != "https":
        raise Refused("plain http")
    try:
        answers = [str(ipaddress.ip_address(host))]
    except ValueError:
        try:
            answers = await resolver(host, parts.port or (443 if parts.scheme == "https" else 80))
        except (OSError, UnicodeError):
            raise Refused("host not found") from None
    if not answers:
        raise Refused("host not found")
    # One forbidden answer among public ones is refused too: which one a client picks is not ours to guess.
    if not all(allowed(host, address) for address in answers):
        raise Refused("address not public")
    return answers[0]
