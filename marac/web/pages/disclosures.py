"""The disclosure log: what was shared, with whom, when and why (docs/domain.md#disclosure-log).
Coordinators see their own conferences' entries, auditors every entry (the audit trail's rule).
And the audit trail itself, narrowed as the API narrows it (by case, record and days)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac import validation
from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Agency, Conference, User
from marac.audit.models import Disclosure
from marac.audit.service import DISCLOSURE_PURPOSES
from marac.errors import RuleViolation
from marac.i18n import gettext as _
from marac.i18n import lazy_gettext
from marac.ids import ID_PATTERN
from marac.meetings import trail
from marac.meetings.models import Meeting
from marac.web.auth import Caller, page
from marac.web.templating import render

SHOWN = 500  # the newest; the API's audit list has the full history
KINDS = {
    "minutes": lazy_gettext("Minutes"),
    "research_list": lazy_gettext("Research list"),
    "research_list_reissue": lazy_gettext("Research list re-issued (urgent case added)"),
    "subject_access": lazy_gettext("Subject access export"),
    "quarterly_report": lazy_gettext("Quarterly figures"),
    "chair_pack": lazy_gettext("Chair's pack"),
    "transfer_package": lazy_gettext("Transfer package (a case transferred out)"),
}

# What audit.service.DISCLOSURE_PURPOSES says, for readers of another language (tests/test_i18n_admin.py
# checks the two agree).
PURPOSES = {
    "minutes": lazy_gettext("MARAC minutes circulated to a member agency: the part it is entitled to see"),
    "research_list": lazy_gettext("Research list released before the meeting so the agency can check its records"),
    "research_list_reissue": lazy_gettext(
        "Research list re-issued to every member agency as a new version: an urgent case was added after publication"
    ),
    "subject_access": lazy_gettext(
        "Subject access request: everything held about one person, exported by the coordinator for redaction review"
    ),
    "quarterly_report": lazy_gettext(
        "Quarterly figures of the conference for its steering group and partners; numbers from 1 to 5 suppressed"
    ),
    "chair_pack": lazy_gettext(
        "The chair's preparation pack: agencies' research and the victim's views, for the chair"
    ),
    "transfer_package": lazy_gettext(
        "A case transferred to another area's MARAC: its referral, minutes extracts and open actions"
    ),
}


def _purpose(entry: Disclosure) -> str:
    """The purpose in the reader's language where it is the one the service wrote (in English), as written otherwise."""
    if entry.kind in PURPOSES and DISCLOSURE_PURPOSES.get(entry.kind) == entry.purpose:
        return str(PURPOSES[entry.kind])
    return entry.purpose


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
            "purpose": _purpose(e),
            "recipient": e.recipient,
            "agency": agencies.get(e.agency_id, ""),
            "user": users.get(e.user_id, ""),
            "conference": conferences.get(e.conference_id, ""),
            "meeting": meetings.get(e.meeting_id or ""),
        }
        for e in entries
    ]
    return render(request, "disclosures/list.html", {"rows": rows, "shown": SHOWN})


AUDIT_PAGE = 100


@page(Can.READ_AUDIT)
async def audit_trail(request: Request, caller: Caller) -> Response:
    """The audit trail, oldest first, a page at a time: one case's whole trail (its case id or its referral's
    id), one record's, or some days'. Ids only, as recorded."""
    params = request.query_params
    values = {key: params.get(key, "").strip() for key in ("case_id", "object_id", "from", "to")}
    errors: dict[str, str] = {}
    for key in ("case_id", "object_id"):
        if values[key] and not ID_PATTERN.fullmatch(values[key]):
            errors[key] = _("Enter an id as the pages show it: 32 letters a to f and digits")
    days = {}
    for key in ("from", "to"):
        try:
            days[key] = validation.day(values[key], key, last_year=validation.FILTER_LAST_YEAR) if values[key] else None
        except RuleViolation as exc:
            errors.update(exc.fields)
    after = validation.whole_number(params.get("after", "0"), 0, 10**18) or 0
    if errors:
        return render(request, "audit/list.html", {"values": values, "errors": errors, "events": []}, status=400)
    events = await trail.read_events(
        caller.viewer,
        case_id=values["case_id"] or None,
        object_id=values["object_id"] or None,
        start=days["from"],
        end=days["to"],
        after=after,
        limit=AUDIT_PAGE,
    )
    more = len(events) > AUDIT_PAGE
    events = events[:AUDIT_PAGE]
    return render(
        request,
        "audit/list.html",
        {"values": values, "errors": {}, "events": events, "after": events[-1].seq if more else None},
    )


routes = [
    Route("/disclosures", disclosures, methods=["GET"]),
    Route("/audit", audit_trail, methods=["GET"]),
]
