"""Transfers out: a heard case sent to another area's MARAC with its transfer package.

Rules (docs/domain.md#transfers):
- the conference's coordinator sends a heard case (access.may_transfer), naming the receiving
  area and the recipient's secure e-mail or reference; a caller who cannot see the referral gets
  404, one who can but is not its coordinator 403; a case is transferred out once (409 after);
- the case is marked transferred out (area and day) and its open actions say so;
- the package is one PDF laid out by a job: the referral in full, as its page shows it; the
  extract of the approved minutes of every meeting that listed it (decision, notes for all,
  actions as approved; notes restricted to named agencies stay out); and its actions still open;
- only the coordinator downloads it (404 for anyone else, as for none); every download is audited
  and entered in the disclosure log with the receiving area.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from marac import settings
from marac.actions.models import OPEN, Action
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency, User
from marac.audit.service import disclose, record
from marac.conference_types import instruments
from marac.documents import pool, store
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation
from marac.i18n import gettext as _
from marac.ids import ID_PATTERN
from marac.meetings import agenda
from marac.meetings.models import AgendaItem
from marac.minutes.models import MinutesVersion, TransferPackage
from marac.referrals.models import Referral

Progress = Callable[[int], Awaitable[None]]  # percent done
TITLE = "MARAC transfer package"
MAX_AREA = 200
MAX_RECIPIENT = 320  # an e-mail address at its longest


async def _referral(viewer: Viewer, referral_id: str, *relations: str) -> Referral:
    """A referral the caller may see (access.referral_filter); 404 otherwise."""
    found = None
    if ID_PATTERN.fullmatch(referral_id):
        found = (
            await Referral.filter(access.referral_filter(viewer), id=referral_id).prefetch_related(*relations).first()
        )
    if found is None:
        raise NotFound(_("Referral not found"))
    return found


def _line(value: object, name: str, longest: int, missing: str, too_long: str) -> tuple[str, dict[str, str]]:
    """One line of text, or the field's error: `missing` when empty, `too_long` (with %(max)s) otherwise."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        return "", {name: missing}
    if len(text) > longest or any(ch in text for ch in "\r\n"):
        return "", {name: too_long % {"max": longest}}
    return text, {}


