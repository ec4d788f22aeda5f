"""Minutes: each recipient gets exactly what it is entitled to, in the text, the raw streams and
the metadata; approval versions; the outbox never loses or duplicates a document."""

from __future__ import annotations

import io
import re
import zlib
from datetime import UTC, date, datetime

import pypdf
import pytest

from marac.actions import service as actions
from marac.agencies.access import viewer_for
from marac.documents.models import Document
from marac.errors import Conflict
from marac.jobs import tasks
from marac.meetings.models import Meeting
from marac.minutes import service as minutes
from marac.minutes.models import MinutesRecipient, MinutesVersion
from tests.builders import close, next_meeting, note, publish, published_meeting
from tests.builders import held_meeting_with_markers as held_meeting
from tests.conftest import CONFERENCE

FULL = ["police", "idva", "health"]  # full tier (plus the council: coordinator, admin, auditor)


def entitled(marker_rule: str, persona: str, tier: str) -> bool:
    if marker_rule == "nobody":
        return False
    if marker_rule == "all-full":
        return tier == "full"
    if marker_rule.startswith("full+"):
        return tier == "full" or persona == marker_rule.removeprefix("full+")
    return persona == marker_rule


def everything_in(pdf: bytes) -> str:
    """The extracted text, every raw stream inflated, and the metadata: where a leak could hide."""
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    parts = [page.extract_text() for page in reader.pages]
    parts.append(str(reader.metadata))
    raw = pdf
    for chunk in raw.split(b"stream")[1:]:
        data = chunk.split(b"endstream")[0].strip(b"\r\n")
        try:
            parts.append(zlib.decompress(data).decode("latin-1"))
        except zlib.error:
            parts.append(data.decode("latin-1"))
    parts.append(raw.decode("latin-1"))
    # Long words wrap anywhere in narrow cells: search with all whitespace removed.
    return re.sub(r"\s", "", "\n".join(parts))


async def render_all(client, personas, meeting) -> None:
    assert (
        await client.post(f"/api/v1/meetings/{meeting.id}/minutes/approve", headers=personas["chair"].bearer)
    ).status_code == 200
    started = await client.post(f"/api/v1/meetings/{meeting.id}/minutes/render", headers=personas["coordinator"].bearer)
    assert started.status_code == 202 and started.json()["job_id"]
    from marac.jobs import queue

    await queue.drain()
    version = await MinutesVersion.get(meeting=meeting, status="approved")
    await tasks.render_minutes(version.id)  # with Redis the job waits for a worker; the task is idempotent


async def test_each_recipient_gets_exactly_its_entitled_markers(client, personas):
    meeting, markers = await held_meeting(personas)
    await render_all(client, personas, meeting)
    for persona, tier in [("police", "full"), ("idva", "full"), ("health", "full"), ("childrens", "actions_only")]:
        answer = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        assert answer.status_code == 200, persona
        assert (
            answer.headers["content-disposition"].startswith("attachment")
            and answer.headers["cache-control"] == "no-store"
        )
        content = everything_in(answer.content)
        for marker, rule in markers.items():
            assert (marker in content) == entitled(rule, persona, tier), f"{persona} / {marker}"
        assert "OFFICIAL-SENSITIVE" in content
        assert "JaneDoe" not in content  # cases are minuted by label, never by name
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["housing"].bearer)
    ).status_code == 404


def test_agencies_with_the_same_view_share_a_layout_and_nobody_else_does():
    from bench.minutes_data import content, recipients

    frozen, agencies = content(), [(r["agency_id"], r["tier"]) for r in recipients()]
    groups = minutes.shared_views(frozen, 2, agencies)
    seen = {}
    for view, members in groups:
        for agency_id, annex in members:
            seen[agency_id] = {**view, **(annex or {})}
    assert sorted(seen) == sorted(agency_id for agency_id, _ in agencies)  # each agency exactly once
    for agency_id, tier in agencies:  # shared pages plus its own annex: exactly its view
        assert seen[agency_id] == {**minutes.view_for(frozen, agency_id, tier), "version": 2}, agency_id
    # The usual mix: every full-tier agency shares one layout, restricted notes go in annexes.
    assert [len(members) for _, members in groups][0] == 14 and len(groups) == 1 + 6
    assert sorted(agency_id for agency_id, annex in groups[0][1] if annex) == ["agency-01", "agency-02", "agency-03"]


