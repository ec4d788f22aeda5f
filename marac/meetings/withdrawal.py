"""Withdrawing a referral (docs/domain.md#editing-and-withdrawal): the referral leaves the pool
and every agenda not yet published; a published agenda is frozen and keeps its snapshot.

Here and not in marac.referrals because it reaches into agendas, which sit above referrals."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from marac.agencies.access import Viewer
from marac.meetings.models import AgendaItem
from marac.referrals import service as referrals
from marac.referrals.models import Referral


async def withdraw_referral(viewer: Viewer, referral_id: str, reason: str | None) -> Referral:
    """The one use case behind the page and the API."""
    async with in_transaction() as conn:
        referral = await referrals.withdraw(viewer, referral_id, reason, conn)
        unpublished = await (
            AgendaItem.filter(referral_id=referral.id, meeting__status="scheduled")
            .using_db(conn)
            .values_list("id", flat=True)
        )
        await AgendaItem.filter(id__in=list(unpublished)).using_db(conn).delete()
    return referral
