"""Minutes the chair can trust: each agency's preview is its real document, marked DRAFT; a
correction is version N+1 that says what changed and why, in every recipient's copy; no note
is ever cut; no heading is left alone at the foot of a page."""

from __future__ import annotations

import io
import re

import pypdf

from marac.actions import service as actions
from marac.agencies.access import viewer_for
from marac.alerts import fanout
from marac.audit.models import AuditEvent
from marac.minutes.models import MinutesVersion
from marac.notices.models import Notification
from tests.builders import as_, note, published_meeting, reload
from tests.builders import close as close_meeting
from tests.builders import held_meeting_with_markers as held_meeting
from tests.conftest import csrf_token, make_client, session_cookie_for
from tests.test_minutes import entitled, everything_in, render_all

RECIPIENTS = [("police", "full"), ("idva", "full"), ("health", "full"), ("childrens", "actions_only")]
HEADINGS = {
    "Attendance",
    "Outstanding actions reviewed",
    "Cases",
    "Any other business",
    "Changes in this version",
    "Actions for your agency",
    "Restricted information for your agency",
}


def pages_of(pdf: bytes) -> list[list[str]]:
    """Each page's lines of text, without the running marking and footer."""
    pages = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        lines = [line.strip() for line in page.extract_text().splitlines()]
        pages.append([line for line in lines if line and not _running(line)])
    return pages


def _running(line: str) -> bool:
    return bool(
        "OFFICIAL-SENSITIVE" in line
        or re.fullmatch(r"Page [0-9]+ of [0-9]+", line)
        or line.startswith("For: ")
        or re.fullmatch(r"(MARAC-[A-Z]+-|DRAFT)\S*", line)
        or re.search(r"Page [0-9]+ of [0-9]+|For: .*, version [0-9]+", line)
    )


def body_text(pdf: bytes) -> str:
    """Everything on the pages but the running marking and footer, whitespace removed: a text
    broken across pages or lines reads whole."""
    return re.sub(r"\s", "", "".join("".join(lines) for lines in pages_of(pdf)))


def in_order(text: str, words: list[str]) -> bool:
    """Every word, in order: a table cell that runs over pages is read back with the row's other
    cells and the repeated header in between."""
    at = 0
    for word in words:
        at = text.find(word, at)
        if at < 0:
            return False
        at += len(word)
    return True


