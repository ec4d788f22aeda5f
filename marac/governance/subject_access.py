"""Subject access: everything held about one person, for the coordinator to review and release.

Rules (docs/domain.md#subject-access: requests go to the coordinator and need third-party
redaction):
- only the coordinator of the person's conference exports, and only what they may see
  (access.subject_filter, access.referral_filter); anyone else gets 404 as for a stranger;
- the export holds the person-index entry, every referral naming the person (as victim,
  perpetrator or child), and for each case its meetings, research, notes (with their
  visibility), actions with their history, the minutes versions recording it, the audit
  events about those records and the disclosure log of those meetings;
- nothing is removed: whatever concerns someone else (other people named, agency staff,
  free text agencies wrote, which may name anyone) is marked `"redaction_review": true`
  with the reason, for the coordinator to decide before release;
- each export (JSON or PDF) is audited and entered in the disclosure log.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac.actions.models import Action, ActionReview, ActionUpdate, Note
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Agency
from marac.audit.models import AuditEvent, Disclosure
from marac.audit.service import disclose, record
from marac.clock import now
from marac.errors import NotFound
from marac.i18n import gettext
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting, Research
from marac.minutes import service as minutes
from marac.referrals.models import MatchSuggestion, Person, Referral

FORMATS = ("json", "pdf")
FREE_TEXT = "free text written by an agency: it may name or describe other people"
STAFF = "names agency staff"


def review(reason: str, **values: Any) -> dict[str, Any]:
    """A part of the export that concerns someone else, or may: kept, marked for review."""
    return {**values, "redaction_review": True, "redaction_reason": reason}


def own(**values: Any) -> dict[str, Any]:
    return {**values, "redaction_review": False}


def _plain(value: Any) -> Any:
    """JSON-ready: dates as ISO strings, the rest as it is."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


async def subject(viewer: Viewer, person_id: str) -> Person:
    """The person, if the caller may export about them: in their conference's index and named
    in a referral they can see. Otherwise NotFound, exactly like a missing person."""
    person = await Person.filter(access.subject_filter(viewer), id=person_id).prefetch_related("conference").first()
    visible = Referral.filter(access.referral_filter(viewer)).filter(
        Q(victim_person_id=person_id) | Q(people__person_id=person_id)
    )
    if person is None or not await visible.exists():
        raise NotFound(gettext("Person not found"))
    access.require_governance(viewer, person.conference_id)
    return person


async def export(viewer: Viewer, person: Person) -> dict[str, Any]:
    """Everything held about `person` that the caller may see, third-party parts marked."""
    referrals = (
        await Referral.filter(access.referral_filter(viewer))
        .filter(Q(victim_person_id=person.id) | Q(people__person_id=person.id))
        .distinct()
        .prefetch_related("people", "referring_agency", "referrer")
        .order_by("received_at", "created_at")
    )
    referral_ids = [r.id for r in referrals]
    items = await AgendaItem.filter(referral_id__in=referral_ids).prefetch_related("meeting").order_by("meeting__date")
    item_ids = [i.id for i in items]
    research = await Research.filter(item_id__in=item_ids).prefetch_related("agency")
    notes = await Note.filter(item_id__in=item_ids).order_by("created_at")
    actions = await Action.filter(item_id__in=item_ids).prefetch_related("owner_agency").order_by("due_date")
    action_ids = [a.id for a in actions]
    updates = await ActionUpdate.filter(action_id__in=action_ids).order_by("id")
    reviews = await ActionReview.filter(action_id__in=action_ids).prefetch_related("meeting").order_by("at")
    agencies = {a.id: a.name for a in await Agency.all()}
    by_item: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for row in research:
        by_item[row.item_id]["research"].append(
            review(FREE_TEXT, agency=row.agency.name, known=row.known, summary=row.summary, updated_at=row.updated_at)
        )
    for note in notes:
        by_item[note.item_id]["notes"].append(
            review(
                FREE_TEXT,
                note_id=note.id,
                at=note.created_at,
                stage=note.stage,
                visibility=note.visibility,
                shared_with=[agencies.get(a, "") for a in note.agencies],
                text=note.text,
            )
        )
    history: dict[str, list] = defaultdict(list)
    for update in updates:
        history[update.action_id].append(
            review(
                FREE_TEXT,
                at=update.at,
                status=update.status,
                agency=agencies.get(update.agency_id, ""),
                text=update.text,
            )
        )
    reviewed: dict[str, list] = defaultdict(list)
    for r in reviews:
        reviewed[r.action_id].append(review(FREE_TEXT, meeting_date=r.meeting.date, outcome=r.outcome, note=r.note))
    for action in actions:
        by_item[action.item_id]["actions"].append(
            review(
                FREE_TEXT,
                action_id=action.id,
                owner_agency=action.owner_agency.name,
                description=action.description,
                due_date=action.due_date,
                status=action.status,
                created_at=action.created_at,
                updates=history[action.id],
                reviews=reviewed[action.id],
            )
        )
    cases: dict[str, list] = defaultdict(list)
    for item in items:
        cases[item.referral_id].append(
            {
                "case_id": item.id,
                "meeting_id": item.meeting_id,
                "meeting_date": item.meeting.date,
                "label": agenda.label(item.meeting, item),
                "section": item.section,
                "state": item.state,
                "outcome": item.outcome,
                "reasons": review(FREE_TEXT, listing_reason=item.reason, outcome_reason=item.outcome_reason),
                "research": by_item[item.id]["research"],
                "notes": by_item[item.id]["notes"],
                "actions": by_item[item.id]["actions"],
            }
        )
    meeting_ids = sorted({i.meeting_id for i in items})
    conference = person.conference
    return _plain(
        {
            "generated_at": now(),
            "conference": {"name": conference.name, "slug": conference.slug},
            "subject": own(
                person_id=person.id,
                names=list(person.names),
                date_of_birth=person.date_of_birth,
                postcode=person.postcode,
                in_index_since=person.created_at,
            ),
            "referrals": [_referral(r, person, cases[r.id]) for r in referrals],
            "meetings": [
                {"meeting_id": m.id, "date": m.date, "status": m.status}
                for m in await Meeting.filter(id__in=meeting_ids).order_by("date")
            ],
            "minutes": await _minutes(conference.id, items),
            "match_suggestions": [
                review(
                    "compares this person with another person in the index",
                    status=s.status,
                    score=s.score,
                    created_at=s.created_at,
                    decided_at=s.decided_at,
                )
                for s in await MatchSuggestion.filter(Q(person_id=person.id) | Q(candidate_id=person.id))
            ],
            "audit_events": await _audit_events(
                agencies,
                [person.id, *referral_ids, *item_ids, *action_ids, *[n.id for n in notes], *[r.id for r in research]],
            ),
            "disclosures": [
                {
                    "at": d.at,
                    "kind": d.kind,
                    "meeting_id": d.meeting_id,
                    "version": d.version,
                    "agency": agencies.get(d.agency_id, ""),
                    "purpose": d.purpose,
                }
                for d in await Disclosure.filter(meeting_id__in=meeting_ids).order_by("at")
            ],
        }
    )


