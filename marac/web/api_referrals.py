"""Referrals in the JSON API: intake, reading as entitled, and the coordinator's decision."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, Field, create_model
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from marac import validation
from marac.agencies import access
from marac.agencies.access import Can, Viewer
from marac.agencies.models import Conference
from marac.clock import today
from marac.errors import NotFound, RuleViolation
from marac.jobs import flows
from marac.meetings import withdrawal
from marac.referrals import drafts, locations, service
from marac.referrals.models import REFERRAL_STATUSES, Referral, ReferralDraft
from marac.referrals.schemas import ReferralIn, ReferralPatch, Strict
from marac.validation import SLUG_RE
from marac.web.auth import Caller, api
from marac.web.openapi import query


class RepeatOut(BaseModel):
    is_repeat: bool
    previous_referral_id: str | None


class ReferralCreated(BaseModel):
    id: str
    status: str
    repeat: RepeatOut
    meeting_id: str | None = Field(
        description="The meeting whose cut-off the received date meets (none for monitoring-only reports)"
    )
    possible_duplicate_of: str | None = Field(
        default=None,
        description="A referral not yet heard about the same people with an incident date within the type's "
        "duplicate_days: the same incident referred twice, not a repeat. The coordinator merges or keeps them apart.",
    )


class PersonOut(BaseModel):
    name: str
    aliases: list[str]
    date_of_birth: str | None
    relationship: str | None = None
    address: dict[str, Any] | None = Field(default=None, description="Perpetrators; children only if not the victim's")
    relationship_to_victim: str | None = None
    relationship_to_perpetrator: str | None = None
    school: str | None = Field(default=None, description="Children: school or nursery")


class MergedOut(BaseModel):
    id: str
    referring_agency_id: str


class DecisionOut(BaseModel):
    status: str
    reason: str | None
    decided_at: str | None


class TransferredOut(BaseModel):
    area: str
    on: str


class RepeatClaimOut(BaseModel):
    status: Literal["pending", "confirmed", "rejected"] = Field(
        description="pending until the coordinator decides; only a confirmed claim counts as a repeat"
    )
    area: str | None = Field(description="The earlier MARAC the referrer names")
    date: str | None
    reason: str | None = Field(description="The coordinator's reason")
    decided_at: str | None


class RepeatClaimIn(Strict):
    # Checked by the use case, after who may decide: one who cannot see the referral gets 404.
    confirm: bool | None = Field(default=None, description="true: it is a repeat of that case; false: it is not")
    reason: str | None = Field(default=None, max_length=2000, description="Why (required when rejecting)")


class ReferralOut(BaseModel):
    id: str
    conference: str
    status: str
    received_at: str
    incident_date: str
    referring_agency: dict[str, str]
    criteria: list[str]
    criteria_met: list[str]
    risk: dict[str, Any]
    judgement_reason: str | None
    victim: dict[str, Any]
    perpetrators: list[PersonOut]
    children: list[PersonOut]
    strands: list[str]
    incident_kind: str | None
    incidents_in_window: int
    summary: str
    consent: dict[str, Any]
    transfer_from: str | None
    transfer_last_heard: str | None = Field(description="A transfer in: the date the MARAC it comes from last heard it")
    transferred_out: TransferredOut | None = Field(
        description="A transfer out: the area whose MARAC the coordinator sent the case to, and when"
    )
    referrer: dict[str, Any] | None = Field(description="The person who made the referral: name, phone, e-mail")
    previously_known: dict[str, Any] | None = Field(description="Previously known to MARAC: area and date")
    repeat_claim: RepeatClaimOut | None = Field(
        default=None, description="A repeat the referrer claims of an earlier MARAC case the system does not hold"
    )
    incident_location: dict[str, Any] | None = Field(
        default=None,
        description="Where the incident happened (types that match repeats on location): {postcode} or "
        "{place: {id, name}}, a named place of the conference",
    )
    monitoring_only: bool
    repeat: RepeatOut
    possible_duplicate_of: str | None
    kept_apart: bool = Field(description="The coordinator decided the possible duplicate is a separate incident")
    merged_into: str | None
    merged: list[MergedOut] = Field(description="Duplicates merged into this case, each with its referring agency")
    withdrawn_reason: str | None
    history: list[ChangeOut] = Field(description="Every edit and withdrawal, oldest first")
    meeting_id: str | None = Field(description="The meeting whose agenda lists it, or else the one it is expected at")
    decision: DecisionOut


class MergeIn(Strict):
    into: str = Field(min_length=1, max_length=32, description="The referral this duplicate joins as one case")


class KeepApartIn(Strict):
    reason: str = Field(min_length=1, max_length=2000, description="Why the two are separate incidents")


class WithdrawIn(Strict):
    # Checked by the use case, after who may withdraw: one who cannot see the referral gets 404.
    reason: str | None = Field(default=None, max_length=2000, description="Why the referral is withdrawn (required)")


class ChangeOut(BaseModel):
    kind: str = Field(description="edit, withdraw, repeat_confirm or repeat_reject")
    at: str
    by: str = Field(description="The user's id")
    fields: list[str] = Field(description="The fields changed (names only)")
    reason: str | None


class ReferralItem(BaseModel):
    id: str
    conference: str
    status: str
    received_at: str
    referring_agency: dict[str, str]
    kind: Literal["new", "repeat", "transfer"]
    criteria_met: list[str]
    meeting_id: str | None


class ReferralList(BaseModel):
    items: list[ReferralItem]
    next: str | None = None


class DecisionIn(Strict):
    decision: Literal["accept", "reject"]
    reason: str | None = Field(default=None, max_length=2000)


def _repeat(referral: Referral) -> RepeatOut:
    return RepeatOut(is_repeat=referral.is_repeat, previous_referral_id=referral.previous_referral_id)


def _claim(referral: Referral) -> RepeatClaimOut | None:
    if referral.repeat_claim is None:
        return None
    known = referral.previously_known or {}
    return RepeatClaimOut(
        status=referral.repeat_claim,  # type: ignore[arg-type]  # one of the three: service.decide_repeat_claim
        area=known.get("area"),
        date=known.get("date"),
        reason=referral.repeat_claim_reason,
        decided_at=referral.repeat_claim_decided_at.isoformat() if referral.repeat_claim_decided_at else None,
    )


def location_out(location: dict[str, Any] | None) -> dict[str, Any] | None:
    if location and location.get("place"):
        return {"place": {"id": location["place"], "name": location.get("name")}}
    return location


def referral_out(referral: Referral) -> ReferralOut:
    def people(role: str) -> list[PersonOut]:
        return [
            PersonOut(
                name=p.name,
                aliases=p.aliases,
                date_of_birth=p.date_of_birth.isoformat() if p.date_of_birth else None,
                relationship=p.relationship if role == "perpetrator" else None,
                **(p.details or {}),
            )
            for p in referral.people
            if p.role == role
        ]

    return ReferralOut(
        id=referral.id,
        conference=referral.conference.slug,
        status=referral.status,
        received_at=referral.received_at.isoformat(),
        incident_date=service.incident_day(referral).isoformat(),
        referring_agency={"id": referral.referring_agency_id, "name": referral.referring_agency.name},
        criteria=referral.criteria_claimed,
        criteria_met=referral.criteria_met,
        risk=referral.risk,
        judgement_reason=referral.judgement_reason,
        victim=referral.victim,
        perpetrators=people("perpetrator"),
        children=people("child"),
        strands=referral.strands,
        incident_kind=referral.incident_kind,
        incidents_in_window=referral.incidents_in_window,
        summary=referral.summary,
        consent=referral.consent,
        transfer_from=referral.transfer_from,
        transfer_last_heard=referral.transfer_last_heard.isoformat() if referral.transfer_last_heard else None,
        transferred_out=TransferredOut(area=referral.transferred_out_to, on=referral.transferred_out_on.isoformat())
        if referral.transferred_out_to and referral.transferred_out_on
        else None,
        referrer=referral.referrer_contact,
        previously_known=referral.previously_known,
        repeat_claim=_claim(referral),
        incident_location=location_out(referral.incident_location),
        monitoring_only=referral.monitoring_only,
        repeat=_repeat(referral),
        possible_duplicate_of=referral.possible_duplicate_of_id,
        kept_apart=bool(referral.kept_apart_reason),
        merged_into=referral.merged_into_id,
        merged=[MergedOut(id=m.id, referring_agency_id=m.referring_agency_id) for m in referral.merged],
        withdrawn_reason=referral.withdrawn_reason,
        history=[
            ChangeOut(
                kind=c.kind, at=c.changed_at.isoformat(), by=c.changed_by, fields=c.changed_fields, reason=c.reason
            )
            for c in sorted(referral.changes, key=lambda c: c.changed_at)
        ],
        meeting_id=referral.meeting_id or referral.expected_meeting_id,
        decision=DecisionOut(
            status=referral.status,
            reason=referral.decision_reason,
            decided_at=referral.decided_at.isoformat() if referral.decided_at else None,
        ),
    )


@api(Can.REFER, body=ReferralIn, response=ReferralCreated, status=201)
async def create_referral(request: Request, caller: Caller, body: ReferralIn) -> ReferralCreated:
    """Refer a victim to a conference the caller's agency belongs to; the referring agency is the caller's."""
    return created(await service.submit(caller.viewer, body, today()))


def created(referral: Referral) -> ReferralCreated:
    return ReferralCreated(
        id=referral.id,
        status=referral.status,
        repeat=_repeat(referral),
        meeting_id=referral.expected_meeting_id,
        possible_duplicate_of=referral.possible_duplicate_of_id,
    )


REFERRALS_PAGE = 50
# The last referral of a page: its received date and id (the list is newest first).
REFERRALS_CURSOR_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.([0-9a-f]{32})")


def _kind(referral: Referral) -> Literal["new", "repeat", "transfer"]:
    return "transfer" if referral.transfer_from else "repeat" if referral.is_repeat else "new"


def referral_item(referral: Referral) -> dict[str, Any]:
    return {
        "id": referral.id,
        "conference": referral.conference.slug,
        "status": referral.status,
        "received_at": referral.received_at.isoformat(),
        "referring_agency": {"id": referral.referring_agency_id, "name": referral.referring_agency.name},
        "kind": _kind(referral),
        "criteria_met": referral.criteria_met,
        "meeting_id": referral.meeting_id or referral.expected_meeting_id,
    }


def referral_after(cursor: str | None) -> service.After | None:
    if cursor is None:
        return None
    found = REFERRALS_CURSOR_RE.fullmatch(cursor)
    received = validation.day_or_none(found.group(1)) if found else None
    if found is None or received is None:
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    return service.After(received, found.group(2))


async def listed_conference(viewer: Viewer, slug: str | None) -> Conference | None:
    """The conference a list is narrowed to: a slug (422 otherwise) of one of the caller's
    conferences (404 for any other, as for one that does not exist)."""
    if not slug:
        return None
    if not validation.is_slug(slug):
        raise RuleViolation("Bad conference", {"conference": "Use a conference's slug, for example northshire-da"})
    return await access.get_conference(viewer, slug)


@api(
    Can.REFER,
    response=ReferralList,
    params=[
        query(
            "conference",
            {"type": "string", "pattern": f"^{SLUG_RE.pattern}$"},
            "Only this conference of the caller's",
            empty_is_absent=True,
        ),
        query("status", {"type": "string", "enum": list(REFERRAL_STATUSES)}, "Only this status", empty_is_absent=True),
        query(
            "cursor",
            {"type": "string", "pattern": f"^{REFERRALS_CURSOR_RE.pattern}$"},
            "The next value of the previous page",
        ),
    ],
)
async def list_referrals(request: Request, caller: Caller) -> dict[str, Any]:
    """The referrals the caller may see, newest first, 50 a page: their agency's own; every one of a
    conference they coordinate or chair, or whose referrals their agency receives. No personal data:
    open one to read it (audited)."""
    params = request.query_params
    conference = await listed_conference(caller.viewer, params.get("conference"))
    found = await service.list_visible(
        caller.viewer,
        conference.id if conference else None,
        params.get("status") or None,
        referral_after(params.get("cursor")),
        REFERRALS_PAGE + 1,
    )
    page = found[:REFERRALS_PAGE]
    last = page[-1] if len(found) > REFERRALS_PAGE else None
    return {
        "items": [referral_item(r) for r in page],
        "next": f"{last.received_at.isoformat()}.{last.id}" if last else None,
    }


@api(response=ReferralOut)
async def get_referral(request: Request, caller: Caller) -> ReferralOut:
    """The referral as the caller may see it (404 for anyone else)."""
    return referral_out(await service.get_visible(caller.viewer, request.path_params["referral_id"]))


async def referral_seen(viewer: Viewer, params: dict[str, str]) -> None:
    # Not get_visible: that audits a read, and a refused call reads nothing.
    if not await Referral.filter(access.referral_filter(viewer), id=params["referral_id"]).exists():
        raise NotFound("Referral not found")


@api(Can.TRIAGE_REFERRALS, body=DecisionIn, response=ReferralOut, record=referral_seen)
async def decide_referral(request: Request, caller: Caller, body: DecisionIn) -> ReferralOut:
    """Accept (joins the first meeting whose cut-off it met) or reject with a reason."""
    await service.decide(caller.viewer, request.path_params["referral_id"], body.decision, body.reason)
    return referral_out(await service.get_visible(caller.viewer, request.path_params["referral_id"]))


@api(Can.TRIAGE_REFERRALS, body=MergeIn, response=ReferralOut, record=referral_seen)
async def merge_referral(request: Request, caller: Caller, body: MergeIn) -> ReferralOut:
    """Merge a duplicate into the referral it duplicates: one case, both referrers linked, counted once."""
    await service.merge(caller.viewer, request.path_params["referral_id"], body.into)
    return referral_out(await service.get_visible(caller.viewer, body.into))


@api(Can.TRIAGE_REFERRALS, body=KeepApartIn, response=ReferralOut, record=referral_seen)
async def keep_referral_apart(request: Request, caller: Caller, body: KeepApartIn) -> ReferralOut:
    """Keep a possible duplicate as a case of its own, with the reason they are separate incidents."""
    await service.keep_apart(caller.viewer, request.path_params["referral_id"], body.reason)
    return referral_out(await service.get_visible(caller.viewer, request.path_params["referral_id"]))


@api(Can.REFER, body=ReferralPatch, response=ReferralOut, record=referral_seen)
async def edit_referral(request: Request, caller: Caller, body: BaseModel) -> ReferralOut:
    """Correct a referral (the referrer before triage, the coordinator until heard): the fields
    sent replace the referral's, every rule is checked again, and the referral as it was is kept."""
    referral_id = request.path_params["referral_id"]
    await service.edit(caller.viewer, referral_id, body.model_dump(mode="json", exclude_unset=True), today())
    return referral_out(await service.get_visible(caller.viewer, referral_id))


