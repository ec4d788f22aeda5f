"""Documents in each agency's language (README, "Languages"): the admin sets it (API and page, audited),
research lists and minutes come out in it (headings, labels, marking, footer, dates; case text as
written), agencies share a layout only with the same view and the same language, and the bundled font
carries every Welsh letter."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pypdf
from fontTools.ttLib import TTFont

from bench.minutes_data import content as minutes_content
from marac.agencies.models import Agency
from marac.audit.models import AuditEvent
from marac.documents import render
from marac.jobs import queue, tasks
from marac.minutes.service import shared_views, view_for
from tests.builders import action, close, note, published_meeting
from tests.conftest import csrf_token, make_client, session_cookie_for
from tests.pdfs import assert_only_the_bundled_font
from tests.test_documents import RECIPIENT, REFERENCE, agenda_context, page_texts, same_pictures

WELSH_LETTERS = "ŵ ŷ Ŵ Ŷ â ê î ô û"


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


# -- the agency's language: API and admin page ---------------------------------------------------


async def test_an_admin_sets_an_agencys_document_language_and_it_is_audited(client, personas):
    agency_id = personas["health"].user.agency_id
    admin = personas["admin"].bearer
    answer = await client.patch(f"/api/v1/agencies/{agency_id}", json={"language": "cy"}, headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": agency_id, "name": "Northshire NHS Trust", "kind": "health", "language": "cy"}
    listed = await client.get("/api/v1/agencies", headers=personas["police"].bearer)
    assert {a["id"]: a["language"] for a in listed.json()["items"]}[agency_id] == "cy"
    assert await AuditEvent.filter(action="agency.language.en.cy", object_id=agency_id).count() == 1
    # The same again changes nothing and records nothing.
    assert (await client.patch(f"/api/v1/agencies/{agency_id}", json={"language": "cy"}, headers=admin)).json()[
        "language"
    ] == "cy"
    assert await AuditEvent.filter(action__startswith="agency.language", object_id=agency_id).count() == 1

    refused = await client.patch(f"/api/v1/agencies/{agency_id}", json={"language": "fr"}, headers=admin)
    assert refused.status_code == 422 and "language" in refused.json()["error"]["fields"]
    unknown_field = await client.patch(f"/api/v1/agencies/{agency_id}", json={"lang": "en"}, headers=admin)
    assert unknown_field.status_code == 422
    coordinator = personas["coordinator"].bearer
    assert (
        await client.patch(f"/api/v1/agencies/{agency_id}", json={"language": "en"}, headers=coordinator)
    ).status_code == 403
    assert (
        await client.patch("/api/v1/agencies/nosuchagency", json={"language": "en"}, headers=admin)
    ).status_code == 404
    assert (await Agency.get(id=agency_id)).language == "cy"

    created = await client.post(
        "/api/v1/agencies", json={"name": "Heddlu Dyfed-Powys", "kind": "police", "language": "cy"}, headers=admin
    )
    assert created.status_code == 201 and created.json()["language"] == "cy"
    plain = await client.post("/api/v1/agencies", json={"name": "Gwent Police", "kind": "police"}, headers=admin)
    assert plain.json()["language"] == "en"


async def test_the_agencies_page_in_welsh_sets_the_language_when_adding_and_changing(app, personas):
    agency_id = personas["idva"].user.agency_id
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["admin"]))
        page = await browser.get("/admin/agencies?lang=cy")
        assert page.status_code == 200 and '<html lang="cy"' in page.text
        assert '<h1 class="govuk-heading-l">Asiantaethau</h1>' in page.text
        assert "Iaith ei dogfennau" in page.text and "Gwasanaeth IDVA" in page.text
        assert 'lang="cy"' in page.text and ">Cymraeg</option>" in page.text
        token = await csrf_token(browser, "/admin/agencies")
        changed = await browser.post(
            f"/admin/agencies/{agency_id}/language", data={"language": "cy", "csrf_token": token}
        )
        assert changed.status_code == 303 and (await Agency.get(id=agency_id)).language == "cy"
        refused = await browser.post(
            f"/admin/agencies/{agency_id}/language", data={"language": "fr", "csrf_token": token}
        )
        assert refused.status_code == 400
        assert "Dewiswch iaith dogfennau&#39;r asiantaeth: English, Cymraeg" in refused.text
        assert f'href="#language-{agency_id}"' in refused.text
        assert (await Agency.get(id=agency_id)).language == "cy"
        added = await browser.post(
            "/admin/agencies",
            data={"name": "Cyngor Sir Ceredigion", "kind": "local_authority", "language": "cy", "csrf_token": token},
        )
        assert added.status_code == 303
        assert (await Agency.get(name="Cyngor Sir Ceredigion")).language == "cy"


# -- research lists and minutes in each agency's language ----------------------------------------


async def test_a_welsh_agencys_research_list_is_in_welsh_and_the_others_stay_english(client, personas):
    await Agency.filter(id=personas["health"].user.agency_id).update(language="cy")
    meeting = (await published_meeting(personas)).meeting
    await queue.drain()
    await tasks.render_agendas(meeting.id)
    welsh = await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["health"].bearer)
    english = await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["police"].bearer)
    assert welsh.status_code == english.status_code == 200
    cy, en = flat(text_of(welsh.content)), flat(text_of(english.content))
    day = meeting.date
    for words in ("Rhestr ymchwil", "SWYDDOGOL-SENSITIF", "Dyddiad geni", "Dioddefwr", "Cyflawnwr", "Tudalen 1 o 1"):
        assert words in cy, words
    assert "Tachwedd" in cy or "Rhagfyr" in cy or str(day.year) in cy
    assert "Ar gyfer: Northshire NHS Trust, fersiwn 1" in cy
    assert "Jane Doe" in cy  # what people wrote stays as written
    assert "Research list" not in cy and "OFFICIAL-SENSITIVE" not in cy and "Page 1" not in cy
    assert "Research list" in en and "OFFICIAL-SENSITIVE" in en and "Page 1 of 1" in en and "Rhestr" not in en
    assert pypdf.PdfReader(io.BytesIO(welsh.content)).pdf_header  # a PDF, read back


async def test_welsh_minutes_for_a_welsh_agency_english_for_the_others(client, personas):
    await Agency.filter(id__in=[personas[k].user.agency_id for k in ("health", "childrens")]).update(language="cy")
    world = await published_meeting(personas)
    await note(personas, world.meeting, world.case_id, "Mae'r dioddefwr yn byw yn Nhŷ'r Ŵyn; CANARYNOTE", "all")
    await action(personas, world.meeting, world.case_id, "Ymweld â'r teulu CANARYACTION", owner="childrens")
    meeting = (await close(personas, world)).meeting
    from tests.test_minutes import render_all

    await render_all(client, personas, meeting)
    texts = {}
    for persona in ("health", "police", "childrens"):
        answer = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        assert answer.status_code == 200, persona
        texts[persona] = flat(text_of(answer.content))
    cy, en, actions_only = texts["health"], texts["police"], texts["childrens"]
    for words in ("Cofnodion", "SWYDDOGOL-SENSITIF", "Presenoldeb", "Achosion", "Unrhyw fater arall", "Tudalen 1 o"):
        assert words in cy, words
    assert "Ar gyfer: Northshire NHS Trust, fersiwn 1" in cy
    assert "Mae'r wybodaeth a rennir yn y MARAC hwn yn gyfrinachol." in cy  # the type's Welsh statement
    assert "Information shared at this MARAC is confidential." in en
    assert "Mae'r dioddefwr yn byw yn Nhŷ'r Ŵyn; CANARYNOTE" in cy  # the note as written
    assert "Attendance" not in cy and "Minutes" not in cy and "OFFICIAL-SENSITIVE" not in cy
    assert "Attendance" in en and "Page 1 of" in en and "Presenoldeb" not in en and "CANARYNOTE" in en
    assert "Camau gweithredu i'ch asiantaeth" in actions_only and "CANARYACTION" in actions_only
    assert "CANARYNOTE" not in actions_only


async def test_the_draft_preview_of_a_welsh_agency_is_marked_draft_in_welsh(client, personas):
    await Agency.filter(id=personas["health"].user.agency_id).update(language="cy")
    world = await published_meeting(personas)
    meeting = (await close(personas, world)).meeting
    answer = await client.get(
        f"/api/v1/meetings/{meeting.id}/minutes/preview.pdf?agency_id={personas['health'].user.agency_id}",
        headers=personas["coordinator"].bearer,
    )
    assert answer.status_code == 200
    pages = page_texts(answer.content)
    assert all("DRAFFT – HEB EI GYMERADWYO – SWYDDOGOL-SENSITIF" in flat(page) for page in pages)


def test_agencies_share_a_layout_only_with_the_same_view_and_language():
    frozen = minutes_content(cases=3)
    recipients = [(f"agency-{n:02}", "full") for n in range(1, 7)] + [("agency-07", "actions_only")]
    languages = {"agency-02": "cy", "agency-04": "cy", "agency-07": "cy"}
    groups = shared_views(frozen, 1, recipients, languages)
    members = sorted(sorted(agency for agency, _annex in group) for _view, group in groups)
    assert ["agency-02", "agency-04"] in members and ["agency-01", "agency-03", "agency-05", "agency-06"] in members
    assert {view[render.LANGUAGE] for view, group in groups if group[0][0] == "agency-02"} == {"cy"}
    # Without languages every agency is English, and the full-tier agencies share one layout.
    assert len(shared_views(frozen, 1, recipients)) == 2


def test_a_stamped_welsh_layout_is_the_welsh_document_rendered_alone(tmp_path):
    frozen = minutes_content(cases=5, restricted_to=("agency-05",))
    view = {**view_for(frozen, "agency-05", "full", "cy"), "version": 3}
    annex = {"restricted": view["restricted"]}
    shared, _ = render.layout("minutes.html", {**view, "restricted": []}, title="MARAC minutes")
    extra, _ = render.layout("minutes_restricted.html", {**view, **annex}, title="MARAC minutes")
    stamped, pages = render.stamp(
        shared, annex=extra, reference=REFERENCE, recipient=RECIPIENT, version=3, title="MARAC minutes", language="cy"
    )
    alone, alone_pages = render.render_pdf(
        "minutes.html", {**view, "reference": REFERENCE, "recipient": RECIPIENT}, title="MARAC minutes"
    )
    texts = page_texts(stamped)
    assert pages == alone_pages == len(texts) >= 3
    assert "Gwybodaeth gyfyngedig i'ch asiantaeth" in texts[-1]
    for number, text in enumerate(texts, start=1):
        assert "SWYDDOGOL-SENSITIF" in text and f"Tudalen {number} o {pages}" in text, number
        assert REFERENCE in text and f"Ar gyfer: {RECIPIENT}, fersiwn 3" in text, number
    same_pictures(tmp_path, stamped, alone)


# -- the font carries Welsh ---------------------------------------------------------------------


def test_welsh_letters_are_printed_in_the_bundled_font_and_read_back():
    context = agenda_context(1, document_language="cy", venue=f"Neuadd y Sir, {WELSH_LETTERS}")
    context["cases"][0]["victim"]["name"] = "Llŷr ap Gwŵyn"
    pdf, _ = render.render_pdf("agenda.html", context, title="Research list")
    text = text_of(pdf)
    assert WELSH_LETTERS in text and "Llŷr ap Gwŵyn" in text and "Rhestr ymchwil" in text
    assert_only_the_bundled_font(pdf)
    letters = set(WELSH_LETTERS.replace(" ", ""))
    for path in sorted(Path(render.ASSETS_DIR, "fonts").glob("*.ttf")):  # every style we ship
        cmap = TTFont(path).getBestCmap()
        assert not [c for c in letters if ord(c) not in cmap], path.name
    # The regular font embedded in the document maps each letter to a glyph of its own, not .notdef.
    regular = [
        font.get_object()
        for font in pypdf.PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"].values()
        if str(font.get_object()["/BaseFont"]).endswith("+MARAC-Liberation-Sans")
    ]
    descriptor = regular[0]["/DescendantFonts"][0].get_object()["/FontDescriptor"].get_object()
    cmap = TTFont(io.BytesIO(descriptor["/FontFile2"].get_data())).getBestCmap()
    assert all(cmap.get(ord(c), ".notdef") != ".notdef" for c in letters), cmap


# -- bilingual documents --------------------------------------------------------------------------


def test_a_type_file_may_ask_for_bilingual_documents(tmp_path):
    import shutil

    from marac.conference_types import AGENDAS_DIR, bilingual, load_types

    shutil.copytree(AGENDAS_DIR, tmp_path / "agendas")
    path = tmp_path / "agendas" / "domestic-abuse.toml"
    path.write_text(path.read_text() + "\n[documents]\nbilingual = true\n")
    types = load_types(tmp_path / "agendas")
    assert bilingual(types["domestic-abuse"]) and not bilingual(types["hate-crime"])
    assert not bilingual({})  # a conference created before the key existed


async def bilingual_conference() -> None:
    from marac.agencies.models import Conference
    from tests.conftest import CONFERENCE

    conference = await Conference.get(slug=CONFERENCE)
    conference.type_settings = {
        **conference.type_settings,
        "documents": {"bilingual": True},
        "confidentiality_statement_cy": "Mae'r wybodaeth a rennir yn y MARAC hwn yn gyfrinachol.",
    }
    await conference.save()


async def test_a_bilingual_conference_issues_a_welsh_agencys_documents_in_welsh_then_english(client, personas):
    await bilingual_conference()
    await Agency.filter(id=personas["health"].user.agency_id).update(language="cy")
    world = await published_meeting(personas)
    await queue.drain()
    await tasks.render_agendas(world.meeting.id)
    listed = await client.get(f"/api/v1/meetings/{world.meeting.id}/agenda.pdf", headers=personas["health"].bearer)
    pages = [flat(page) for page in page_texts(listed.content)]
    assert "Rhestr ymchwil" in pages[0] and "Research list" in pages[-1] and len(pages) == 2
    assert all("SWYDDOGOL-SENSITIF" in page and "Ar gyfer: Northshire NHS Trust" in page for page in pages)
    english = await client.get(f"/api/v1/meetings/{world.meeting.id}/agenda.pdf", headers=personas["police"].bearer)
    assert "Rhestr" not in text_of(english.content)  # English-language agencies: English only

    await note(personas, world.meeting, world.case_id, "CANARYHEALTH for health only", "restricted", ("health",))
    meeting = (await close(personas, world)).meeting
    from tests.test_minutes import render_all

    await render_all(client, personas, meeting)
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["health"].bearer)
    whole = flat(text_of(answer.content))
    welsh, english_part = whole.index("Presenoldeb"), whole.index("Attendance")
    assert welsh < english_part < whole.index("Gwybodaeth gyfyngedig") < whole.index("Restricted information")
    assert "Mae'r wybodaeth a rennir yn y MARAC hwn yn gyfrinachol." in whole[:english_part]
    assert whole.count("CANARYHEALTH") == 2  # the restricted note, once under each language's heading


def test_a_stamped_bilingual_layout_is_the_bilingual_document_rendered_alone(tmp_path):
    frozen = minutes_content(cases=3, restricted_to=("agency-05",))
    view = {**view_for(frozen, "agency-05", "full", "cy", bilingual=True), "version": 2}
    annex = {"restricted": view["restricted"]}
    shared, _ = render.layout("minutes.html", {**view, "restricted": []}, title="MARAC minutes")
    extra, _ = render.layout("minutes_restricted.html", {**view, **annex}, title="MARAC minutes")
    stamped, pages = render.stamp(
        shared, annex=extra, reference=REFERENCE, recipient=RECIPIENT, version=2, title="MARAC minutes", language="cy"
    )
    alone, alone_pages = render.render_pdf(
        "minutes.html", {**view, "reference": REFERENCE, "recipient": RECIPIENT}, title="MARAC minutes"
    )
    texts = page_texts(stamped)
    assert pages == alone_pages == len(texts)
    assert "Restricted information for your agency" in texts[-1]
    same_pictures(tmp_path, stamped, alone)
