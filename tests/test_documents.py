"""Generated PDFs: marked on every page, inert user text, no fetching beyond our own
stylesheet, nothing identifying in the metadata, and stored files that cannot be swapped."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import io
import os
import re
import resource
import stat
import subprocess
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import date

import pytest
from jinja2 import ChoiceLoader, DictLoader
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.formatting_structure import boxes
from weasyprint.urls import FatalURLFetchingError, fetch

from bench.minutes_data import content as minutes_content
from marac import settings
from marac.agencies.models import Agency
from marac.documents import pool, render, store
from marac.documents.models import Document
from marac.meetings.models import Meeting
from marac.minutes.service import shared_views, view_for
from tests.builders import scheduled_meeting
from tests.pdfs import assert_only_the_bundled_font

REFERENCE = "MARAC-AG-20261124-3F9A-C21B"
RECIPIENT = "Northshire Police"
MARKING = "OFFICIAL-SENSITIVE"


def agenda_context(cases: int, **overrides) -> dict:
    listed = []
    for n in range(1, cases + 1):
        listed.append(
            {
                "label": f"Case {n}",
                "kind": ("new", "repeat", "transfer")[n % 3],
                "victim": {
                    "name": f"Victim Number{n}",
                    "date_of_birth": date(1990, 3, 14),
                    "address": f"Flat {n}, 1 High Street, Northshire NS1 1AA",
                },
                "perpetrators": [{"name": f"Perpetrator Number{n}", "date_of_birth": date(1985, 7, 1)}],
                "children": [{"name": f"Child Number{n}", "date_of_birth": None}] if n % 2 else [],
            }
        )
    context = {
        "conference_name": "Northshire DA MARAC",
        "meeting_date": date(2026, 11, 24),
        "cut_off": date(2026, 11, 17),
        "venue": None,
        "recipient": RECIPIENT,
        "reference": REFERENCE,
        "version": 2,
        "cases": listed,
    }
    context.update(overrides)
    return context


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def page_words(pdf: bytes) -> list[list[str]]:
    """Each page's words, sorted: a stamped footer is drawn after the page, and read as lines of its own."""
    return [sorted(text.split()) for text in page_texts(pdf)]


def squashed(text: str) -> str:
    # Wrapped lines (and words broken by overflow-wrap) come back with line breaks in them.
    return re.sub(r"\s+", "", text)


