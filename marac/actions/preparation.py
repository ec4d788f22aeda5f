"""The chair's preparation: what the chair and coordinator read before a meeting, per case in
agenda order, as a page and as the chair's pack (a PDF).

Rules (docs/domain.md#the-chairs-preparation):
- for the conference's chair and coordinator only (access.may_prepare); anyone else: 404;
- from publication (the research list is out): before it there is nothing to prepare;
- per case: the risk picture (the instrument's result, the factors answered yes grouped as the
  instrument file groups them, the "not known" answers apart; for hate crime the level,
  strands and sub-categories), the referral (the referrer's account, children, perpetrators),
  the victim's earlier MARAC hearings in this conference with the actions agreed and how each
  ended, every member agency's research (known, not known or not returned), the advocate's
  contact with the victim and the victim's views, and the time allotted;
- never the victim's address or safe contact details, on the page or in the pack;
- every read is audited; every download of the pack is also entered in the disclosure log.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.transactions import in_transaction

from marac import clock, i18n, notices, settings
from marac.actions.models import Action
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency, Membership, User
from marac.audit.service import disclose, record
from marac.conference_types import instruments, localised
from marac.documents import pool, store
from marac.documents import render as renderer
from marac.errors import Conflict, NotFound, RuleViolation
from marac.i18n import gettext, lazy_gettext
from marac.ids import ID_PATTERN
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, ChairPack, Meeting, Research
from marac.notices.models import Notification
from marac.referrals.models import Referral

Progress = Callable[[int], Awaitable[None]]  # percent done
PREPARED = ("published", "held")  # a meeting has a preparation once its agenda is out
PACK_TITLE = "MARAC chair's pack"
CONTACT_WORDS = {
    "yes": lazy_gettext("Contacted"),
    "no": lazy_gettext("Not contacted"),
    "unable": lazy_gettext("Unable to contact"),
}


async def prepared_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A meeting whose preparation the caller may read (its chair or coordinator); 404 otherwise."""
    meeting = await agenda.visible_meeting(viewer, meeting_id)
    if not access.may_prepare(viewer, meeting.conference_id):
        raise NotFound(gettext("Meeting not found"))
    return meeting


def _require_published(meeting: Meeting) -> None:
    if meeting.status not in PREPARED:
        raise Conflict(gettext("The chair's pack is ready from the agenda's publication: publish the agenda first"))


# --- the content ----------------------------------------------------------------------------


def _risk(referral: Referral, type_settings: dict[str, Any]) -> dict[str, Any]:
    """The risk picture: the result, the yes answers by the instrument's groups, the not-known apart."""
    risk = referral.risk or {}
    instrument = instruments().get(risk.get("instrument") or "", {})
    questions = instrument.get("questions", [])
    answers = risk.get("answers") or []
    groups: dict[str, list[str]] = {}
    not_known = []
    for question, answer in zip(questions, answers, strict=False):
        if answer == "yes":
            group = localised(question, "group") if question.get("group") else gettext("Risk factors")
            groups.setdefault(group, []).append(localised(question, "text"))
        elif answer == "not known":
            not_known.append(localised(question, "text"))
    labels = {}
    for strand in type_settings.get("strands", []):
        labels[strand["key"]] = localised(strand)
        for sub in strand.get("subcategories", []):
            labels[f"{strand['key']}:{sub['key']}"] = f"{localised(strand)}: {localised(sub)}"
    return {
        "instrument": localised(instrument, "name") if instrument.get("name") else risk.get("instrument"),
        "score": risk.get("score"),
        "questions": len(questions),
        "level": risk.get("level"),
        "answered": bool(answers),
        "yes": [{"group": group, "factors": factors} for group, factors in groups.items()],
        "not_known": not_known,
        "strands": [labels.get(key, key) for key in referral.strands or []],
        "incident_kind": referral.incident_kind,
    }


def _people(referral: Referral, role: str) -> list[dict[str, Any]]:
    return [
        {
            "name": p.name,
            "aliases": list(p.aliases or []),
            "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
            "relationship": p.relationship,
        }
        for p in sorted(referral.people, key=lambda p: p.position)
        if p.role == role
    ]


