"""HTML templates to PDF bytes, with no way out to the network or the file system.

The rules, because these documents carry personal data about people at high risk:
- user text is only ever data in an autoescaped Jinja2 template, so it cannot become
  markup or CSS; the stylesheet is a static file (templates/pdf/assets/pdf.css);
- WeasyPrint fetches through AssetFetcher, which serves files inside
  templates/pdf/assets/ and refuses everything else (http, https, ftp, data:, file: URLs
  outside that folder, any ".." or query), and a refusal stops the render;
- the PDF's metadata is set here from the caller's non-identifying title, never read
  from the HTML, so no name can reach the document properties.

Synchronous and CPU-bound: call it through pool.render(), never on an event loop.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import pydyf
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from weasyprint import HTML
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from marac.settings import PROJECT_DIR

TEMPLATES_DIR = PROJECT_DIR / "templates" / "pdf"
ASSETS_DIR = (TEMPLATES_DIR / "assets").resolve()
# base.html links "pdf.css" relative to this, so the stylesheet goes through the fetcher.
ASSETS_URL = ASSETS_DIR.as_uri() + "/"
CONTENT_TYPES = {".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
AUTHOR = "MARAC"


class RenderError(Exception):
    """A document could not be rendered (for example, its template asked for a refused URL)."""


class RefusedURL(ValueError):
    """The PDF renderer asked for something outside templates/pdf/assets/."""


def asset_path(url: str) -> Path:
    """The file a URL names, if and only if it is a file inside the assets folder."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        raise RefusedURL(f"refused URL: {url[:200]!r}")
    raw = unquote(parts.path)
    # Refused outright, not just normalised away: a template never needs them.
    if "\x00" in raw or any(segment in ("..", ".") for segment in raw.split("/")):
        raise RefusedURL(f"refused URL: {url[:200]!r}")
    try:
        # strict: the file must exist; resolve() follows symlinks, so a link pointing
        # out of the folder is judged by where it leads.
        path = Path(url2pathname(parts.path)).resolve(strict=True)
    except (OSError, RuntimeError) as error:
        raise RefusedURL(f"refused URL: {url[:200]!r}") from error
    if not path.is_relative_to(ASSETS_DIR) or not path.is_file() or path.suffix not in CONTENT_TYPES:
        raise RefusedURL(f"refused URL: {url[:200]!r}")
    return path


class AssetFetcher(URLFetcher):
    # WeasyPrint 70 calls fetcher(url) -> fetch(url); open() also lands in fetch(). The
    # urllib handlers the base class registers are never reached, because fetch() never
    # calls super(). fail_on_errors turns our refusal into FatalURLFetchingError, which
    # stops the render instead of logging a warning and carrying on.
    def __init__(self) -> None:
        super().__init__(allowed_protocols=("file",), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict[str, str] | None = None) -> URLFetcherResponse:
        path = asset_path(url)
        return URLFetcherResponse(path.as_uri(), path.read_bytes(), {"Content-Type": CONTENT_TYPES[path.suffix]})


def long_date(value: date | None) -> str:
    return f"{value.day} {value:%B %Y}" if value else ""


def short_date(value: date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else ""


CASE_KINDS = {"new": "new", "repeat": "repeat", "transfer": "transfer in"}


def case_kind(value: str) -> str:
    return CASE_KINDS[value]


environment = Environment(
    autoescape=True,
    loader=FileSystemLoader(TEMPLATES_DIR),
    # A missing field is a bug in the caller, not an empty cell on a safeguarding document.
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters.update(long_date=long_date, short_date=short_date, case_kind=case_kind)


def render_html(template: str, context: dict[str, Any]) -> str:
    return environment.get_template(template).render(context)


def _finish(document: Any, pdf: pydyf.PDF) -> None:
    # WeasyPrint writes its own name and version as Producer; say only who made it.
    pdf.info["Producer"] = pydyf.String(AUTHOR)


def render_pdf(template: str, context: dict[str, Any], *, title: str) -> tuple[bytes, int]:
    """Render templates/pdf/<template> with `context`; returns the PDF and its page count.

    `title` goes into the PDF properties and must not identify anyone ("Research list",
    not a name). Nothing else from the HTML is copied into the metadata.
    """
    html = render_html(template, context)
    try:
        document = HTML(string=html, base_url=ASSETS_URL, url_fetcher=AssetFetcher()).render()
        document.metadata = DocumentMetadata(title=title, authors=[AUTHOR], generator=AUTHOR, lang="en-GB")
        pdf = document.write_pdf(finisher=_finish)
    except FatalURLFetchingError as error:
        # A BaseException in WeasyPrint; hand callers an ordinary one.
        raise RenderError(f"{template}: {error}") from error.__cause__
    return pdf, len(document.pages)
