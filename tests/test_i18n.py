"""Pages in English and Welsh (README, "Languages"): the catalogue keeps up with the code and is
complete, no template carries text outside the translation calls, and the language follows
?lang=, the user's setting, the cookie and Accept-Language, in that order."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import nodes

from marac import i18n
from marac.agencies.models import User
from marac.web.templating import env
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = sorted((ROOT / "marac" / "locale").glob("*/LC_MESSAGES/messages.po"))
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_gettext": None,
}


def extracted() -> set[str]:
    """Every msgid marked in the code and the templates, read as `scripts/catalogue update` reads them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: set[str] = set()
    for folder in ("marac", "templates"):
        for _file, _line, message, _comments, context in extract_from_dir(
            ROOT / folder,
            method_map,
            options_map,
            keywords=KEYWORDS,
            comment_tags=("Translators:",),
            callback=None,
            strip_comment_tags=True,
            directory_filter=lambda path: "node_modules" not in Path(path).parts,
        ):
            first = message[0] if isinstance(message, tuple) else message
            found.add(f"{context}\x04{first}" if context else first)
    return found


def catalogue(path: Path):
    with path.open("rb") as source:
        return read_po(source)


def msgid_key(message) -> str:
    first = message.id[0] if isinstance(message.id, tuple) else message.id
    return f"{message.context}\x04{first}" if message.context else first


def test_there_is_a_welsh_catalogue():
    assert [p.parts[-3] for p in CATALOGUES] == ["cy"]
    assert set(i18n.LANGUAGES) == {"en", "cy"}


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_catalogue_keeps_up_with_the_code(path):
    marked = extracted()
    held = {msgid_key(m) for m in catalogue(path) if m.id}
    assert not marked - held, f"run scripts/catalogue update: new strings {sorted(marked - held)[:20]}"
    assert not held - marked, f"run scripts/catalogue update: gone strings {sorted(held - marked)[:20]}"


