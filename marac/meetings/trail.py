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

from tortoise.expressions import Q

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
