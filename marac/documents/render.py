"""HTML templates to PDF bytes, with no way out to the network or the file system.

The rules, because these documents carry personal data about people at high risk:
- user text is only ever data in an autoescaped Jinja2 template, so it cannot become
  markup or CSS; the stylesheet is a static file (templates/pdf/assets/pdf.css), read once
  and handed to WeasyPrint from memory, and so are the fonts it loads with @font-face
  (templates/pdf/assets/fonts/): every document looks the same whatever fonts the host has;
- HTML is given as a string with no base URL, so a relative URL leads nowhere, and every
  fetch goes through AssetFetcher, which serves our own assets from memory by exact URL
  and raises FatalURLFetchingError for anything else, stopping the render;
- presentational hints stay off (HTML attributes never become style), and the PDF's
  metadata is set here from the caller's non-identifying title, never read from the HTML,
  so no name or attachment can reach the document properties.

Minutes go to many agencies whose entitlements often coincide: layout() lays out one
entitlement set once with the page footer left blank, and stamp() adds each recipient's
own pages (restricted notes) and footer (reference, page N of M, agency, version) to a
copy. All use the one stylesheet, so a stamped document looks exactly like the same
document from render_pdf().

Synchronous and CPU-bound: call it through pool, never on an event loop.
"""

from __future__ import annotations

import io
import itertools
from datetime import date
from typing import Any, cast

import pydyf
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    RectangleObject,
    TextStringObject,
)
from weasyprint import CSS, HTML
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from marac import conference_types, i18n, wording
from marac.i18n import lazy_gettext
from marac.settings import PROJECT_DIR

TEMPLATES_DIR = PROJECT_DIR / "templates" / "pdf"
ASSETS_DIR = (TEMPLATES_DIR / "assets").resolve()
ASSETS_URL = ASSETS_DIR.as_uri() + "/"
CONTENT_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml", ".ttf": "font/ttf"}
# Read once at import: the renderer never touches the disk for an asset, and an exact-match
# lookup leaves no path to normalise ("..", "%2e", symlinks, queries all simply miss).
ASSETS: dict[str, tuple[bytes, str]] = {
    ASSETS_URL + path.relative_to(ASSETS_DIR).as_posix(): (path.read_bytes(), CONTENT_TYPES[path.suffix])
    for folder in (ASSETS_DIR, ASSETS_DIR / "fonts")
    for path in sorted(folder.iterdir())
    if path.is_file() and path.suffix in CONTENT_TYPES
}
STYLESHEET_URL = ASSETS_URL + "pdf.css"
AUTHOR = "MARAC"


class RenderError(Exception):
    """A document could not be rendered (a refused URL, or its time ran out)."""


class AssetFetcher(URLFetcher):
    # WeasyPrint 70 calls fetcher(url) -> fetch(url). FatalURLFetchingError is the one
    # exception WeasyPrint does not swallow into a warning: the render stops.
    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        asset = ASSETS.get(url)
        if asset is None:
            raise FatalURLFetchingError(f"refused URL: {url[:200]!r}")
        return URLFetcherResponse(url, asset[0], {"Content-Type": asset[1]})


# A document in another language than English issued bilingually: the whole of it in that language, then
# the whole of it again in English (agendas/README.md, [documents] bilingual).
BILINGUAL = "bilingual"
# The context key that says which language a document is in (a code of i18n.LANGUAGES; English if absent).
# Documents are rendered in render processes (pool.py), where no request's language exists: the caller
# names the reader's language in the context, and render_html() renders in it.
LANGUAGE = "document_language"


def _day(value: date | str | None) -> date | None:
    # Frozen minutes hold dates as ISO strings (JSON); the record itself holds dates.
    return date.fromisoformat(value) if isinstance(value, str) and value else value or None


def long_date(value: date | str | None) -> str:
    return i18n.format_date(_day(value), "long")


def short_date(value: date | str | None) -> str:
    return i18n.format_date(_day(value), "numeric")