async def send(viewer: Viewer, referral_id: str, area: object, recipient: object, today: date) -> TransferPackage:
    """The coordinator sends a heard case to `area`'s MARAC: the case is marked transferred out and a
    package waits to be laid out (jobs.flows.transfer_out queues it). Audited."""
    referral = await _referral(viewer, referral_id)
    if not access.may_transfer(viewer, referral.conference_id):
        raise AccessDenied(_("Only the conference's coordinator transfers a case to another MARAC"))
    area_text, errors = _line(
        area,
        "area",
        MAX_AREA,
        _("Enter the MARAC area the case goes to"),
        _("Enter the MARAC area the case goes to on one line, in %(max)s characters at most"),
    )
    recipient_text, more = _line(
        recipient,
        "recipient",
        MAX_RECIPIENT,
        _("Enter the recipient's secure e-mail or reference"),
        _("Enter the recipient's secure e-mail or reference on one line, in %(max)s characters at most"),
    )
    errors |= more
    if errors:
        raise RuleViolation(_("The transfer is not complete"), errors)
    if referral.status != "heard":
        raise Conflict(_("Only a case heard at this MARAC is transferred out: this one has not been heard"))
    async with in_transaction() as conn:
        marked = (
            await Referral.filter(id=referral.id, transferred_out_to__isnull=True)
            .using_db(conn)
            .update(transferred_out_to=area_text, transferred_out_on=today)
        )
        if not marked:
            raise Conflict(_("This case has already been transferred out"))
        package = await TransferPackage.create(
            referral_id=referral.id,
            conference_id=referral.conference_id,
            area=area_text,
            recipient=recipient_text,
            sent_by=viewer.user_id,
            sent_on=today,
            reference=store.new_reference("transfer", today),
            using_db=conn,
        )
        await record(
            "referral.transfer_out",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
    return package


async def package_of(viewer: Viewer, referral_id: str) -> TransferPackage:
    """The case's transfer package, for its conference's coordinator; 404 for anyone else and for none."""
    referral = await _referral(viewer, referral_id)
    if not access.may_transfer(viewer, referral.conference_id):
        raise NotFound(_("Transfer package not found"))
    package = await TransferPackage.filter(referral_id=referral.id).order_by("-created_at").first()
    if package is None:
        raise NotFound(_("Transfer package not found"))
    return package


async def shown_package(viewer: Viewer, referral: Referral) -> TransferPackage | None:
    """The package of a case transferred out, for the referral page of its coordinator; None for anyone else."""
    if not referral.transferred_out_to or not access.may_transfer(viewer, referral.conference_id):
        return None
    return await TransferPackage.filter(referral_id=referral.id).order_by("-created_at").first()


# --- the content ----------------------------------------------------------------------------


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _address(address: dict[str, Any] | None) -> str:
    return ", ".join(str(v) for v in (address or {}).values() if v)


def _referral_content(referral: Referral) -> dict[str, Any]:
    """The referral as its page shows it in full (templates/referrals/detail.html), field by field."""
    risk = referral.risk or {}
    instrument = instruments().get(str(risk.get("instrument")), {})
    people = []
    for role in ("victim", "perpetrator", "child"):
        for person in sorted((p for p in referral.people if p.role == role), key=lambda p: p.position):
            details = person.details or {}
            relationship = [person.relationship or ""]
            if details.get("relationship_to_victim"):
                relationship.append(f"{details['relationship_to_victim']} of the victim")
            if details.get("relationship_to_perpetrator"):
                relationship.append(f"{details['relationship_to_perpetrator']} of the perpetrator")
            people.append(
                {
                    "role": role.capitalize(),
                    "name": person.name,
                    "aliases": list(person.aliases or []),
                    "date_of_birth": _day(person.date_of_birth),
                    "relationship": "; ".join(r for r in relationship if r),
                    "address": "; ".join(
                        part for part in (_address(details.get("address")), details.get("school") or "") if part
                    ),
                }
            )
    victim = referral.victim or {}
    contact = victim.get("safe_contact") or {}
    consent = referral.consent or {}
    return {
        "status": referral.status.replace("_", " ").capitalize(),
        "referring_agency": referral.referring_agency.name,
        "merged": [m.referring_agency.name for m in referral.merged],
        "received_at": referral.received_at.isoformat(),
        "incident_date": (referral.incident_date or referral.received_at).isoformat(),
        "repeat": referral.is_repeat,
        "transfer_from": referral.transfer_from,
        "transfer_last_heard": _day(referral.transfer_last_heard),
        "criteria": [c.replace("_", " ") for c in referral.criteria_met or []],
        "instrument": instrument.get("name", risk.get("instrument")),
        "level": risk.get("level"),
        "score": risk.get("score"),
        "judgement_reason": referral.judgement_reason,
        "incidents_in_window": referral.incidents_in_window,
        "strands": [s.replace("_", " ") for s in referral.strands or []],
        "incident_kind": referral.incident_kind,
        "people": people,
        "address": _address(victim.get("address")),
        "safe_contact": {
            "phone": contact.get("phone"),
            "safe_to_call": bool(contact.get("safe_to_call")),
            "safe_to_leave_message": bool(contact.get("safe_to_leave_message")),
        }
        if contact
        else None,
        "language": victim.get("language"),
        "interpreter_needed": bool(victim.get("interpreter_needed")),
        "communication_needs": victim.get("communication_needs"),
        "safe_ways_to_contact": victim.get("safe_ways_to_contact"),
        "previously_known": referral.previously_known,
        "referrer": referral.referrer_contact,
        "summary": referral.summary,
        "consent": {
            "victim_aware": bool(consent.get("victim_aware")),
            "consented": bool(consent.get("consented")),
            "reason_if_not": consent.get("reason_if_not"),
        },
    }


async def _extracts(referral_ids: list[str]) -> list[dict[str, Any]]:
    """The case in the approved minutes of every meeting that listed it, oldest first: the decision, the
    notes for all agencies and the actions, as approved (the current version of each meeting's minutes)."""
    items = (
        await AgendaItem.filter(referral_id__in=referral_ids, state="listed")
        .prefetch_related("meeting", "meeting__conference")
        .order_by("meeting__date")
    )
    extracts = []
    for item in items:
        meeting = item.meeting
        if meeting.status not in ("published", "held"):
            continue
        version = await MinutesVersion.filter(meeting_id=meeting.id, status="approved").order_by("-version").first()
        case = next((c for c in version.content["cases"] if c.get("case_id") == item.id), None) if version else None
        extract: dict[str, Any] = {
            "date": meeting.date.isoformat(),
            "conference": meeting.conference.name,
            "label": agenda.label(meeting, item),
            "approved": case is not None,
            "version": version.version if version else None,
        }
        if case is not None:
            extract |= {
                "kind": case["kind"],
                "review": case["review"],
                "risk": case["risk"],
                "outcome": case["outcome"],
                "outcome_reason": case["outcome_reason"],
                "notes": [{"stage": n["stage"], "text": n["text"]} for n in case["notes"] if n["visibility"] == "all"],
                "restricted_left_out": sum(n["visibility"] != "all" for n in case["notes"]),
                "actions": [{k: a[k] for k in ("owner", "description", "due_date", "status")} for a in case["actions"]],
            }
        extracts.append(extract)
    return extracts


async def content(package: TransferPackage) -> dict[str, Any]:
    """Everything the package shows, as plain data."""
    referral = await Referral.get(id=package.referral_id).prefetch_related(
        "conference", "referring_agency", "people", "merged__referring_agency"
    )
    referral_ids = [referral.id, *(m.id for m in referral.merged)]
    open_actions = (
        await Action.filter(item__referral_id__in=referral_ids, status__in=list(OPEN))
        .prefetch_related("owner_agency", "meeting")
        .order_by("due_date", "created_at")
    )
    sender = await User.get_or_none(id=package.sent_by)
    agency = await Agency.get_or_none(id=sender.agency_id) if sender else None
    return {
        "conference": referral.conference.name,
        "area": package.area,
        "recipient_contact": package.recipient,
        "sent_on": package.sent_on.isoformat(),
        "sent_by": f"{sender.name}, {agency.name}" if sender and agency else "",
        "referral": _referral_content(referral),
        "extracts": await _extracts(referral_ids),
        "open_actions": [
            {
                "owner": a.owner_agency.name,
                "description": a.description,
                "due_date": a.due_date.isoformat(),
                "status": a.status.replace("_", " "),
                "agreed_on": a.meeting.date.isoformat(),
            }
            for a in open_actions
        ],
    }


async def lay_out(package_id: str, job_id: str | None = None, progress: Progress | None = None) -> None:
    """Lay out and store one package. Idempotent: a package already stored is left as it is, and a
    second delivery of the job that loses the race drops its own file."""
    package = await TransferPackage.get_or_none(id=package_id)
    if package is None or package.status == "ready":
        return
    if job_id:
        await TransferPackage.filter(id=package.id).update(job_id=job_id)
    found = await content(package)
    if progress is not None:
        await progress(30)
    pdf, pages = await pool.render(
        "transfer_package.html",
        {**found, "reference": package.reference, "recipient": f"{package.area} MARAC", "version": 1},
        title=TITLE,
    )
    if progress is not None:
        await progress(80)
    file_name = await store.write(pdf)
    updated = await TransferPackage.filter(id=package.id, status="pending").update(
        status="ready", file_name=file_name, sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf), pages=pages
    )
    if not updated:
        (settings.get().document_store / file_name).unlink(missing_ok=True)


async def download(viewer: Viewer, package: TransferPackage) -> bytes:
    """The stored package (from package_of), audited and entered in the disclosure log with its area."""
    data = store.read(package)
    async with in_transaction() as conn:
        await disclose(
            "transfer_package",
            conference_id=package.conference_id,
            meeting_id=None,
            document_id=package.id,
            version=None,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            recipient=package.area,
            conn=conn,
        )
        await record(
            "transfer_package.download",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="transfer_package",
            object_id=package.id,
            conference_id=package.conference_id,
            conn=conn,
        )
    return data