@pytest.mark.parametrize("path", CATALOGUES, ids=lambda p: p.parts[-3])
def test_catalogue_translates_every_string(path):
    messages = [m for m in catalogue(path) if m.id]
    untranslated = [
        msgid_key(m) for m in messages if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert not untranslated, f"{len(untranslated)} without a translation, e.g. {untranslated[:20]}"
    # Placeholders survive translation: %(name)s in the msgid is in every form of the msgstr.
    holes = re.compile(r"%\((\w+)\)[sd]")
    broken = []
    for m in messages:
        wanted = set(holes.findall(m.id[-1] if isinstance(m.id, tuple) else m.id))
        forms = m.string if isinstance(m.string, tuple) else (m.string,)
        # A plural form for one thing may say "one" in words instead of %(num)s.
        if any(set(holes.findall(form)) - wanted or (wanted - {"num"}) - set(holes.findall(form)) for form in forms):
            broken.append(msgid_key(m))
    assert not broken, f"placeholders differ: {broken[:20]}"


# -- no text outside the translation calls ------------------------------------------------------

GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
# Text that is the same in every language: the service's name, symbols between values.
NEUTRAL = re.compile(r"^[\s\x00\d.,:;()\[\]/|–—•·×+=#%&*'\"!?<>-]*(MARAC)?[\s\x00\d.,:;()\[\]/|–—•·×+=#%&*'\"!?<>-]*$")
VISIBLE_ATTRIBUTES = {"aria-label", "title", "placeholder", "alt", "data-label"}
# A string constant that reads as prose: a capitalised word, or two plain words in a row.
PROSE = re.compile(r"\b[A-Z][a-z]+\b|(?<![\w-])[a-z]{2,} [a-z]{2,}(?![\w-])")


class Texts(HTMLParser):
    """Text nodes and visible attribute values of a template's skeleton (values shown as \\x00)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in VISIBLE_ATTRIBUTES and value and not NEUTRAL.match(value):
                self.found.append(f"{name}={value!r}")

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and not NEUTRAL.match(data):
            self.found.append(data.strip())


def _constants(node: nodes.Node, path: str, found: list[str]) -> None:
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name) and node.node.name in GETTEXT:
        return
    if isinstance(node, nodes.Filter) and node.name in ("count", "plural"):
        found.append(f"{path}:{node.lineno}: |{node.name} (use ngettext)")
    if isinstance(node, nodes.Getattr) and node.attr == "strftime":
        found.append(f"{path}:{node.lineno}: strftime (use |date or |datetime)")
    if isinstance(node, nodes.Const) and isinstance(node.value, str) and PROSE.search(node.value):
        found.append(f"{path}:{node.lineno}: {node.value!r}")
    for child in node.iter_child_nodes():
        _constants(child, path, found)


def untranslated(path: Path) -> list[str]:
    name = str(path.relative_to(ROOT / "templates"))
    tree = env.parse(path.read_text(encoding="utf-8"), name=name)
    skeleton = []
    for node in tree.find_all((nodes.TemplateData, nodes.Output)):
        if isinstance(node, nodes.TemplateData):
            skeleton.append(node.data)
        elif not all(isinstance(child, nodes.TemplateData) for child in node.nodes):
            skeleton.append("\x00")
    parser = Texts()
    parser.feed("".join(skeleton))
    parser.close()
    found = [f"templates/{name}: {text!r}" for text in parser.found]
    _constants(tree, f"templates/{name}", found)
    return found


def templates() -> list[Path]:
    return sorted(p for p in (ROOT / "templates").rglob("*.html"))


def test_no_template_text_outside_translation_calls():
    found = [line for path in templates() for line in untranslated(path)]
    assert not found, f"{len(found)} strings not marked for translation:\n" + "\n".join(found[:200])


def test_the_template_check_finds_each_kind(tmp_path):
    samples = {
        "<p>Plain text</p>": True,
        '<a aria-label="Close it">x</a>': True,
        '{{ "Yes" if x else "No" }}': True,
        '{% set t = [("/", "Home")] %}': True,
        '{{ n|count("case") }}': True,
        "{{ d.strftime('%d') }}": True,
        '<p>{{ _("Plain text") }}</p>': False,
        "<p>{% trans %}Plain text{% endtrans %}</p>": False,
        '<p class="govuk-body">{{ name }} – {{ n }}</p>': False,
        '<span class="govuk-tag govuk-tag--red">{{ _("Overdue") }}</span>': False,
    }
    folder = ROOT / "templates"
    for source, flagged in samples.items():
        probe = folder / "_i18n_probe.html"
        probe.write_text(source, encoding="utf-8")
        try:
            assert bool(untranslated(probe)) is flagged, source
        finally:
            probe.unlink()


# -- the mechanism -------------------------------------------------------------------------------


def test_welsh_dates_numbers_and_plurals():
    with i18n.use("cy"):
        assert i18n.format_date(date(2026, 12, 5)) == "5 Rhagfyr 2026"
        assert i18n.format_date(date(2026, 12, 5), "numeric") == "05/12/2026"
        assert i18n.format_number(1234) == "1,234"
        assert i18n.gettext("Sign out") == "Allgofnodi"
    with i18n.use("en"):
        assert i18n.format_date(date(2026, 12, 5)) == "5 December 2026"
        assert i18n.gettext("Sign out") == "Sign out"
    with i18n.use(i18n.PSEUDO):
        stretched = i18n.gettext("Sign %(name)s out")
        assert "%(name)s" in stretched and len(stretched) >= len("Sign %(name)s out") * 1.4


def test_accept_language_chooses_among_ours():
    assert i18n.choose("cy-GB,cy;q=0.9,en;q=0.8") == "cy"
    assert i18n.choose("en-GB,en;q=0.9,cy;q=0.8") == "en"
    assert i18n.choose("fr-FR,fr;q=0.9") == "en"
    assert i18n.choose("fr;q=0.9,cy;q=0.5") == "cy"
    assert i18n.choose("") == "en"
    assert i18n.choose("cy;q=nonsense,en") == "en"


async def test_before_sign_in_accept_language_decides_and_the_toggle_is_remembered(client):
    english = await client.get("/login")
    assert '<html lang="en-GB"' in english.text and "Skip to main content" in english.text
    welsh = await client.get("/login", headers={"Accept-Language": "cy,en;q=0.5"})
    assert '<html lang="cy"' in welsh.text and "Neidio i'r prif gynnwys" in welsh.text
    toggled = await client.get("/login?lang=cy")
    assert '<html lang="cy"' in toggled.text
    assert "lang=cy" in toggled.headers["set-cookie"]
    # The cookie, not the browser, decides from then on, until the toggle is used again.
    again = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="cy"' in again.text
    assert 'href="/login?lang=en"' in again.text and 'lang="en-GB"' in again.text
    back = await client.get("/login?lang=en")
    assert '<html lang="en-GB"' in back.text
    unknown = await client.get("/login?lang=fr")
    assert '<html lang="en-GB"' in unknown.text and "set-cookie" not in unknown.headers


async def test_a_signed_in_users_choice_is_kept_in_their_account(app, personas):
    from tests.conftest import make_client

    persona = personas["idva"]
    async with make_client(app) as browser:
        await sign_in(browser, persona)
        page = await browser.get("/account?lang=cy")
        assert '<html lang="cy"' in page.text
        assert (await User.get(id=persona.user.id)).language == "cy"
    # Another browser, English-speaking, and no cookie: the account's setting wins.
    async with make_client(app) as other:
        await sign_in(other, persona)
        page = await other.get("/account", headers={"Accept-Language": "en"})
        assert '<html lang="cy"' in page.text
        # The toggle keeps other query values.
        listed = await other.get("/referrals?status=open", headers={"Accept-Language": "en"})
        assert "lang=en" in listed.text and "status=open&amp;lang=en" in listed.text


async def test_the_api_answers_in_english_whatever_is_asked(client, personas):
    answer = await client.get(
        "/api/v1/referrals/nope?lang=cy", headers={**personas["idva"].bearer, "Accept-Language": "cy"}
    )
    assert answer.status_code == 404 and "set-cookie" not in answer.headers
    english = await client.get("/api/v1/referrals/nope", headers=personas["idva"].bearer)
    assert answer.json() == english.json()


if __name__ == "__main__":
    # .venv/bin/python -m tests.test_i18n templates/meetings/*.html: what is left to mark in those files.
    import sys

    for argument in sys.argv[1:]:
        for line in untranslated(Path(argument).resolve()):
            print(line)