def _referral(referral: Referral, person: Person, cases: list[dict[str, Any]]) -> dict[str, Any]:
    roles = sorted(
        {p.role for p in referral.people if p.person_id == person.id}
        | ({"victim"} if referral.victim_person_id == person.id else set())
    )
    is_victim = "victim" in roles
    victim = dict(referral.victim)
    return {
        "referral_id": referral.id,
        "received_at": referral.received_at,
        "status": referral.status,
        "subject_roles": roles,
        "referring_agency": referral.referring_agency.name,
        "referrer": review(STAFF, name=referral.referrer.name),
        "criteria_met": list(referral.criteria_met),
        "is_repeat": referral.is_repeat,
        "strands": list(referral.strands),
        "incident_kind": referral.incident_kind,
        "transfer_from": referral.transfer_from,
        "anonymised_at": referral.anonymised_at,
        # The victim section (address, safe contact) is the victim's own: anyone else asking
        # must never receive it unreviewed.
        "victim_details": own(**victim)
        if is_victim
        else review("third party: the victim's details, address and safe contact", **victim),
        "risk": own(**referral.risk)
        if is_victim
        else review("third party: the victim's risk assessment", **referral.risk),
        "people": [
            own(
                role=p.role,
                name=p.name,
                aliases=list(p.aliases),
                date_of_birth=p.date_of_birth,
                relationship=p.relationship,
                age_band=p.age_band,
                is_subject=True,
            )
            if p.person_id == person.id
            else review(
                f"third party: {p.role}",
                role=p.role,
                name=p.name,
                aliases=list(p.aliases),
                date_of_birth=p.date_of_birth,
                relationship=p.relationship,
                age_band=p.age_band,
                is_subject=False,
            )
            for p in referral.people
        ],
        "narrative": review(
            FREE_TEXT,
            summary=referral.summary,
            judgement_reason=referral.judgement_reason,
            incidents=list(referral.incidents),
            decision_reason=referral.decision_reason,
        ),
        "consent": own(**referral.consent)
        if is_victim
        else review("third party: the victim's consent", **referral.consent),
        "cases": cases,
    }


async def _minutes(conference_id: str, items: list[AgendaItem]) -> list[dict[str, Any]]:
    """Every minutes version recording one of these cases (heard, or its actions reviewed),
    with what it says about them."""
    return [
        {
            "minutes_id": version.id,
            "meeting_date": version.meeting.date,
            "version": version.version,
            "status": version.status,
            "approved_at": version.approved_at,
            "cases": [review(FREE_TEXT, **case) for case in cases],
            "action_reviews": [review(FREE_TEXT, **r) for r in reviews],
        }
        for version, cases, reviews in await minutes.recording(conference_id, items)
    ]


async def _audit_events(agencies: dict[str, str], object_ids: list[str]) -> list[dict[str, Any]]:
    # Who did it is given as the agency: staff are third parties, and their ids mean nothing outside.
    events = await AuditEvent.filter(object_id__in=object_ids).order_by("seq")
    return [
        {
            "seq": e.seq,
            "at": e.at,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "agency": agencies.get(e.agency_id or "", ""),
            "outcome": e.outcome,
        }
        for e in events
    ]


async def record_export(viewer: Viewer, person: Person, fmt: str) -> None:
    """Audit the export and enter it in the disclosure log: released to the coordinator's
    agency, for the data subject, after review."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    async with in_transaction() as conn:
        await record(
            f"subject_access.export_{fmt}",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="person",
            object_id=person.id,
            conference_id=person.conference_id,
            conn=conn,
        )
        await disclose(
            "subject_access",
            conference_id=person.conference_id,
            meeting_id=None,
            document_id=None,
            version=None,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            conn=conn,
        )