# The words for the codes documents print, in the document's language.
CASE_KINDS = {"new": lazy_gettext("new"), "repeat": lazy_gettext("repeat"), "transfer": lazy_gettext("transfer in")}
STAGES = {
    "presentation": lazy_gettext("Referrer's presentation"),
    "agency_information": lazy_gettext("Agency information"),
    "victim_views": lazy_gettext("Victim's views"),
    "risk_summary": lazy_gettext("Risk summary"),
    "discussion": lazy_gettext("Discussion"),
}
STATUSES = {
    "open": lazy_gettext("open"),
    "in_progress": lazy_gettext("in progress"),
    "done": lazy_gettext("done"),
    "not_possible_changed_circumstances": lazy_gettext("not possible changed circumstances"),
    "not_done_by_agency": lazy_gettext("not done by agency"),
}
OUTCOMES = {"heard": lazy_gettext("heard"), "deferred": lazy_gettext("deferred")}
RESEARCH = {"not known": lazy_gettext("Not known"), "not returned": lazy_gettext("Not returned")}
RISK_LEVELS = {
    "standard": lazy_gettext("standard"),
    "low": lazy_gettext("low"),
    "medium": lazy_gettext("medium"),
    "high": lazy_gettext("high"),
}


def _word(words: dict[str, Any], value: str | None) -> str:
    if value is None:
        return ""
    return str(words[value]) if value in words else value.replace("_", " ")


def case_kind(value: str) -> str:
    return _word(CASE_KINDS, value)


def stage(value: str) -> str:
    return str(STAGES[value]) if value in STAGES else value.replace("_", " ").capitalize()


def status(value: str) -> str:
    return _word(STATUSES, value)


def outcome(value: str | None) -> str:
    return _word(OUTCOMES, value)


def risk_level(value: str | None) -> str:
    return _word(RISK_LEVELS, value)


def research_status(value: str) -> str:
    return _word(RESEARCH, value).capitalize()


CHANGE_KINDS = {
    "register": lazy_gettext("register"),
    "review": lazy_gettext("review of an outstanding action"),
    "decision": lazy_gettext("decision"),
    "any_other_business": lazy_gettext("any other business"),
}
CHANGE_HOW = {"added": lazy_gettext("added"), "changed": lazy_gettext("changed"), "removed": lazy_gettext("removed")}


def change_line(change: dict[str, Any]) -> str:
    """A correction since the approved minutes, "note (discussion) added", worded from its codes in the
    current language: in the minutes' list of changes and on the minutes page. A change kept before its
    codes were (no "kind") reads as it was written."""
    kind, detail = change.get("kind"), change.get("detail")
    if kind == "note":
        what = i18n.gettext("note (%(stage)s)") % {"stage": stage(str(detail)).lower()}
    elif kind == "action":
        what = i18n.gettext("action for %(agency)s") % {"agency": detail}
    else:
        what = str(CHANGE_KINDS[kind]) if kind in CHANGE_KINDS else change["what"]
    how = str(CHANGE_HOW[change["how"]]) if change["how"] in CHANGE_HOW else change["how"]
    return i18n.gettext("%(what)s %(how)s") % {"what": what, "how": how}


def page_words() -> tuple[str, str, str]:
    """ "Page N of M" in the current language, cut around its two numbers: pdf.css puts the page
    counters between the three parts (string-set), so the stylesheet stays the same in every language."""
    sentence = i18n.gettext("Page %(page)s of %(pages)s")
    before, _, rest = sentence.partition("%(page)s")
    between, _, after = rest.partition("%(pages)s")
    return before.strip(), between.strip(), after.strip()


def switch_language(code: str) -> str:
    """For base.html: what follows in the template is in `code`, until render_html() ends."""
    i18n.set_current(code)
    return ""


