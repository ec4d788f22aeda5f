"""The schedule, cut-offs, the agenda builder, publication and the research list."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest

from marac import settings
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference
from marac.clock import uk_date
from marac.documents import store
from marac.documents.models import Document
from marac.errors import Conflict
from marac.jobs import queue, tasks
from marac.jobs.models import Job
from marac.meetings import agenda, schedule
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Referral
from tests.builders import meeting_of, published_meeting, referral
from tests.conftest import CONFERENCE, make_client, session_cookie_for
from tests.flows import page_post, queue_mode

TODAY = date(2026, 11, 21)


# --- cut-offs and the schedule ------------------------------------------------------------


def test_cut_offs_skip_christmas_easter_and_the_early_may_bank_holiday():
    # Christmas 2026: Fri 25th, Sat 26th, Boxing Day observed Mon 28th.
    assert schedule.working_days_before(date(2026, 12, 29), 1) == date(2026, 12, 24)
    assert schedule.working_days_before(date(2026, 12, 29), 3) == date(2026, 12, 22)
    # Easter 2026: Good Friday 3 April, Easter Monday 6 April.
    assert schedule.working_days_before(date(2026, 4, 8), 2) == date(2026, 4, 2)
    # Early May bank holiday, Monday 4 May 2026.
    assert schedule.working_days_before(date(2026, 5, 6), 2) == date(2026, 5, 1)


def test_scotland_counts_its_own_bank_holidays():
    # 2 January is a bank holiday in Scotland only.
    assert schedule.working_days_before(date(2026, 1, 5), 1, "england_wales") == date(2026, 1, 2)
    assert schedule.working_days_before(date(2026, 1, 5), 1, "scotland") == date(2025, 12, 31)


def test_a_referral_one_second_before_midnight_on_the_cut_off_day_still_makes_the_meeting():
    # 1 June 2026 is summer time: the UK day ends at 23:00 UTC.
    assert uk_date(datetime(2026, 6, 1, 22, 59, 59, tzinfo=UTC)) == date(2026, 6, 1)
    assert uk_date(datetime(2026, 6, 1, 23, 0, 0, tzinfo=UTC)) == date(2026, 6, 2)


async def test_the_cut_off_decides_the_meeting_to_the_second(personas):
    conference = await Conference.get(slug=CONFERENCE)
    meeting = await schedule.meeting_for_referral(conference, date(2026, 6, 1))
    last_second = uk_date(
        datetime.combine(meeting.cut_off, datetime.max.time(), tzinfo=UTC) - timedelta(hours=1, seconds=0)
    )
    first_second_after = uk_date(
        datetime.combine(meeting.cut_off + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        - timedelta(hours=1)
        + timedelta(seconds=1)
    )
    assert (await schedule.meeting_for_referral(conference, last_second)).id == meeting.id
    later = await schedule.meeting_for_referral(conference, first_second_after)
    assert later.id != meeting.id and later.date > meeting.date


async def test_meetings_follow_the_cadence_and_a_bank_holiday_moves_one(personas):
    conference = await Conference.get(slug=CONFERENCE)
    conference.first_date = date(2026, 3, 23)  # a Monday; 6 April is Easter Monday
    conference.weekday = "monday"
    await conference.save()
    meetings = await schedule.upcoming(conference, date(2026, 3, 23), 4)
    assert [m.slot_date for m in meetings] == [date(2026, 3, 23), date(2026, 4, 6), date(2026, 4, 20), date(2026, 5, 4)]
    assert meetings[1].date == date(2026, 4, 7) and meetings[3].date == date(2026, 5, 5)
    assert meetings[1].cut_off == schedule.working_days_before(date(2026, 4, 7), 5)
    conference.move_on_bank_holiday = False
    await conference.save()
    await Meeting.filter(conference=conference).delete()
    kept = await schedule.upcoming(conference, date(2026, 3, 23), 2)
    assert kept[1].date == date(2026, 4, 6)


async def test_the_api_lists_meetings_from_a_date(client, personas):
    answer = await client.get(
        f"/api/v1/conferences/{CONFERENCE}/meetings?from=2026-12-01&count=3", headers=personas["police"].bearer
    )
    items = answer.json()["items"]
    assert answer.status_code == 200 and len(items) == 3
    assert all(date.fromisoformat(m["date"]) >= date(2026, 12, 1) for m in items)
    assert all(date.fromisoformat(m["cut_off"]) < date.fromisoformat(m["date"]) for m in items)
    bad = await client.get(f"/api/v1/conferences/{CONFERENCE}/meetings?count=1000", headers=personas["police"].bearer)
    assert bad.status_code == 422
    # Meetings are generated as far as asked: not centuries ahead, and never past year 9999.
    far = await client.get(
        f"/api/v1/conferences/{CONFERENCE}/meetings?from=9999-12-01", headers=personas["police"].bearer
    )
    assert far.status_code == 422 and "from" in far.json()["error"]["fields"]
    assert not await Meeting.filter(date__gt=date(2100, 1, 1)).exists()


# --- the agenda ------------------------------------------------------------------------------


async def test_over_capacity_repeats_and_the_highest_risk_stay_and_the_rest_move_on(personas):
    conference = await Conference.get(slug=CONFERENCE)
    conference.type_settings = {**conference.type_settings, "capacity": 2}
    await conference.save()
    # All received by the cut-off of the meeting of 10 November (3 November).
    old = await referral(
        personas,
        accept=True,
        yes=18,
        received_at="2025-09-01",
        victim={"name": "Ann Old", "date_of_birth": "1950-01-01"},
    )
    low = await referral(
        personas,
        accept=True,
        yes=14,
        received_at="2026-10-30",
        victim={"name": "Lou Low", "date_of_birth": "1960-01-01"},
    )
    high = await referral(
        personas,
        accept=True,
        yes=20,
        received_at="2026-10-31",
        victim={"name": "Hal High", "date_of_birth": "1970-01-01"},
    )
    first = await referral(personas, accept=True, yes=14, received_at="2026-06-01")
    # The same victim and perpetrator as `first`:
    repeat = await referral(personas, accept=True, yes=14, received_at="2026-11-02")
    assert repeat.is_repeat and not high.is_repeat
    meeting = await Meeting.get(id=repeat.expected_meeting_id).prefetch_related("conference")
    assert meeting.date == date(2026, 11, 10)
    await Referral.filter(id=first.id).update(status="heard")  # `first` was heard in June
    await agenda.build(meeting)
    items = {i.referral_id: i for i in await AgendaItem.filter(meeting=meeting)}
    # Repeats first, then the highest risk; an old referral never listed waits its turn too.
    assert {rid for rid, i in items.items() if i.state == "listed"} == {repeat.id, high.id}
    moved = {rid: i for rid, i in items.items() if i.state == "overflow"}
    assert set(moved) == {old.id, low.id}
    assert all(i.reason == "Over capacity (2 cases): moved to the next meeting" for i in moved.values())
    nxt = (
        await Meeting.filter(conference=conference, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    await agenda.build(nxt)
    assert {i.referral_id for i in await AgendaItem.filter(meeting=nxt, state="listed")} == {old.id, low.id}


async def test_building_twice_changes_nothing_and_keeps_the_coordinators_order(personas):
    a = await referral(personas, accept=True, yes=20)
    await referral(personas, accept=True, yes=15, received_at="2026-11-03")
    meeting = await meeting_of(a)
    await agenda.build(meeting)
    items = await AgendaItem.filter(meeting=meeting).order_by("position")
    coordinator = await viewer_for(personas["coordinator"].user)
    await agenda.move_item(coordinator, meeting, items[1].id, -1)
    before = [
        (i.id, i.number, i.section, i.position, i.state)
        for i in await AgendaItem.filter(meeting=meeting).order_by("id")
    ]
    await agenda.build(meeting)
    await agenda.build(meeting)
    after = [
        (i.id, i.number, i.section, i.position, i.state)
        for i in await AgendaItem.filter(meeting=meeting).order_by("id")
    ]
    assert before == after


async def test_a_deferred_case_goes_to_the_next_meeting_with_its_reason(personas):
    a = await referral(personas, accept=True)
    meeting = await meeting_of(a)
    await agenda.build(meeting)
    item = await AgendaItem.get(meeting=meeting, referral_id=a.id)
    coordinator = await viewer_for(personas["coordinator"].user)
    await agenda.defer(coordinator, meeting, item.id, "Referrer cannot attend")
    await agenda.build(meeting)
    assert (await AgendaItem.get(id=item.id)).state == "deferred"
    nxt = (
        await Meeting.filter(conference_id=meeting.conference_id, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    await agenda.build(nxt)
    assert await AgendaItem.exists(meeting=nxt, referral_id=a.id, state="listed")


async def test_publishing_freezes_the_agenda_and_a_later_acceptance_goes_to_the_next_meeting(client, personas):
    a = await referral(personas, accept=True)
    meeting = await meeting_of(a)
    late = await referral(
        personas, received_at=meeting.cut_off.isoformat(), victim={"name": "Late Person", "date_of_birth": "1980-01-01"}
    )
    published = await client.post(
        f"/api/v1/meetings/{meeting.id}/agenda/publish", headers=personas["coordinator"].bearer
    )
    assert published.status_code == 200
    listed = [i["referral_id"] for s in published.json()["sections"] for i in s["items"]]
    assert a.id in listed and late.id not in listed
    decided = await client.post(
        f"/api/v1/referrals/{late.id}/decision", json={"decision": "accept"}, headers=personas["coordinator"].bearer
    )
    assert decided.json()["meeting_id"] != meeting.id
    again = await client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers=personas["chair"].bearer)
    assert again.json() == published.json()  # the frozen snapshot
    meeting = await Meeting.get(id=meeting.id).prefetch_related("conference")
    with pytest.raises(Conflict, match="frozen"):
        await agenda.build(meeting)


async def test_a_cancelled_meetings_cases_move_to_the_next_one(personas):
    a = await referral(personas, accept=True)
    meeting = await meeting_of(a)
    await agenda.build(meeting)
    await schedule.cancel(await viewer_for(personas["coordinator"].user), meeting)
    nxt = (
        await Meeting.filter(conference_id=meeting.conference_id, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    await agenda.build(nxt)
    assert await AgendaItem.exists(meeting=nxt, referral_id=a.id, state="listed")


async def test_the_coordinator_adds_an_urgent_case_to_an_emergency_meeting(personas):
    a = await referral(personas, accept=True)
    coordinator = await viewer_for(personas["coordinator"].user)
    conference = await Conference.get(slug=CONFERENCE)
    emergency = await schedule.add_emergency(coordinator, conference, TODAY + timedelta(days=2), TODAY)
    emergency = await Meeting.get(id=emergency.id).prefetch_related("conference")
    await agenda.build(emergency)
    assert not await AgendaItem.exists(meeting=emergency)  # nothing arrives by itself
    await agenda.add_case(coordinator, emergency, a.id)
    await agenda.build(emergency)
    assert await AgendaItem.exists(meeting=emergency, referral_id=a.id, state="listed", added_manually=True)


# --- the research list -------------------------------------------------------------------------


async def test_the_research_list_has_limited_identifiers_only(client, personas):
    meeting = (await published_meeting(personas)).meeting
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas["health"].bearer)
    assert answer.status_code == 200
    item = answer.json()["items"][0]
    # transfer_from: the MARAC a transfer comes from (null here), a tag like kind, not an identifier.
    assert set(item) == {"case_id", "label", "kind", "transfer_from", "victim", "perpetrators", "children"}
    assert set(item["victim"]) == {"name", "date_of_birth", "address"}
    text = answer.text
    assert "Jane Doe" in text and "NS1 1AA" in text and "Amy Doe" in text
    for secret in ("07700 900123", "Escalating threats", "safe_to_call", "answers", "score"):
        assert secret not in text


async def test_non_members_get_404_for_the_research_list(client, personas):
    meeting = (await published_meeting(personas)).meeting
    for persona, status in [("housing", 404), ("health", 200), ("childrens", 200), ("admin", 403), ("auditor", 403)]:
        answer = await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas[persona].bearer)
        assert answer.status_code == status, persona


async def test_agency_research_is_seen_by_the_coordinator_not_by_other_agencies(app, client, personas):
    meeting = (await published_meeting(personas)).meeting
    case_id = (
        await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas["health"].bearer)
    ).json()["items"][0]["case_id"]
    put = await client.put(
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}/research",
        json={"known": True, "summary": "GP saw injuries in October"},
        headers=personas["health"].bearer,
    )
    assert put.status_code == 200
    async with make_client(app) as coordinator, make_client(app) as police:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = (await coordinator.get(f"/meetings/{meeting.id}")).text
        assert "GP saw injuries in October" in page
        police.cookies.update(await session_cookie_for(personas["police"]))
        assert "GP saw injuries" not in (await police.get(f"/meetings/{meeting.id}")).text


async def test_each_member_agency_gets_its_research_list_as_a_pdf(client, personas):
    meeting = (await published_meeting(personas)).meeting
    await queue.drain()
    # With Redis the job waits for a worker: run the task itself (idempotent, ids only).
    await tasks.render_agendas(meeting.id)
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["health"].bearer)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
    assert "Jane Doe" in text and "OFFICIAL-SENSITIVE" in text and "Northshire NHS Trust" in text
    assert "Escalating threats" not in text and "07700" not in text
    assert (
        await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["housing"].bearer)
    ).status_code == 404
    from marac.audit.models import Disclosure

    logged = await Disclosure.get(meeting_id=meeting.id)  # the disclosure log: who received what, when, why
    assert (logged.kind, logged.agency_id, logged.user_id) == (
        "research_list",
        personas["health"].user.agency_id,
        personas["health"].user.id,
    )


async def test_a_research_list_render_that_failed_is_retried_by_the_reconciler_and_ends_rendered(
    app, client, personas, tmp_path
):
    made = await referral(personas, accept=True)
    meeting = await meeting_of(made)
    # A store that cannot be written, even by root: its parent is a file, not a directory.
    (tmp_path / "not-a-directory").write_bytes(b"")
    real = settings.get()
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    async with queue_mode(None):  # in-process jobs: the publication's render runs here and fails
        settings.override(dataclasses.replace(settings.get(), document_store=tmp_path / "not-a-directory" / "store"))
        try:
            published = await page_post(client, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/publish", {})
            assert published.status_code == 303, published.text
            await queue.drain()
        finally:
            settings.override(dataclasses.replace(settings.get(), document_store=real.document_store))
        failed = await Job.filter(name="render_agendas").order_by("-created_at").first()
        assert failed.status == "failed"
        assert not await Document.filter(kind="agenda", meeting_id=meeting.id).exists()
        assert await agenda.pending_research_lists(older_than=timedelta(0)) == [meeting.id]
        assert await agenda.pending_research_lists() == []  # a render just asked for is left to its own job

        # Five minutes on, the reconciler (the worker's cron, or the in-process timer) queues it again.
        await Meeting.filter(id=meeting.id).update(published_at=datetime.now(UTC) - timedelta(minutes=6))
        await queue.run("reconcile_renders", None)
        await queue.drain()
    members = await agenda.members(meeting)
    documents = await Document.filter(kind="agenda", meeting_id=meeting.id)
    assert sorted(d.agency_id for d in documents) == sorted(m.agency_id for m in members)
    assert all(store.read(d).startswith(b"%PDF") for d in documents)
    assert await agenda.pending_research_lists(older_than=timedelta(0)) == []
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["health"].bearer)
    assert answer.status_code == 200 and answer.content.startswith(b"%PDF")


async def test_the_calendar_feed_has_dates_and_no_cases(client, personas):
    await referral(personas, accept=True)
    conference = await Conference.get(slug=CONFERENCE)
    feed = await client.get(f"/calendar/{conference.calendar_token}.ics")
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VEVENT" in feed.text and "Referral cut-off" in feed.text
    assert "Jane" not in feed.text and "Doe" not in feed.text
    assert (await client.get("/calendar/not-the-token.ics")).status_code == 404


async def test_cases_whose_12_months_lapsed_since_the_last_referral_come_back_for_review(personas):
    current = await referral(personas, accept=True, victim={"name": "Nora New", "date_of_birth": "1999-09-09"})
    meeting = await meeting_of(current)
    # Heard a year ago, in the fortnight before this meeting's anniversary: due for review.
    lapsed_day = date(meeting.date.year - 1, meeting.date.month, meeting.date.day) - timedelta(days=3)
    old = await referral(
        personas,
        accept=True,
        received_at=lapsed_day.isoformat(),
        victim={"name": "Olive Old", "date_of_birth": "1961-06-06"},
    )
    # Heard a year ago too, but referred again since: not lapsed.
    again = await referral(
        personas,
        accept=True,
        received_at=lapsed_day.isoformat(),
        victim={"name": "Ada Again", "date_of_birth": "1972-02-02"},
    )
    await Referral.filter(id__in=[old.id, again.id]).update(status="heard")
    await referral(personas, received_at="2026-09-01", victim={"name": "Ada Again", "date_of_birth": "1972-02-02"})
    await agenda.build(meeting)
    reviews = await AgendaItem.filter(meeting=meeting, section="lapsed_reviews").values_list("referral_id", flat=True)
    assert list(reviews) == [old.id]
    assert (
        await AgendaItem.filter(meeting=meeting, state="listed").exclude(section="lapsed_reviews").count() == 1
    )  # reviews take no capacity


# --- the order of cases ------------------------------------------------------------------------


def _case(n: int, yes: int, children: bool) -> dict:
    from tests.builders import other_victim

    body = other_victim(n)
    body["risk"] = {"instrument": "dash", "answers": ["yes"] * yes + ["no"] * (24 - yes)}
    body["children"] = [{"name": f"Child {n}", "date_of_birth": "2018-05-05"}] if children else []
    return body


async def _four_cases(personas) -> tuple[Meeting, dict[str, str]]:
    """Four accepted referrals for one meeting: two with children, two adult-only, each a high and a low score."""
    made = {}
    for n, (key, yes, children) in enumerate(
        (("adult_high", 22, False), ("child_low", 14, True), ("child_high", 18, True), ("adult_low", 15, False)),
        start=1,
    ):
        made[key] = (await referral(personas, accept=True, body=_case(n, yes, children))).id
    return await meeting_of(await Referral.get(id=made["adult_high"])), made


async def _listed(client, persona, meeting) -> list[tuple[str, str]]:
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers=persona.bearer)
    assert answer.status_code == 200
    return [
        (i["referral_id"], i["label"]) for s in answer.json()["sections"] if s["key"] == "cases" for i in s["items"]
    ]


async def test_the_safelives_order_by_default_children_first_and_case_numbers_follow_it(client, personas):
    meeting, made = await _four_cases(personas)
    listed = await _listed(client, personas["coordinator"], meeting)
    # Cases with children first, then adult-only; each by risk. Numbers follow the agenda's order.
    assert [rid for rid, _ in listed] == [made[k] for k in ("child_high", "child_low", "adult_high", "adult_low")]
    assert [label for _, label in listed] == [f"{meeting.date.isoformat()} case {n}" for n in range(1, 5)]
    # The coordinator moves a case: the numbers follow; publication freezes them.
    coordinator = await viewer_for(personas["coordinator"].user)
    last = await AgendaItem.get(meeting=meeting, referral_id=made["adult_low"])
    await agenda.move_item(coordinator, await meeting_of(await Referral.get(id=made["adult_low"])), last.id, -1)
    moved = await _listed(client, personas["coordinator"], meeting)
    assert [rid for rid, _ in moved][2:] == [made["adult_low"], made["adult_high"]]
    assert moved[2][1].endswith("case 3")
    await agenda.publish(coordinator, await meeting_of(await Referral.get(id=made["adult_low"])))
    numbers = {i.referral_id: i.number for i in await AgendaItem.filter(meeting=meeting)}
    assert await _listed(client, personas["coordinator"], meeting) == moved
    research = await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas["police"].bearer)
    assert [i["case_id"] for i in research.json()["items"]] == [
        (await AgendaItem.get(meeting=meeting, referral_id=rid)).id for rid, _ in moved
    ]
    assert {i.referral_id: i.number for i in await AgendaItem.filter(meeting=meeting)} == numbers


async def test_the_type_chooses_the_order_of_cases(client, personas):
    conference = await Conference.get(slug=CONFERENCE)
    conference.type_settings = {**conference.type_settings, "case_order": ["risk", "received"]}
    await conference.save()
    meeting, made = await _four_cases(personas)
    listed = await _listed(client, personas["coordinator"], meeting)
    assert [rid for rid, _ in listed] == [made[k] for k in ("adult_high", "child_high", "adult_low", "child_low")]
    # A case accepted later takes its place by the order among those already arranged.
    later = await referral(personas, accept=True, body=_case(5, 20, False))
    again = await _listed(client, personas["coordinator"], meeting)
    assert [rid for rid, _ in again] == [
        made["adult_high"],
        later.id,
        made["child_high"],
        made["adult_low"],
        made["child_low"],
    ]
    assert [label for _, label in again] == [f"{meeting.date.isoformat()} case {n}" for n in range(1, 6)]


async def test_a_case_deferred_at_the_meeting_comes_back_marked_with_its_reason_and_earlier_notes(
    app, client, personas
):
    from marac.actions import service as actions
    from tests import builders

    world = await published_meeting(personas, cases=2)
    chair = await builders.as_(personas, "chair")
    await builders.note(personas, world.meeting, world.case_id, "EARLIERNOTE the victim was in hospital")
    await actions.decide_case(chair, world.meeting, world.case_id, "deferred", "Referrer not present")
    await actions.decide_case(chair, world.meeting, world.case_ids[1], "heard", "")
    await actions.close_meeting(chair, world.meeting)
    nxt = await builders.next_meeting(world.meeting)
    answer = await client.get(f"/api/v1/meetings/{nxt.id}/agenda", headers=personas["coordinator"].bearer)
    items = [i for s in answer.json()["sections"] for i in s["items"] if i.get("referral_id")]
    back = next(i for i in items if i["referral_id"] == world.referral.id)
    assert back["deferred_from"] == {
        "date": world.meeting.date.isoformat(),
        "meeting_id": world.meeting.id,
        "case_id": world.case_id,
        "reason": "Referrer not present",
    }
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = (await coordinator.get(f"/meetings/{nxt.id}")).text
        assert f"Deferred from {world.meeting.date.isoformat()}" in page and "Referrer not present" in page
        link = f'/meetings/{world.meeting.id}/cases/{world.case_id}"'
        assert link in page
        earlier = await coordinator.get(link.rstrip('"'))
        assert earlier.status_code == 200 and "EARLIERNOTE" in earlier.text
        await builders.publish(personas, nxt)
        run = (await coordinator.get(f"/meetings/{nxt.id}/run")).text
        assert f"Deferred from {world.meeting.date.isoformat()}" in run and link in run


async def test_a_case_the_coordinator_deferred_before_the_meeting_comes_back_with_the_reason(client, personas):
    from tests import builders

    a = await referral(personas, accept=True)
    meeting = await meeting_of(a)
    await agenda.build(meeting)
    item = await AgendaItem.get(meeting=meeting, referral_id=a.id)
    await agenda.defer(await viewer_for(personas["coordinator"].user), meeting, item.id, "Awaiting police report")
    nxt = await builders.next_meeting(meeting)
    answer = await client.get(f"/api/v1/meetings/{nxt.id}/agenda", headers=personas["coordinator"].bearer)
    back = next(i for s in answer.json()["sections"] for i in s["items"] if i.get("referral_id") == a.id)
    assert back["deferred_from"] == {
        "date": meeting.date.isoformat(),
        "meeting_id": meeting.id,
        "case_id": None,
        "reason": "Awaiting police report",
    }


async def test_an_urgent_case_added_after_publication_reissues_the_research_list(app, client, personas):
    from marac.agencies.models import Membership
    from marac.audit.models import Disclosure
    from tests.builders import other_victim

    world = await published_meeting(personas)
    meeting = world.meeting
    await queue.drain()
    await tasks.render_agendas(meeting.id)
    # Received after the cut-off: it was going to the next meeting.
    urgent = await referral(personas, accept=True, body=other_victim(1, received_at="2026-11-20"))
    first_number = (await AgendaItem.get(id=world.case_id)).number
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = (await coordinator.get(f"/meetings/{meeting.id}")).text
        assert "Add an urgent case" in page and urgent.id in page
        added = await page_post(
            coordinator, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/cases", {"referral_id": urgent.id}
        )
        assert added.status_code == 303
    await queue.drain()
    await tasks.render_agendas(meeting.id)
    item = await AgendaItem.get(meeting=meeting, referral_id=urgent.id)
    # The published numbers stay; the urgent case takes the next one and is heard at this meeting.
    assert (await AgendaItem.get(id=world.case_id)).number == first_number and item.number == first_number + 1
    assert (await Referral.get(id=urgent.id)).status == "heard"
    shown = await client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers=personas["coordinator"].bearer)
    assert item.id in {i["case_id"] for s in shown.json()["sections"] for i in s["items"] if "case_id" in i}
    listed = await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas["police"].bearer)
    assert [i["case_id"] for i in listed.json()["items"]] == [world.case_id, item.id]
    # Version 2 for every member agency, each entered in the disclosure log.
    members = set(await Membership.filter(conference_id=meeting.conference_id).values_list("agency_id", flat=True))
    assert (
        set(await Document.filter(meeting=meeting, kind="agenda", version=2).values_list("agency_id", flat=True))
        == members
    )
    reissued = await Disclosure.filter(meeting_id=meeting.id, kind="research_list_reissue")
    assert {d.agency_id for d in reissued} == members and {d.version for d in reissued} == {2}
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/agenda.pdf", headers=personas["health"].bearer)
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(answer.content)).pages)
    assert "Beth Cole" in text and "Jane Doe" in text