async def test_rendering_twice_makes_no_second_document_and_the_reconciler_finishes_lost_work(client, personas):
    meeting, _ = await held_meeting(personas)
    chair = await viewer_for(personas["chair"].user)
    coordinator = await viewer_for(personas["coordinator"].user)
    version = await minutes.approve(chair, meeting)
    await minutes.request_render(coordinator, meeting)
    # The queue message is lost: nothing ran. The rows are still there, pending.
    assert await MinutesRecipient.filter(minutes=version, status="pending").count() == 5
    await MinutesRecipient.all().update(created_at=datetime(2026, 1, 1, tzinfo=UTC))  # queued long ago
    assert await minutes.pending_versions() == [version.id]
    await tasks.render_minutes(version.id)
    await tasks.render_minutes(version.id)  # a duplicate delivery
    assert await Document.filter(kind="minutes", meeting=meeting).count() == 5
    assert await MinutesRecipient.filter(minutes=version, status="done").count() == 5
    # Each row was tried once: the duplicate delivery found nothing pending.
    assert set(await MinutesRecipient.filter(minutes=version).values_list("attempts", flat=True)) == {1}
    assert await minutes.pending_versions() == []


async def test_a_correction_is_a_new_version_and_the_old_one_is_for_auditors_only(client, personas):
    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    again = await client.post(f"/api/v1/meetings/{meeting.id}/minutes/approve", headers=personas["chair"].bearer)
    assert again.status_code == 422 and "reason" in again.json()["error"]["fields"]
    meeting = await Meeting.get(id=meeting.id)
    await note(personas, meeting, (await meeting.items.all())[0].id, "The due date was 5 December", "all")
    corrected = await client.post(
        f"/api/v1/meetings/{meeting.id}/minutes/approve",
        json={"reason": "Action due date corrected"},
        headers=personas["chair"].bearer,
    )
    assert corrected.json()["version"] == 2
    assert (await MinutesVersion.get(meeting=meeting, version=1)).status == "superseded"
    # Until version 2 is rendered, agencies have nothing current; auditors can still read version 1.
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["police"].bearer)
    ).status_code == 404
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf?version=1", headers=personas["police"].bearer)
    ).status_code == 404
    huge = await client.get(
        f"/api/v1/meetings/{meeting.id}/minutes.pdf?version=28357880435", headers=personas["auditor"].bearer
    )
    assert huge.status_code == 422 and "version" in huge.json()["error"]["fields"]  # not a database error
    old = await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf?version=1", headers=personas["auditor"].bearer)
    assert old.status_code == 200 and old.content.startswith(b"%PDF")


async def test_only_the_chair_approves_and_only_after_the_meeting_closed(personas):
    meeting, _ = await held_meeting(personas)
    with pytest.raises(Exception, match="Only the conference's chair"):
        await minutes.approve(await viewer_for(personas["coordinator"].user), meeting)
    open_meeting = await Meeting.filter(conference_id=meeting.conference_id, status="scheduled").first()
    with pytest.raises(Conflict):
        await minutes.approve(await viewer_for(personas["chair"].user), open_meeting)


async def test_downloads_are_audited_and_counted_for_circulation(client, personas):
    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    for _ in range(2):
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["health"].bearer)
    row = await MinutesRecipient.get(agency_id=personas["health"].user.agency_id)
    assert row.downloads == 2 and row.first_downloaded_at is not None and row.notified_at is not None
    from marac.audit.models import AuditEvent

    assert await AuditEvent.filter(action="document.download", user_id=personas["health"].user.id).count() == 2


async def test_documents_are_encrypted_at_rest_and_a_swapped_file_fails(client, personas):
    meeting, markers = await held_meeting(personas)
    await render_all(client, personas, meeting)
    from marac import settings
    from marac.documents import store

    documents = await Document.filter(kind="minutes", meeting=meeting).order_by("id")
    for document in documents:
        on_disk = (settings.get().document_store / document.file_name).read_bytes()
        assert not on_disk.startswith(b"%PDF") and b"CANARY" not in on_disk
        assert store.read(document).startswith(b"%PDF")
    first, second = documents[0], documents[1]
    a, b = (settings.get().document_store / d.file_name for d in (first, second))
    a.write_bytes(b.read_bytes())  # someone copies one agency's file over another's
    with pytest.raises(store.DocumentCorrupt):
        store.read(first)


