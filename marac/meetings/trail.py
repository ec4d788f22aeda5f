"""A case's audit trail: which audit events are about one case (GET /api/v1/audit?case_id=).

A case is its referral from intake to minutes, across the meetings it was listed at (a deferred
case comes back on a later agenda as a new agenda item of the same referral). Every event about
the referral, its agenda items, research, notes, actions, decisions and break-glass grants carries
the referral's id (AuditEvent.case_id, set by audit.service.record). The documents and lists that
showed the case to agencies are the meetings' own (research lists, minutes), so their events carry
no case: the trail adds the events about those meetings' documents, and the reads of those
meetings' agendas and research lists. It never holds an event that names another case.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from tortoise.expressions import Q

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.audit.models import AuditEvent
from marac.audit.service import record
from marac.documents.models import Document
from marac.meetings.models import AgendaItem

# Events about a whole meeting that showed this case to someone.
MEETING_DISCLOSURES = ("agenda.read", "agenda.publish", "research_list.read")


async def case_events(case_id: str) -> Q:
    """A filter for the audit events of one case, named by its case id (an agenda item, as the API gives
    it) or its referral's id. The caller's own audit filter still applies on top (access.audit_filter)."""
    found = await AgendaItem.filter(id=case_id).first().values_list("referral_id", flat=True)
    referral_id = str(found) if found else case_id
    meetings = list(
        await AgendaItem.filter(referral_id=referral_id, state="listed").values_list("meeting_id", flat=True)
    )
    trail = Q(case_id=referral_id)
    if meetings:
        documents = list(await Document.filter(meeting_id__in=meetings).values_list("id", flat=True))
        shown = Q(object_type="meeting", object_id__in=meetings, action__in=list(MEETING_DISCLOSURES))
        if documents:
            shown |= Q(object_type="document", object_id__in=documents)
        trail |= Q(shown, case_id__isnull=True)
    return trail


async def read_events(
    viewer: Viewer,
    *,
    case_id: str | None = None,
    object_id: str | None = None,
    user_id: str | None = None,
    start: date | None = None,
    end: date | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[AuditEvent]:
    """The audit events the caller may read (access.audit_filter), oldest first after seq `after`, narrowed to
    one case's trail, one record, one user and days from `start` to `end` (inclusive); `limit` + 1 are read so
    the caller knows whether there are more. The read is audited. The audit page and the API both call this."""
    query = AuditEvent.filter(access.audit_filter(viewer))
    if case_id:
        query = query.filter(await case_events(case_id))
    if object_id:
        query = query.filter(object_id=object_id)
    if user_id:
        query = query.filter(user_id=user_id)
    if start:
        query = query.filter(at__gte=datetime.combine(start, time.min, tzinfo=UTC))
    if end:
        # Up to the day's last microsecond, not before the next day: 9999-12-31 has no next day.
        query = query.filter(at__lte=datetime.combine(end, time.max, tzinfo=UTC))
    events = await query.filter(seq__gt=after).order_by("seq").limit(limit + 1)
    await record("audit.read", user_id=viewer.user_id, agency_id=viewer.agency_id, object_type="audit")
    return list(events)
