"""The coordinator's dashboard (README "The coordinator's dashboard"): each figure against data built here, other
conferences' data never shown, no names on the page, and nobody but a coordinator gets it."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from marac import dashboard
from marac.actions.models import Action
from marac.agencies import service as directory
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.clock import now, today
from marac.errors import AccessDenied
from marac.meetings import schedule
from marac.meetings.models import AgendaItem, Meeting, Research
from marac.minutes.models import MinutesRecipient, MinutesVersion
from marac.referrals.models import Referral
from tests.builders import referral
from tests.conftest import CONFERENCE, session_cookie_for

DAY = date(2026, 11, 14)  # a Saturday; the conference sits every other Tuesday: 10 Nov, 24 Nov...
NAMES = ("Jane Doe", "John Roe", "Amy Doe")


async def _referral(
    personas, received: str = "2026-11-02", accept: bool = False, conference: Conference | None = None
) -> Referral:
    made = await referral(personas, accept=accept, received_at=received)
    if conference:  # another conference's case, without giving a persona a seat there
        await Referral.filter(id=made.id).update(conference_id=conference.id)
    return await Referral.get(id=made.id)


async def _meeting(conference: Conference, day: date, status: str = "held") -> Meeting:
    return await Meeting.create(
        conference=conference, slot_date=None, date=day, cut_off=day, kind="emergency", status=status
    )


async def _action(item: AgendaItem, owner: str, due: date, status: str = "open") -> Action:
    return await Action.create(
        item=item,
        meeting_id=item.meeting_id,
        conference_id=(await item.meeting).conference_id,
        owner_agency_id=owner,
        description="Visit Jane Doe",
        due_date=due,
        status=status,
        created_by="x",
    )


async def _minutes(meeting: Meeting, version: int, sent: dict[str, bool], status: str = "approved") -> MinutesVersion:
    minutes = await MinutesVersion.create(meeting=meeting, version=version, status=status, content={}, approved_by="x")
    for agency_id, notified in sent.items():
        await MinutesRecipient.create(
            minutes=minutes,
            agency_id=agency_id,
            tier="full",
            status="done" if notified else "pending",
            notified_at=now() if notified else None,
        )
    return minutes


async def _other_conference(personas, slug: str, coordinated: bool) -> Conference:
    await directory.create_conference(
        None,
        name=f"Conference {slug}",
        slug=slug,
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        members=[directory.MemberSpec(personas["police"].user.agency_id, "full")],
    )
    conference = await Conference.get(slug=slug)
    if coordinated:
        await personas["coordinator"].user.conferences.add(conference)
    return conference


@pytest.fixture
async def built(personas):
    """Northshire's data as of DAY, and an unrelated conference's. Referrals come from
    tests/builders.py; meetings, agenda items, research, minutes and actions are written as rows,
    because the figures are read at one moment that the services pass through but do not stop
    at: minutes rendered for some agencies and not yet for others, research on a case moved on,
    meetings held in the past with actions overdue."""
    conference = await Conference.get(slug=CONFERENCE)
    agency = {k: personas[k].user.agency_id for k in ("police", "idva", "health", "childrens")}
    untriaged = await _referral(personas, received="2026-11-05")
    cases = [await _referral(personas, accept=True) for _ in range(3)]

    # The next meeting (24 November), published with two cases and one moved on.
    await schedule.ensure_meetings(conference, DAY, 1)
    coming = await Meeting.get(conference=conference, date=date(2026, 11, 24))
    await Meeting.filter(id=coming.id).update(status="published")
    listed = [
        await AgendaItem.create(meeting=coming, referral=r, number=n, section="new_cases", state="listed")
        for n, r in enumerate(cases[:2], 1)
    ]
    moved = await AgendaItem.create(meeting=coming, referral=cases[2], number=3, section="new_cases", state="overflow")
    for item, who in ((listed[0], "police"), (listed[1], "police"), (moved, "police"), (listed[0], "health")):
        await Research.create(item=item, agency_id=agency[who], known=True, summary="Known to us", updated_by="x")

    # Held meetings: 3 Nov (minutes to everyone), 10 Nov (correction not yet sent to health), 12 Nov (none approved).
    held = [await _meeting(conference, date(2026, 11, d)) for d in (3, 10, 12)]
    await _minutes(held[0], 1, {agency["police"]: True, agency["health"]: True})
    await _minutes(held[1], 1, {agency["police"]: True, agency["health"]: True}, status="superseded")
    await _minutes(held[1], 2, {agency["police"]: True, agency["health"]: False})

    item = await AgendaItem.create(meeting=held[0], referral=cases[0], number=1, section="new_cases", state="listed")
    await _action(item, agency["police"], DAY - timedelta(days=3))
    await _action(item, agency["police"], DAY - timedelta(days=10), status="in_progress")
    await _action(item, agency["police"], DAY + timedelta(days=3))  # not yet due
    await _action(item, agency["police"], DAY)  # due today: not overdue
    await _action(item, agency["idva"], DAY - timedelta(days=5))
    await _action(item, agency["health"], DAY - timedelta(days=1), status="done")
    await _action(item, agency["health"], DAY - timedelta(days=2), status="not_done_by_agency")

    # Someone else's conference: a referral to triage, an overdue action, uncirculated minutes.
    other = await _other_conference(personas, "elsewhere-da", coordinated=False)
    elsewhere = await _referral(personas, conference=other)
    theirs = await _meeting(other, date(2026, 11, 10))
    their_item = await AgendaItem.create(
        meeting=theirs, referral=elsewhere, number=1, section="new_cases", state="listed"
    )
    await _action(their_item, agency["police"], DAY - timedelta(days=30))
    return {
        "conference": conference,
        "agency": agency,
        "coming": coming,
        "held": held,
        "untriaged": untriaged,
        "other": other,
    }


async def test_each_figure_for_the_coordinator(personas, built):
    agency = built["agency"]
    boards = await dashboard.for_coordinator(await viewer_for(personas["coordinator"].user), DAY)
    assert [b.conference.slug for b in boards] == [CONFERENCE]  # never the conference they do not coordinate
    board = boards[0]

    assert board.next_meeting.id == built["coming"].id
    assert (board.next_meeting.date, board.next_meeting.cut_off) == (date(2026, 11, 24), date(2026, 11, 17))
    assert (board.next_meeting.days_to_meeting, board.next_meeting.days_to_cut_off) == (10, 3)

    assert (board.triage.waiting, board.triage.oldest) == (1, date(2026, 11, 5))

    research = {r.agency_id: (r.done, r.expected) for r in board.research}
    assert research == {
        agency["police"]: (2, 2),
        agency["health"]: (1, 2),
        agency["idva"]: (0, 2),
        agency["childrens"]: (0, 2),
        personas["coordinator"].user.agency_id: (0, 2),
    }

    assert [(a.agency_id, a.overdue, a.oldest_due) for a in board.overdue] == [
        (agency["police"], 2, DAY - timedelta(days=10)),
        (agency["idva"], 1, DAY - timedelta(days=5)),
    ]

    held = built["held"]
    assert [(u.meeting_id, u.approved, u.late, u.deadline) for u in board.uncirculated] == [
        (held[1].id, True, True, date(2026, 11, 13)),  # 3 working days after 10 Nov, and health still waits
        (held[2].id, False, False, date(2026, 11, 17)),
    ]


async def test_research_waits_for_publication_and_minutes_leave_the_list_once_sent(personas, built):
    await Meeting.filter(id=built["coming"].id).update(status="scheduled")
    await MinutesRecipient.filter(minutes__meeting_id=built["held"][1].id).update(notified_at=now())
    board = (await dashboard.for_coordinator(await viewer_for(personas["coordinator"].user), DAY))[0]
    assert board.research is None
    assert [u.meeting_id for u in board.uncirculated] == [built["held"][2].id]


async def test_every_conference_coordinated_each_with_its_own_figures(personas, built):
    second = await _other_conference(personas, "another-da", coordinated=True)
    await _referral(personas, conference=second)
    await _referral(personas, conference=second)
    boards = await dashboard.for_coordinator(await viewer_for(personas["coordinator"].user), DAY)
    assert [b.conference.slug for b in boards] == ["another-da", CONFERENCE]  # by name
    assert [b.triage.waiting for b in boards] == [2, 1]
    assert [b.overdue for b in boards][0] == [] and boards[0].uncirculated == []
    assert boards[0].next_meeting.date == date(2026, 11, 24) and boards[0].research is None


async def test_only_coordinators(personas, client, built):
    for key in ("chair", "police", "admin", "auditor"):
        with pytest.raises(AccessDenied):
            await dashboard.for_coordinator(await viewer_for(personas[key].user), DAY)
        client.cookies.clear()
        client.cookies.update(await session_cookie_for(personas[key]))
        assert (await client.get("/dashboard")).status_code == 403, key
        assert 'href="/dashboard"' not in (await client.get("/")).text


async def test_the_page_shows_counts_and_links_not_names(personas, client, built):
    # The page runs on the real date: move the built dates to it.
    shift = today() - DAY
    for action in await Action.all():
        await Action.filter(id=action.id).update(due_date=action.due_date + shift)
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    assert 'href="/dashboard"' in (await client.get("/")).text
    page = await client.get("/dashboard")
    assert page.status_code == 200
    html = page.text
    for name in NAMES:
        assert name not in html
    assert "Known to us" not in html and "Visit" not in html
    assert re.search(r'data-figure="triage">\s*1\s*<', html)
    police = built["agency"]["police"]
    assert f"/actions?status=overdue&amp;conference={CONFERENCE}&amp;agency={police}" in html
    assert f"/referrals?conference={CONFERENCE}" in html
    assert "elsewhere" not in html.lower()
    read = await AuditEvent.filter(action="dashboard.read", user_id=personas["coordinator"].user.id).values_list(
        "conference_id", flat=True
    )
    assert read == [built["conference"].id]


async def test_the_links_narrow_the_lists(personas, client, built):
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    agency = built["agency"]
    shift = today() - DAY
    for action in await Action.all():
        await Action.filter(id=action.id).update(due_date=action.due_date + shift)
    page = await client.get(f"/actions?status=overdue&conference={CONFERENCE}&agency={agency['police']}")
    assert page.status_code == 200
    assert page.text.count('href="/actions/') == 2  # police's two overdue actions, not idva's
    everyone = await client.get("/actions?status=overdue")
    assert everyone.text.count('href="/actions/') == 3
    # Another conference, or an agency that does not exist, is not found rather than quietly empty.
    assert (await client.get("/actions?status=overdue&conference=elsewhere-da")).status_code == 404
    assert (await client.get("/actions?status=overdue&agency=" + "0" * 32)).status_code == 404
    assert (await client.get("/actions?status=overdue&agency=nonsense")).status_code == 404

    queue = await client.get(f"/referrals?conference={CONFERENCE}")
    assert queue.status_code == 200 and f'href="/referrals/{built["untriaged"].id}"' in queue.text
    assert (await client.get("/referrals?conference=elsewhere-da")).status_code == 404
