"""The meeting schedule: dates from a conference's cadence, and each meeting's cut-off.

Rules (domain brief, "Before the meeting"):
- a conference meets every `cadence_days` days from its first date;
- a referral is heard at the first meeting whose cut-off it meets: received on or before
  the day that is `cutoff_working_days` working days before the meeting;
- working days skip weekends and the bank holidays of England and Wales (the maintained
  `holidays` package, never a hand-written table).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

from marac.agencies.models import Conference
from marac.meetings.models import Meeting

# How far ahead meetings are created when a referral needs one.
HORIZON_MEETINGS = 8


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(day.year)


def working_days_before(day: date, count: int) -> date:
    """The date `count` working days before `day` (0: `day` itself)."""
    current = day
    while count > 0:
        current -= timedelta(days=1)
        if is_working_day(current):
            count -= 1
    return current


def meeting_dates(conference: Conference, start: date, count: int) -> list[date]:
    """The next `count` cadence dates on or after `start`."""
    cadence = int(conference.type_settings["cadence_days"])
    first = conference.first_date
    if start <= first:
        index = 0
    else:
        index = -(-(start - first).days // cadence)  # ceiling division
    return [first + timedelta(days=cadence * (index + n)) for n in range(count)]


async def ensure_meetings(conference: Conference, start: date, count: int = HORIZON_MEETINGS) -> list[Meeting]:
    """The scheduled meetings from `start`, creating any not yet in the table."""
    working_days = int(conference.type_settings["cutoff_working_days"])
    dates = meeting_dates(conference, start, count)
    existing = {m.date: m for m in await Meeting.filter(conference=conference, date__in=dates)}
    meetings = []
    for day in dates:
        meeting = existing.get(day)
        if meeting is None:
            meeting, _ = await Meeting.get_or_create(
                conference=conference, date=day, defaults={"cut_off": working_days_before(day, working_days)}
            )
        meetings.append(meeting)
    return meetings


async def meeting_for_referral(conference: Conference, received: date) -> Meeting:
    """The first meeting, not cancelled, whose cut-off a referral received on `received` meets."""
    start = received
    while True:
        for meeting in await ensure_meetings(conference, start):
            if meeting.status != "cancelled" and received <= meeting.cut_off:
                return meeting
        start = meeting.date + timedelta(days=1)
