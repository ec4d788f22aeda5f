"""The home page's to-do list (marac/todo.py, docs/domain.md#the-to-do-list): for each persona the items their
roles and agency have waiting, with counts, deadlines and links, and nothing of another agency or of a
conference where they hold no role; the page and GET /api/v1/todo show the same, without a name; the number of
queries does not grow with the data, and on PostgreSQL each query is answered through an index."""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from marac import clock, todo
from marac.actions import service as actions
from marac.actions.models import Action
from marac.agencies import service as directory
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference, ConferenceRole
from marac.clock import now
from marac.meetings import schedule
from marac.meetings.models import AgendaItem, Meeting, Research
from marac.minutes.models import MinutesRecipient, MinutesVersion
from marac.referrals.models import MatchSuggestion, Referral
from marac.web import api_todo
from tests.builders import other_victim, referral
from tests.conftest import CONFERENCE, dash_body, session_cookie_for

DAY = date(2026, 11, 14)  # a Saturday; the conference sits every other Tuesday: 10 Nov, 24 Nov, 8 Dec
NAMES = ("Jane Doe", "John Roe", "Amy Doe", "Beth Cole", "Cara Dunn", "Dina Ellis", "Eve Fox")


async def _meeting(conference_id: str, day: date, status: str = "held", version: int = 0) -> Meeting:
    return await Meeting.create(
        conference_id=conference_id,
        slot_date=None,
        date=day,
        cut_off=day,
        kind="emergency",
        status=status,
        minutes_version=version,
    )


async def _minutes(meeting: Meeting, version: int, sent: dict[str, bool | str], status: str = "approved") -> None:
    """A version and its recipients: True sent, False not yet, "opened" sent and downloaded."""
    minutes = await MinutesVersion.create(meeting=meeting, version=version, status=status, content={}, approved_by="x")
    for agency_id, state in sent.items():
        await MinutesRecipient.create(
            minutes=minutes,
            agency_id=agency_id,
            tier="full",
            status="done" if state else "pending",
            notified_at=now() if state else None,
            first_downloaded_at=now() if state == "opened" else None,
        )


async def _action(item: AgendaItem, owner: str, due: date, status: str = "open") -> Action:
    meeting = await item.meeting
    return await Action.create(
        item=item,
        meeting_id=meeting.id,
        conference_id=meeting.conference_id,
        owner_agency_id=owner,
        description="Visit Jane Doe",
        due_date=due,
        status=status,
        created_by="x",
    )


