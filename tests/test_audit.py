"""The audit chain: any row edited, deleted or moved with raw SQL is found, and named."""

from __future__ import annotations

import asyncio
import os
import sys

from tortoise import connections

from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.audit.service import About, record, record_each, verify
from tests.conftest import CONFERENCE, TRIGGERS_OFF, TRIGGERS_ON


async def _ten_events() -> list[AuditEvent]:
    return [await record("test.event", object_type="thing", object_id=f"id{n}") for n in range(10)]


async def _sql(statement: str) -> None:
    """Tampering as someone with full database access: on PostgreSQL that means the tables'
    owner switching the append-only triggers off, which the chain must still catch."""
    conn = connections.get("default")
    if conn.capabilities.dialect == "postgres":
        statement = f"BEGIN; {TRIGGERS_OFF}; {statement}; {TRIGGERS_ON}; COMMIT"
    await conn.execute_script(statement)


async def test_an_untouched_chain_verifies():
    await _ten_events()
    result = await verify()
    assert result.ok and result.checked == 10 and result.first_bad_seq is None


async def test_events_written_together_chain_like_events_written_one_by_one():
    # A list page records one read per record shown in one write (record_each); the chain must not notice.
    await record("test.event", object_type="thing", object_id="before")
    together = await record_each("test.read", [About("thing", f"id{n}", None) for n in range(5)], user_id="u" * 32)
    await record("test.event", object_type="thing", object_id="after")
    assert [e.seq for e in together] == [2, 3, 4, 5, 6]
    assert (await verify()).ok and (await verify()).checked == 7
    await _sql(f"UPDATE audit_event SET object_id = 'someone-else' WHERE seq = {together[2].seq}")
    assert (await verify()).first_bad_seq == together[2].seq


async def test_an_edited_row_is_named():
    events = await _ten_events()
    await _sql(f"UPDATE audit_event SET object_id = 'someone-else' WHERE seq = {events[4].seq}")
    result = await verify()
    assert not result.ok and result.first_bad_seq == events[4].seq and result.checked == 4


async def test_an_edit_that_recomputes_a_plain_hash_is_still_found():
    # Without the key an attacker cannot produce a valid HMAC, whatever hash they compute.
    events = await _ten_events()
    await _sql(f"UPDATE audit_event SET outcome = 'denied', hash = '{'a' * 64}' WHERE seq = {events[2].seq}")
    assert (await verify()).first_bad_seq == events[2].seq


async def test_a_deleted_row_is_found_at_the_next_one():
    events = await _ten_events()
    await _sql(f"DELETE FROM audit_event WHERE seq = {events[6].seq}")
    assert (await verify()).first_bad_seq == events[7].seq


async def test_reordered_rows_are_found():
    events = await _ten_events()
    a, b = events[3].seq, events[5].seq
    await _sql(f"UPDATE audit_event SET seq = -1 WHERE seq = {a}")
    await _sql(f"UPDATE audit_event SET seq = {a} WHERE seq = {b}")
    await _sql(f"UPDATE audit_event SET seq = {b} WHERE seq = -1")
    assert (await verify()).first_bad_seq == a


async def test_auditors_verify_over_the_api(client, personas):
    await _ten_events()
    good = await client.get("/api/v1/audit/verify", headers=personas["auditor"].bearer)
    assert good.status_code == 200 and good.json()["ok"] is True
    bad_seq = (await AuditEvent.filter(action="test.event").order_by("seq").offset(3).first()).seq
    await _sql(f"UPDATE audit_event SET action = 'other' WHERE seq = {bad_seq}")
    broken = (await client.get("/api/v1/audit/verify", headers=personas["auditor"].bearer)).json()
    assert broken == {"ok": False, "checked": broken["checked"], "first_bad_seq": bad_seq}


async def test_audit_list_filters_by_object_and_pages(client, personas):
    await _ten_events()
    one = await client.get("/api/v1/audit?object_id=id3", headers=personas["auditor"].bearer)
    assert [e["object_id"] for e in one.json()["items"]] == ["id3"]
    bad = await client.get("/api/v1/audit?from=yesterday", headers=personas["auditor"].bearer)
    assert bad.status_code == 422 and "from" in bad.json()["error"]["fields"]


async def test_audit_filters_at_the_edges_of_their_range_answer_not_fail(client, personas):
    await record("test.event", object_type="test", object_id="x1")
    auditor = personas["auditor"].bearer
    last_day = await client.get("/api/v1/audit?from=2000-01-01&to=9999-12-31", headers=auditor)  # no day after it
    assert last_day.status_code == 200 and any(e["object_id"] == "x1" for e in last_day.json()["items"])
    huge = await client.get("/api/v1/audit?cursor=23954558385973214078923809333", headers=auditor)  # beyond 64 bits
    assert huge.status_code == 422 and "cursor" in huge.json()["error"]["fields"]


async def test_a_coordinator_sees_only_their_conferences_events(client, personas):
    await record("test.elsewhere", object_type="thing", object_id="x", conference_id="f" * 32)
    seen = (await client.get("/api/v1/audit", headers=personas["coordinator"].bearer)).json()["items"]
    theirs = (await Conference.get(slug=CONFERENCE)).id
    assert seen and {e["conference_id"] for e in seen} == {theirs}