@api(Can.REFER, body=WithdrawIn, response=ReferralOut, record=referral_seen)
async def withdraw_referral(request: Request, caller: Caller, body: WithdrawIn) -> ReferralOut:
    """Withdraw a referral not yet heard, with a reason: it leaves the pool and any unpublished agenda."""
    referral_id = request.path_params["referral_id"]
    await withdrawal.withdraw_referral(caller.viewer, referral_id, body.reason)
    return referral_out(await service.get_visible(caller.viewer, referral_id))


class TransferOutIn(Strict):
    area: str = Field(min_length=1, max_length=200, description="The area whose MARAC the case goes to")
    recipient: str = Field(
        min_length=1, max_length=320, description="The receiving coordinator's secure e-mail address or a reference"
    )


class TransferAccepted(BaseModel):
    job_id: str = Field(description="GET /api/v1/jobs/{job_id} for its progress, then GET the transfer package")
    message: str


@api(
    Can.TRANSFER_CASES,
    body=TransferOutIn,
    response=TransferAccepted,
    status=202,
    record=referral_seen,
    errors={409: "The case has not been heard, or has already been transferred out"},
)
async def transfer_out(request: Request, caller: Caller, body: TransferOutIn) -> TransferAccepted:
    """Transfer a heard case to another area's MARAC (the conference's coordinator): the case is marked
    transferred out and its transfer package (the referral, the minutes extract of each meeting that
    heard it, its open actions) is laid out by a job."""
    job = await flows.transfer_out(caller.viewer, request.path_params["referral_id"], body.area, body.recipient)
    return TransferAccepted(job_id=job.id, message="The transfer package is being prepared")