@pytest.fixture
async def world(personas):
    """Northshire's state on DAY, written as rows where the services pass through states without stopping
    (minutes sent to some agencies only, a meeting held in the past), and a conference none of the personas
    sits on, whose work is the police agency's too."""
    conference = await Conference.get(slug=CONFERENCE)
    agency = {k: personas[k].user.agency_id for k in ("coordinator", "police", "idva", "health", "childrens")}
    await directory.set_membership(None, conference, directory.MemberSpec(agency["idva"], "full", True))

    untriaged = [
        await referral(personas, received_at="2026-11-05"),
        await referral(personas, body=other_victim(1, received_at="2026-11-06")),
    ]
    # The second is a possible duplicate; a third referral was one and was kept apart (it counts no more).
    await Referral.filter(id=untriaged[1].id).update(possible_duplicate_of_id=untriaged[0].id)
    apart = await referral(personas, accept=True, body=other_victim(5))
    apart.possible_duplicate_of_id, apart.kept_apart_reason = untriaged[0].id, "A different incident"
    await apart.save(update_fields=["possible_duplicate_of_id", "kept_apart_reason"])
    # The next meeting (24 November), published: two cases listed (heard) and one moved on (still waiting).
    cases = [await referral(personas, accept=True, body=other_victim(n)) for n in (2, 3, 4)]
    await schedule.ensure_meetings(conference, DAY, 2)
    coming = await Meeting.get(conference=conference, date=date(2026, 11, 24))
    await Meeting.filter(id=coming.id).update(status="published")
    listed = [
        await AgendaItem.create(meeting=coming, referral=r, number=n, section="new_cases", state="listed")
        for n, r in enumerate(cases[:2], 1)
    ]
    await Referral.filter(id__in=[r.id for r in cases[:2]]).update(status="heard", meeting_id=coming.id)
    moved = await AgendaItem.create(meeting=coming, referral=cases[2], number=3, section="new_cases", state="overflow")
    for item, who in ((listed[0], "police"), (listed[1], "police"), (moved, "police"), (listed[0], "health")):
        await Research.create(item=item, agency_id=agency[who], known=True, summary="Known to us", updated_by="x")

    # Held: 3 Nov (sent to all; health opened its copy), 10 Nov (corrected, health not yet sent version 2),
    # 11 Nov (approved, copies not requested), 12 Nov (not approved).
    held = {
        3: await _meeting(conference.id, date(2026, 11, 3), version=1),
        10: await _meeting(conference.id, date(2026, 11, 10), version=2),
        11: await _meeting(conference.id, date(2026, 11, 11), version=1),
        12: await _meeting(conference.id, date(2026, 11, 12)),
    }
    await _minutes(held[3], 1, {agency["police"]: True, agency["health"]: "opened"})
    await _minutes(held[10], 1, {agency["police"]: True, agency["health"]: True}, status="superseded")
    await _minutes(held[10], 2, {agency["police"]: True, agency["health"]: False})
    await _minutes(held[11], 1, {})

    item = await AgendaItem.create(meeting=held[3], referral=cases[0], number=1, section="new_cases", state="listed")
    await _action(item, agency["police"], DAY - timedelta(days=3))
    await _action(item, agency["police"], DAY - timedelta(days=10), status="in_progress")
    await _action(item, agency["police"], DAY)  # due today: this week, not overdue
    await _action(item, agency["police"], DAY + timedelta(days=7))  # the last day of the week
    await _action(item, agency["police"], DAY + timedelta(days=8))  # later
    await _action(item, agency["police"], DAY - timedelta(days=20), status="done")
    await _action(item, agency["idva"], DAY - timedelta(days=5))
    await _action(item, agency["health"], DAY - timedelta(days=1), status="done")
    await _action(item, agency["health"], DAY - timedelta(days=2), status="not_done_by_agency")

    # A conference no persona sits on, though the police agency is one of its members: none of this shows.
    await directory.create_conference(
        None,
        name="Elsewhere DA MARAC",
        slug="elsewhere-da",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        members=[directory.MemberSpec(agency["police"], "full", True), directory.MemberSpec(agency["idva"], "full")],
    )
    other = await Conference.get(slug="elsewhere-da")
    theirs = await referral(personas, body=other_victim(1))
    await Referral.filter(id=theirs.id).update(conference_id=other.id)
    their_coming = await _meeting(other.id, DAY + timedelta(days=3), status="published")
    their_item = await AgendaItem.create(
        meeting=their_coming, referral=theirs, number=1, section="new_cases", state="listed"
    )
    await _action(their_item, agency["police"], DAY - timedelta(days=30))
    their_held = await _meeting(other.id, date(2026, 11, 10))
    await _minutes(their_held, 1, {agency["police"]: True})
    await Meeting.filter(id=their_held.id).update(minutes_version=1)
    await _meeting(other.id, date(2026, 11, 12))
    # The test victims share an address: the index suggested matches of its own. Only these two pairs.
    await MatchSuggestion.all().delete()
    await MatchSuggestion.create(
        conference=conference,
        person_id=untriaged[0].victim_person_id,
        candidate_id=untriaged[1].victim_person_id,
        score=0.8,
    )
    await MatchSuggestion.create(
        conference=conference,
        person_id=untriaged[1].victim_person_id,
        candidate_id=apart.victim_person_id,
        score=0.7,
        status="different",
    )

    return {"conference": conference, "agency": agency, "coming": coming, "held": held, "other": other}


async def todo_of(personas, key: str) -> list[todo.ConferenceTodo]:
    return await todo.for_viewer(await viewer_for(personas[key].user), DAY)


def listed(found: list[todo.ConferenceTodo]) -> list[tuple]:
    """(kind, count, deadline, late) of each item of the one conference listed."""
    assert [c.slug for c in found] == [CONFERENCE]
    return [(i.kind, i.count, i.deadline, i.late) for i in found[0].items]