async def _cli(*args: str) -> tuple[int, str]:
    # A separate process against the same database, as an operator would run it.
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "marac.cli",
        *args,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, out.decode()


async def test_the_command_line_verify_names_the_first_bad_event_and_fails():
    events = await _ten_events()
    code, out = await _cli("audit", "verify")
    assert code == 0 and "intact: 10 events" in out
    await _sql(f"UPDATE audit_event SET user_id = 'x' WHERE seq = {events[5].seq}")
    code, out = await _cli("audit", "verify")
    assert code == 1 and f"broken at event {events[5].seq}" in out


async def _case_world(personas):
    """Two cases at one published meeting, each read, researched, noted, actioned and heard, with the
    research list rendered and downloaded: what a case's trail is made of."""
    from marac.actions import service as actions
    from marac.jobs import tasks
    from marac.meetings import agenda
    from marac.referrals import service as referrals
    from tests import builders

    world = await builders.published_meeting(personas, cases=2)
    await tasks.render_agendas(world.meeting.id)
    police = await builders.as_(personas, "police")
    await agenda.agenda_document(police, world.meeting.id)
    await agenda.read_research_list(police, world.meeting)
    for n, case_id in enumerate(world.case_ids):
        await referrals.read_case(await builders.as_(personas, "coordinator"), world.referrals[n].id)
        await agenda.record_research(police, world.meeting, case_id, True, "Known to us")
        await builders.note(personas, world.meeting, case_id, f"Note on case {n}")
        made = await builders.action(personas, world.meeting, case_id, owner="health")
        await actions.update_action(
            await builders.as_(personas, "health"), made.id, made.version, "in_progress", "On it"
        )
    await builders.close(personas, world)
    return world


async def _trail(client, persona, case_id: str) -> list[dict]:
    answer = await client.get(f"/api/v1/audit?case_id={case_id}", headers=persona.bearer)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_cases_trail_holds_all_of_it_and_nothing_of_another_case(client, personas):
    world = await _case_world(personas)
    first, second = world.referrals
    trail = await _trail(client, personas["auditor"], world.case_ids[0])
    actions_seen = {e["action"] for e in trail}
    assert {
        "referral.create",
        "referral.accept",
        "referral.read",
        "research.record",
        "note.create",
        "action.create",
        "action.update",
        "case.heard",
        "agenda.publish",
        "research_list.read",
        "document.download",
    } <= actions_seen
    # Nothing recorded about the other case: its referral, its item, its note and its action.
    others = await AuditEvent.filter(case_id=second.id).values_list("seq", flat=True)
    assert len(others) >= 8 and not {e["seq"] for e in trail} & set(others)
    assert not any(e["object_id"] in (second.id, world.case_ids[1]) for e in trail)
    # The referral's id names the same case; the coordinator reads the same trail, oldest first.
    assert [e["seq"] for e in await _trail(client, personas["auditor"], first.id)] == [e["seq"] for e in trail]
    by_coordinator = await _trail(client, personas["coordinator"], world.case_ids[0])
    assert [e["seq"] for e in by_coordinator] == sorted(e["seq"] for e in trail)
    assert (await verify()).ok


async def test_a_case_trail_is_not_read_across_conferences(client, personas):
    from tests.builders import other_conference_coordinator

    world = await _case_world(personas)
    south = await other_conference_coordinator()
    south.token = await _token_for(south)
    assert await _trail(client, south, world.case_ids[0]) == []
    bad = await client.get("/api/v1/audit?case_id=not-an-id", headers=personas["auditor"].bearer)
    assert bad.status_code == 422 and "case_id" in bad.json()["error"]["fields"]


async def _token_for(persona) -> str:
    from marac.agencies import auth

    _, raw = await auth.create_token(persona.user, "tests")
    return raw


async def test_the_case_is_signed_into_the_chain(personas):
    from tests import builders

    world = await builders.published_meeting(personas)
    event = await AuditEvent.filter(case_id=world.referral.id).order_by("-seq").first()
    await _sql(f"UPDATE audit_event SET case_id = NULL WHERE seq = {event.seq}")
    assert (await verify()).first_bad_seq == event.seq


async def test_the_audit_page_shows_a_cases_trail_and_refuses_a_bad_id(app, personas):
    from tests.conftest import make_client, session_cookie_for

    world = await _case_world(personas)
    first, second = world.referrals
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = await coordinator.get(f"/audit?case_id={world.case_ids[0]}")
        assert page.status_code == 200
        assert first.id in page.text and "note.create" in page.text and "case.heard" in page.text
        assert second.id not in page.text and world.case_ids[1] not in page.text
        bad = await coordinator.get("/audit?case_id=Jane+Doe&from=yesterday")
        assert bad.status_code == 400 and "Enter an id as the pages show it" in bad.text
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        assert (await chair.get(f"/audit?case_id={world.case_ids[0]}")).status_code == 403
