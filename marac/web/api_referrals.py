"""Referrals in the JSON API: intake, reading as entitled, and the coordinator's decision."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.access import Can, Viewer
from marac.clock import today
from marac.errors import NotFound
from marac.referrals import service
from marac.referrals.models import Referral
from marac.referrals.schemas import ReferralIn, Strict
from marac.web.auth import Caller, api


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


class PersonOut(BaseModel):
    name: str
    aliases: list[str]
    date_of_birth: str | None
    relationship: str | None = None


class DecisionOut(BaseModel):
    status: str
    reason: str | None
    decided_at: str | None


class ReferralOut(BaseModel):
    id: str
    conference: str
    status: str
    received_at: str
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
    monitoring_only: bool
    repeat: RepeatOut
    meeting_id: str | None = Field(description="The meeting whose agenda lists it, or else the one it is expected at")
    decision: DecisionOut


class DecisionIn(Strict):
    decision: Literal["accept", "reject"]
    reason: str | None = Field(default=None, max_length=2000)


def _repeat(referral: Referral) -> RepeatOut:
    return RepeatOut(is_repeat=referral.is_repeat, previous_referral_id=referral.previous_referral_id)


def referral_out(referral: Referral) -> ReferralOut:
    def people(role: str) -> list[PersonOut]:
        return [
            PersonOut(
                name=p.name,
                aliases=p.aliases,
                date_of_birth=p.date_of_birth.isoformat() if p.date_of_birth else None,
                relationship=p.relationship if role == "perpetrator" else None,
            )
            for p in referral.people
            if p.role == role
        ]

    return ReferralOut(
        id=referral.id,
        conference=referral.conference.slug,
        status=referral.status,
        received_at=referral.received_at.isoformat(),
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
        monitoring_only=referral.monitoring_only,
        repeat=_repeat(referral),
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
    referral = await service.submit(caller.viewer, body, today())
    return ReferralCreated(
        id=referral.id, status=referral.status, repeat=_repeat(referral), meeting_id=referral.expected_meeting_id
    )


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


routes = [
    Route("/api/v1/referrals", create_referral, methods=["POST"]),
    Route("/api/v1/referrals/{referral_id}", get_referral, methods=["GET"]),
    Route("/api/v1/referrals/{referral_id}/decision", decide_referral, methods=["POST"]),
]