async def test_the_coordinator_triages_decides_circulates_and_chases_research(personas, world):
    found = await todo_of(personas, "coordinator")
    assert found[0].role == "coordinator"
    held = world["held"]
    assert listed(found) == [
        ("minutes_to_circulate", 1, date(2026, 11, 13), True),  # 3 working days after 10 Nov; health waits
        ("minutes_to_circulate", 1, date(2026, 11, 16), False),  # 11 Nov: approved, copies not requested
        ("minutes_to_circulate", 1, date(2026, 11, 17), False),  # 12 Nov: not approved yet
        ("research_due", 2, date(2026, 11, 24), False),  # the coordinator's own agency is a member too
        ("research_outstanding", 7, date(2026, 11, 24), False),  # council 2, IDVA 2, health 1, children's 2
        ("triage", 2, date(2026, 12, 1), False),  # the 24 Nov agenda is out: the 8 Dec cut-off
        ("possible_duplicates", 1, None, False),
        ("possible_matches", 1, None, False),
    ]
    items = found[0].items
    assert [i.text for i in items[:3]] == [
        "Minutes of Tue 10 Nov not circulated (late)",
        "Minutes of Wed 11 Nov not circulated",
        "Minutes of Thu 12 Nov not circulated",
    ]
    assert [i.link for i in items[:3]] == [f"/meetings/{held[d].id}/circulation" for d in (10, 11, 12)]
    assert items[4].text == "7 research returns outstanding for Tue 24 Nov"
    assert items[4].link == f"/meetings/{world['coming'].id}/preparation#research"
    assert (items[5].text, items[5].link) == ("2 referrals to triage", f"/referrals?conference={CONFERENCE}")
    assert (items[6].text, items[7].text, items[7].link) == ("1 possible duplicate", "1 possible match", "/matches")


async def test_the_chair_approves_and_prepares_and_sees_their_own_agencys_work(personas, world):
    found = await todo_of(personas, "chair")  # the chair is a police inspector: police's work is theirs too
    assert found[0].role == "chair"
    assert listed(found) == [
        ("actions_overdue", 2, DAY - timedelta(days=10), True),
        ("actions_due", 2, DAY, False),
        ("minutes_to_approve", 1, date(2026, 11, 17), False),
        ("preparation", 2, date(2026, 11, 24), False),
        ("new_minutes", 2, None, False),
    ]
    items = {i.kind: i for i in found[0].items}
    assert items["minutes_to_approve"].text == "Minutes of Thu 12 Nov to approve"
    assert items["minutes_to_approve"].link == f"/meetings/{world['held'][12].id}/minutes"
    assert items["preparation"].text == "Chair's preparation for Tue 24 Nov"
    assert items["preparation"].link == f"/meetings/{world['coming'].id}/preparation"


async def test_a_deputy_chair_has_the_chairs_items(personas, world):
    health = personas["health"].user
    await ConferenceRole.create(user=health, conference=world["conference"], role="deputy_chair")
    found = await todo_of(personas, "health")
    assert found[0].role == "deputy_chair"
    assert listed(found) == [
        ("minutes_to_approve", 1, date(2026, 11, 17), False),
        ("research_due", 1, date(2026, 11, 24), False),
        ("preparation", 2, date(2026, 11, 24), False),
    ]


async def test_a_member_sees_its_agencys_actions_research_and_new_minutes_only(personas, world):
    police = personas["police"].user.agency_id
    found = await todo_of(personas, "police")
    assert found[0].role == "member"
    # Police returned its research; the Elsewhere conference's overdue police action is not listed.
    assert listed(found) == [
        ("actions_overdue", 2, DAY - timedelta(days=10), True),
        ("actions_due", 2, DAY, False),
        ("new_minutes", 2, None, False),  # 3 Nov and 10 Nov version 2, never opened; version 1 superseded
    ]
    items = {i.kind: i for i in found[0].items}
    assert items["actions_overdue"].text == "2 actions overdue"
    assert items["actions_overdue"].link == f"/actions?status=overdue&conference={CONFERENCE}&agency={police}"
    assert items["actions_due"].text == "2 actions due this week"
    assert items["new_minutes"].text == "2 new minutes versions, the newest of Tue 10 Nov"
    assert items["new_minutes"].link == f"/meetings/{world['held'][10].id}"

    assert listed(await todo_of(personas, "health")) == [("research_due", 1, date(2026, 11, 24), False)]
    research = (await todo_of(personas, "childrens"))[0].items[0]  # the actions-only tier researches too
    assert (research.text, research.link) == ("Research for 2 cases due Tue 24 Nov", f"/meetings/{world['coming'].id}")