@api(response="application/pdf", accepted=TransferAccepted)
async def transfer_package(request: Request, caller: Caller) -> Response:
    """The case's transfer package (PDF), for its conference's coordinator alone; 404 for anyone else and
    before a transfer. Each download is entered in the disclosure log with the receiving area. While it is
    being laid out: 202 with the job's id; ask again once the job is done."""
    found = await flows.transfer_package(caller.viewer, request.path_params["referral_id"])
    if isinstance(found, bytes):
        return Response(
            found,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="transfer-package.pdf"'},
        )
    accepted = TransferAccepted(job_id=found.id, message="The transfer package is being prepared: ask again soon")
    return JSONResponse(accepted.model_dump(), status_code=202)


@api(Can.TRIAGE_REFERRALS, body=RepeatClaimIn, response=ReferralOut, record=referral_seen)
async def decide_repeat_claim(request: Request, caller: Caller, body: RepeatClaimIn) -> ReferralOut:
    """Confirm or reject (with a reason) the repeat the referrer claims of an earlier MARAC case the
    system does not hold; only a confirmed claim counts as a repeat (agenda kind, quarterly figures)."""
    referral_id = request.path_params["referral_id"]
    await service.decide_repeat_claim(caller.viewer, referral_id, body.confirm, body.reason)
    return referral_out(await service.get_visible(caller.viewer, referral_id))


