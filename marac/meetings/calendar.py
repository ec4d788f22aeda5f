"""The iCalendar feed of a conference's meetings: dates, times and status only — never a case."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from marac.agencies.models import Conference
from marac.meetings.models import Meeting

LONDON = ZoneInfo("Europe/London")
# Capacity × minutes per case, rounded up to whole hours, is the meeting's length.
MIN_LENGTH = timedelta(hours=1)


def feed(conference: Conference, meetings: list[Meeting]) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//marac//meetings//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", conference.name)
    hours, minutes = (int(x) for x in conference.start_time.split(":"))
    settings = conference.type_settings
    length = max(MIN_LENGTH, timedelta(minutes=int(settings["capacity"]) * int(settings["minutes_per_case"])))
    for meeting in meetings:
        event = Event()
        start = datetime.combine(meeting.date, time(hours, minutes), tzinfo=LONDON)
        event.add("uid", f"{meeting.id}@marac")
        event.add("summary", f"{conference.name}{' (emergency)' if meeting.kind == 'emergency' else ''}")
        event.add("dtstart", start)
        event.add("dtend", start + length)
        event.add("dtstamp", meeting.created_at)
        event.add("status", "CANCELLED" if meeting.status == "cancelled" else "CONFIRMED")
        event.add("description", f"Referral cut-off: {meeting.cut_off:%A %d %B %Y}")
        if meeting.venue:
            event.add("location", meeting.venue)
        cal.add_component(event)
    return cal.to_ical()