environment = Environment(
    autoescape=True,
    loader=FileSystemLoader(TEMPLATES_DIR),
    # A missing field is a bug in the caller, not an empty cell on a safeguarding document.
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
# Documents are in their reader's language: the caller renders inside i18n.use(agency.language).
i18n.install(environment)
environment.globals.update(
    localised=i18n.localised,
    language=i18n.current,
    html_lang=i18n.html_lang,
    page_words=page_words,
    switch_language=switch_language,
)
environment.filters.update(
    long_date=long_date,
    short_date=short_date,
    case_kind=case_kind,
    stage=stage,
    status=status,
    outcome=outcome,
    risk_level=risk_level,
    research_status=research_status,
    change_line=change_line,
    count=wording.count,
    plural=wording.plural,
)
# Labels from the type and instrument files, also for a conference's copy made before they had the Welsh.
environment.globals.update(localised=conference_types.localised, localised_word=conference_types.localised_word)


def render_html(template: str, context: dict[str, Any]) -> str:
    """The document in the language its context names (LANGUAGE), English if none. A bilingual one
    (BILINGUAL) is then said again in English by base.html, which switches language part-way."""
    with i18n.use(context.get(LANGUAGE)):
        return environment.get_template(template).render(context)


_stylesheets: list[CSS] = []
_font_config: list[FontConfiguration] = []


def font_config() -> FontConfiguration:
    """The fonts of every render in this process: the host's, plus the stylesheet's
    @font-face fonts (ours, from ASSETS), which are the only ones pdf.css asks for."""
    if not _font_config:
        _font_config.append(FontConfiguration())
    return _font_config[0]


def stylesheets() -> list[CSS]:
    if not _stylesheets:  # parsed once per process
        css, _ = ASSETS[STYLESHEET_URL]
        # The base URL only resolves the stylesheet's own relative url()s (its fonts) to
        # ASSETS keys; the fetcher still serves nothing else.
        _stylesheets.append(
            CSS(string=css.decode(), base_url=STYLESHEET_URL, url_fetcher=AssetFetcher(), font_config=font_config())
        )
    return _stylesheets


def _finish(document: Any, pdf: pydyf.PDF) -> None:
    # WeasyPrint writes its own name and version as Producer; say only who made it.
    pdf.info["Producer"] = pydyf.String(AUTHOR)


def _write(html: str, title: str, language: str | None = None) -> tuple[bytes, int]:
    try:
        document = HTML(string=html, url_fetcher=AssetFetcher()).render(
            stylesheets=stylesheets(), presentational_hints=False, font_config=font_config()
        )
        document.metadata = DocumentMetadata(
            title=title, authors=[AUTHOR], generator=AUTHOR, lang=i18n.html_lang(language or i18n.DEFAULT)
        )
        pdf = document.write_pdf(finisher=_finish)
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint; hand callers an ordinary one.
        raise RenderError(str(error)) from error.__cause__
    return pdf, len(document.pages)


def render_pdf(template: str, context: dict[str, Any], *, title: str) -> tuple[bytes, int]:
    """Render templates/pdf/<template> with `context`; returns the PDF and its page count.

    `title` goes into the PDF properties and must not identify anyone ("Research list",
    not a name). Nothing else from the HTML is copied into the metadata.
    """
    return _write(render_html(template, context), title, context.get(LANGUAGE))


def layout(
    template: str, context: dict[str, Any], *, title: str, part: tuple[int, int] | None = None
) -> tuple[bytes, int]:
    """render_pdf() with the footer (reference, page numbers, recipient) left blank, for
    stamp() to draw. `part` (index, count): only that part of split(), for join()."""
    html = render_html(template, {**context, "reference": None, "recipient": None})
    return _write(html if part is None else split(html, part[1])[part[0]], title, context.get(LANGUAGE))


# Where minutes may be cut: each case after the first starts a page of its own (pdf.css), so a
# part that starts with one is laid out alone exactly as on its pages of the whole. Autoescaping
# keeps user text from ever holding this markup.
PART_START = '<section class="case minutes-case">'
RUNNING_START, RUNNING_END = '<div class="running"', "</div>"


def split(html: str, count: int) -> list[str]:
    """A document of base.html cut into `count` documents before cases after the first, as even in
    length as those cuts allow: laid out apart (on several cores) and joined, they are the pages of
    `html` laid out whole (tests/test_documents.py compares them, pixel for pixel). Every part but
    the first repeats the hidden running block (the marking) and holds no heading."""
    pieces = html.split(PART_START)  # what comes before the first case, then each case
    if not 1 <= count <= len(pieces) - 1:
        raise ValueError(f"{len(pieces) - 1} cases cannot be laid out in {count} parts")
    running = pieces[0].index(RUNNING_START)
    head = pieces[0][: pieces[0].index(RUNNING_END, running) + len(RUNNING_END)]
    begins = [0, *itertools.accumulate(len(piece) + len(PART_START) for piece in pieces)]
    cuts: list[int] = []  # the pieces that begin the second part onwards
    for n in range(1, count):
        # Never before the first case, and leaving a case for each part after this one.
        possible = range(cuts[-1] + 1 if cuts else 2, len(pieces) - count + n + 1)
        cuts.append(min(possible, key=lambda i: abs(begins[i] - len(html) * n / count)))
    parts = []
    for begin, end in itertools.pairwise([0, *cuts, len(pieces)]):
        body = PART_START.join(pieces[begin:end])
        parts.append(body if begin == 0 else head + PART_START + body)
    return [part + "</body>\n</html>\n" for part in parts[:-1]] + parts[-1:]


def join(parts: list[bytes], *, title: str, language: str | None = None) -> tuple[bytes, int]:
    """layout() PDFs one after another as one document (laid out apart, on several cores), for
    stamp() to number and mark as a whole."""
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    writer.metadata = {"/Title": title, "/Author": AUTHOR, "/Creator": AUTHOR, "/Producer": AUTHOR}
    # The document's language, as _write() gives a document laid out whole (screen readers read it).
    writer._root_object[NameObject("/Lang")] = TextStringObject(i18n.html_lang(language or i18n.DEFAULT))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(writer.pages)


FOOTER, PAGE_NUMBER = NameObject("/MaracFooter"), NameObject("/MaracPageNumber")


def page_numbers(pages: int, language: str | None = None) -> bytes:
    """ "Page N of M" alone on M pages: no personal data, so one copy serves every recipient of that language."""
    return _write(render_html("page_numbers.html", {"pages": pages, LANGUAGE: language}), "", language)[0]


def _form(writer: PdfWriter, page: PageObject) -> IndirectObject:
    """A page of another PDF as a form XObject in `writer`, to draw over a page."""
    form = DecodedStreamObject()
    contents = page.get_contents()
    if contents is None:  # WeasyPrint draws something on every page it writes
        raise ValueError("a page without contents cannot be drawn over another")
    form.set_data(contents.get_data())
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): RectangleObject(page.mediabox),
            NameObject("/Resources"): page["/Resources"].clone(writer),
        }
    )
    # pypdf has no public way to add an indirect object; _add_object is what its own helpers use.
    return writer._add_object(form.flate_encode())


