"""The meeting schedule: dates from a conference's cadence, each meeting's cut-off, and the
coordinator's changes (move, cancel, emergency meeting).

Rules (docs/domain.md#schedule-and-cut-off):
- a conference meets every `cadence_days` days from its first date;
- a meeting that falls on a bank holiday moves to the next working day, unless the
  conference says otherwise;
- the cut-off is `cutoff_working_days` working days before the meeting, counting the bank
  holidays of the conference's nation (the maintained `holidays` package, never a table of
  our own); a referral received on the cut-off day still makes that meeting;
- a cancelled meeting's cases move to the next meeting (the agenda builder finds them).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from tortoise.transactions import in_transaction

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.errors import Conflict, RuleViolation
from marac.i18n import gettext as _
from marac.meetings.models import AgendaItem, Meeting

# How far ahead meetings are created when a referral or a page needs one.
HORIZON_MEETINGS = 8
SUBDIVISIONS = {"england_wales": "ENG", "scotland": "SCT", "northern_ireland": "NIR"}


@lru_cache(maxsize=256)
def _bank_holidays(nation: str, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv=SUBDIVISIONS[nation], years=year))


def is_working_day(day: date, nation: str = "england_wales") -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation, day.year)


def is_bank_holiday(day: date, nation: str = "england_wales") -> bool:
    return day in _bank_holidays(nation, day.year)


def working_days_before(day: date, count: int, nation: str = "england_wales") -> date:
    """The date `count` working days before `day` (0: `day` itself)."""
    current = day
    while count > 0:
        current -= timedelta(days=1)
        if is_working_day(current, nation):
            count -= 1
    return current


def working_days_after(day: date, count: int, nation: str = "england_wales") -> date:
    """The date `count` working days after `day`."""
    current = day
    while count > 0:
        current += timedelta(days=1)
        if is_working_day(current, nation):
            count -= 1
    return current


def next_working_day(day: date, nation: str = "england_wales") -> date:
    while not is_working_day(day, nation):
        day += timedelta(days=1)
    return day


def slot_dates(conference: Conference, start: date, count: int) -> list[date]:
    """The next `count` cadence dates on or after `start`."""
    cadence = int(conference.type_settings["cadence_days"])
    first = conference.first_date
    index = 0 if start <= first else -(-(start - first).days // cadence)  # ceiling division
    return [first + timedelta(days=cadence * (index + n)) for n in range(count)]


def sitting_date(conference: Conference, slot: date) -> date:
    if conference.move_on_bank_holiday and is_bank_holiday(slot, conference.nation):
        return next_working_day(slot, conference.nation)
    return slot


def cut_off_for(conference: Conference, day: date) -> date:
    return working_days_before(day, int(conference.type_settings["cutoff_working_days"]), conference.nation)


async def ensure_meetings(conference: Conference, start: date, count: int = HORIZON_MEETINGS) -> None:
    """Create the cadence meetings from `start` that are not in the table yet."""
    slots = slot_dates(conference, start, count)
    existing = set(await Meeting.filter(conference=conference, slot_date__in=slots).values_list("slot_date", flat=True))
    for slot in slots:
        if slot not in existing:
            day = sitting_date(conference, slot)
            await Meeting.get_or_create(
                conference=conference,
                slot_date=slot,
                defaults={"date": day, "cut_off": cut_off_for(conference, day), "venue": conference.venue},
            )


async def upcoming(conference: Conference, start: date, count: int) -> list[Meeting]:
    """Meetings (scheduled, emergency and cancelled) from `start`, generated as far as asked."""
    await ensure_meetings(conference, start, count)
    return await Meeting.filter(conference=conference, date__gte=start).order_by("date").limit(count)


async def meeting_for_referral(conference: Conference, received: date) -> Meeting:
    """The first cadence meeting, still open (not published, held or cancelled), whose cut-off
    the received date meets."""
    start = received
    while True:
        await ensure_meetings(conference, start)
        meetings = await Meeting.filter(conference=conference, date__gte=start, kind="scheduled").order_by("date")
        for meeting in meetings:
            if meeting.status == "scheduled" and received <= meeting.cut_off:
                return meeting
        start = meetings[-1].date + timedelta(days=1)


# --- the coordinator's changes -----------------------------------------------------------


def _require_open(meeting: Meeting) -> None:
    if meeting.status != "scheduled":
        raise Conflict(_("This meeting is %(status)s: it can no longer be changed") % {"status": meeting.status})


async def move(viewer: Viewer, meeting: Meeting, new_date: date, today: date) -> Meeting:
    access.require_manage_meeting(viewer, meeting.conference_id)
    _require_open(meeting)
    if new_date < today:
        raise RuleViolation(_("A meeting cannot move into the past"), {"date": _("Choose today or a later date")})
    conference = await meeting.conference
    if (
        await Meeting.filter(conference=conference, date=new_date)
        .exclude(id=meeting.id)
        .exclude(status="cancelled")
        .exists()
    ):
        raise Conflict(
            _("Another meeting of this conference is on that date"), {"date": _("Another meeting is on that date")}
        )
    meeting.date, meeting.cut_off = new_date, cut_off_for(conference, new_date)
    async with in_transaction() as conn:
        await meeting.save(using_db=conn, update_fields=["date", "cut_off"])
        await record(
            "meeting.move",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="meeting",
            object_id=meeting.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return meeting


async def cancel(viewer: Viewer, meeting: Meeting) -> Meeting:
    """Its cases go back to the pool and the next meeting's agenda picks them up."""
    access.require_manage_meeting(viewer, meeting.conference_id)
    if meeting.status not in ("scheduled", "published"):
        raise Conflict(_("This meeting is %(status)s: it can no longer be cancelled") % {"status": meeting.status})
    from marac.referrals.models import Referral

    async with in_transaction() as conn:
        listed = await AgendaItem.filter(meeting=meeting).using_db(conn).values_list("referral_id", flat=True)
        await (
            Referral.filter(id__in=list(listed), status__in=["accepted", "heard"])
            .using_db(conn)
            .update(status="accepted", meeting_id=None)
        )
        await AgendaItem.filter(meeting=meeting).using_db(conn).delete()
        meeting.status = "cancelled"
        await meeting.save(using_db=conn, update_fields=["status"])
        await record(
            "meeting.cancel",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="meeting",
            object_id=meeting.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return meeting


async def add_emergency(viewer: Viewer, conference: Conference, day: date, today: date) -> Meeting:
    """An extra meeting for urgent cases, which the coordinator adds to it by hand."""
    access.require_manage_meeting(viewer, conference.id)
    if day < today:
        raise RuleViolation(
            _("An emergency meeting cannot be in the past"), {"date": _("Choose today or a later date")}
        )
    async with in_transaction() as conn:
        meeting = await Meeting.create(
            conference=conference,
            slot_date=None,
            date=day,
            cut_off=day,
            kind="emergency",
            venue=conference.venue,
            using_db=conn,
        )
        await record(
            "meeting.emergency",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="meeting",
            object_id=meeting.id,
            conference_id=conference.id,
            conn=conn,
        )
    return meeting