# --- drafts (marac/referrals/drafts.py): the author's alone, unchecked until sent ------------------

# Any field of a referral, holding anything typed so far; only the conference is needed (and checked).
_DRAFT_FIELDS: dict[str, Any] = {name: (Any, None) for name in ReferralIn.model_fields if name != "conference"}
DraftIn: type[Strict] = create_model(
    "DraftIn",
    __base__=Strict,
    __doc__="A referral as typed so far: the fields of POST /api/v1/referrals, none checked until it is sent",
    # Required, but checked by the use case after whose draft it is: anyone else's is 404 whatever is sent.
    conference=(str | None, Field(default=None, min_length=1, max_length=64, description="The conference's slug")),
    **_DRAFT_FIELDS,
)


class DraftOut(BaseModel):
    id: str
    conference: str
    saved_at: str
    expires_at: str = Field(description="30 days after the last save; an expired draft is deleted")
    body: dict[str, Any] = Field(description="The referral as typed (the draft's last save)")


class DraftItem(BaseModel):
    id: str
    conference: str
    victim_name: str | None = Field(description="The victim's name as typed, if any")
    saved_at: str
    expires_at: str


class DraftList(BaseModel):
    items: list[DraftItem]
    next: str | None = None


def draft_out(draft: ReferralDraft) -> DraftOut:
    return DraftOut(
        id=draft.id,
        conference=draft.conference.slug,
        saved_at=draft.saved_at.isoformat(),
        expires_at=draft.expires_at.isoformat(),
        body=draft.body,
    )