async def _histories(referrals: list[Referral], meeting: Meeting) -> dict[str, list[dict[str, Any]]]:
    """Each referral's victim's earlier hearings at this conference's MARAC (the person index is per
    conference), as the chair and coordinator may see them (access.prepared_referral_filter), by
    referral id: three queries for the whole agenda (tests/test_query_counts.py)."""
    victims = {r.victim_person_id for r in referrals if r.victim_person_id}
    earlier = await Referral.filter(
        access.prepared_referral_filter(meeting.conference_id), victim_person_id__in=list(victims)
    )
    if not earlier:
        return {}
    items = (
        await AgendaItem.filter(
            referral_id__in=[r.id for r in earlier],
            state="listed",
            meeting__date__lt=meeting.date,
            meeting__status__in=list(PREPARED),
        )
        .exclude(section="lapsed_reviews")
        .prefetch_related("meeting", "meeting__conference", "referral")
        .order_by("-meeting__date")
    )
    actions: dict[str, list[Action]] = {}
    for action in await Action.filter(item_id__in=[i.id for i in items]).prefetch_related("owner_agency"):
        actions.setdefault(action.item_id, []).append(action)
    heard = [
        (
            item.referral,
            {
                "date": item.meeting.date.isoformat(),
                "conference": item.meeting.conference.name,
                "label": agenda.label(item.meeting, item),
                "repeat": item.referral.is_repeat,
                "outcome": item.outcome,
                "actions": [
                    {
                        "description": a.description,
                        "owner_agency": a.owner_agency.name,
                        "due_date": a.due_date.isoformat(),
                        "status": a.status,
                    }
                    for a in actions.get(item.id, [])
                ],
            },
        )
        for item in items
    ]
    return {
        referral.id: [
            hearing
            for other, hearing in heard
            if other.victim_person_id == referral.victim_person_id and other.id != referral.id
        ]
        for referral in referrals
    }


def _contact(research: Research, agency_name: str) -> dict[str, Any]:
    return {
        "agency": agency_name,
        "contacted": research.victim_contacted,
        "contacted_words": str(CONTACT_WORDS[research.victim_contacted or "no"]),  # in the reader's language
        "contacted_on": research.contacted_on.isoformat() if research.contacted_on else None,
        "views": research.victim_views or "",
    }


async def content(meeting: Meeting) -> dict[str, Any]:
    """Everything the page and the pack show, as plain data (what the pack's digest is taken of).
    Built field by field: the victim's address and safe contact are never copied in."""
    conference = meeting.conference
    type_settings = conference.type_settings
    order = [(s["key"], n) for n, s in enumerate(type_settings["sections"])]
    rank = dict((key, n) for key, n in order)
    items = sorted(
        await AgendaItem.filter(meeting=meeting, state="listed", section__in=list(agenda.CASE_SECTIONS))
        .prefetch_related("referral", "referral__people", "referral__referring_agency")
        .all(),
        key=lambda i: (rank.get(i.section, 99), i.position, i.number),
    )
    members = sorted(
        await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency"),
        key=lambda m: m.agency.name,
    )
    names = {m.agency_id: m.agency.name for m in members}
    research: dict[tuple[str, str], Research] = {
        (r.item_id, r.agency_id): r for r in await Research.filter(item_id__in=[i.id for i in items])
    }
    minutes = int(type_settings["minutes_per_case"])
    histories = await _histories([item.referral for item in items], meeting)
    cases: list[dict[str, Any]] = []
    for item in items:
        referral = item.referral
        victim = next(iter(_people(referral, "victim")), None)
        returned = []
        for member in members:
            found = research.get((item.id, member.agency_id))
            returned.append(
                {
                    "agency_id": member.agency_id,
                    "agency": member.agency.name,
                    "status": "not returned" if found is None else ("known" if found.known else "not known"),
                    "summary": found.summary if found else "",
                }
            )
        contacts = [
            _contact(r, names.get(agency_id, "A former member agency"))
            for (item_id, agency_id), r in sorted(research.items())
            if item_id == item.id and r.victim_contacted
        ]
        cases.append(
            {
                "number": len(cases) + 1,
                "case_id": item.id,
                "label": agenda.label(meeting, item),
                "kind": agenda.kind_of(referral),
                "minutes": minutes,
                "victim": {
                    "name": victim["name"] if victim else None,
                    "aliases": victim["aliases"] if victim else [],
                    "date_of_birth": victim["date_of_birth"] if victim else None,
                },
                "referral": {
                    "received_at": referral.received_at.isoformat(),
                    "referring_agency": referral.referring_agency.name,
                    "criteria": list(referral.criteria_met or []),
                    "account": referral.summary,
                    "judgement_reason": referral.judgement_reason,
                    "transfer_from": referral.transfer_from,
                    "children": _people(referral, "child"),
                    "perpetrators": _people(referral, "perpetrator"),
                },
                "risk": _risk(referral, type_settings),
                "history": histories.get(referral.id, []),
                "research": returned,
                "contacts": contacts,
            }
        )
    return {
        "meeting_id": meeting.id,
        "conference": conference.name,
        "date": meeting.date.isoformat(),
        "status": meeting.status,
        "minutes_per_case": minutes,
        "total_minutes": minutes * len(cases),
        "cases": cases,
    }


