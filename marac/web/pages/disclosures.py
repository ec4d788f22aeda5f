"""The disclosure log: what was shared, with whom, when and why (docs/domain.md#disclosure-log).
Coordinators see their own conferences' entries, auditors every entry (the audit trail's rule)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Agency, Conference, User
from marac.audit.models import Disclosure
from marac.meetings.models import Meeting
from marac.web.auth import Caller, page
from marac.web.templating import render

SHOWN = 500  # the newest; the API's audit list has the full history
KINDS = {
    "minutes": "Minutes",
    "research_list": "Research list",
    "subject_access": "Subject access export",
    "quarterly_report": "Quarterly figures",
}


@page(Can.READ_DISCLOSURES)
async def disclosures(request: Request, caller: Caller) -> Response:
    entries = await Disclosure.filter(access.audit_filter(caller.viewer)).order_by("-at").limit(SHOWN)
    # Directory data (agency, staff and conference names, meeting dates), not case data.
    agencies = {a.id: a.name for a in await Agency.filter(id__in={e.agency_id for e in entries})}
    users = {u.id: u.name for u in await User.filter(id__in={e.user_id for e in entries})}
    conferences = {c.id: c.name for c in await Conference.filter(id__in={e.conference_id for e in entries})}
    meetings = {m.id: m.date for m in await Meeting.filter(id__in={e.meeting_id for e in entries if e.meeting_id})}
    rows = [
        {
            "at": e.at,
            "kind": KINDS.get(e.kind, e.kind),
            "version": e.version,
            "purpose": e.purpose,
            "agency": agencies.get(e.agency_id, ""),
            "user": users.get(e.user_id, ""),
            "conference": conferences.get(e.conference_id, ""),
            "meeting": meetings.get(e.meeting_id or ""),
        }
        for e in entries
    ]
    return render(request, "disclosures/list.html", {"rows": rows, "shown": SHOWN})


routes = [
    Route("/disclosures", disclosures, methods=["GET"]),
]