def _stream(writer: PdfWriter, data: bytes) -> IndirectObject:
    stream = DecodedStreamObject()
    stream.set_data(data)
    return writer._add_object(stream)


def stamp(
    shared: bytes,
    *,
    annex: bytes | None = None,
    numbers: bytes | None = None,
    reference: str,
    recipient: str,
    version: int,
    title: str,
    language: str | None = None,
) -> tuple[bytes, int]:
    """One recipient's document: a layout() PDF, then its own annex pages if any (laid out
    alone, also by layout()), with its footer and "Page N of M" drawn on every page.

    The footer is laid out by WeasyPrint alone on a page of the same geometry and drawn on
    each page as a form XObject, in an incremental update: the shared bytes are kept as they
    are and only new objects appended (about 10 ms, against 50 ms to rewrite the file). A
    copy holds the shared pages, this recipient's annex and footer, and nothing else.
    `numbers` is page_numbers() for the whole document, when the caller already has it. `language` is
    the document's (its context's LANGUAGE).
    """
    own = {"reference": reference, "recipient": recipient, "version": version, LANGUAGE: language}
    footer, _ = _write(render_html("footer.html", own), title, language)
    writer = PdfWriter(io.BytesIO(shared), incremental=True)
    if annex is not None:
        for page in PdfReader(io.BytesIO(annex)).pages:
            writer.add_page(page)
    numbered = PdfReader(io.BytesIO(numbers or page_numbers(len(writer.pages), language))).pages
    footer_form = _form(writer, PdfReader(io.BytesIO(footer)).pages[0])
    # The page's own drawing is wrapped in q/Q so the footer is drawn in default coordinates.
    save = _stream(writer, b"q\n")
    draw = _stream(writer, b"Q\nq " + FOOTER.encode() + b" Do Q\nq " + PAGE_NUMBER.encode() + b" Do Q\n")
    for page, number in zip(writer.pages, numbered, strict=True):
        contents = page.raw_get("/Contents")
        drawn = list(contents.get_object()) if isinstance(contents.get_object(), ArrayObject) else [contents]
        page[NameObject("/Contents")] = ArrayObject([save, *drawn, draw])
        # A new resources dictionary per page: WeasyPrint may share one between pages.
        resources = DictionaryObject(cast(DictionaryObject, page["/Resources"].get_object()))
        xobjects = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
        xobjects[FOOTER], xobjects[PAGE_NUMBER] = footer_form, _form(writer, number)
        resources[NameObject("/XObject")] = xobjects
        page[NameObject("/Resources")] = resources
    writer.metadata = {"/Title": title, "/Author": AUTHOR, "/Creator": AUTHOR, "/Producer": AUTHOR}
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), len(numbered)
