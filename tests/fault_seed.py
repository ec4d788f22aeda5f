"""Seed a fault test's own PostgreSQL server (run in a subprocess whose MARAC_DATABASE_URL
points at it): the schema, the personas, a published meeting and police-owned actions."""

from __future__ import annotations

from typing import Any

from marac import db
from marac.actions import service as actions
from marac.agencies import auth
from marac.agencies.access import viewer_for
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals import service as referrals
from marac.referrals.models import Referral
from tests.conftest import create_personas, make_referral


async def seed(action_count: int) -> dict[str, Any]:
    """The police persona's bearer token and session, and `action_count` actions its agency owns."""
    await db.migrate()
    await db.init()
    try:
        personas = await create_personas()
        coordinator = await viewer_for(personas["coordinator"].user)
        referral = await make_referral(personas["police"])
        await referrals.decide(coordinator, referral.id, "accept", None)
        referral = await Referral.get(id=referral.id)
        meeting = await Meeting.get(id=referral.expected_meeting_id).prefetch_related("conference")
        await agenda.publish(coordinator, meeting)
        meeting = await Meeting.get(id=meeting.id).prefetch_related("conference")
        case_id = (await AgendaItem.get(referral_id=referral.id)).id
        chair = await viewer_for(personas["chair"].user)
        police = personas["police"]
        ids = [(await actions.add_action(chair, meeting, case_id, f"Police to check the address history by Friday ({n})", police.user.agency_id, None)).id
               for n in range(action_count)]
        return {"token": police.token, "session": await auth.start_session(police.user, mfa_passed=True), "actions": ids}
    finally:
        await db.close()
