"""Each domain's hand-written SQL (its queries.py) gives the answer the ORM gives on the same data:
a query written by hand for speed must not drift from what the models say."""

from __future__ import annotations

from datetime import timedelta

from marac import clock
from marac.actions import queries
from marac.actions.models import OPEN, Action
from marac.agencies import auth
from marac.agencies import queries as directory
from marac.agencies.models import ApiToken, Conference, Membership, User
from marac.audit import queries as trail
from marac.audit.models import AuditEvent
from marac.audit.service import record
from marac.meetings.models import Meeting
from tests.builders import action, published_meeting


async def test_the_token_query_names_the_user_and_their_conferences_as_the_orm_does(personas):
    for persona in personas.values():
        token = await ApiToken.get(token_hash=auth.sha256(persona.token), revoked_at__isnull=True)
        user = await User.get(id=token.user_id)
        given = await Conference.filter(users__id=user.id).values_list("id", flat=True)
        members = set(
            await Membership.filter(agency_id=user.agency_id, conference_id__in=given).values_list(
                "conference_id", flat=True
            )
        )

        rows = await directory.token_rows(auth.sha256(persona.token))
        assert {row["token_id"] for row in rows} == {token.id}
        assert {row["id"] for row in rows} == {user.id} and {row["email"] for row in rows} == {user.email}
        assert sorted(row["assigned"] for row in rows if row["assigned"]) == sorted(given)
        assert {row["assigned"] for row in rows if row["membership_id"]} == members
        if not given:
            assert [row["assigned"] for row in rows] == [None]  # one row, so the user is still found


async def test_the_token_query_finds_no_revoked_or_unknown_token(personas):
    persona = personas["police"]
    await ApiToken.filter(token_hash=auth.sha256(persona.token)).update(revoked_at=clock.now())
    assert await directory.token_rows(auth.sha256(persona.token)) == []
    assert await directory.token_rows(auth.sha256("marac_unknown")) == []


async def test_the_last_event_query_is_the_orm_s_newest_event(personas):
    await record("test.first", user_id=personas["police"].user.id)
    await record("test.second", user_id=personas["chair"].user.id)
    newest = await AuditEvent.all().order_by("-seq").first()
    assert newest is not None
    assert await trail.last_event() == {"seq": newest.seq, "hash": newest.hash}


async def test_the_action_page_holds_the_actions_the_orm_finds_in_the_same_order(personas):
    world = await published_meeting(personas, cases=2)
    start = world.meeting.date
    await action(personas, world.meeting, world.case_ids[0], due=start + timedelta(days=14))
    await action(personas, world.meeting, world.case_ids[1], owner="police", due=start + timedelta(days=3))
    await action(personas, world.meeting, world.case_ids[1], due=start + timedelta(days=3), status="done")
    await action(personas, world.meeting, world.case_ids[0], owner="police", due=start + timedelta(days=30))
    conference_id = world.meeting.conference_id
    police = personas["police"].user.agency_id
    asks = [
        ({}, {}),
        ({"open_only": True}, {"status__in": OPEN}),
        ({"owner_agency_ids": (police,)}, {"owner_agency_id": police}),
        ({"due_before": start + timedelta(days=14)}, {"due_date__lt": start + timedelta(days=14)}),
        (
            {"due_from": start + timedelta(days=3), "due_to": start + timedelta(days=14), "open_only": True},
            {
                "due_date__gte": start + timedelta(days=3),
                "due_date__lte": start + timedelta(days=14),
                "status__in": OPEN,
            },
        ),
    ]
    for sql_filter, orm_filter in asks:
        expected = (
            await Action.filter(conference_id=conference_id, **orm_filter)
            .order_by("due_date", "created_at", "id")
            .prefetch_related("item", "meeting", "owner_agency")
        )
        rows = await queries.page([conference_id], named=True, **sql_filter)
        assert [row["id"] for row in rows] == [a.id for a in expected], sql_filter
        for row, orm in zip(rows, expected, strict=True):
            assert (row["number"], row["owner_agency_name"], row["status"], row["version"]) == (
                orm.item.number,
                orm.owner_agency.name,
                orm.status,
                orm.version,
            )
            assert Meeting._meta.fields_map["date"].to_python_value(row["meeting_date"]) == orm.meeting.date

    everything = await Action.filter(conference_id=conference_id).order_by("due_date", "created_at", "id")
    first_two = await queries.page([conference_id], limit=2)
    after = (everything[1].due_date, everything[1].created_at, everything[1].id)
    rest = await queries.page([conference_id], after=after)
    assert [row["id"] for row in first_two + rest] == [a.id for a in everything]
    assert await queries.page(["0" * 32]) == []


async def test_one_action_and_the_version_bump_agree_with_the_orm(personas):
    world = await published_meeting(personas)
    made = await action(personas, world.meeting, world.case_ids[0])
    row = await queries.one(made.id)
    assert row is not None and (row["id"], row["version"], row["status"]) == (made.id, made.version, made.status)
    assert await queries.one("0" * 32) is None
    assert await queries.bump_version(made.id, made.version, "in_progress", clock.now())
    assert not await queries.bump_version(made.id, made.version, "done", clock.now())  # that version is gone
    after = await Action.get(id=made.id)
    assert (after.version, after.status) == (made.version + 1, "in_progress")


async def test_the_update_and_its_history_row_are_written_together_as_the_orm_would(personas):
    from tortoise.transactions import in_transaction

    from marac.actions.models import ActionUpdate
    from marac.meetings.models import AgendaItem

    world = await published_meeting(personas)
    made = await action(personas, world.meeting, world.case_ids[0])
    row = await queries.one(made.id)
    assert row is not None and row["case_id"] == (await AgendaItem.get(id=made.item_id)).referral_id
    before = await ActionUpdate.filter(action_id=made.id).count()
    at = clock.now()
    async with in_transaction() as conn:
        assert await queries.bump_and_log(made.id, made.version, "in_progress", at, "Rang", "u" * 32, "a" * 32, conn)
        assert not await queries.bump_and_log(made.id, made.version, "done", at, "Stale", "u" * 32, "a" * 32, conn)
    updates = await ActionUpdate.filter(action_id=made.id).order_by("id")
    assert len(updates) == before + 1
    last = updates[-1]
    assert (last.status, last.text, last.version, last.user_id, last.agency_id, last.at) == (
        "in_progress",
        "Rang",
        made.version + 1,
        "u" * 32,
        "a" * 32,
        at,
    )
    after = await Action.get(id=made.id)
    assert (after.version, after.status, after.updated_at) == (made.version + 1, "in_progress", at)