HOSTILE = [
    '<img src="http://127.0.0.1:{port}/img">',
    '<link rel="stylesheet" href="http://127.0.0.1:{port}/css">',
    '<link rel="attachment" href="file:///etc/passwd">',
    "<style>@import url(http://127.0.0.1:{port}/import);</style>",
    '<p style="background: url(http://127.0.0.1:{port}/bg)">x</p>',
    '<object data="http://127.0.0.1:{port}/object"></object>',
    '<svg><image href="http://127.0.0.1:{port}/svg"/></svg>',
    '<iframe src="http://127.0.0.1:{port}/iframe"></iframe>',
    "file:///etc/passwd",
]


async def test_hostile_markup_in_every_text_field_fetches_nothing_and_embeds_nothing(client, personas):
    import http.server
    import threading

    hits: list[str] = []

    class Canary(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    hostile = " ".join(h.format(port=port) for h in HOSTILE)
    try:
        world = await published_meeting(personas)
        meeting, case_id = world.meeting, world.case_id
        chair = await viewer_for(personas["chair"].user)
        # Hostile text everywhere a person can type.
        await actions.add_note(chair, meeting, case_id, hostile, "all", [])
        await actions.add_action(chair, meeting, case_id, hostile, personas["childrens"].user.agency_id, None)
        await actions.set_attendance(
            chair,
            meeting,
            [actions.Present(personas["police"].user.agency_id, hostile)],
            [],
            [actions.Observer(hostile, True)],
        )
        await actions.set_any_other_business(chair, meeting, hostile)
        meeting = (await close(personas, world)).meeting
        await render_all(client, personas, meeting)
        for persona in ("police", "childrens"):
            pdf = (
                await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
            ).content
            reader = pypdf.PdfReader(io.BytesIO(pdf))
            assert "/EmbeddedFiles" not in str(reader.trailer["/Root"]) and b"/EmbeddedFile" not in pdf
            assert "<img" in reader.pages[0].extract_text() + "".join(
                p.extract_text() for p in reader.pages
            )  # shown as text
    finally:
        server.shutdown()
    assert hits == []


async def test_the_coordinator_follows_rendering_on_the_job_page(app, client, personas):
    from tests.conftest import csrf_token, make_client, session_cookie_for

    meeting, _ = await held_meeting(personas)
    await client.post(f"/api/v1/meetings/{meeting.id}/minutes/approve", headers=personas["chair"].bearer)
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        token = await csrf_token(coordinator, f"/meetings/{meeting.id}")
        started = await coordinator.post(f"/meetings/{meeting.id}/minutes/render", data={"csrf_token": token})
        assert started.status_code == 303 and started.headers["location"].startswith("/jobs/")
        page = await coordinator.get(started.headers["location"])
        assert page.status_code == 200 and "Rendering minutes" in page.text
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        assert (await chair.get(started.headers["location"])).status_code == 404  # someone else's job


async def test_the_two_ways_of_not_completing_stay_distinct_in_the_next_minutes(client, personas):
    from datetime import timedelta as days

    from marac.actions.models import Action

    meeting, _ = await held_meeting(personas)
    coordinator = await viewer_for(personas["coordinator"].user)
    chair = await viewer_for(personas["chair"].user)
    first, second = await Action.filter(meeting=meeting).order_by("created_at")
    await Action.filter(meeting=meeting).update(due_date=meeting.date + days(days=1))
    nxt = await publish(personas, await next_meeting(meeting))
    await actions.review_action(
        chair, nxt, first.id, "not_possible_changed_circumstances", "CANARYMOVED victim moved away"
    )
    await actions.review_action(chair, nxt, second.id, "not_done_by_agency", "CANARYSILENT no reply from the agency")
    await actions.close_meeting(coordinator, nxt)
    await render_all(client, personas, nxt)
    text = everything_in(
        (await client.get(f"/api/v1/meetings/{nxt.id}/minutes.pdf", headers=personas["police"].bearer)).content
    )
    assert "notpossiblechangedcircumstances:CANARYMOVED" in text
    assert "notdonebyagency:CANARYSILENT" in text


async def test_the_coordinator_sees_minutes_not_circulated_three_working_days_after_the_meeting(
    app, client, personas, monkeypatch
):
    from tests.conftest import make_client, session_cookie_for

    meeting, _ = await held_meeting(personas)
    # Tuesday 22 December 2026: Christmas Day, the weekend and Monday's Boxing Day holiday do not count.
    await Meeting.filter(id=meeting.id).update(date=date(2026, 12, 22))
    meeting = await Meeting.get(id=meeting.id).prefetch_related("conference")

    async def page() -> str:
        async with make_client(app) as coordinator:
            coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
            return (await coordinator.get(f"/meetings/{meeting.id}/circulation")).text

    monkeypatch.setattr(minutes, "today", lambda: date(2026, 12, 29))
    circulation = await minutes.circulation(meeting)
    assert circulation["deadline"] == date(2026, 12, 29) and not circulation["overdue"]
    assert "not circulated to every agency" not in await page()

    monkeypatch.setattr(minutes, "today", lambda: date(2026, 12, 30))
    assert (await minutes.circulation(meeting))["overdue"]  # not even approved
    await minutes.approve(await viewer_for(personas["chair"].user), meeting)
    await minutes.request_render(await viewer_for(personas["coordinator"].user), meeting)
    circulation = await minutes.circulation(meeting)
    assert circulation["overdue"] and len(circulation["late"]) == len(circulation["rows"]) == 5
    text = await page()
    assert "not circulated to every agency" in text and text.count(">Late<") == 5

    await tasks.render_minutes((await MinutesVersion.get(meeting=meeting)).id)
    circulation = await minutes.circulation(meeting)
    assert not circulation["overdue"] and circulation["late"] == []
    assert "not circulated to every agency" not in await page()


async def test_every_download_by_a_recipient_is_entered_in_the_disclosure_log(client, personas):
    from marac.audit.models import Disclosure

    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    for persona in ("health", "health", "childrens"):
        assert (
            await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        ).status_code == 200
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf?version=1", headers=personas["auditor"].bearer)
    ).status_code == 200
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["housing"].bearer)
    ).status_code == 404
    log = await Disclosure.filter(meeting_id=meeting.id).order_by("at")
    assert [(d.kind, d.agency_id, d.user_id, d.version) for d in log] == [
        ("minutes", personas[p].user.agency_id, personas[p].user.id, 1) for p in ("health", "health", "childrens")
    ]
    documents = {d.agency_id: d.id for d in await Document.filter(kind="minutes", meeting=meeting)}
    assert all(
        d.document_id == documents[d.agency_id] and d.conference_id == meeting.conference_id and "minutes" in d.purpose
        for d in log
    )


