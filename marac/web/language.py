"""Which language a page is in: `?lang=cy|en` (remembered in a cookie, and in the account of a
signed-in user by web/auth.py), then the user's setting, then the cookie, then Accept-Language;
English when none says. The API answers in English whatever is asked: it is read by programs
(README, "Languages")."""

from __future__ import annotations

from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders, QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from marac import i18n, settings
from marac.agencies.models import User
from marac.web import cookies

COOKIE = "lang"
YEAR = 365 * 24 * 3600


def offered() -> tuple[str, ...]:
    """The codes `?lang=` accepts: the pseudo-locale only where settings allow it (tests, demo)."""
    codes = tuple(i18n.LANGUAGES)
    return codes + (i18n.PSEUDO,) if settings.get().pseudo_locale else codes


def asked(scope: Scope) -> str | None:
    """The language this request asks for with ?lang=, if it is one of ours."""
    wanted = QueryParams(scope.get("query_string", b"").decode("latin-1")).get("lang")
    return wanted if wanted in offered() else None


class LanguageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/api/"):
            with i18n.use(i18n.DEFAULT):
                await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope["headers"]}
        chosen = asked(scope)
        jar: SimpleCookie = SimpleCookie()
        try:
            jar.load(headers.get("cookie", ""))
        except Exception:  # a malformed cookie header is the sender's problem, not a reason to fail
            jar = SimpleCookie()
        remembered = jar.get(cookies.name(COOKIE))
        code = chosen or (remembered.value if remembered and remembered.value in offered() else None)
        scope.setdefault("state", {})["language_chosen"] = chosen
        # Set for this request and put back after it, so nothing outlives it in a caller that runs
        # the app in its own task (the tests' client does).
        with i18n.use(code or i18n.choose(headers.get("accept-language"))):
            await self.app(scope, receive, send if chosen is None else self._remembering(scope, send, chosen))

    @staticmethod
    def _remembering(scope: Scope, send: Send, chosen: str) -> Send:

        async def remember(message: Message) -> None:
            if message["type"] == "http.response.start":
                secure = "; Secure" if settings.get().secure_cookies else ""
                MutableHeaders(scope=message).append(
                    "set-cookie", f"{cookies.name(COOKIE)}={chosen}; Max-Age={YEAR}; Path=/; SameSite=Lax{secure}"
                )
            await send(message)

        return remember


async def settle(request: Request, user: User) -> None:
    """For a signed-in page: a language chosen now becomes the user's setting; otherwise their
    setting, once they have one, wins over the cookie and the browser."""
    chosen = request.scope.get("state", {}).get("language_chosen")
    if chosen in i18n.LANGUAGES and user.language != chosen:
        await User.filter(id=user.id).update(language=chosen)
        user.language = chosen
    elif chosen is None and user.language in i18n.LANGUAGES:
        i18n.set_current(user.language)