class RecordingHandler(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def do_GET(self) -> None:
        RecordingHandler.requests.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { color: red }")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[str]:
    """A local server that records every request: any request at all is a failure."""
    RecordingHandler.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RecordingHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def document_store(tmp_path) -> Iterator:
    real = settings.get()
    settings.override(settings.load({**os.environ, "MARAC_DOCUMENT_STORE": str(tmp_path / "documents")}))
    try:
        yield settings.get().document_store
    finally:
        settings.override(real)


@pytest.fixture
async def meeting(personas) -> AsyncIterator[Meeting]:
    yield await scheduled_meeting(date(2026, 11, 24))
    # Not in conftest's table list yet: remove ours so agencies (RESTRICT) can be deleted.
    await Document.all().delete()


@pytest.fixture(scope="module")
def rendered_pool() -> Iterator[None]:
    yield
    pool.shutdown()


# Every page ------------------------------------------------------------------------------


def test_every_page_carries_marking_reference_page_number_and_recipient():
    pdf, pages = render.render_pdf("agenda.html", agenda_context(40), title="Research list")
    texts = page_texts(pdf)
    assert pages == len(texts) >= 3
    for number, text in enumerate(texts, start=1):
        assert MARKING in text, number
        assert f"Page {number} of {pages}" in text, number
        assert REFERENCE in text, number
        assert f"For: {RECIPIENT}, version 2" in text, number


def test_a_table_longer_than_a_page_repeats_its_header():
    context = agenda_context(1)
    context["cases"][0]["children"] = [{"name": f"Child {n}", "date_of_birth": date(2015, 1, 1)} for n in range(90)]
    pdf, pages = render.render_pdf("agenda.html", context, title="Research list")
    with_rows = [text for text in page_texts(pdf) if re.search(r"Child \d+ ", text)]
    assert pages >= 3 and len(with_rows) >= 2
    for text in with_rows:
        assert "Role" in text and "Date of birth" in text


def test_long_words_wrap_inside_the_page():
    unbroken = "Averyveryverylongaddresswithoutanyspaces" * 8
    context = agenda_context(3)
    context["cases"][1]["victim"]["address"] = unbroken
    context["cases"][1]["victim"]["name"] = unbroken
    document = HTML(string=render.render_html("agenda.html", context), url_fetcher=render.AssetFetcher()).render(
        stylesheets=render.stylesheets(), font_config=render.font_config()
    )
    for page in document.pages:
        page_box = page._page_box
        right = page_box.margin_width() - page_box.margin_right
        for box in page_box.descendants():
            if isinstance(box, boxes.TextBox):
                assert box.position_x + box.width <= right + 0.5, box.text
    assert squashed(unbroken) in squashed(page_texts(document.write_pdf())[0])


def test_no_cases_says_so():
    pdf, _ = render.render_pdf("agenda.html", agenda_context(0), title="Research list")
    assert "No cases are listed for your agency" in page_texts(pdf)[0]


def test_a_missing_field_is_an_error_not_a_blank():
    context = agenda_context(1)
    del context["cases"][0]["victim"]["address"]
    with pytest.raises(Exception, match="address"):
        render.render_pdf("agenda.html", context, title="Research list")


# Shared layouts stamped per recipient ------------------------------------------------------


def same_pictures(tmp_path, first: bytes, second: bytes) -> None:
    """Every page of both PDFs rasterised (40 dpi, grey): the same pixels, page for page."""
    counts = []
    for name, pdf in (("first", first), ("second", second)):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", "40", "-gray", tmp_path / f"{name}.pdf", tmp_path / name], check=True)
        counts.append(sorted(p.name.removeprefix(name) for p in tmp_path.glob(f"{name}-*.pgm")))
    assert counts[0] == counts[1]
    for suffix in counts[0]:
        assert (tmp_path / f"first{suffix}").read_bytes() == (tmp_path / f"second{suffix}").read_bytes(), suffix


def laid_out(template: str, context: dict, parts: int) -> bytes:
    """A shared layout as render_shared makes it: whole, or in parts joined."""
    if parts == 1:
        return render.layout(template, context, title="MARAC minutes")[0]
    laid = [render.layout(template, context, title="MARAC minutes", part=(n, parts))[0] for n in range(parts)]
    return render.join(laid, title="MARAC minutes")[0]


@pytest.mark.parametrize("parts", [1, 3])
@pytest.mark.parametrize("restricted", [False, True])
def test_a_stamped_copy_of_a_shared_layout_is_the_document_rendered_alone(tmp_path, restricted, parts):
    """Laid out whole or in parts (cut before cases, laid out apart and joined), then stamped: the
    same pages, page breaks, text and pixels as the document rendered alone."""
    frozen = minutes_content(cases=5, restricted_to=("agency-05",))
    view = {**view_for(frozen, "agency-05", "full"), "version": 3}
    annex = {"restricted": view["restricted"]}
    assert annex["restricted"]  # the content names agency-05 in a restricted note
    shared = laid_out("minutes.html", {**view, "restricted": []}, parts)
    assert all(RECIPIENT not in text and "For:" not in text and "Page" not in text for text in page_texts(shared))
    extra = (
        render.layout("minutes_restricted.html", {**view, **annex}, title="MARAC minutes")[0] if restricted else None
    )
    stamped, pages = render.stamp(
        shared, annex=extra, reference=REFERENCE, recipient=RECIPIENT, version=3, title="MARAC minutes"
    )
    alone, alone_pages = render.render_pdf(
        "minutes.html",
        {
            **view,
            "restricted": annex["restricted"] if restricted else [],
            "reference": REFERENCE,
            "recipient": RECIPIENT,
        },
        title="MARAC minutes",
    )
    texts = page_texts(stamped)
    assert pages == alone_pages == len(texts) >= 6
    assert page_words(stamped) == page_words(alone)  # the same page breaks
    assert ("Restricted information for your agency" in texts[-1]) == restricted
    for number, text in enumerate(texts, start=1):
        assert MARKING in text and f"Page {number} of {pages}" in text, number
        assert REFERENCE in text and f"For: {RECIPIENT}, version 3" in text, number
    same_pictures(tmp_path, stamped, alone)  # drawn exactly where a document rendered alone has it
    metadata = PdfReader(io.BytesIO(stamped)).metadata
    assert dict(metadata) == {"/Title": "MARAC minutes", "/Author": "MARAC", "/Creator": "MARAC", "/Producer": "MARAC"}


def test_each_case_after_the_first_starts_a_page():
    frozen = minutes_content(cases=4)
    context = {**view_for(frozen, "agency-05", "full"), "version": 1, "reference": REFERENCE, "recipient": RECIPIENT}
    texts = page_texts(render.render_pdf("minutes.html", context, title="MARAC minutes")[0])
    labels = [case["label"] for case in frozen["cases"]]
    starts = [next(n for n, text in enumerate(texts) if label in text) for label in labels]
    assert "Cases" in texts[starts[0]] and "Attendance" in texts[0]  # the first follows its heading
    for label, page in zip(labels[1:], starts[1:], strict=True):
        # The page's own text begins with the case (after the marking the page carries first).
        assert texts[page].removeprefix(MARKING).lstrip().startswith(label), label
        assert not any(label in text for text in texts[:page]), label
    assert len(set(starts)) == len(starts)


def test_a_layout_is_cut_only_before_a_case_after_the_first():
    frozen = minutes_content(cases=3)
    html = render.render_html(
        "minutes.html", {**view_for(frozen, "agency-05", "full"), "version": 1, "reference": None, "recipient": None}
    )
    first, *others = parts = render.split(html, 3)
    assert "<h1>" in first and "Attendance" in first and frozen["cases"][0]["label"] in first
    for part, case in zip(others, frozen["cases"][1:], strict=True):
        assert "<h1>" not in part and "Attendance" not in part
        assert part.count(render.PART_START) == 1 and case["label"] in part
        assert part.count('<div class="running"') == 1  # the marking, on every page of the part
    assert "Any other business" in parts[-1] and all("Any other business" not in part for part in parts[:-1])
    assert render.split(html, 1) == [html]
    for count in (0, 4):  # never more parts than cases: the first case stays with its heading
        with pytest.raises(ValueError, match="3 cases"):
            render.split(html, count)


# One bundled font, whatever the host has ----------------------------------------------------

WELSH = "Llŷr ap Gwŵyn, Tŷ Ŵyn, Ŷnys"


def welsh_research_list() -> dict:
    context = agenda_context(3)
    context["cases"][0]["victim"]["name"] = WELSH
    return context


def welsh_minutes() -> dict:
    frozen = minutes_content(cases=3, restricted_to=("agency-05",))
    frozen["venue"] = WELSH
    return {**view_for(frozen, "agency-05", "full"), "version": 1, "reference": REFERENCE, "recipient": RECIPIENT}


def test_every_document_embeds_only_the_bundled_font():
    minutes = welsh_minutes()
    shared, _ = render.layout("minutes.html", {**minutes, "restricted": []}, title="MARAC minutes")
    annex, _ = render.layout("minutes_restricted.html", minutes, title="MARAC minutes")
    documents = {
        "research list": render.render_pdf("agenda.html", welsh_research_list(), title="Research list")[0],
        "minutes": render.render_pdf("minutes.html", minutes, title="MARAC minutes")[0],
        "stamped minutes": render.stamp(
            shared, annex=annex, reference=REFERENCE, recipient=RECIPIENT, version=1, title="MARAC minutes"
        )[0],
    }
    for pdf in documents.values():
        assert_only_the_bundled_font(pdf)
    # The quarterly report and subject access PDFs are checked where they are made
    # (tests/test_reports.py, tests/test_subject_access.py).


def test_the_fonts_are_served_from_memory_with_the_stylesheet():
    fonts = sorted(url.removeprefix(render.ASSETS_URL) for url in render.ASSETS if url.endswith(".ttf"))
    assert fonts == [f"fonts/LiberationSans-{style}.ttf" for style in ("Bold", "BoldItalic", "Italic", "Regular")]
    with fetch(render.AssetFetcher(), render.ASSETS_URL + "fonts/LiberationSans-Regular.ttf") as response:
        assert response.content_type == "font/ttf"
        assert response.read() == (render.ASSETS_DIR / "fonts" / "LiberationSans-Regular.ttf").read_bytes()
    with pytest.raises(FatalURLFetchingError):
        render.AssetFetcher().fetch(render.ASSETS_URL + "fonts/OFL.txt")


async def test_documents_render_the_same_on_a_host_with_no_fonts(tmp_path, monkeypatch):
    """Render processes whose fontconfig knows no font folder at all (FONTCONFIG_FILE is read
    when the process starts) make the same research list and minutes, pixel for pixel."""
    empty = tmp_path / "fonts.conf"
    empty.write_text('<?xml version="1.0"?>\n<fontconfig></fontconfig>\n')
    normal = {
        "research list": render.render_pdf("agenda.html", welsh_research_list(), title="Research list")[0],
        "minutes": render.render_pdf("minutes.html", welsh_minutes(), title="MARAC minutes")[0],
    }
    pool.shutdown()
    monkeypatch.setenv("FONTCONFIG_FILE", str(empty))
    try:
        bare = {
            "research list": (await pool.render("agenda.html", welsh_research_list(), title="Research list"))[0],
            "minutes": (await pool.render("minutes.html", welsh_minutes(), title="MARAC minutes"))[0],
        }
        # The same processes really have no fonts of their own to fall back on.
        assert await pool.run(_host_font_count) == 0
    finally:
        pool.shutdown()  # the next test's renders start with the host's fonts again
    for name, pdf in bare.items():
        text = "".join(page_texts(pdf))
        assert WELSH in text and "ŵ" in text and "ŷ" in text, name
        assert_only_the_bundled_font(pdf)
        (tmp_path / name).mkdir()
        same_pictures(tmp_path / name, pdf, normal[name])


def _host_font_count() -> int:
    """In a render process: the fonts its fontconfig finds on the host (ours are added later,
    as application fonts, to WeasyPrint's own configuration)."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = ffi.gc(fontconfig.FcInitLoadConfigAndFonts(), fontconfig.FcConfigDestroy)
    return fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem).nfont


# User text is inert, and nothing is fetched -------------------------------------------------


def test_user_text_is_shown_literally_and_nothing_is_fetched(http_server):
    hostile = {
        "victim": f'<img src="{http_server}/victim.png"> Jane',
        "address": '<link rel="stylesheet" href="file:///etc/passwd"> 1 High Street',
        "perpetrator": "</td></tr></table><style>body { display: none }</style>",
        "child": f"@import url({http_server}/x.css); * {{ color: red }}",
    }
    context = agenda_context(
        2,
        conference_name=f'<link rel="attachment" href="{http_server}/a.txt">MARAC',
        venue=f"<iframe src='{http_server}/v'></iframe>",
    )
    case = context["cases"][0]
    case["victim"]["name"], case["victim"]["address"] = hostile["victim"], hostile["address"]
    case["perpetrators"][0]["name"] = hostile["perpetrator"]
    case["children"] = [{"name": hostile["child"], "date_of_birth": None}]
    html = render.render_html("agenda.html", context)
    assert "<img" not in html and "<style>" not in html and "&lt;img" in html

    pdf, _ = render.render_pdf("agenda.html", context, title="Research list")
    text = squashed("".join(page_texts(pdf)))
    for value in hostile.values():
        assert squashed(value) in text
    assert "VictimNumber2" in text  # the second case still rendered: the markup broke nothing
    assert RecordingHandler.requests == []
    assert not PdfReader(io.BytesIO(pdf)).attachments


def test_a_template_that_asks_for_anything_else_fails_without_fetching(http_server, monkeypatch):
    # Templates are ours, but a mistake in one must stop the render, not reach out.
    for source in (
        f'<img src="{http_server}/logo.png">',
        f'<link rel="stylesheet" href="{http_server}/x.css">',
        '<link rel="stylesheet" href="file:///etc/passwd">',
        f"<style>@import url({http_server}/y.css);</style>",
    ):
        probe = {
            "probe.html": '{% extends "base.html" %}{% block title %}Probe{% endblock %}'
            "{% block content %}" + source + "{% endblock %}"
        }
        monkeypatch.setattr(render.environment, "loader", ChoiceLoader([DictLoader(probe), render.environment.loader]))
        with pytest.raises(render.RenderError):
            render.render_pdf(
                "probe.html", {"reference": REFERENCE, "recipient": RECIPIENT, "version": 1}, title="Probe"
            )
        monkeypatch.undo()
    assert RecordingHandler.requests == []


def test_a_template_cannot_attach_files(http_server, monkeypatch):
    # <link rel=attachment> would embed a file in the PDF; metadata (attachments included)
    # is never taken from the HTML, so it is not even fetched.
    probe = {
        "probe.html": '{% extends "base.html" %}{% block title %}Probe{% endblock %}{% block content %}'
        f'<link rel="attachment" href="{http_server}/a.txt">'
        '<link rel="attachment" href="pdf.css">{% endblock %}'
    }
    monkeypatch.setattr(render.environment, "loader", ChoiceLoader([DictLoader(probe), render.environment.loader]))
    pdf, _ = render.render_pdf(
        "probe.html", {"reference": REFERENCE, "recipient": RECIPIENT, "version": 1}, title="Probe"
    )
    assert not PdfReader(io.BytesIO(pdf)).attachments
    assert RecordingHandler.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://127.0.0.1:9/x.css",
        "https://example.org/pdf.css",
        "ftp://example.org/pdf.css",
        "data:text/css,body{color:red}",
        render.ASSETS_URL + "../base.html",
        render.ASSETS_URL + "%2e%2e/base.html",
        render.ASSETS_URL + "./pdf.css",
        render.ASSETS_URL + "pdf.css?x=1",
        render.ASSETS_URL + "pdf.css#x",
        render.ASSETS_URL + "missing.css",
        render.ASSETS_URL,
        "file://otherhost" + render.ASSETS_DIR.as_posix() + "/pdf.css",
        "//example.org/pdf.css",
        "pdf.css",
    ],
)
def test_the_fetcher_refuses_everything_but_our_assets_and_the_refusal_is_fatal(url):
    with pytest.raises(FatalURLFetchingError):
        render.AssetFetcher().fetch(url)
    # As WeasyPrint calls it: the refusal is not turned into a warning.
    with pytest.raises(FatalURLFetchingError):
        with fetch(render.AssetFetcher(), url):
            pass


def test_the_fetcher_serves_the_stylesheet_from_memory(tmp_path, monkeypatch):
    monkeypatch.setattr(render, "ASSETS_DIR", tmp_path)  # the disk is not read again
    with fetch(render.AssetFetcher(), render.STYLESHEET_URL) as response:
        assert response.content_type == "text/css"
        assert response.read() == (render.TEMPLATES_DIR / "assets" / "pdf.css").read_bytes()


# Metadata ----------------------------------------------------------------------------------


def test_metadata_has_the_given_title_and_nothing_identifying():
    context = agenda_context(3)
    context["cases"][0]["victim"]["name"] = "Zebedee Quartermaine"
    pdf, _ = render.render_pdf("agenda.html", context, title="Research list")
    reader = PdfReader(io.BytesIO(pdf))
    metadata = reader.metadata
    assert metadata.title == "Research list"
    assert metadata.author == "MARAC"
    assert metadata.creator == "MARAC" and metadata.producer == "MARAC"
    assert "Zebedee" not in repr(dict(metadata))
    assert RECIPIENT not in repr(dict(metadata))
    assert reader.xmp_metadata is None
    assert reader.outline == []  # no bookmarks: headings may name a case


# Store -------------------------------------------------------------------------------------


async def test_save_is_idempotent_private_and_checked_on_read(meeting, document_store):
    agency = await Agency.get(name=RECIPIENT)
    pdf, pages = render.render_pdf("agenda.html", agenda_context(2), title="Research list")
    reference = store.new_reference("agenda", meeting.date)
    first = await store.save("agenda", meeting.id, agency.id, 1, pdf, pages, reference=reference)
    again = await store.save("agenda", meeting.id, agency.id, 1, pdf + b"%again", pages, reference="other")
    assert again.id == first.id and again.reference == reference
    assert await Document.filter(meeting_id=meeting.id).count() == 1
    assert [p.name for p in document_store.iterdir()] == [first.file_name]

    path = document_store / first.file_name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first.sha256 == hashlib.sha256(pdf).hexdigest() and first.size == len(pdf) and first.pages == pages
    assert store.read(first) == pdf

    path.write_bytes(pdf.replace(b"%PDF", b"%PDX", 1))
    with pytest.raises(store.DocumentCorrupt):
        store.read(first)
    path.unlink()
    with pytest.raises(store.DocumentCorrupt):
        store.read(first)


async def test_a_new_version_is_a_new_row_and_file(meeting, document_store):
    agency = await Agency.get(name=RECIPIENT)
    one = await store.save("agenda", meeting.id, agency.id, 1, b"%PDF-1 one", 1, reference="R1")
    two = await store.save("agenda", meeting.id, agency.id, 2, b"%PDF-1 two", 1, reference="R2")
    assert one.file_name != two.file_name
    assert store.read(one) == b"%PDF-1 one" and store.read(two) == b"%PDF-1 two"


async def test_a_file_name_from_the_database_cannot_point_elsewhere(meeting, document_store):
    agency = await Agency.get(name=RECIPIENT)
    document = await store.save("agenda", meeting.id, agency.id, 1, b"%PDF-1", 1, reference="R1")
    document.file_name = "../../etc/passwd"
    with pytest.raises(store.DocumentCorrupt):
        store.read(document)


def test_references_name_kind_and_date_and_differ():
    first = store.new_reference("agenda", date(2026, 11, 24))
    assert re.fullmatch(r"MARAC-AG-20261124-[0-9A-F]{4}-[0-9A-F]{4}", first)
    assert store.new_reference("minutes", date(2026, 11, 24)).startswith("MARAC-MN-20261124-")
    assert len({store.new_reference("agenda", date(2026, 11, 24)) for _ in range(50)}) == 50


# Pool --------------------------------------------------------------------------------------


async def test_the_pool_renders_the_same_document(rendered_pool):
    context = agenda_context(30)
    _, expected = render.render_pdf("agenda.html", context, title="Research list")
    pdf, pages = await pool.render("agenda.html", context, title="Research list")
    assert pages == expected
    assert f"Page 1 of {pages}" in page_texts(pdf)[0]
    assert PdfReader(io.BytesIO(pdf)).metadata.title == "Research list"


async def test_minutes_laid_out_in_parts_give_every_agency_its_document_rendered_alone(
    rendered_pool, tmp_path, monkeypatch
):
    """render_shared as the minutes job calls it: the shared pages in as many parts as render
    processes (three here, whatever the machine), joined, each copy stamped; every agency's copy is
    its own document rendered alone, page for page and pixel for pixel."""
    monkeypatch.setattr(pool, "MAX_WORKERS", 3)
    laid: list[tuple[int, int] | None] = []
    run = pool.run

    async def watched(function, *args, **kwargs):
        if function is render.layout and args[0] == "minutes.html":
            laid.append(kwargs["part"])
        return await run(function, *args, **kwargs)

    monkeypatch.setattr(pool, "run", watched)
    frozen = minutes_content(cases=5, restricted_to=("agency-01",))
    agencies = [("agency-00", "full"), ("agency-01", "full"), ("agency-02", "full"), ("agency-15", "actions_only")]
    names = {agency_id: f"Agency {agency_id[-2:]}" for agency_id, _ in agencies}
    references = {agency_id: f"MARAC-MN-20261124-00{agency_id[-2:]}-0000" for agency_id, _ in agencies}
    groups = [
        (
            view,
            [pool.Recipient(agency_id, names[agency_id], references[agency_id], annex) for agency_id, annex in members],
        )
        for view, members in shared_views(frozen, 1, agencies)
    ]
    delivered: dict[str, tuple[bytes, int]] = {}

    async def deliver(recipient: pool.Recipient, pdf: bytes, pages: int) -> None:
        delivered[recipient.key] = pdf, pages

    await pool.render_shared(
        "minutes.html",
        groups,
        title="MARAC minutes",
        deliver=deliver,
        annex_template="minutes_restricted.html",
        in_parts=True,
    )
    assert sorted(laid) == [(0, 3), (1, 3), (2, 3)]  # the one shared layout, in three parts
    for agency_id, tier in agencies:
        own = {**view_for(frozen, agency_id, tier), "version": 1}
        alone, pages = render.render_pdf(
            "minutes.html",
            {**own, "reference": references[agency_id], "recipient": names[agency_id]},
            title="MARAC minutes",
        )
        pdf, delivered_pages = delivered[agency_id]
        assert delivered_pages == pages and page_words(pdf) == page_words(alone), agency_id
        (tmp_path / agency_id).mkdir()
        same_pictures(tmp_path / agency_id, pdf, alone)
    assert "Restricted information for your agency" in page_texts(delivered["agency-01"][0])[-1]


async def test_a_render_past_its_time_is_stopped_and_the_pool_carries_on(rendered_pool):
    real = settings.get()
    settings.override(dataclasses.replace(real, render_timeout_seconds=0.05))
    try:
        with pytest.raises(pool.RenderTimeout):
            await pool.render("agenda.html", agenda_context(300), title="Research list")
    finally:
        settings.override(real)
    _, pages = await pool.render("agenda.html", agenda_context(1), title="Research list")
    assert pages == 1


async def test_render_processes_cannot_grow_past_their_memory_limit(rendered_pool):
    pool.shutdown()  # the limit is set when a process starts
    real = settings.get()
    settings.override(dataclasses.replace(real, render_memory_mb=512))
    try:
        assert await pool.run(resource.getrlimit, resource.RLIMIT_AS) == (512 * 2**20, 512 * 2**20)
        with pytest.raises(MemoryError):
            await pool.run(bytearray, 600 * 2**20)
        _, pages = await pool.render("agenda.html", agenda_context(1), title="Research list")
        assert pages == 1
    finally:
        settings.override(real)
        pool.shutdown()


async def test_a_failed_render_in_the_pool_raises_and_the_pool_survives(rendered_pool):
    context = agenda_context(1)
    del context["cases"][0]["victim"]["address"]
    with pytest.raises(Exception, match="address"):
        await pool.render("agenda.html", context, title="Research list")
    # The pool survives a failed render.
    _, pages = await pool.render("agenda.html", agenda_context(1), title="Research list")
    assert pages == 1
