"""Domain events are written with the change they tell about, or not at all (marac/notices/events.py)."""

import pytest
from tortoise.transactions import in_transaction

from marac.agencies.models import Conference
from marac.notices import events
from marac.notices.models import Event
from tests.conftest import CONFERENCE


async def test_an_event_is_kept_with_its_committed_change_and_lost_with_a_rolled_back_one(personas):
    conference_id = (await Conference.get(slug=CONFERENCE)).id
    async with in_transaction() as conn:
        await events.emit("agenda.published", conn=conn, conference_id=conference_id, research_due="2026-12-10")
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await events.emit("minutes.late", conn=conn, conference_id=conference_id)
            raise RuntimeError("the change failed")
    kept = await Event.all().values("kind", "conference_id", "data", "notified_at", "hooked_at")
    assert kept == [
        {
            "kind": "agenda.published",
            "conference_id": conference_id,
            "data": {"research_due": "2026-12-10"},
            "notified_at": None,
            "hooked_at": None,
        }
    ]


async def test_an_unknown_kind_is_refused_before_anything_is_written():
    with pytest.raises(ValueError, match="unknown event kind"):
        await events.emit("referral.sent", conn=None)
    assert await Event.all().count() == 0
