"""Every page of the route inventory in Welsh, as each kind of user who opens it (the page sweep's
world, tests/test_browser_pages.py): no string the catalogue translates is left in English, and in
the pseudo-locale no run of English words is left outside the stretched, bracketed strings, so a
string nobody marked for translation shows up on the page where it is read (README, "Languages")."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from babel.messages.pofile import read_po

from marac import i18n
from marac.jobs import queue
from tests.conftest import make_client
from tests.test_browser_pages import HELD_ONLY, PAGES, PUBLISHED_ONLY, QUERY, cookies_of, opened_as, world

WELSH = i18n.LOCALE_DIR / "cy" / "LC_MESSAGES" / "messages.po"
VISIBLE_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "data-label"}


class Visible(HTMLParser):
    """The text a person reads or hears on a page: text nodes and the attributes read out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        values = dict(attrs)
        self.texts += [values[name] for name in VISIBLE_ATTRIBUTES if values.get(name)]
        if tag == "input" and values.get("type") in ("submit", "button") and values.get("value"):
            self.texts.append(values["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._hidden:
            self.texts.append(text)


def visible(html: str) -> list[str]:
    parser = Visible()
    parser.feed(html)
    parser.close()
    return parser.texts


def english_of_the_catalogue() -> tuple[set[str], list[str]]:
    """The English strings the Welsh catalogue translates differently: whole ones, and sentences
    of three words or more that must not appear even inside a longer text."""
    with WELSH.open("rb") as source:
        catalogue = read_po(source)
    whole: set[str] = set()
    for message in catalogue:
        if not message.id or isinstance(message.id, tuple):
            continue
        if "%" in message.id or "<" in message.id or message.string == message.id:
            continue
        whole.add(" ".join(message.id.split()))
    sentences = sorted((m for m in whole if len(m.split()) >= 3), key=len, reverse=True)
    return whole, sentences


async def every_page(app, personas, language: str) -> list[tuple[str, str, str]]:
    """(where, status or "", html) for every page of the inventory as each user who opens it."""
    variants = await world(app, personas)
    await queue.drain()
    seen: set[tuple[str, str]] = set()
    found: list[tuple[str, str, str]] = []
    for path in PAGES:
        chosen = variants[1:] if path in PUBLISHED_ONLY else variants[:1] if path in HELD_ONLY else variants
        for values in chosen:
            url = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], path + QUERY.get(path, ""))
            for kind in opened_as(path):
                if (url, kind) in seen:
                    continue
                seen.add((url, kind))
                async with make_client(app) as client:
                    client.cookies.update({**await cookies_of(kind, personas), "lang": language})
                    answer = await client.get(url)
                where = f"{path} as {kind} ({url})"
                found.append((where, "" if answer.status_code == 200 else str(answer.status_code), answer.text))
    return found


async def test_no_page_shows_english_the_catalogue_translates(app, personas):
    whole, sentences = english_of_the_catalogue()
    problems = []
    pages = await every_page(app, personas, "cy")
    for where, refused, html in pages:
        if refused:
            problems.append(f"{where}: answered {refused}")
            continue
        assert '<html lang="cy"' in html, where
        for text in visible(html):
            left = [text] if text in whole else [s for s in sentences if s in text][:1]
            problems += [f"{where}: {english!r}" for english in left]
    assert len(pages) > 60
    assert not problems, f"{len(problems)} English strings on Welsh pages:\n" + "\n".join(sorted(set(problems)))


# What a page shows that no catalogue holds: the world's own records (names, notes, places), ids,
# e-mail addresses, and the words a person typed; nothing else may be a run of English words.
PSEUDO_STRING = re.compile(r"\[[^\[\]]*·+\]")
ENGLISH_RUN = re.compile(r"\b[A-Za-z][a-z]{2,}(?: [a-z]{2,}){2,}\b")
WORLD_TEXT = re.compile(
    r"Police will share the bail conditions|Housing will check the tenancy|Note \d+ on the case|"
    r"Urgent: the victim is in A&E tonight|Market Square|New Starter|Dana Draft|"
    r"Northshire [A-Za-z' ]+|Riverside Housing Association|[\w.+-]+@[\w.-]+"
)


@pytest.mark.parametrize("language", [i18n.PSEUDO])
async def test_every_string_on_every_page_is_marked_for_translation(app, personas, language):
    problems = []
    for where, refused, html in await every_page(app, personas, language):
        if refused:
            problems.append(f"{where}: answered {refused}")
            continue
        for text in visible(html):
            rest = WORLD_TEXT.sub(" ", PSEUDO_STRING.sub(" ", text))
            problems += [f"{where}: {run!r} in {text[:120]!r}" for run in ENGLISH_RUN.findall(rest)]
    assert not problems, f"{len(problems)} strings not marked:\n" + "\n".join(sorted(set(problems))[:300])