async def test_the_disclosure_log_page_shows_who_received_which_version_to_coordinators_and_auditors(
    app, client, personas
):
    from marac.agencies.models import Agency, Conference
    from marac.audit.models import Disclosure
    from tests.conftest import make_client, session_cookie_for

    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    await client.get(f"/api/v1/meetings/{meeting.id}/minutes.pdf", headers=personas["health"].bearer)
    # An entry of a conference the coordinator does not run: auditors see it, the coordinator does not.
    other = await Conference.create(
        name="Southshire MARAC",
        slug="southshire",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=meeting.date,
        type_settings=meeting.conference.type_settings,
    )
    await Disclosure.create(
        at=datetime.now(UTC),
        conference_id=other.id,
        kind="minutes",
        agency_id=personas["health"].user.agency_id,
        user_id=personas["health"].user.id,
        version=4,
        purpose="MARAC minutes circulated",
    )
    health = await Agency.get(id=personas["health"].user.agency_id)

    async def page(persona: str):
        async with make_client(app) as browser:
            browser.cookies.update(await session_cookie_for(personas[persona]))
            return await browser.get("/disclosures")

    coordinator = await page("coordinator")
    assert coordinator.status_code == 200
    assert (
        "Minutes, version 1" in coordinator.text
        and health.name in coordinator.text
        and personas["health"].user.name in coordinator.text
    )
    assert meeting.conference.name in coordinator.text and "Southshire" not in coordinator.text
    auditor = await page("auditor")
    assert "Southshire" in auditor.text and "version 4" in auditor.text
    assert (await page("health")).status_code == 403


# --- entitlement at read time, not at render time (docs/security.md) -----------------------------


async def _tier(personas, persona: str, tier: str) -> None:
    from marac.agencies import service as directory
    from marac.agencies.models import Conference

    conference = await Conference.get(slug=CONFERENCE)
    await directory.set_membership(
        await viewer_for(personas["admin"].user),
        conference,
        directory.MemberSpec(personas[persona].user.agency_id, tier),
    )


async def _markers_in(answer, markers: dict[str, str], persona: str, tier: str) -> None:
    assert answer.status_code == 200, answer.text[:300]
    content = everything_in(answer.content)
    for marker, rule in markers.items():
        # Actions-only minutes hold the agency's own actions alone, not even restricted notes naming it.
        expected = entitled(rule, persona, tier) if tier == "full" else rule == f"full+{persona}"
        assert (marker in content) == expected, f"{persona} as {tier} / {marker}"