def visible_text(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


async def agency_id(personas, key: str) -> str:
    return personas[key].user.agency_id


async def test_each_agencys_preview_is_its_real_document_marked_draft(client, personas):
    meeting, markers = await held_meeting(personas)
    previews = {}
    for persona, tier in RECIPIENTS:
        answer = await client.get(
            f"/api/v1/meetings/{meeting.id}/minutes/preview.pdf",
            params={"agency_id": await agency_id(personas, persona)},
            headers=personas["chair"].bearer,
        )
        assert answer.status_code == 200, answer.text
        previews[persona] = answer.content
        content = everything_in(answer.content)
        for marker, rule in markers.items():
            assert (marker in content) == entitled(rule, persona, tier), f"{persona} / {marker}"
        for page in visible_text(answer.content):  # DRAFT on every page
            assert "DRAFT" in page and "NOTAPPROVED" in re.sub(r"\s", "", page)
    await render_all(client, personas, meeting)
    for persona, _ in RECIPIENTS:
        real = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        assert real.status_code == 200
        preview, document = pages_of(previews[persona]), pages_of(real.content)
        assert preview == document, persona  # page by page, line by line
        draft_pages, real_pages = visible_text(previews[persona]), visible_text(real.content)
        reference = re.search(r"MARAC-[A-Z]{2}-[0-9]{8}-[0-9A-F]{4}-[0-9A-F]{4}", "".join(real_pages)).group(0)
        for draft, page in zip(draft_pages, real_pages, strict=True):  # apart from the DRAFT marking
            draft = draft.replace("DRAFT – NOT APPROVED – ", "").replace("DRAFT", reference)
            assert sorted(draft.split()) == sorted(page.split()), persona


async def test_only_the_chair_and_coordinator_preview_and_each_preview_is_audited(app, client, personas):
    meeting, markers = await held_meeting(personas)
    police = await agency_id(personas, "police")
    url = f"/api/v1/meetings/{meeting.id}/minutes/preview.pdf"
    for persona, status in [("coordinator", 200), ("chair", 200), ("police", 403), ("housing", 404)]:
        answer = await client.get(url, params={"agency_id": police}, headers=personas[persona].bearer)
        assert answer.status_code == status, persona
    missing = await client.get(url, headers=personas["chair"].bearer)
    assert missing.status_code == 422 and "agency_id" in missing.json()["error"]["fields"]
    outsider = await client.get(url, params={"agency_id": "0" * 32}, headers=personas["chair"].bearer)
    assert outsider.status_code == 422
    assert await AuditEvent.filter(action="minutes.preview", object_id=meeting.id).count() == 2
    # The page shows the same view on screen: police's restricted note, never the advocate's.
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        listing = await coordinator.get(f"/meetings/{meeting.id}/minutes")
        assert listing.status_code == 200 and f"agency_id={police}" in listing.text
        page = await coordinator.get(f"/meetings/{meeting.id}/minutes/preview", params={"agency_id": police})
        assert page.status_code == 200
        for marker, rule in markers.items():
            assert (marker in page.text) == entitled(rule, "police", "full"), marker
        pdf = await coordinator.get(f"/meetings/{meeting.id}/minutes/preview.pdf", params={"agency_id": police})
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    async with make_client(app) as member:
        member.cookies.update(await session_cookie_for(personas["police"]))
        page = await member.get(f"/meetings/{meeting.id}/minutes/preview", params={"agency_id": police})
        assert page.status_code == 403


async def test_a_correction_is_version_two_with_what_changed_and_why_in_every_recipients_copy(app, client, personas):
    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    unchanged = await client.post(
        f"/api/v1/meetings/{meeting.id}/minutes/approve", json={"reason": "Nothing"}, headers=personas["chair"].bearer
    )
    assert unchanged.status_code == 409  # a correction must change something
    # After approval the record takes corrections, through the same functions as on the day.
    meeting = await reload(meeting)
    case_id = (await meeting.items.all())[0].id
    await note(personas, meeting, case_id, "CANARYCORRECTED added after approval", "all")
    await actions.add_action(
        await as_(personas, "chair"),
        meeting,
        case_id,
        "CANARYNEWACTION children's services to visit",
        await agency_id(personas, "childrens"),
        None,
    )
    no_reason = await client.post(f"/api/v1/meetings/{meeting.id}/minutes/approve", headers=personas["chair"].bearer)
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["fields"]
    approved = await client.post(
        f"/api/v1/meetings/{meeting.id}/minutes/approve",
        json={"reason": "CANARYREASON the action list missed a visit"},
        headers=personas["chair"].bearer,
    )
    assert approved.status_code == 200 and approved.json()["version"] == 2
    started = await client.post(f"/api/v1/meetings/{meeting.id}/minutes/render", headers=personas["coordinator"].bearer)
    assert started.status_code == 202
    from marac.jobs import queue, tasks

    await queue.drain()
    await tasks.render_minutes((await MinutesVersion.get(meeting=meeting, version=2)).id)
    for persona, tier in RECIPIENTS:
        answer = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        assert answer.status_code == 200, persona
        text = body_text(answer.content)
        opening = pages_of(answer.content)[0]
        assert "Changes in this version" in opening and "CANARYREASONtheactionlistmissedavisit" in text, persona
        assert "case1:actionforNorthshireChildren'sServicesadded" in text.replace("’", "'"), persona
        if tier == "full":
            assert "case1:note(discussion)added" in text and "CANARYCORRECTED" in text, persona
            assert "CANARYNEWACTION" in text
        else:
            assert "note(discussion)added" not in text and "CANARYCORRECTED" not in text
            assert "CANARYNEWACTION" in text
        assert "CANARYALL" not in text.split("Changesinthisversion")[1].split("Attendance")[0]  # no old text
    # Every agency that received version 1 is told version 2 is ready; auditors keep version 1.
    await fanout.fan_out()
    told = {
        notice.user_id
        for notice in await Notification.filter(kind="minutes_ready", meeting_id=meeting.id).select_related("event")
        if notice.event and notice.event.data["version"] == 2
    }
    for persona, _ in RECIPIENTS:
        assert personas[persona].user.id in told, persona
    assert personas["housing"].user.id not in told
    old = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf?version=1", headers=personas["auditor"].bearer)
    assert old.status_code == 200 and "CANARYCORRECTED" not in body_text(old.content)
    async with make_client(app) as police:
        police.cookies.update(await session_cookie_for(personas["police"]))
        listed = await police.get("/notifications")
        assert f"/meetings/{meeting.id}" in listed.text and "version" in listed.text


async def test_a_correction_lists_a_restricted_note_only_for_the_agencies_it_names(personas):
    from marac.minutes import service as minutes

    meeting, _ = await held_meeting(personas)
    chair = await viewer_for(personas["chair"].user)
    await minutes.approve(chair, meeting)
    meeting = await reload(meeting)
    case_id = (await meeting.items.all())[0].id
    await note(personas, meeting, case_id, "Restricted correction", "restricted", ("idva",))
    version = await minutes.approve(chair, await reload(meeting), "A note for the advocate was missed")
    police, idva = await agency_id(personas, "police"), await agency_id(personas, "idva")
    assert minutes.view_for(version.content, police, "full")["changes"] == []
    assert [(c["what"], c["how"]) for c in minutes.view_for(version.content, idva, "full")["changes"]] == [
        ("note (discussion)", "added")
    ]


async def test_the_longest_note_reaches_every_recipient_whole_and_no_heading_ends_a_page(client, personas):
    words = " ".join(f"w{n:05d}" for n in range(1, 2000))
    long_note = (words + " ")[: 10_000 - len(" ENDOFNOTE")] + " ENDOFNOTE"
    assert len(long_note) == 10_000
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    await note(personas, meeting, case_id, long_note, "all")
    await note(personas, meeting, case_id, long_note.replace("w", "r"), "restricted", ("police",))
    # The longest action the chair may write, too.
    longest_action = (
        (long_note.replace("w", "a")[: actions.MAX_DESCRIPTION - len(" ENDOFNOTE")]).rstrip() + " ENDOFNOTE"
    )
    await actions.add_action(
        await as_(personas, "chair"), meeting, case_id, longest_action, await agency_id(personas, "childrens"), None
    )
    await close_meeting(personas, world)
    await render_all(client, personas, meeting)
    whole = re.sub(r"\s", "", long_note)
    for persona, tier in [*RECIPIENTS, ("coordinator", "full")]:
        pdf = (await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)).content
        text = body_text(pdf)
        if tier == "full":
            assert whole in text, persona
        assert (whole.replace("w", "r") in text) == (persona == "police"), persona
        # The action, to its owner and every full-tier agency: a table row that runs over pages.
        assert in_order(text, longest_action.split()), persona
        for number, lines in enumerate(pages_of(pdf), start=1):
            assert lines, f"{persona}: page {number} is empty"
            last = lines[-1]
            assert last not in HEADINGS and not re.fullmatch(r"Case [0-9]+ \(.*\)", last), (persona, number, last)


