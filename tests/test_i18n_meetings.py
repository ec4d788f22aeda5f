"""The meeting in Welsh (README, "Languages"): the coordinator's meeting page, the chair's run and
case pages and the chair's preparation read in Welsh, with Welsh dates, Welsh plurals and Welsh
form errors, from the real pages on a real database; English stays the default."""

from __future__ import annotations

import html
import io
import re

import httpx
import pypdf

from marac import i18n
from marac.documents.render import change_line
from marac.jobs import queue, tasks
from marac.meetings.models import ChairPack, Meeting
from tests.builders import held_meeting_with_minutes, note, published_meeting, reload
from tests.conftest import make_client, session_cookie_for
from tests.flows import page_post

WELSH_MONTHS = ("Ionawr", "Chwefror", "Mawrth", "Ebrill", "Mai", "Mehefin", "Gorffennaf", "Awst", "Medi",
                "Hydref", "Tachwedd", "Rhagfyr")  # fmt: skip


async def signed_in(app, persona) -> httpx.AsyncClient:
    client = make_client(app)
    client.cookies.update(await session_cookie_for(persona))
    return client


def welsh(meeting: Meeting, form: str = "long") -> str:
    with i18n.use("cy"):
        return i18n.format_date(meeting.date, form)


def cy(message: str) -> str:
    """The catalogue's Welsh for a string the meeting pages share with others."""
    with i18n.use("cy"):
        translated = i18n.gettext(message)
    assert translated != message, message
    return translated


def text_of(page: httpx.Response) -> str:
    return html.unescape(page.text)


async def test_the_coordinator_reads_the_meeting_page_in_welsh(app, personas):
    world = await published_meeting(personas, cases=2)
    meeting = world.meeting
    day = welsh(meeting, "full")  # "Dydd Mawrth, 24 Tachwedd 2026"
    assert day.startswith("Dydd ") and any(month in day for month in WELSH_MONTHS)
    async with await signed_in(app, personas["coordinator"]) as coordinator:
        page = await coordinator.get(f"/meetings/{meeting.id}?lang=cy")
        english = await coordinator.get(f"/meetings/{meeting.id}?lang=en")
    assert page.status_code == 200 and '<html lang="cy"' in page.text
    shown = text_of(page)
    assert f"Cyfarfod {day}</h1>" in shown
    # "Cyfarfod" is masculine: a meeting is "Wedi'i gyhoeddi", where an agenda is "Wedi'i chyhoeddi".
    with i18n.use("cy"):
        published = i18n.pgettext("meeting", "Published")
    assert published == "Wedi'i gyhoeddi" and f'<dd class="govuk-summary-list__value">{published}</dd>' in shown
    assert f">{cy('Research progress')}</h2>" in shown and f">{cy('Referral cut-off')}</dt>" in shown
    assert "Paratoadau'r cadeirydd: risg, hanes, ymchwil a barn y dioddefwr" in shown
    assert 'aria-label="Y cyfarfod hwn"' in shown and ">Cynnal y cyfarfod</a>" in shown
    assert "Research progress" not in shown and "Referral cut-off" not in shown
    # The same page in English, as before.
    assert "Research progress" in english.text and "Cynnydd yr ymchwil" not in english.text


