"""One Jinja2 environment for every page, escaping on whatever the file name."""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse

from marac import conference_types, i18n, settings, wording
from marac.actions.models import status_words, update_words
from marac.agencies.access import Can
from marac.documents.render import change_line
from marac.settings import PROJECT_DIR
from marac.web import csrf

TEMPLATES_DIR = PROJECT_DIR / "templates"

# Not Starlette's Jinja2Templates: it escapes only .html/.htm/.xml names, and the PDF
# templates to come are not all .html.
env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
i18n.install(env)
# {{ n|count("case") }} → "1 case", "2 cases"; {{ n|plural("has", "have") }}: marac/wording.py.
env.filters.update(count=wording.count, plural=wording.plural)
# {{ day|date }} "5 December 2026", |date("medium") "5 Dec 2026", |date("numeric") "05/12/2026",
# {{ moment|datetime }} "5 Dec 2026 14:30" in UK time, {{ n|number }} "1,234": each in the page's language.
env.filters.update(date=i18n.format_date, datetime=i18n.format_datetime, number=i18n.format_number)
# {{ action.status|action_status }} "In progress" / "Ar y gweill": the one table of action statuses.
env.filters.update(action_status=status_words, action_update=update_words)
# {{ change|change_line }} "note (discussion) added": the same words as the minutes' list of changes.
env.filters.update(change_line=change_line)


# GOV.UK's character count words its live messages itself, in English unless given each message in
# data-i18n attributes, one per plural category of the page's language (CLDR: Welsh has six).
def _count_messages(n: int) -> tuple[tuple[str, str], ...]:
    return (
        (
            "characters-under-limit",
            i18n.ngettext("You have %(count)s character remaining", "You have %(count)s characters remaining", n),
        ),
        (
            "characters-over-limit",
            i18n.ngettext("You have %(count)s character too many", "You have %(count)s characters too many", n),
        ),
    )


def character_count_words() -> tuple[tuple[str, str], ...]:
    """(data attribute, message) for the character count of a page in the current language; GOV.UK
    puts the number where the message says %{count}."""
    return _character_count_words(i18n.current())


@functools.cache  # the same for every page in a language
def _character_count_words(language: str) -> tuple[tuple[str, str], ...]:
    rule = i18n.babel_locale(language).plural_form
    samples: dict[str, int] = {}
    for n in range(200):
        samples.setdefault(rule(n), n)
    with i18n.use(language):
        words = [("data-i18n.characters-at-limit", i18n.gettext("You have 0 characters remaining"))]
        for category, n in sorted(samples.items()):
            for key, message in _count_messages(n):
                words.append((f"data-i18n.{key}.{category}", message.replace("%(count)s", "%{count}")))
    return tuple(words)


def in_language(request: Request, code: str) -> str:
    """This page again in another language (the header's toggle), its other query values kept."""
    query = [(key, value) for key, value in request.query_params.multi_items() if key != "lang"]
    return f"{request.url.path}?{urlencode([*query, ('lang', code)])}"


env.globals.update(
    language=i18n.current,
    html_lang=i18n.html_lang,
    localised=i18n.localised,
    languages=i18n.LANGUAGES,
    in_language=in_language,
    character_count_words=character_count_words,
)
# Labels from the type and instrument files, also for a conference's copy made before they had the Welsh.
env.globals.update(localised=conference_types.localised, localised_word=conference_types.localised_word)


def _nothing(capability: Can) -> bool:
    return False


def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> HTMLResponse:
    caller = getattr(request.state, "caller", None)
    values: dict[str, Any] = {
        "request": request,
        "caller": caller,
        "user": caller.user if caller else None,
        # What the caller may do, for links and buttons: {% if can(Can.READ_REPORTS) %}.
        "Can": Can,
        "can": caller.viewer.can if caller else _nothing,
        "unread": getattr(request.state, "unread", 0),  # notifications, for the header (web/auth.py page)
        "demo": settings.get().demo,
        "csrf_token": csrf.token(request),
        "errors": {},
        "values": {},
    }
    values.update(context or {})
    response = HTMLResponse(env.get_template(name).render(values), status_code=status)
    csrf.attach_cookie(request, response)
    return response
