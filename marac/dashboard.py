"""The coordinator's dashboard (README "The coordinator's dashboard"): for each conference they coordinate, the next
meeting and its cut-off, referrals awaiting triage, research completeness per agency,
overdue actions per agency, and minutes not yet circulated.

Counts, dates and links only: nothing here reads a name, a summary or any sealed field,
so the page cannot show case details however it is laid out. Each figure is a few queries
per conference on indexed, non-sealed columns (ids, statuses, dates), never one per agency.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import date
from typing import cast

from tortoise.functions import Count, Min
from tortoise.transactions import in_transaction

from marac.actions.models import OPEN, Action
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency, Conference
from marac.audit.service import record
from marac.meetings import schedule
from marac.meetings.agenda import CASE_SECTIONS
from marac.meetings.models import AgendaItem, Meeting, Research
from marac.minutes import service as minutes
from marac.referrals.models import Referral


@dataclass(frozen=True)
class NextMeeting:
    id: str
    date: datetime.date  # the module's name: `date` is this field within the class
    cut_off: datetime.date
    status: str  # scheduled | published
    kind: str  # scheduled | emergency
    days_to_meeting: int
    days_to_cut_off: int  # negative once the cut-off has passed


@dataclass(frozen=True)
class Triage:
    waiting: int
    oldest: date | None


@dataclass(frozen=True)
class AgencyResearch:
    agency_id: str
    agency: str
    done: int
    expected: int


@dataclass(frozen=True)
class AgencyOverdue:
    agency_id: str
    agency: str
    overdue: int
    oldest_due: date


@dataclass(frozen=True)
class ConferenceDashboard:
    conference: Conference
    next_meeting: NextMeeting | None
    triage: Triage
    # None until the next meeting's agenda is published: agencies research the published list.
    research: list[AgencyResearch] | None
    overdue: list[AgencyOverdue]
    uncirculated: list[minutes.Uncirculated]


def _day(value: date | str) -> date:
    # An aggregate over a date column comes back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


async def next_meeting(conference: Conference, today: date) -> NextMeeting | None:
    """The first meeting from today that will still sit (not held, not cancelled)."""
    await schedule.ensure_meetings(conference, today, 1)
    row = (
        await Meeting.filter(conference_id=conference.id, date__gte=today, status__in=["scheduled", "published"])
        .order_by("date")
        .first()
        .values("id", "date", "cut_off", "status", "kind")
    )
    if row is None:
        return None
    return NextMeeting(
        id=row["id"],
        date=row["date"],
        cut_off=row["cut_off"],
        status=row["status"],
        kind=row["kind"],
        days_to_meeting=(row["date"] - today).days,
        days_to_cut_off=(row["cut_off"] - today).days,
    )


async def triage(viewer: Viewer, conference: Conference) -> Triage:
    """Referrals received and not yet accepted or rejected: what the triage queue lists."""
    waiting = Referral.filter(access.referral_filter(viewer), conference_id=conference.id, status="received")
    count = await waiting.count()
    # One column of the first row: a date, though Tortoise's types say a tuple.
    oldest = (
        cast("date | None", await waiting.order_by("received_at").first().values_list("received_at", flat=True))
        if count
        else None
    )
    return Triage(waiting=count, oldest=oldest)


async def research(conference: Conference, meeting_id: str) -> list[AgencyResearch]:
    """Per member agency: the cases of the published agenda it has researched, of all of them."""
    members = await Agency.filter(memberships__conference_id=conference.id).order_by("name").values_list("id", "name")
    cases = await AgendaItem.filter(meeting_id=meeting_id, state="listed", section__in=list(CASE_SECTIONS)).count()
    done = dict(
        await Research.filter(item__meeting_id=meeting_id, item__state="listed", item__section__in=list(CASE_SECTIONS))
        .annotate(done=Count("id"))
        .group_by("agency_id")
        .values_list("agency_id", "done")
    )
    return [
        AgencyResearch(agency_id=agency_id, agency=name, done=done.get(agency_id, 0), expected=cases)
        for agency_id, name in members
    ]


async def overdue(conference: Conference, today: date) -> list[AgencyOverdue]:
    """Per owner agency: open actions past their due date (as on /actions?status=overdue),
    most overdue first."""
    rows = (
        await Action.filter(conference_id=conference.id, due_date__lt=today, status__in=list(OPEN))
        .annotate(overdue=Count("id"), oldest=Min("due_date"))
        .group_by("owner_agency_id")
        .values_list("owner_agency_id", "overdue", "oldest")
    )
    names = dict(await Agency.filter(id__in=[r[0] for r in rows]).values_list("id", "name"))
    found = [
        AgencyOverdue(agency_id=agency_id, agency=names.get(agency_id, ""), overdue=count, oldest_due=_day(oldest))
        for agency_id, count, oldest in rows
    ]
    return sorted(found, key=lambda a: (a.oldest_due, a.agency))


async def for_coordinator(viewer: Viewer, today: date) -> list[ConferenceDashboard]:
    """Every conference the coordinator coordinates, by name. Each is audited as read."""
    access.require(viewer, access.Can.READ_DASHBOARD)
    boards = []
    coordinated = list(viewer.where(access.Can.READ_DASHBOARD))
    for conference in await Conference.filter(id__in=coordinated).order_by("name"):
        coming = await next_meeting(conference, today)
        boards.append(
            ConferenceDashboard(
                conference=conference,
                next_meeting=coming,
                triage=await triage(viewer, conference),
                research=await research(conference, coming.id) if coming and coming.status == "published" else None,
                overdue=await overdue(conference, today),
                uncirculated=await minutes.uncirculated(conference, today),
            )
        )
    if boards:
        async with in_transaction() as conn:
            for board in boards:
                await record(
                    "dashboard.read",
                    user_id=viewer.user_id,
                    agency_id=viewer.agency_id,
                    object_type="conference",
                    object_id=board.conference.id,
                    conference_id=board.conference.id,
                    conn=conn,
                )
    return boards