async def test_the_to_do_counts_are_the_action_lists(personas, world):
    """The same actions as /actions?status=...&agency= lists for the caller."""
    viewer = await viewer_for(personas["chair"].user)
    items = {i.kind: i for i in (await todo.for_viewer(viewer, DAY))[0].items}
    mine = personas["chair"].user.agency_id
    for kind, which in (("actions_overdue", "overdue"), ("actions_due", "due_this_week")):
        rows = await actions.list_actions(viewer, which, DAY, world["conference"].id, mine)
        assert items[kind].count == len(rows)


async def test_the_receiving_agency_contacts_the_victims_of_new_referrals(personas, world):
    found = await todo_of(personas, "idva")
    assert listed(found) == [
        ("actions_overdue", 1, DAY - timedelta(days=5), True),
        ("research_due", 2, date(2026, 11, 24), False),
        ("referrals_to_contact", 4, date(2026, 11, 24), False),  # 2 untriaged, the one moved on, the one kept apart
    ]
    contact = found[0].items[2]
    assert (contact.text, contact.link) == ("4 new referrals to contact", f"/referrals?conference={CONFERENCE}")
    # Once it no longer receives the conference's referrals, they are not its to contact.
    await directory.set_membership(None, world["conference"], directory.MemberSpec(world["agency"]["idva"], "full"))
    assert "referrals_to_contact" not in [i.kind for i in (await todo_of(personas, "idva"))[0].items]


async def test_nobody_without_a_case_role_has_anything(personas, world):
    for key in ("admin", "auditor", "housing"):
        assert await todo_of(personas, key) == []


async def test_nothing_waiting(personas, client):
    found = await todo_of(personas, "police")
    assert [(c.slug, c.items) for c in found] == [(CONFERENCE, [])]
    client.cookies.update(await session_cookie_for(personas["police"]))
    page = await client.get("/")
    assert page.status_code == 200
    assert 'data-todo="nothing"' in page.text and "Nothing is waiting for you." in page.text
    answer = await client.get("/api/v1/todo", headers=personas["police"].bearer)
    assert answer.json() == {"items": [], "next": None}


async def test_the_page_and_the_api_show_the_same_items_and_no_names(personas, world, client, monkeypatch):
    monkeypatch.setattr(clock, "today", lambda: DAY)  # the home page's
    monkeypatch.setattr(api_todo, "today", lambda: DAY)
    for key in ("coordinator", "chair", "police", "idva"):
        expected = (await todo_of(personas, key))[0].items
        client.cookies.clear()
        client.cookies.update(await session_cookie_for(personas[key]))
        page = await client.get("/")
        answer = await client.get("/api/v1/todo", headers=personas[key].bearer)
        assert page.status_code == 200 and answer.status_code == 200
        kinds = re.findall(r'data-kind="([a-z_]+)" data-count="(\d+)"', page.text)
        assert kinds == [(i.kind, str(i.count)) for i in expected], key
        for item in expected:
            assert f'href="{item.link.replace("&", "&amp;")}"' in page.text and item.text in page.text.replace(
                "&#39;", "'"
            )
        assert answer.json()["items"] == [
            {
                "conference": CONFERENCE,
                "conference_name": "Northshire DA MARAC",
                "role": personas[key].user.role,
                "kind": i.kind,
                "count": i.count,
                "text": i.text,
                "hint": i.hint,
                "deadline": i.deadline.isoformat() if i.deadline else None,
                "late": i.late,
                "link": i.link,
                "meeting_id": i.meeting_id,
            }
            for i in expected
        ]
        for name in NAMES:
            assert name not in page.text.split("<main", 1)[1] and name not in answer.text, (key, name)
    assert "Late" in page.text and "was due Mon 9 Nov" in page.text  # the IDVA's overdue action


# --- a fixed number of queries, each through an index ---------------------------------------------


