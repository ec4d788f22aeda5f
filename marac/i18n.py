"""The language of what a person reads: Babel message catalogues, dates and numbers.

English is the source language (the msgids); every other language is a catalogue in
marac/locale/<code>/LC_MESSAGES/messages.po, compiled in memory when first used, so no
built file is needed in the repository or at start-up (README, "Languages"). The language
of the work in hand lives in a context variable: a page request sets it (marac/web/language.py),
a job rendering a document or an e-mail sets it with `use()` for its reader.

Adding a language is adding its catalogue and its code to LANGUAGES; nothing else here changes.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import re
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from babel import Locale, dates, numbers
from babel.core import negotiate_locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import LazyProxy, NullTranslations, Translations

from marac.clock import UK
from marac.settings import PACKAGE_DIR

LOCALE_DIR = PACKAGE_DIR / "locale"
DEFAULT = "en"
# Code → (its own name for the toggle, the tag for <html lang>, the Babel locale for dates and numbers).
LANGUAGES: dict[str, tuple[str, str, str]] = {
    "en": ("English", "en-GB", "en_GB"),
    "cy": ("Cymraeg", "cy", "cy"),
}
# Every string lengthened by 40 % and bracketed, so the browser tests see layouts break and
# strings nobody marked for translation (tests/test_i18n.py). Offered only where settings allow it.
PSEUDO = "qps"

_current: ContextVar[str] = ContextVar("language", default=DEFAULT)


def current() -> str:
    return _current.get()


def set_current(code: str) -> None:
    """For the request in hand (marac/web/language.py): everything it renders reads this."""
    _current.set(code if code in LANGUAGES or code == PSEUDO else DEFAULT)


@contextlib.contextmanager
def use(code: str | None) -> Iterator[None]:
    """Render in `code` (a document for an agency, an e-mail for a user), then go back."""
    token = _current.set(code if code in LANGUAGES or code == PSEUDO else DEFAULT)
    try:
        yield
    finally:
        _current.reset(token)


@functools.cache
def translations(code: str) -> NullTranslations:
    if code == PSEUDO:
        return Pseudo()
    path = LOCALE_DIR / code / "LC_MESSAGES" / "messages.po"
    if code == DEFAULT or not path.exists():
        return NullTranslations()
    with path.open("rb") as source:
        catalogue = read_po(source, locale=code)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # fuzzy entries are left out: English is shown instead
    compiled.seek(0)
    return Translations(compiled)


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    return str(translations(current()).pgettext(context, message))


def npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return translations(current()).npgettext(context, singular, plural, n)


def lazy_gettext(message: str) -> Any:
    """For a string defined at import and read later, in whichever language is current then."""
    return LazyProxy(gettext, message, enable_cache=False)


def localised(item: Mapping[str, Any], key: str = "label") -> str:
    """A label from a type or instrument file in the current language: `label_cy` beside `label`
    (agendas/README.md); the English where the file gives none."""
    if current() == PSEUDO:  # stretched like the catalogue's strings, so the browser tests see them too
        return Pseudo.stretch(str(item[key]))
    if current() != DEFAULT:
        translated = item.get(f"{key}_{current()}")
        if translated:
            return str(translated)
    return str(item[key])


def install(environment: Any) -> None:
    """{% trans %}…{% endtrans %} and _("…") in a Jinja2 environment (pages and documents alike), in the
    language of the work in hand. New-style: _("%(n)s cases", n=3) formats and escapes its values;
    trimmed: line breaks in a block are one space."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(gettext, ngettext, newstyle=True, pgettext=pgettext, npgettext=npgettext)
    environment.policies["ext.i18n.trimmed"] = True


def babel_locale(code: str | None = None) -> Locale:
    code = code or current()
    return Locale.parse(LANGUAGES.get(code, LANGUAGES[DEFAULT])[2])


def html_lang(code: str | None = None) -> str:
    return LANGUAGES.get(code or current(), LANGUAGES[DEFAULT])[1]


# Named formats, so a page says what it means and each language says how:
# long "5 December 2026" / "5 Rhagfyr 2026"; medium "5 Dec 2026"; numeric "05/12/2026";
# full "Saturday, 5 December 2026"; day_month "5 December".
DATE_FORMATS = {
    "long": "long",
    "medium": "medium",
    "numeric": "dd/MM/y",
    "full": "full",
    "day_month": "d MMMM",
    "weekday": "EEEE",
}


def format_date(value: dt.date | dt.datetime | None, form: str = "long") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = _uk(value).date()
    return dates.format_date(value, DATE_FORMATS[form], locale=babel_locale())


def format_datetime(value: dt.datetime | None, form: str = "medium") -> str:
    """A moment in UK time: "5 Dec 2026 14:30" (medium) or "5 December 2026 14:30" (long)."""
    if value is None:
        return ""
    pattern = {"medium": "d MMM y HH:mm", "long": "d MMMM y HH:mm", "time": "HH:mm"}[form]
    return dates.format_datetime(_uk(value), pattern, locale=babel_locale())


def format_number(value: int | float) -> str:
    return numbers.format_decimal(value, locale=babel_locale())


def _uk(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo is None else value.astimezone(UK)


def choose(header: str | None) -> str:
    """The language an Accept-Language header prefers among ours; English if none."""
    wanted: list[tuple[float, str]] = []
    for part in (header or "").split(","):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            wanted.append((quality, tag.replace("-", "_")))
    wanted.sort(key=lambda pair: -pair[0])  # stable: equal weights keep the sender's order
    found = negotiate_locale([tag for _, tag in wanted], list(LANGUAGES), sep="_")
    return found if found in LANGUAGES else DEFAULT


_HOLE = re.compile(r"(%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}|<[^>]*>|&[a-z]+;)")
_ACCENTED = str.maketrans("aeiouAEIOUcnyCNY", "áéîöûÁÉÎÖÛçñýÇÑÝ")


class Pseudo(NullTranslations):
    """Every translated string accented, bracketed and 40 % longer; placeholders and tags kept."""

    @staticmethod
    def stretch(message: str) -> str:
        parts = _HOLE.split(message)
        text = "".join(part if _HOLE.fullmatch(part) else part.translate(_ACCENTED) for part in parts)
        letters = sum(len(part) for part in parts if not _HOLE.fullmatch(part))
        # The padding in words of six, as a language's longer words would be, not one unbreakable run.
        pad = "·" * max(1, round(letters * 0.4))
        return f"[{text} {' '.join(pad[i : i + 6] for i in range(0, len(pad), 6))}]"

    def gettext(self, message: str) -> str:
        return self.stretch(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.stretch(singular if n == 1 else plural)

    def pgettext(self, context: str, message: str) -> str:
        return self.stretch(message)

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return self.stretch(singular if n == 1 else plural)