async def test_lowering_an_agency_to_actions_only_reaches_minutes_already_rendered(app, client, personas):
    from marac.audit.models import AuditEvent, Disclosure
    from marac.documents import store
    from marac.jobs import queue
    from tests.conftest import make_client, session_cookie_for

    meeting, markers = await held_meeting(personas)
    await render_all(client, personas, meeting)
    url = f"/api/v1/meetings/{meeting.id}/minutes.pdf"
    health = personas["health"]
    await _markers_in(await client.get(url, headers=health.bearer), markers, "health", "full")
    full = await Document.get(kind="minutes", meeting=meeting, agency_id=health.user.agency_id)

    await _tier(personas, "health", "actions_only")
    # The full copy is never served again: withdrawn (row and file), answered like a copy not ready yet.
    waiting = await client.get(url, headers=health.bearer)
    assert waiting.status_code == 404 and "being prepared" in waiting.json()["error"]["message"]
    assert not await Document.filter(id=full.id).exists() and not store.path_for(full).exists()
    assert await AuditEvent.filter(action="document.withdraw", object_id=full.id, user_id=health.user.id).exists()

    # The render it queued makes the actions-only copy, which both the API and the page then serve.
    await queue.drain()
    await tasks.render_minutes((await MinutesVersion.get(meeting=meeting)).id)
    await _markers_in(await client.get(url, headers=health.bearer), markers, "health", "actions_only")
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(health))
        await _markers_in(await browser.get(f"/meetings/{meeting.id}/minutes.pdf"), markers, "health", "actions_only")
    # The coordinator's circulation record shows the view the agency now holds.
    circulation = await minutes.circulation(await Meeting.get(id=meeting.id).prefetch_related("conference"))
    assert {r.agency_id: r.document.tier for r in circulation["rows"]}[health.user.agency_id] == "actions_only"
    # Agencies whose tier did not change keep their copy; what was sent stays in the disclosure log.
    await _markers_in(await client.get(url, headers=personas["police"].bearer), markers, "police", "full")
    assert await Disclosure.filter(document_id=full.id, agency_id=health.user.agency_id).count() == 1


async def test_a_render_follows_the_tier_at_render_time_and_raising_it_later_widens_nothing(client, personas):
    meeting, markers = await held_meeting(personas)
    chair = await viewer_for(personas["chair"].user)
    await minutes.approve(chair, meeting)
    version = await minutes.request_render(await viewer_for(personas["coordinator"].user), meeting)
    await _tier(personas, "idva", "actions_only")  # lowered while the render waits in the queue
    await _tier(personas, "childrens", "full")  # raised after the minutes were circulated
    await tasks.render_minutes(version.id)
    url = f"/api/v1/meetings/{meeting.id}/minutes.pdf"
    await _markers_in(await client.get(url, headers=personas["idva"].bearer), markers, "idva", "actions_only")
    await _markers_in(await client.get(url, headers=personas["childrens"].bearer), markers, "childrens", "actions_only")


async def test_an_agency_removed_from_the_conference_reads_no_stored_minutes_or_research_list(app, client, personas):
    from marac.agencies import service as directory
    from marac.agencies.models import Conference
    from tests.conftest import make_client, session_cookie_for

    meeting, _ = await held_meeting(personas)
    await render_all(client, personas, meeting)
    await tasks.render_agendas(meeting.id)
    police, chair = personas["police"], personas["chair"]  # the chair works for the police too
    paths = [f"/meetings/{meeting.id}/minutes.pdf", f"/meetings/{meeting.id}/agenda.pdf"]
    for path in paths:
        assert (await client.get(f"/api/v1{path}", headers=police.bearer)).status_code == 200
    await directory.remove_membership(
        await viewer_for(personas["admin"].user), await Conference.get(slug=CONFERENCE), police.user.agency_id
    )
    for persona in (police, chair):
        for path in [*paths, f"/meetings/{meeting.id}/research-list"]:
            assert (await client.get(f"/api/v1{path}", headers=persona.bearer)).status_code == 404, (persona.key, path)
        async with make_client(app) as browser:
            browser.cookies.update(await session_cookie_for(persona))
            for path in paths:
                assert (await browser.get(path)).status_code == 404, (persona.key, path)
    # Kept (retention deletes it in time), never served.
    assert await Document.filter(kind="agenda", meeting=meeting, agency_id=police.user.agency_id).exists()