async def test_an_agency_sees_its_research_form_and_its_error_in_welsh(app, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    async with await signed_in(app, personas["health"]) as health:
        await health.get(f"/meetings/{meeting.id}?lang=cy")
        refused = await page_post(
            health, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/cases/{case_id}/research", {"summary": "x"}
        )
    assert refused.status_code == 400
    shown = text_of(refused)
    assert "Mae problem wedi codi" in shown
    assert "Dywedwch a yw eich asiantaeth yn adnabod y bobl hyn" in shown
    assert "Ydy eich asiantaeth yn adnabod y bobl hyn?" in shown and ">Cadw'r ymchwil</button>" in shown
    assert "Say whether your agency knows these people" not in shown


async def test_the_chair_runs_the_meeting_in_welsh_and_closing_too_soon_says_so_in_welsh(app, personas):
    world = await published_meeting(personas, cases=2)
    meeting = world.meeting
    run = f"/meetings/{meeting.id}/run"
    async with await signed_in(app, personas["chair"]) as chair:
        page = await chair.get(f"{run}?lang=cy")
        refused = await page_post(chair, run, f"/meetings/{meeting.id}/close", {})
    assert page.status_code == 200 and '<html lang="cy"' in page.text
    shown = text_of(page)
    assert ">Cynnal y cyfarfod</h1>" in shown
    assert f", {welsh(meeting)}</a></span>" in shown  # the caption's date: "24 Tachwedd 2026"
    for heading in ("1. Datganiad cyfrinachedd", "2. Presenoldeb", "4. Achosion", "5. Unrhyw fater arall"):
        assert f">{heading}</h2>" in shown
    assert ">Cadw'r gofrestr</button>" in shown and 'aria-label="Yn bresennol"' in shown
    assert ">Ddim eto</td>" in shown  # no decision yet
    # Two cases undecided: the Welsh message counts them (six plural forms, the noun singular).
    assert refused.status_code == 409
    message = text_of(refused)
    assert "Nid oes penderfyniad eto ar 2 achos (" in message
    assert "nodwch fod pob un wedi'i glywed neu wedi'i ohirio" in message
    assert "no decision yet" not in message


async def test_the_case_page_in_welsh_times_the_case_and_refuses_an_action_in_welsh(app, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    page_url = f"/meetings/{meeting.id}/cases/{case_id}"
    async with await signed_in(app, personas["chair"]) as chair:
        page = await chair.get(f"{page_url}?lang=cy")
        refused = await page_post(
            chair,
            page_url,
            f"{page_url}/actions",
            {"owner_agency_id": personas["health"].user.agency_id, "description": " ", "due_date": ""},
        )
        english = await chair.get(f"{page_url}?lang=en")
    shown = text_of(page)
    assert page.status_code == 200 and '<html lang="cy"' in page.text
    # GOV.UK's live character count is given its words in each of Welsh's six plural forms.
    for category in ("zero", "one", "two", "few", "many", "other"):
        assert f'data-i18n.characters-under-limit.{category}="Mae gennych %{{count}} nod yn weddill"' in shown
    assert 'data-i18n.characters-under-limit.one="You have %{count} character remaining"' in text_of(english)
    assert 'data-i18n.characters-over-limit.other="You have %{count} characters too many"' in text_of(english)
    assert re.search(r"Amser: \d+ o 10 munud", shown), "the case's time, with Welsh's plural"
    assert ">Nodiadau</h2>" in shown and ">Camau gweithredu</h2>" in shown and ">Penderfyniad</h2>" in shown
    assert "Cyflwyniad yr atgyfeiriwr</option>" in shown  # the stages of the discussion
    assert "Er enghraifft, 21/11/2026; gadewch yn wag ar gyfer " in shown
    # The action form's error, in Welsh, in the summary and at the field; what was chosen is kept.
    assert refused.status_code == 400
    error = text_of(refused)
    assert "Mae problem wedi codi" in error
    assert error.count("Dywedwch yn benodol pwy fydd yn gwneud beth, ac erbyn pryd") == 2
    assert "Say specifically who will do what" not in error
    assert re.search(r"Time: \d+ of 10 minutes", english.text) and "Amser:" not in english.text


async def test_the_chairs_preparation_counts_cases_in_welsh(app, personas):
    world = await published_meeting(personas, cases=2)
    meeting = world.meeting
    async with await signed_in(app, personas["chair"]) as chair:
        page = await chair.get(f"/meetings/{meeting.id}/preparation?lang=cy")
    assert page.status_code == 200
    shown = text_of(page)
    assert ">Paratoadau'r cadeirydd</h1>" in shown
    assert (
        "Ar gyfer y cadeirydd a'r cydlynydd yn unig. 2 achos yn nhrefn yr agenda, 10 munud yr un (20 munud)." in shown
    )
    assert f"cyfarfod {welsh(meeting)}</a>" in shown
    assert shown.count("Amser a neilltuwyd: 10 munud.") == 2
    assert "Risg uchel amlwg" in shown and "visible high risk" not in shown  # the criterion met, by its name


async def test_a_pack_asked_for_from_a_welsh_page_is_laid_out_in_english_and_then_offered_in_welsh(app, personas):
    # The pack stays English (it has several readers: README, "Languages"); the Welsh page must still know it is
    # ready, whatever language the job that laid it out ran in.
    world = await published_meeting(personas)
    url = f"/meetings/{world.meeting.id}"
    async with await signed_in(app, personas["chair"]) as chair:
        await chair.get(f"{url}/preparation?lang=cy")
        asked = await chair.get(f"{url}/chair-pack.pdf")
        assert asked.status_code == 303
        await queue.drain()
        for waiting in await ChairPack.filter(meeting_id=world.meeting.id, status="pending"):
            await tasks.render_chair_pack(waiting.id, waiting.job_id)  # with Redis no worker runs here
        ready = await chair.get(f"{url}/preparation")
        pdf = await chair.get(f"{url}/chair-pack.pdf")
    assert re.search(r"Lawrlwytho pecyn y cadeirydd \(PDF, \d+ [td]udalen\)", html.unescape(ready.text))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Referred by" in text and "SafeLives DASH risk identification checklist (2009)" in text
    assert cy("Referred by") not in text and "Rhestr wirio" not in text


async def test_the_minutes_page_lists_a_correction_in_the_words_of_the_pdf_in_welsh(app, personas):
    world, _ = await held_meeting_with_minutes(personas)
    await note(personas, await reload(world.meeting), world.case_id, "Spoken to the victim since.")
    async with await signed_in(app, personas["chair"]) as chair:
        page = await chair.get(f"/meetings/{world.meeting.id}/minutes?lang=cy")
        english = await chair.get(f"/meetings/{world.meeting.id}/minutes?lang=en")
    with i18n.use("cy"):
        added = change_line({"kind": "note", "detail": "discussion", "how": "added"})
    assert added == "nodyn (trafodaeth): wedi'i ychwanegu" and added in text_of(page)
    assert "note (discussion) added" in text_of(english) and "note (discussion)" not in text_of(page)