class _Statements(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        # marac/db.py withholds the values from these lines: the statement is enough to count.
        self.seen.append(str(record.args[0]) if record.msg == "%s: %s" and record.args else str(record.msg))


@contextlib.contextmanager
def statements() -> Iterator[list[str]]:
    """The SQL statements Tortoise runs within the block (its debug log, which names each)."""
    logger = logging.getLogger("tortoise.db_client")
    handler, level = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


async def _grow(personas, world) -> None:
    """Much more of everything the to-do list counts: history a national service keeps for years."""
    conference, agency = world["conference"], world["agency"]
    case = await AgendaItem.filter(meeting_id=world["held"][3].id).first()
    for n in range(40):
        day = date(2024, 1, 2) + timedelta(days=14 * n)
        past = await _meeting(conference.id, day, version=1)
        await _minutes(past, 1, {a: "opened" for a in agency.values()})
        await _action(case, agency["police"], DAY - timedelta(days=n + 1), status="done")
        await _action(case, agency[("police", "idva", "health")[n % 3]], DAY - timedelta(days=n + 1))
        await _action(case, agency["police"], DAY + timedelta(days=n % 7))
    for n in range(1, 5):
        await referral(personas, by="health", body=other_victim(n, received_at="2026-11-09"))
    extra = await referral(personas, accept=True, body=dash_body(received_at="2026-11-09"))
    await AgendaItem.create(meeting=world["coming"], referral=extra, number=4, section="new_cases", state="listed")
    await Research.create(
        item=await AgendaItem.get(referral=extra), agency_id=agency["police"], known=False, updated_by="x"
    )


PERSONA_KEYS = ("coordinator", "chair", "police", "idva", "health", "housing", "admin")


async def test_the_number_of_queries_does_not_grow_with_the_data(personas, world, client):
    async def count() -> dict[str, tuple[int, int]]:
        found = {}
        for key in PERSONA_KEYS:
            viewer = await viewer_for(personas[key].user)
            with statements() as use_case:
                await todo.for_viewer(viewer, DAY)
            client.cookies.clear()
            client.cookies.update(await session_cookie_for(personas[key]))
            with statements() as page:
                assert (await client.get("/")).status_code == 200
            found[key] = (len(use_case), len(page))
        return found

    small = await count()
    await _grow(personas, world)
    large = await count()
    assert small == large
    assert max(use_case for use_case, _ in large.values()) <= 18  # one per figure, whatever the data
    assert await Action.filter(owner_agency_id=world["agency"]["police"]).count() > 80


# The tables that grow with a service's history: each to-do query must reach their rows through an index.
BIG_TABLES = (
    "referral",
    "meeting",
    "agenda_item",
    "research",
    "action",
    "minutes_version",
    "minutes_recipient",
    "match_suggestion",
)


@pytest.mark.skipif(
    not os.environ.get("MARAC_DATABASE_URL", "").startswith("postgres"), reason="PostgreSQL's planner (run B)"
)
async def test_each_query_uses_an_index_on_postgresql(personas, world, monkeypatch):
    await _grow(personas, world)
    await ConferenceRole.create(user=personas["health"].user, conference=world["conference"], role="deputy_chair")
    seen: list[tuple[str, list]] = []
    db = connections.get("default")
    run = db.execute_query

    async def kept(query: str, values: list | None = None):
        seen.append((query, list(values or [])))
        return await run(query, values)

    monkeypatch.setattr(db, "execute_query", kept)  # the door of every SELECT the ORM runs
    for key in PERSONA_KEYS:
        await todo.for_viewer(await viewer_for(personas[key].user), DAY)
    monkeypatch.undo()
    selects = [(sql, values) for sql, values in seen if sql.lstrip().upper().startswith("SELECT")]
    assert len(selects) > 20
    scans = {}
    async with in_transaction() as conn:
        # Without it the planner rightly scans tables this small; with it, a scan means no index could serve.
        await conn.execute_script("SET LOCAL enable_seqscan = off")
        for sql, values in selects:
            plan = "\n".join(row["QUERY PLAN"] for row in await conn.execute_query_dict(f"EXPLAIN {sql}", values))
            for table in BIG_TABLES:
                if re.search(rf'Seq Scan on "?{table}"?\b', plan):
                    scans[table] = (sql, plan)
    assert not scans, "\n\n".join(f"{t}: {sql}\n{plan}" for t, (sql, plan) in scans.items())