def digest(found: dict[str, Any]) -> str:
    """What a stored pack was laid out from; the status is left out (closing the meeting changes no page of it)."""
    kept = {key: value for key, value in found.items() if key != "status"}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


async def read_preparation(viewer: Viewer, meeting: Meeting) -> dict[str, Any]:
    """The preparation page's content for the conference's chair or coordinator; audited. The page
    calls this; the pack is the same content laid out as a document."""
    if not access.may_prepare(viewer, meeting.conference_id):
        raise NotFound(gettext("Meeting not found"))
    _require_published(meeting)
    found = await content(meeting)
    await record(
        "preparation.read",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="meeting",
        object_id=meeting.id,
        conference_id=meeting.conference_id,
    )
    return found


# --- chasing research -----------------------------------------------------------------------


async def chase(viewer: Viewer, meeting: Meeting, agency_id: str) -> int:
    """The coordinator reminds a member agency that has not returned research for every case: a
    notification to each of its case handlers in the conference (once a day). Returns how many
    were told."""
    access.require_manage_meeting(viewer, meeting.conference_id)
    if meeting.status != "published":
        raise Conflict(gettext("Research is chased between publication and the meeting"))
    # An id no agency can have names nothing (the ORM refuses a value longer than its column).
    if not ID_PATTERN.fullmatch(agency_id) or not await Membership.exists(
        conference_id=meeting.conference_id, agency_id=agency_id
    ):
        raise RuleViolation("Not a member agency of this conference", {"agency_id": gettext("Choose a member agency")})
    cases = await AgendaItem.filter(
        meeting=meeting, state="listed", section__in=list(agenda.CASE_SECTIONS)
    ).values_list("id", flat=True)
    done = await Research.filter(item_id__in=list(cases), agency_id=agency_id).count()
    if done >= len(cases):
        raise RuleViolation("This agency has returned its research", {"agency_id": gettext("Nothing to chase")})
    handlers = await User.filter(
        agency_id=agency_id, role="member", active=True, conferences__id=meeting.conference_id
    ).values_list("id", flat=True)
    today = clock.today()
    told = 0
    async with in_transaction() as conn:
        for user_id in map(str, handlers):
            already = Notification.filter(user_id=user_id, kind="research_chase", day=today, meeting_id=meeting.id)
            if await already.using_db(conn).exists():
                continue
            await notices.post(
                user_id, "research_chase", today, conn=conn, meeting_id=meeting.id, conference_id=meeting.conference_id
            )
            told += 1
        await record(
            "research.chase",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="agency",
            object_id=agency_id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return told


# --- the chair's pack -----------------------------------------------------------------------


async def pack_meeting(viewer: Viewer, meeting_id: str) -> Meeting:
    """A meeting whose pack the caller may have: 404 for anyone but its chair and coordinator,
    409 (with a message) before publication."""
    meeting = await prepared_meeting(viewer, meeting_id)
    _require_published(meeting)
    return meeting


async def current_pack(
    meeting: Meeting, found: dict[str, Any] | None = None
) -> tuple[ChairPack | None, ChairPack | None]:
    """(the stored pack laid out from the meeting's content as it is now, a pack being laid out). `found`: that
    content, when the caller has just read it (the preparation page), so it is not gathered twice."""
    if found is None or i18n.current() != i18n.DEFAULT:
        with i18n.use(i18n.DEFAULT):  # the pack is laid out in English, so its digest is taken of English
            found = await content(meeting)
    now_digest = digest(found)
    ready = await ChairPack.filter(meeting=meeting, digest=now_digest, status="ready").order_by("-version").first()
    pending = await ChairPack.filter(meeting=meeting, status="pending").order_by("-version").first()
    return ready, pending


async def new_pack(meeting: Meeting) -> ChairPack:
    """A pack to lay out (the job fills it in)."""
    last = await ChairPack.filter(meeting=meeting).order_by("-version").first()
    return await ChairPack.create(
        meeting=meeting,
        version=(last.version + 1) if last else 1,
        digest="",
        status="pending",
        reference=store.new_reference("chair_pack", meeting.date),
    )


async def lay_out(pack_id: str, job_id: str | None = None, progress: Progress | None = None) -> ChairPack | None:
    """Lay out one pack from the meeting's content now, without any reader's footer, and store it.
    Idempotent: a pack already laid out, or content a stored pack already shows, is not laid out
    again. Older packs of the meeting are then removed (rows and files): only the newest is read."""
    pack = await ChairPack.get_or_none(id=pack_id)
    if pack is None or pack.status == "ready":
        return pack
    if job_id:
        await ChairPack.filter(id=pack.id).update(job_id=job_id)
    meeting = await Meeting.get(id=pack.meeting_id).prefetch_related("conference")
    found = await content(meeting)
    now_digest = digest(found)
    if progress is not None:
        await progress(30)
    same = await ChairPack.filter(meeting=meeting, digest=now_digest, status="ready").first()
    if same is not None:
        await ChairPack.filter(id=pack.id, status="pending").delete()
        return same
    # Cases in as many parts as there are render processes, laid out at once and joined: a pack
    # of 16 cases is about 40 pages (docs/benchmarks.md#the-chairs-pack).
    cases = found["cases"]
    count = max(1, min(pool.MAX_WORKERS, len(cases)))
    parts = [cases[n * len(cases) // count : (n + 1) * len(cases) // count] for n in range(count)]
    laid = await asyncio.gather(
        *(
            pool.run(
                renderer.layout,
                "chair_pack.html",
                {**found, "cases": part, "first": n == 0, "version": pack.version},
                title=PACK_TITLE,
            )
            for n, part in enumerate(parts)
        )
    )
    if len(laid) == 1:
        pdf, pages = laid[0]
    else:
        pdf, pages = await pool.run(renderer.join, [part for part, _ in laid], title=PACK_TITLE)
    if progress is not None:
        await progress(80)
    file_name = await store.write(pdf)
    updated = await ChairPack.filter(id=pack.id, status="pending").update(
        status="ready",
        digest=now_digest,
        file_name=file_name,
        sha256=hashlib.sha256(pdf).hexdigest(),
        size=len(pdf),
        pages=pages,
    )
    if not updated:  # another delivery of the job stored it first: keep that one, drop this file
        (settings.get().document_store / file_name).unlink(missing_ok=True)
    # Only the newest pack is ever read: older ones go, rows and files. Two jobs may lay out at once (research
    # came in, and a reader asked): whichever stores last clears below the newest, this one included.
    newest = await ChairPack.filter(meeting=meeting, status="ready").order_by("-version").first()
    newest_version = newest.version if newest is not None else pack.version
    for old in await ChairPack.filter(meeting=meeting, status="ready", version__lt=newest_version):
        await ChairPack.filter(id=old.id).delete()
        store.path_for(old).unlink(missing_ok=True)
    return await ChairPack.get_or_none(id=pack.id)  # None: a newer pack replaced it meanwhile


async def pack_for(viewer: Viewer, pack: ChairPack, meeting: Meeting) -> bytes:
    """The stored pack with this reader's footer (reference, page N of M, name and agency,
    version) drawn on every page; audited and entered in the disclosure log."""
    shared = store.read(pack)
    user = await User.get(id=viewer.user_id)
    agency = await Agency.get(id=viewer.agency_id)
    numbers = await pool.page_numbers(pack.pages or 1)
    pdf, _ = await pool.run(
        renderer.stamp,
        shared,
        numbers=numbers,
        reference=pack.reference,
        recipient=f"{user.name}, {agency.name}",
        version=pack.version,
        title=PACK_TITLE,
    )
    async with in_transaction() as conn:
        await disclose(
            "chair_pack",
            conference_id=meeting.conference_id,
            meeting_id=meeting.id,
            document_id=pack.id,
            version=pack.version,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            conn=conn,
        )
        await record(
            "chair_pack.download",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="chair_pack",
            object_id=pack.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return pdf