async def test_the_download_link_waits_for_a_document_and_the_job_page_links_back(app, client, personas):
    meeting, _ = await held_meeting(personas)
    await client.post(f"/api/v1/meetings/{meeting.id}/minutes/approve", headers=personas["chair"].bearer)
    link = f'href="/meetings/{meeting.id}/minutes.pdf"'
    async with make_client(app) as police:
        police.cookies.update(await session_cookie_for(personas["police"]))
        assert link not in (await police.get(f"/meetings/{meeting.id}")).text  # approved, not rendered
        async with make_client(app) as coordinator:
            coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
            token = await csrf_token(coordinator, f"/meetings/{meeting.id}/circulation")
            started = await coordinator.post(f"/meetings/{meeting.id}/minutes/render", data={"csrf_token": token})
            assert started.status_code == 303
            from marac.jobs import queue, tasks

            await queue.drain()
            await tasks.render_minutes((await MinutesVersion.get(meeting=meeting)).id)
            job = await coordinator.get(started.headers["location"])
            assert f'href="/meetings/{meeting.id}/circulation"' in job.text
        assert link in (await police.get(f"/meetings/{meeting.id}")).text
        assert (await police.get(f"/meetings/{meeting.id}/minutes.pdf")).status_code == 200


async def test_approving_asks_first_and_says_it_is_done(app, personas):
    meeting, _ = await held_meeting(personas)
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        minutes_page = await chair.get(f"/meetings/{meeting.id}/minutes")
        assert f'href="/meetings/{meeting.id}/minutes/approve"' in minutes_page.text
        confirm = await chair.get(f"/meetings/{meeting.id}/minutes/approve")
        assert confirm.status_code == 200 and "Are you sure you want to approve the minutes?" in confirm.text
        token = await csrf_token(chair, f"/meetings/{meeting.id}/minutes/approve")
        done = await chair.post(f"/meetings/{meeting.id}/minutes/approve", data={"csrf_token": token})
        assert done.status_code == 303 and done.headers["location"].endswith("/minutes?done=approved")
        banner = await chair.get(done.headers["location"])
        assert "govuk-notification-banner--success" in banner.text and "version 1" in banner.text
        # A correction without a reason: the question again, with the error on the reason.
        confirm = await chair.get(f"/meetings/{meeting.id}/minutes/approve")
        assert "Are you sure you want to approve version 2?" in confirm.text
        refused = await chair.post(f"/meetings/{meeting.id}/minutes/approve", data={"csrf_token": token})
        assert refused.status_code == 400 and "Say why the minutes are corrected" in refused.text
    assert await MinutesVersion.filter(meeting=meeting).count() == 1
