"""Minutes: the chair's approval, each recipient's view, rendering through an outbox, download.

Rules (docs/domain.md#minutes-and-controlled-sharing):
- approval freezes version N; a correction is N+1 and N stays, superseded, for auditors.
  N+1 opens with what changed since N, item by item (never the old text), and why: found by
  comparing each item's fingerprint in what N was built from with what N+1 is built from, so
  it holds whichever door made the edit;
- before approval the chair and coordinator preview each recipient's document, built by the
  same view as the real one;
- each recipient agency's document is built from a view holding only what it may see:
  tier full: notes for all, restricted notes naming it, every action; tier actions_only:
  its own actions with the case label; chair-only notes are never minuted (they are not
  even in the frozen content), nor are addresses, safe contact details or refuges;
- rendering requests are rows first (the outbox), jobs second; a duplicate run finds the
  row done and makes no second document;
- every download is audited and counted for the circulation record.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, cast

from tortoise.transactions import in_transaction

from marac import conference_types, i18n
from marac.actions.models import Action, ActionReview, Attendance, Note
from marac.agencies import access
from marac.agencies.access import Can, Viewer
from marac.agencies.models import Conference, Membership, User
from marac.audit.service import disclose, record
from marac.clock import now, today
from marac.conference_types import confidentiality_statement
from marac.documents import store
from marac.documents.models import Document
from marac.documents.render import BILINGUAL, LANGUAGE
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation
from marac.i18n import gettext
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting
from marac.meetings.schedule import working_days_after
from marac.minutes.models import MinutesRecipient, MinutesVersion

CIRCULATE_WITHIN_WORKING_DAYS = 3


def _risk_line(risk: dict[str, Any]) -> str:
    if risk.get("level"):
        return f"Risk level {risk['level']}"
    return f"DASH score {risk.get('score')}" if risk.get("score") is not None else "Risk not recorded"


async def _content(meeting: Meeting, chair: User) -> dict[str, Any]:
    """Everything any recipient may see, field by field, each text whole (each is bounded where it
    is written: actions.service.MAX_NOTE). Chair-only notes, addresses, safe contact details and
    names of people are never copied in."""
    agencies = {
        m.agency_id: m.agency.name
        for m in await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency")
    }
    register = await Attendance.filter(meeting=meeting).prefetch_related("agency")
    items = (
        await AgendaItem.filter(meeting=meeting, state="listed")
        .prefetch_related("referral")
        .order_by("number")  # the agenda's order (agenda._arrange)
    )
    notes = await Note.filter(item__meeting=meeting).exclude(visibility="chair_only").order_by("created_at")
    actions = await Action.filter(meeting=meeting).order_by("due_date", "created_at")
    reviews = await ActionReview.filter(meeting=meeting).prefetch_related("action", "action__item", "action__meeting")
    cases = []
    for item in items:
        cases.append(
            {
                "case_id": item.id,
                "label": agenda.label(meeting, item),
                "kind": agenda.kind_of(item.referral),
                "review": item.section == "lapsed_reviews",
                "risk": _risk_line(item.referral.risk),
                # The same in words each document's language writes (templates/pdf/minutes.html).
                "risk_detail": {"level": item.referral.risk.get("level"), "score": item.referral.risk.get("score")},
                "outcome": item.outcome,
                "outcome_reason": item.outcome_reason or "",
                "notes": [
                    {
                        "id": n.id,
                        "stage": n.stage,
                        "text": n.text,
                        "visibility": n.visibility,
                        "agencies": list(n.agencies),
                    }
                    for n in notes
                    if n.item_id == item.id
                ],
                "actions": [
                    {
                        "id": a.id,
                        "owner_agency_id": a.owner_agency_id,
                        "owner": agencies.get(a.owner_agency_id, ""),
                        "description": a.description,
                        "due_date": a.due_date.isoformat(),
                        "status": a.status,
                    }
                    for a in actions
                    if a.item_id == item.id
                ],
            }
        )
    return {
        "conference_name": meeting.conference.name,
        "date": meeting.date.isoformat(),
        "venue": meeting.venue,
        "chair": chair.name,
        "confidentiality": confidentiality_statement(meeting.conference.type_settings),
        # The type's own wording in each other language it gives: each agency's copy is in its language.
        "confidentiality_translations": {
            code: confidentiality_statement(meeting.conference.type_settings, code)
            for code in i18n.LANGUAGES
            if code != i18n.DEFAULT and meeting.conference.type_settings.get(f"confidentiality_statement_{code}")
        },
        "present": [
            {
                "agency": r.agency.name if r.agency else "",
                "name": r.name,
                "confidentiality_signed": bool(r.confidentiality_signed),
            }
            for r in register
            if r.kind == "present"
        ],
        "apologies": [
            {
                "agency": r.agency.name if r.agency else "",
                "name": r.name,
                "information_sent": bool(r.information_sent),
                "information_sent_on": r.information_sent_on.isoformat() if r.information_sent_on else None,
            }
            for r in register
            if r.kind == "apology"
        ],
        "observers": [
            {"name": r.name, "confidentiality_signed": bool(r.confidentiality_signed)}
            for r in register
            if r.kind == "observer"
        ],
        "reviews": [
            {
                "action_id": r.action_id,
                "case_label": agenda.label(r.action.meeting, r.action.item),
                "owner_agency_id": r.action.owner_agency_id,
                "owner": agencies.get(r.action.owner_agency_id, ""),
                "description": r.action.description,
                "due_date": r.action.due_date.isoformat(),
                "outcome": r.outcome,
                "note": r.note,
            }
            for r in reviews
        ],
        "cases": cases,
        "any_other_business": meeting.any_other_business or "",
    }


def view_for(
    content: dict[str, Any], agency_id: str, tier: str, language: str = i18n.DEFAULT, bilingual: bool = False
) -> dict[str, Any]:
    """One recipient's minutes: a new structure holding only what this agency may see, in its
    document language (`language`: the words around the record; what people wrote stays as written),
    and then again in English if `bilingual` (conference_types.bilingual()).
    Built by copying entitled items in, never by removing others' items afterwards. A
    correction's changes are listed only where the agency may read the item before or after."""
    header = {k: content[k] for k in ("conference_name", "date", "venue", "chair", "confidentiality")}
    header["confidentiality"] = (
        content.get("confidentiality_translations", {}).get(language) or header["confidentiality"]
    )
    header[LANGUAGE] = language
    header[BILINGUAL] = bilingual and language != i18n.DEFAULT
    header["correction_reason"] = content.get("correction_reason") or ""
    header["changes"] = [
        {k: c.get(k) for k in ("case_label", "what", "how", "kind", "detail")}
        for c in content.get("changes", [])
        if (agency_id in c["owners"] if tier == "actions_only" else c["full"] or agency_id in c["agencies"])
    ]
    if tier == "actions_only":
        own = [
            {
                "case_label": case["label"],
                "description": a["description"],
                "due_date": a["due_date"],
                "status": a["status"],
            }
            for case in content["cases"]
            for a in case["actions"]
            if a["owner_agency_id"] == agency_id
        ]
        return {**header, "tier": tier, "own_actions": own}
    cases, restricted = [], []
    for case in content["cases"]:
        notes = [{"stage": n["stage"], "text": n["text"]} for n in case["notes"] if n["visibility"] == "all"]
        restricted += [
            {"case_label": case["label"], "stage": n["stage"], "text": n["text"]}
            for n in case["notes"]
            if n["visibility"] == "restricted" and agency_id in n["agencies"]
        ]
        cases.append(
            {k: case[k] for k in ("label", "kind", "review", "risk", "outcome", "outcome_reason")}
            | {"risk_detail": case.get("risk_detail")}
            | {
                "notes": notes,
                "actions": [{k: a[k] for k in ("owner", "description", "due_date", "status")} for a in case["actions"]],
            }
        )
    return {
        **header,
        "tier": tier,
        "present": content["present"],
        "apologies": content["apologies"],
        "observers": content["observers"],
        "reviews": [
            {k: r[k] for k in ("case_label", "owner", "description", "due_date", "outcome", "note")}
            for r in content["reviews"]
        ],
        "cases": cases,
        "any_other_business": content["any_other_business"],
        "restricted": restricted,
    }