async def draft_seen(viewer: Viewer, params: dict[str, str]) -> None:
    await drafts.get_own(viewer, params["draft_id"])  # NotFound for anyone but its author


@api(Can.REFER, response=DraftList)
async def list_drafts(request: Request, caller: Caller) -> DraftList:
    """The caller's own drafts that have not expired, last saved first (at most 50: one page)."""
    return DraftList(
        items=[
            DraftItem(
                id=d.id,
                conference=d.conference.slug,
                victim_name=drafts.victim_name(d),
                saved_at=d.saved_at.isoformat(),
                expires_at=d.expires_at.isoformat(),
            )
            for d in await drafts.list_own(caller.viewer)
        ]
    )


@api(Can.REFER, body=DraftIn, response=DraftOut, status=201)
async def create_draft(request: Request, caller: Caller, body: BaseModel) -> DraftOut:
    """Save a referral part-way as a draft, seen by its author alone: nothing but the conference is
    checked until it is sent. It expires 30 days after its last save."""
    return draft_out(await drafts.save(caller.viewer, body.model_dump(mode="json", exclude_unset=True)))


@api(Can.REFER, response=DraftOut, record=draft_seen)
async def get_draft(request: Request, caller: Caller) -> DraftOut:
    """One of the caller's drafts (404 for anyone else's, or an expired one)."""
    return draft_out(await drafts.get_own(caller.viewer, request.path_params["draft_id"]))


