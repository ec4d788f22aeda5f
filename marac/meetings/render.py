"""Rendering the research lists of a published meeting: one PDF per member agency, in its document language."""

from __future__ import annotations

from marac import i18n
from marac.conference_types import bilingual
from marac.documents import pool, store
from marac.documents.models import Document
from marac.documents.render import BILINGUAL, LANGUAGE
from marac.meetings import agenda
from marac.meetings.models import Meeting


async def render_research_lists(meeting_id: str) -> None:
    """The current version of the research list (meeting.research_list_version) for every member agency.
    Idempotent: a document already stored for an agency is kept (delivery is at least once)."""
    meeting = await Meeting.get(id=meeting_id).prefetch_related("conference")
    if meeting.status not in ("published", "held"):
        return
    cases = [vars(case) for case in await agenda.research_list(meeting)]
    for membership in await agenda.members(meeting):
        version = meeting.research_list_version
        if await Document.exists(kind="agenda", meeting=meeting, agency_id=membership.agency_id, version=version):
            continue
        reference = store.new_reference("agenda", meeting.date)
        context = {
            "conference_name": meeting.conference.name,
            "meeting_date": meeting.date,
            "cut_off": meeting.cut_off,
            "venue": meeting.venue,
            "recipient": membership.agency.name,
            "version": version,
            "reference": reference,
            "cases": cases,
            LANGUAGE: membership.agency.language,
            BILINGUAL: bilingual(meeting.conference.type_settings) and membership.agency.language != i18n.DEFAULT,
        }
        pdf, pages = await pool.render("agenda.html", context, title="MARAC research list")
        await store.save("agenda", meeting.id, membership.agency_id, version, pdf, pages, reference=reference)