# --- what changed between versions ---------------------------------------------------------------


def _items(content: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every minuted item of a version under a key that stays the same across versions, with
    the words a change to it is reported in and who may read that report: `full` (every
    full-tier agency), `agencies` (a restricted note's), `owners` (an action's owner, whose
    actions-only copy lists it). `payload` is what the fingerprint is taken of."""
    items: dict[str, dict[str, Any]] = {}

    def add(key: str, payload: Any, kind: str, what: str, case_label: str = "", detail: str = "", **who: Any) -> None:
        # `kind` and `detail` let each document say `what` in its own language (templates/pdf/minutes.html).
        items[key] = {
            "payload": payload,
            "what": what,
            "kind": kind,
            "detail": detail,
            "case_label": case_label,
            "agencies": [],
            "owners": [],
        }
        items[key].update({"full": True} | who)

    add("register", [content.get(k) for k in ("present", "apologies", "observers")], "register", "register")
    for index, review in enumerate(content.get("reviews", [])):
        key = f"review:{review.get('action_id', index)}"
        add(key, review, "review", "review of an outstanding action", review["case_label"])
    for case in content.get("cases", []):
        label, case_id = case["label"], case.get("case_id", case["label"])
        decision = [case.get("outcome"), case.get("outcome_reason")]
        add(f"case:{case_id}:decision", decision, "decision", "decision", label)
        for index, note in enumerate(case.get("notes", [])):
            restricted = note["visibility"] == "restricted"
            add(
                f"note:{note.get('id', f'{case_id}:{index}')}",
                note,
                "note",
                f"note ({note['stage'].replace('_', ' ')})",
                label,
                note["stage"],
                full=not restricted,
                agencies=list(note["agencies"]) if restricted else [],
            )
        for action in case.get("actions", []):
            add(
                f"action:{action['id']}",
                action,
                "action",
                f"action for {action['owner']}",
                label,
                action["owner"],
                owners=[action["owner_agency_id"]],
            )
    add("any_other_business", content.get("any_other_business"), "any_other_business", "any other business")
    return items


def _digest(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def fingerprints(content: dict[str, Any]) -> dict[str, str]:
    """Item key → digest of the item as minuted: kept with each version (inside its sealed
    content), so the next version can say what changed."""
    return {key: _digest(item["payload"]) for key, item in _items(content).items()}


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[dict[str, Any]]:
    """What differs between what one version was built from and what the next is built from:
    per item, added, changed or removed, in the order of the minutes; never the old text. A
    change is reported to whoever may read the item in either version."""
    old, new = _items(before), _items(after)
    old_prints = before.get("fingerprints") or {key: _digest(item["payload"]) for key, item in old.items()}
    found = []
    for key in [*new, *(key for key in old if key not in new)]:
        if key not in old_prints:
            how = "added"
        elif key not in new:
            how = "removed"
        elif old_prints[key] != _digest(new[key]["payload"]):
            how = "changed"
        else:
            continue
        item, was = new.get(key) or old[key], old.get(key) or new[key]
        found.append(
            {
                "case_label": item["case_label"],
                "what": item["what"],
                "kind": item["kind"],
                "detail": item["detail"],
                "how": how,
                "full": item["full"] or was["full"],
                "agencies": sorted(set(item["agencies"]) | set(was["agencies"])),
                "owners": sorted(set(item["owners"]) | set(was["owners"])),
            }
        )
    return found


def shared_views(
    content: dict[str, Any],
    version: int,
    recipients: list[tuple[str, str]],
    languages: dict[str, str] | None = None,
    bilingual: bool = False,
) -> list[tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None]]]]:
    """Recipients (agency id, tier) grouped by identical view, less their restricted notes:
    each group's pages are laid out once, and each agency's restricted notes, if any, are
    laid out alone as the pages that follow (the annex: {"restricted": [...]}). Grouping
    compares the whole view, its language (`languages`, by agency id; English if not given)
    included, so agencies share pages only when every word is theirs to see and in their language."""
    groups: dict[str, tuple[dict[str, Any], list[tuple[str, dict[str, Any] | None]]]] = {}
    for agency_id, tier in recipients:
        language = (languages or {}).get(agency_id, i18n.DEFAULT)
        view = {**view_for(content, agency_id, tier, language, bilingual), "version": version}
        annex = None
        if view.get("restricted"):  # full tier only: the shared pages have none
            annex, view["restricted"] = {"restricted": view["restricted"]}, []
        groups.setdefault(json.dumps(view, sort_keys=True), (view, []))[1].append((agency_id, annex))
    return list(groups.values())


# --- the chair's approval -----------------------------------------------------------------------


async def _draft(meeting: Meeting, chair: User, latest: MinutesVersion | None, reason: str) -> dict[str, Any]:
    """The content the next version would freeze now: with its fingerprints and, after the
    first version, what changed since `latest` and why."""
    content = await _content(meeting, chair)
    content["fingerprints"] = fingerprints(content)
    if latest is not None:
        content["changes"] = changes(latest.content, content)
        content["correction_reason"] = reason
    return content


async def latest_version(meeting: Meeting) -> MinutesVersion | None:
    return await MinutesVersion.filter(meeting=meeting).order_by("-version").first()


async def approve(viewer: Viewer, meeting: Meeting, correction_reason: str | None = None) -> MinutesVersion:
    """Freeze the minutes as the next version. After the first, a reason is required (a
    correction), something must have changed, and the earlier version becomes superseded; its
    recipients are told when the new one is ready (render.py)."""
    access.require_chair(viewer, meeting.conference_id)
    if meeting.status != "held":
        raise Conflict(gettext("Minutes are approved after the meeting is closed"))
    latest = await latest_version(meeting)
    reason = (correction_reason or "").strip()
    if latest and not reason:
        raise RuleViolation(
            gettext("A correction needs a reason"), {"reason": gettext("Say why the minutes are corrected")}
        )
    chair = await User.get(id=viewer.user_id)
    content = await _draft(meeting, chair, latest, reason)
    if latest and not content["changes"]:
        raise Conflict(
            gettext("Nothing has changed since version %(version)s: change the record first")
            % {"version": latest.version}
        )
    async with in_transaction() as conn:
        if latest:
            await MinutesVersion.filter(meeting=meeting, status="approved").using_db(conn).update(status="superseded")
        minutes = await MinutesVersion.create(
            meeting=meeting,
            version=(latest.version + 1) if latest else 1,
            content=content,
            correction_reason=reason or None,
            approved_by=viewer.user_id,
            using_db=conn,
        )
        # The meeting's record stays open to corrections once a version is approved (actions.service).
        await Meeting.filter(id=meeting.id).using_db(conn).update(minutes_version=minutes.version)
        await record(
            "minutes.approve",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="minutes",
            object_id=minutes.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    meeting.minutes_version = minutes.version
    return minutes


# --- the preview ----------------------------------------------------------------------------------


async def recipients(meeting: Meeting) -> list[Membership]:
    """The agencies the minutes go to, with their tier: the conference's member agencies."""
    return (
        await Membership.filter(conference_id=meeting.conference_id).prefetch_related("agency").order_by("agency__name")
    )


@dataclass(frozen=True)
class Preview:
    agency_id: str
    agency_name: str
    version: int
    view: dict[str, Any]  # exactly what view_for gives the agency's document, with its version
    pending: bool  # True: the next version, not yet approved; False: the current version as approved


async def preview(viewer: Viewer, meeting: Meeting, agency_id: str) -> Preview:
    """What one recipient agency would receive now, for the chair and coordinator (404 for
    others, via agenda_meeting): before any approval the draft; after, the current version
    when nothing has changed since, else the correction the chair would approve. Audited."""
    # The chair and coordinator: those who see the full agenda, and so every note, already.
    if not access.may_see_agenda(viewer, meeting.conference_id):
        raise AccessDenied(gettext("Only the conference's chair and coordinator preview minutes"))
    if meeting.status not in ("published", "held"):
        raise Conflict(gettext("Minutes can be previewed once the agenda is published"))
    membership = next((m for m in await recipients(meeting) if m.agency_id == agency_id), None)
    if membership is None:
        raise RuleViolation(
            gettext("Choose a recipient agency"), {"agency_id": gettext("Choose one of the conference's agencies")}
        )
    latest = await latest_version(meeting)
    # The chair named is the one who approves: the caller if they chair, else the last approver.
    approver = (
        viewer.user_id
        if viewer.can_in(meeting.conference_id, Can.APPROVE_MINUTES)
        else (latest.approved_by if latest else None)
    )
    chair = await User.get_or_none(id=approver) if approver else None
    content = await _draft(meeting, chair or User(name="To be named at approval"), latest, "")
    version = latest.version if latest else 1
    pending = latest is None or bool(content["changes"])
    if latest is not None and not pending:
        content = latest.content
    elif latest is not None:
        version = latest.version + 1
        content["correction_reason"] = "(the reason the chair gives at approval)"
    tier = access.minutes_view(membership.tier, membership.tier) or "actions_only"
    await record(
        "minutes.preview",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="meeting",
        object_id=meeting.id,
        conference_id=meeting.conference_id,
    )
    return Preview(
        agency_id=agency_id,
        agency_name=membership.agency.name,
        version=version,
        view={
            **view_for(
                content,
                agency_id,
                tier,
                membership.agency.language,
                conference_types.bilingual(meeting.conference.type_settings),
            ),
            "version": version,
        },
        pending=pending,
    )


async def request_render(viewer: Viewer, meeting: Meeting) -> MinutesVersion:
    """One outbox row per recipient agency of the current version (idempotent)."""
    access.require_manage_meeting(viewer, meeting.conference_id)
    minutes = await MinutesVersion.filter(meeting=meeting, status="approved").order_by("-version").first()
    if minutes is None:
        raise Conflict(gettext("The chair has not approved the minutes yet"))
    async with in_transaction() as conn:
        for membership in await Membership.filter(conference_id=meeting.conference_id).using_db(conn):
            await MinutesRecipient.get_or_create(
                minutes=minutes, agency_id=membership.agency_id, defaults={"tier": membership.tier}, using_db=conn
            )
        await record(
            "minutes.render",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="minutes",
            object_id=minutes.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return minutes


async def pending_versions(older_than: timedelta = timedelta(minutes=5)) -> list[str]:
    """Versions with recipients still waiting: what the reconciler queues again."""
    rows = await MinutesRecipient.filter(status="pending", created_at__lt=now() - older_than).values_list(
        "minutes_id", flat=True
    )
    return sorted(set(cast("list[str]", rows)))


async def pending_changes(viewer: Viewer, meeting: Meeting) -> list[dict[str, Any]] | None:
    """For the chair and coordinator: what changed in the record since the current version
    (every item, whoever may read it), or None before the first approval."""
    if not access.may_see_agenda(viewer, meeting.conference_id):
        raise AccessDenied(gettext("Only the conference's chair and coordinator see pending corrections"))
    latest = await latest_version(meeting)
    if latest is None:
        return None
    content = await _draft(meeting, await User.get(id=latest.approved_by), latest, "")
    return [{k: c[k] for k in ("case_label", "what", "how", "kind", "detail")} for c in content["changes"]]


async def has_copy(viewer: Viewer, meeting: Meeting) -> bool:
    """Whether the caller's agency has a rendered copy of the current version to download."""
    return await MinutesRecipient.filter(
        minutes__meeting=meeting,
        minutes__status="approved",
        agency_id=viewer.agency_id,
        status="done",
        document_id__isnull=False,
    ).exists()


# --- downloads and circulation --------------------------------------------------------------------


class Reissue(NotFound):
    """The agency's stored copy was wider than what it may have now: it was withdrawn, its
    recipient row is pending again, and the caller queues the render (minutes_id). Answered
    like a copy not rendered yet."""

    def __init__(self, minutes_id: str) -> None:
        super().__init__("Your agency's copy of these minutes is being prepared. Try again in a few minutes.")
        self.minutes_id = minutes_id


async def withdraw(document: Document, *, conference_id: str, user_id: str | None = None, conn: Any = None) -> None:
    """Delete a stored minutes copy its agency may no longer have (its row, then its file),
    so it is never served again and a copy of the right view can take its place. What was
    sent stays provable: the frozen version, the recipient's tier and the disclosure log."""
    await Document.filter(id=document.id).using_db(conn).delete()
    await record(
        "document.withdraw",
        user_id=user_id,
        agency_id=document.agency_id,
        object_type="document",
        object_id=document.id,
        conference_id=conference_id,
        conn=conn,
    )


async def _entitled_copy(viewer: Viewer, meeting: Meeting) -> MinutesRecipient:
    """The caller agency's row of the current version, its document checked now against the
    view the agency's membership gives it today (access.minutes_view), not when it was rendered."""
    row = (
        await MinutesRecipient.filter(minutes__meeting=meeting, minutes__status="approved", agency_id=viewer.agency_id)
        .prefetch_related("document", "minutes")
        .first()
    )
    view = access.minutes_view(await access.member_tier(viewer, meeting.conference_id), row.tier) if row else None
    if row is None or view is None or row.status != "done" or row.document is None:
        raise NotFound(gettext("Minutes not found"))
    if row.document.tier == view:
        return row
    async with in_transaction() as conn:
        # Compare-and-set: of two downloads at once, one withdraws the copy and queues the next.
        if (
            await MinutesRecipient.filter(id=row.id, document_id=row.document.id, status="done")
            .using_db(conn)
            .update(document_id=None, status="pending", notified_at=None)
        ):
            await withdraw(row.document, conference_id=meeting.conference_id, user_id=viewer.user_id, conn=conn)
    store.remove_file(row.document)
    raise Reissue(row.minutes_id)


async def document_for(viewer: Viewer, meeting_id: str, version: int | None = None) -> Document:
    """The caller agency's document of the current version, of the view its membership gives
    it now; an earlier (superseded) version only for auditors. 404 when the agency is not a
    recipient or nothing is rendered yet (Reissue: being rendered again for a narrower view)."""
    meeting = await agenda.visible_meeting(viewer, meeting_id)
    auditor = access.reads_superseded_minutes(viewer)
    if auditor:
        if version is None:
            raise NotFound(gettext("Name the version"))
        row = (
            await MinutesRecipient.filter(minutes__meeting=meeting, status="done", minutes__version=version)
            .prefetch_related("document", "minutes")
            .first()
        )
    else:
        if version is not None:
            raise NotFound(gettext("Minutes not found"))
        row = await _entitled_copy(viewer, meeting)
    if row is None or row.document is None:
        raise NotFound(gettext("Minutes not found"))
    at = now()
    async with in_transaction() as conn:
        if not auditor:  # an auditor's read is audited, not counted as circulation
            await (
                MinutesRecipient.filter(id=row.id)
                .using_db(conn)
                .update(downloads=row.downloads + 1, first_downloaded_at=row.first_downloaded_at or at)
            )
            await disclose(
                "minutes",
                conference_id=meeting.conference_id,
                meeting_id=meeting.id,
                document_id=row.document.id,
                version=row.minutes.version,
                agency_id=viewer.agency_id,
                user_id=viewer.user_id,
                conn=conn,
            )
        await record(
            "document.download",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="document",
            object_id=row.document.id,
            conference_id=meeting.conference_id,
            conn=conn,
        )
    return row.document


def circulation_deadline(meeting_date: date, nation: str) -> date:
    """Minutes go out within 3 working days of the meeting (docs/domain.md#circulating-minutes)."""
    return working_days_after(meeting_date, CIRCULATE_WITHIN_WORKING_DAYS, nation)


async def circulation(meeting: Meeting) -> dict[str, Any]:
    """Per recipient: version, rendered, notified, downloaded; the agencies still without their
    copy once the 3 working days after the meeting are up (`late`), and whether the meeting's
    minutes are overdue at all (`overdue`, also when none are approved or requested)."""
    minutes = await MinutesVersion.filter(meeting=meeting).order_by("-version").first()
    deadline = circulation_deadline(meeting.date, meeting.conference.nation)
    # With its document: the view the agency holds now, which a lowered tier narrows (_entitled_copy).
    rows = (
        await MinutesRecipient.filter(minutes=minutes).prefetch_related("agency", "document").order_by("agency__name")
        if minutes
        else []
    )
    past = today() > deadline
    late = [r for r in rows if r.notified_at is None] if past else []
    # Overdue: the deadline has passed and some agency still has nothing (not even approved).
    return {
        "minutes": minutes,
        "deadline": deadline,
        "rows": rows,
        "late": late,
        "overdue": past and (minutes is None or not rows or bool(late)),
    }


@dataclass(frozen=True)
class Uncirculated:
    meeting_id: str
    meeting_date: date
    deadline: date
    approved: bool  # some version approved (False: the chair has not approved any yet)
    late: bool  # past the deadline


async def uncirculated(conference: Conference, today: date) -> list[Uncirculated]:
    """Held meetings of a conference whose current minutes have not reached every recipient:
    none approved, none rendered, or an agency not yet sent its copy. The same rule as
    circulation() for one meeting, in three queries for the whole conference. Only ids,
    dates and statuses are read: never the sealed minutes content."""
    meetings = (
        await Meeting.filter(conference_id=conference.id, status="held").order_by("date").values_list("id", "date")
    )
    if not meetings:
        return []
    latest: dict[str, tuple[int, str]] = {}
    for version_id, meeting_id, number in await MinutesVersion.filter(
        meeting_id__in=[m for m, _ in meetings]
    ).values_list("id", "meeting_id", "version"):
        if number > latest.get(meeting_id, (0, ""))[0]:
            latest[meeting_id] = (number, version_id)
    sent: dict[str, list[bool]] = {}
    for minutes_id, notified_at in await MinutesRecipient.filter(
        minutes_id__in=[v for _, v in latest.values()]
    ).values_list("minutes_id", "notified_at"):
        sent.setdefault(minutes_id, []).append(notified_at is not None)
    found = []
    for meeting_id, day in meetings:
        version = latest.get(meeting_id)
        rows = sent.get(version[1], []) if version else []
        if rows and all(rows):
            continue
        deadline = circulation_deadline(day, conference.nation)
        found.append(
            Uncirculated(
                meeting_id=meeting_id,
                meeting_date=day,
                deadline=deadline,
                approved=version is not None,
                late=today > deadline,
            )
        )
    return found


async def recording(
    conference_id: str, items: list[AgendaItem], conn: Any = None
) -> list[tuple[MinutesVersion, list[dict[str, Any]], list[dict[str, Any]]]]:
    """Every minutes version that records one of these agenda items (`items` with their
    meeting loaded): (version, its entries for the cases heard, its reviews of their
    actions). Reviews name a case by its label, so they are matched on that; later meetings
    review earlier actions, so versions from the first item's meeting on are read. The
    entries are the version's own dicts: edit them and save the version to change it."""
    if not items:
        return []
    item_ids = {item.id for item in items}
    labels = {agenda.label(item.meeting, item) for item in items}
    since = min(item.meeting.date for item in items)
    found = []
    for version in (
        await MinutesVersion.filter(meeting__conference_id=conference_id, meeting__date__gte=since)
        .using_db(conn)
        .prefetch_related("meeting")
        .order_by("approved_at")
    ):
        cases = [case for case in version.content.get("cases", []) if case.get("case_id") in item_ids]
        reviews = [r for r in version.content.get("reviews", []) if r.get("case_label") in labels]
        if cases or reviews:
            found.append((version, cases, reviews))
    return found