@api(Can.REFER, body=DraftIn, response=DraftOut, record=draft_seen)
async def replace_draft(request: Request, caller: Caller, body: BaseModel) -> DraftOut:
    """Save the draft again with this body in place of its own; its 30 days start again."""
    draft_id = request.path_params["draft_id"]
    return draft_out(await drafts.save(caller.viewer, body.model_dump(mode="json", exclude_unset=True), draft_id))


@api(Can.REFER, status=204, record=draft_seen)
async def delete_draft(request: Request, caller: Caller) -> Response:
    """Delete one of the caller's drafts."""
    await drafts.delete(caller.viewer, request.path_params["draft_id"])
    return Response(status_code=204)


@api(Can.REFER, response=ReferralCreated, status=201, record=draft_seen)
async def submit_draft(request: Request, caller: Caller) -> ReferralCreated:
    """Send the draft as a referral: every rule of POST /api/v1/referrals is checked (422 names each
    bad field, and the draft stays); once the referral is made the draft is gone."""
    referral = await drafts.send(caller.viewer, request.path_params["draft_id"], today())
    return created(referral)


class PlaceIn(Strict):
    name: str = Field(
        min_length=1, max_length=locations.MAX_PLACE_NAME, description="A public place, e.g. Market Square"
    )


class PlaceOut(BaseModel):
    id: str
    name: str


class PlaceList(BaseModel):
    items: list[PlaceOut]


async def conference_seen(viewer: Viewer, params: dict[str, str]) -> None:
    await access.get_conference(viewer, params["slug"])


@api(Can.REFER, response=PlaceList, record=conference_seen)
async def list_places(request: Request, caller: Caller) -> PlaceList:
    """The places the conference names for repeats by location (hate crime hotspots): a referral's
    incident_location.place is one of these, by id or name."""
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    places = await locations.listed(caller.viewer, conference)
    return PlaceList(items=[PlaceOut(id=p.id, name=p.name) for p in places])


@api(Can.TRIAGE_REFERRALS, body=PlaceIn, response=PlaceOut, status=201, record=conference_seen)
async def add_place(request: Request, caller: Caller, body: PlaceIn) -> PlaceOut:
    """Name a place (the conference's coordinator); referrals may then choose it instead of a postcode."""
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    place = await locations.add(caller.viewer, conference, body.name)
    return PlaceOut(id=place.id, name=place.name)


@api(Can.TRIAGE_REFERRALS, status=204, record=conference_seen)
async def retire_place(request: Request, caller: Caller) -> None:
    """Stop offering a place (the coordinator); referrals that named it keep it and still match on it."""
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    await locations.retire(caller.viewer, conference, request.path_params["place_id"])


routes = [
    Route("/api/v1/referrals/{referral_id}/transfer-out", transfer_out, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}/transfer-package.pdf", transfer_package, methods=["GET"]),
    Route("/api/v1/conferences/{slug}/places", list_places, methods=["GET"]),
    Route("/api/v1/conferences/{slug}/places", add_place, methods=["POST"]),
    Route("/api/v1/conferences/{slug}/places/{place_id}", retire_place, methods=["DELETE"]),
    Route("/api/v1/referrals", create_referral, methods=["POST"]),
    Route("/api/v1/referrals", list_referrals, methods=["GET"]),
    Route("/api/v1/referrals/{referral_id}", get_referral, methods=["GET"]),
    Route("/api/v1/referrals/{referral_id}", edit_referral, methods=["PATCH"]),
    Route("/api/v1/referrals/{referral_id}/withdraw", withdraw_referral, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}/decision", decide_referral, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}/merge", merge_referral, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}/keep-apart", keep_referral_apart, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}/repeat-claim", decide_repeat_claim, methods=["POST"]),
    Route("/api/v1/referral-drafts", list_drafts, methods=["GET"]),
    Route("/api/v1/referral-drafts", create_draft, methods=["POST"]),
    Route("/api/v1/referral-drafts/{draft_id}", get_draft, methods=["GET"]),
    Route("/api/v1/referral-drafts/{draft_id}", replace_draft, methods=["PUT"]),
    Route("/api/v1/referral-drafts/{draft_id}", delete_draft, methods=["DELETE"]),
    Route("/api/v1/referral-drafts/{draft_id}/submit", submit_draft, methods=["POST"]),
]
