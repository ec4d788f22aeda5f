"""Rendering one approved minutes version for every recipient still waiting (the minutes outbox).

Idempotent: a row already done is skipped, and a document already stored for the same version, agency
and view is reused, so a second delivery of the job (or the reconciler) never makes a second document.
Agencies with the same view in the same language share one layout, each stamped with its own footer. Each agency's view
follows its tier now, not only when the render was asked for (access.minutes_view). When an agency's copy is
ready, first or a correction, a `minutes.ready` event is written with it: its users are told (marac/alerts)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from marac.agencies.access import minutes_view
from marac.agencies.models import Conference, Membership
from marac.clock import now
from marac.conference_types import bilingual
from marac.documents import pool, store
from marac.documents.models import Document
from marac.minutes.models import MinutesRecipient, MinutesVersion
from marac.minutes.service import Preview, shared_views, withdraw
from marac.notices.events import emit

Progress = Callable[[int], Awaitable[None]]  # percent done


async def render_pending(minutes_id: str, progress: Progress | None = None) -> None:
    minutes = await MinutesVersion.get(id=minutes_id).prefetch_related("meeting")
    meeting = minutes.meeting
    pending = MinutesRecipient.filter(minutes=minutes, status="pending").prefetch_related("agency")
    rows = {row.agency_id: row for row in await pending}
    tiers_now = dict(await Membership.filter(conference_id=meeting.conference_id).values_list("agency_id", "tier"))
    # An agency no longer a member gets the narrowest view; downloads refuse it anyway.
    views = {
        agency_id: minutes_view(tiers_now.get(agency_id), row.tier) or "actions_only" for agency_id, row in rows.items()
    }
    finished = 0

    async def done(agency_id: str, document: Document) -> None:
        nonlocal finished
        at = now()
        async with in_transaction() as conn:
            marked = await (
                MinutesRecipient.filter(id=rows[agency_id].id, status="pending")
                .using_db(conn)
                .update(status="done", document_id=document.id, notified_at=at)
            )
            if marked:
                await emit(
                    "minutes.ready",
                    conference_id=meeting.conference_id,
                    meeting_id=meeting.id,
                    agency_id=agency_id,
                    version=minutes.version,
                    conn=conn,
                )
        finished += 1
        if progress is not None:
            await progress(int(finished * 100 / len(rows)))

    await MinutesRecipient.filter(id__in=[row.id for row in rows.values()]).update(attempts=F("attempts") + 1)
    waiting = []
    for row in rows.values():
        document = await store.find("minutes", meeting.id, row.agency_id, minutes.version)
        if document is not None and document.tier != views[row.agency_id]:
            await withdraw(document, conference_id=meeting.conference_id)  # made for a wider view than it may have now
            store.remove_file(document)
            document = None
        if document is None:
            waiting.append((row.agency_id, views[row.agency_id]))
        else:
            await done(row.agency_id, document)

    async def deliver(recipient: pool.Recipient, pdf: bytes, pages: int) -> None:
        document = await store.save(
            "minutes",
            meeting.id,
            recipient.key,
            minutes.version,
            pdf,
            pages,
            reference=recipient.reference,
            tier=views[recipient.key],
        )
        await done(recipient.key, document)

    languages = {agency_id: row.agency.language for agency_id, row in rows.items()}
    conference = await Conference.get(id=meeting.conference_id)
    groups = [
        (
            view,
            [
                pool.Recipient(
                    agency_id, rows[agency_id].agency.name, store.new_reference("minutes", meeting.date), annex
                )
                for agency_id, annex in members
            ],
        )
        for view, members in shared_views(
            minutes.content, minutes.version, waiting, languages, bilingual(conference.type_settings)
        )
    ]
    await pool.render_shared(
        "minutes.html",
        groups,
        title="MARAC minutes",
        deliver=deliver,
        annex_template="minutes_restricted.html",
        in_parts=True,
    )


async def preview_pdf(preview: Preview) -> bytes:
    """The preview as the agency's document, marked DRAFT on every page: the same template and
    view as its real copy (render_pending), rendered whole."""
    context = {**preview.view, "reference": "DRAFT", "recipient": preview.agency_name, "draft": True}
    pdf, _ = await pool.render("minutes.html", context, title="MARAC minutes (draft)")
    return pdf
