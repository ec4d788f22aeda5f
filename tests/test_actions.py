"""Running the meeting and actions between meetings, as the chair, coordinator and agencies use them."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from marac.actions.models import Action, ActionUpdate, Note
from marac.agencies.access import viewer_for
from marac.errors import RuleViolation
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Referral
from tests.builders import published_meeting
from tests.conftest import csrf_token, make_client, session_cookie_for


async def agree(client, personas, meeting, case_id, owner="health", **extra) -> dict:
    body = {
        "description": "Health to share GP records of injuries with the IDVA by Friday",
        "owner_agency_id": personas[owner].user.agency_id,
        **extra,
    }
    answer = await client.post(
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}/actions", json=body, headers=personas["chair"].bearer
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_the_chair_records_attendance_notes_and_actions(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    register = {
        "present": [{"agency_id": personas["police"].user.agency_id, "name": "DS Green"}],
        "apologies": [
            {
                "agency_id": personas["health"].user.agency_id,
                "name": "Dr Brown",
                "information_sent": True,
                "information_sent_on": "2026-11-20",
            }
        ],
        "observers": [{"name": "Student social worker", "confidentiality_signed": True}],
    }
    assert (
        await client.put(f"/api/v1/meetings/{meeting.id}/attendance", json=register, headers=personas["chair"].bearer)
    ).status_code == 200
    outsider = {**register, "present": [{"agency_id": personas["housing"].user.agency_id, "name": "Not a member"}]}
    refused = await client.put(
        f"/api/v1/meetings/{meeting.id}/attendance", json=outsider, headers=personas["chair"].bearer
    )
    assert refused.status_code == 422 and "present.0.agency_id" in refused.json()["error"]["fields"]
    note = await client.post(
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}/notes",
        headers=personas["chair"].bearer,
        json={
            "text": "Perpetrator released on bail last week",
            "visibility": "restricted",
            "agencies": [personas["police"].user.agency_id],
        },
    )
    assert note.status_code == 201 and note.json()["visibility"] == "restricted"
    nobody = await client.post(
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}/notes",
        headers=personas["chair"].bearer,
        json={"text": "x", "visibility": "restricted"},
    )
    assert nobody.status_code == 422 and "agencies" in nobody.json()["error"]["fields"]
    action = await agree(client, personas, meeting, case_id)
    assert action["status"] == "open" and action["version"] == 1
    assert date.fromisoformat(action["due_date"]) == meeting.date + timedelta(days=14)  # the type's default
    assert "Jane" not in action["case_label"] and "Doe" not in action["case_label"]
    outside = await client.post(
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}/actions",
        headers=personas["chair"].bearer,
        json={
            "description": "Housing association to change the locks",
            "owner_agency_id": personas["housing"].user.agency_id,
        },
    )
    assert outside.status_code == 422 and "owner_agency_id" in outside.json()["error"]["fields"]


async def test_an_agency_sees_and_updates_only_its_own_actions(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    action = await agree(client, personas, meeting, case_id, owner="health")
    mine = (await client.get("/api/v1/actions?status=all", headers=personas["health"].bearer)).json()["items"]
    assert [a["id"] for a in mine] == [action["id"]]
    assert (await client.get("/api/v1/actions?status=all", headers=personas["police"].bearer)).json()["items"] == []
    ok = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"status": "in_progress", "update": "Records requested"},
        headers={**personas["health"].bearer, "If-Match": "1"},
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    # Police (full tier) can see the action in the minutes but may not change it; children's
    # services (actions only), housing (not a member), the admin and the auditor cannot see it at all.
    for persona, status in [
        ("police", 403),
        ("idva", 403),
        ("childrens", 404),
        ("housing", 404),
        ("admin", 404),
        ("auditor", 404),
    ]:
        answer = await client.patch(
            f"/api/v1/actions/{action['id']}",
            json={"update": "x"},
            headers={**personas[persona].bearer, "If-Match": "2"},
        )
        assert answer.status_code == status, persona
    coordinator = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"update": "Chased"},
        headers={**personas["coordinator"].bearer, "If-Match": "2"},
    )
    assert coordinator.status_code == 200


async def test_a_stale_version_gets_412_and_changes_nothing(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    action = await agree(client, personas, meeting, case_id)
    first = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"status": "done", "update": "Shared on Tuesday"},
        headers={**personas["health"].bearer, "If-Match": '"1"'},
    )
    assert first.status_code == 200
    second = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"status": "in_progress", "update": "Working on it"},
        headers={**personas["chair"].bearer, "If-Match": "1"},
    )
    assert second.status_code == 412 and "Someone else updated" in second.json()["error"]["message"]
    # A number too big to be any version is bad input, not a database error (PostgreSQL refuses
    # to compare it with the integer column).
    huge = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"update": "x"},
        headers={**personas["chair"].bearer, "If-Match": "67307452827880"},
    )
    assert huge.status_code == 422 and "If-Match" in huge.json()["error"]["fields"]
    stored = await Action.get(id=action["id"])
    assert stored.status == "done" and stored.version == 2
    assert await ActionUpdate.filter(action_id=action["id"]).count() == 2  # agreed + the one accepted update


async def test_a_stale_version_on_the_page_keeps_what_was_typed(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    action = await agree(client, personas, meeting, case_id)
    async with make_client(app) as page:
        page.cookies.update(await session_cookie_for(personas["health"]))
        token = await csrf_token(page, f"/actions/{action['id']}")
        # Someone else saves first.
        await client.patch(
            f"/api/v1/actions/{action['id']}",
            json={"update": "Chased by the coordinator"},
            headers={**personas["coordinator"].bearer, "If-Match": "1"},
        )
        typed = "GP records sent to the IDVA by secure e-mail on 24 November"
        answer = await page.post(
            f"/actions/{action['id']}/update",
            data={"csrf_token": token, "version": "1", "status": "done", "update": typed},
        )
        assert answer.status_code == 412
        assert typed in answer.text and "Someone else updated" in answer.text
        assert 'name="version" value="2"' in answer.text  # saving again now works
        again = await page.post(
            f"/actions/{action['id']}/update",
            data={"csrf_token": token, "version": "2", "status": "done", "update": typed},
        )
        assert again.status_code == 303
    assert (await Action.get(id=action["id"])).status == "done"


async def test_the_two_ways_of_not_completing_stay_distinct_and_need_a_note(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    a = await agree(client, personas, meeting, case_id)
    b = await agree(client, personas, meeting, case_id)
    for action, status in ((a, "not_possible_changed_circumstances"), (b, "not_done_by_agency")):
        silent = await client.patch(
            f"/api/v1/actions/{action['id']}",
            json={"status": status},
            headers={**personas["health"].bearer, "If-Match": "1"},
        )
        assert silent.status_code == 422 and "update" in silent.json()["error"]["fields"]
        said = await client.patch(
            f"/api/v1/actions/{action['id']}",
            json={"status": status, "update": "Victim moved out of area"},
            headers={**personas["health"].bearer, "If-Match": "1"},
        )
        assert said.json()["status"] == status
    statuses = {
        x["id"]: x["status"]
        for x in (await client.get("/api/v1/actions?status=all", headers=personas["health"].bearer)).json()["items"]
    }
    assert statuses == {a["id"]: "not_possible_changed_circumstances", b["id"]: "not_done_by_agency"}


async def test_filters_overdue_and_due_this_week_sorted_by_due_date(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    today = date.today()
    late = await agree(client, personas, meeting, case_id, due_date=(meeting.date + timedelta(days=1)).isoformat())
    await Action.filter(id=late["id"]).update(due_date=today - timedelta(days=2))
    soon = await agree(client, personas, meeting, case_id, due_date=(meeting.date + timedelta(days=2)).isoformat())
    await Action.filter(id=soon["id"]).update(due_date=today + timedelta(days=3))
    later = await agree(client, personas, meeting, case_id, due_date=(meeting.date + timedelta(days=60)).isoformat())
    get = lambda which: client.get(f"/api/v1/actions?status={which}", headers=personas["health"].bearer)  # noqa: E731
    assert [a["id"] for a in (await get("overdue")).json()["items"]] == [late["id"]]
    assert [a["id"] for a in (await get("due_this_week")).json()["items"]] == [soon["id"]]
    assert [a["id"] for a in (await get("open")).json()["items"]] == [late["id"], soon["id"], later["id"]]
    assert (await get("sometime")).status_code == 422


async def test_a_deferred_case_needs_a_reason_and_goes_to_the_next_meeting(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = await chair.get(f"/meetings/{meeting.id}/cases/{case_id}")
        assert page.status_code == 200 and "of 10 minutes" in page.text  # the timer against minutes per case
        token = await csrf_token(chair, f"/meetings/{meeting.id}/cases/{case_id}")
        no_reason = await chair.post(
            f"/meetings/{meeting.id}/cases/{case_id}/decision", data={"csrf_token": token, "outcome": "deferred"}
        )
        assert no_reason.status_code == 400
        done = await chair.post(
            f"/meetings/{meeting.id}/cases/{case_id}/decision",
            data={"csrf_token": token, "outcome": "deferred", "outcome_reason": "Referrer not present"},
        )
        assert done.status_code == 303
    referral = await Referral.get(agenda_items__id=case_id)
    assert referral.status == "accepted" and referral.meeting_id is None
    from marac.meetings import agenda

    nxt = (
        await Meeting.filter(conference_id=meeting.conference_id, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    await agenda.build(nxt)
    assert await AgendaItem.exists(meeting=nxt, referral_id=referral.id, state="listed")


async def test_outstanding_actions_come_back_to_the_next_meeting_for_review(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    action = await agree(client, personas, meeting, case_id, due_date=(meeting.date + timedelta(days=3)).isoformat())
    coordinator = await viewer_for(personas["coordinator"].user)
    from marac.actions import service as actions
    from marac.meetings import agenda

    meeting = await Meeting.get(id=meeting.id).prefetch_related("conference")
    await actions.decide_case(coordinator, meeting, case_id, "heard", "")
    await actions.close_meeting(coordinator, meeting)
    nxt = (
        await Meeting.filter(conference_id=meeting.conference_id, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    listed = await agenda.agenda(nxt)
    outstanding = next(s for s in listed["sections"] if s["key"] == "outstanding_actions")["items"]
    assert [(a["action_id"], a["victim_name"]) for a in outstanding] == [(action["id"], "Jane Doe")]
    await agenda.publish(coordinator, nxt)
    nxt = await Meeting.get(id=nxt.id).prefetch_related("conference")
    with pytest.raises(RuleViolation, match="needs a note"):
        await actions.review_action(coordinator, nxt, action["id"], "not_done_by_agency", "", action["version"])
    await actions.review_action(
        coordinator, nxt, action["id"], "not_done_by_agency", "No response from the agency", action["version"]
    )
    assert (await Action.get(id=action["id"])).status == "not_done_by_agency"


async def test_notes_show_their_visibility_beside_them(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    for visibility in ("all", "chair_only"):
        await client.post(
            f"/api/v1/meetings/{meeting.id}/cases/{case_id}/notes",
            headers=personas["chair"].bearer,
            json={"text": f"A note for {visibility}", "visibility": visibility},
        )
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = (await chair.get(f"/meetings/{meeting.id}/cases/{case_id}")).text
        assert re.search(r"All recipients</strong>.*?A note for all", page, re.S)
        assert re.search(r"Chair only: never minuted</strong>.*?A note for chair_only", page, re.S)
    assert await Note.filter(item_id=case_id).count() == 2


async def test_an_action_with_no_owner_chosen_is_refused_on_the_page(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = await chair.get(f"/meetings/{meeting.id}/cases/{case_id}")
        assert '<option value="">Choose the agency that owns it</option>' in page.text
        token = await csrf_token(chair, f"/meetings/{meeting.id}/cases/{case_id}")
        answer = await chair.post(
            f"/meetings/{meeting.id}/cases/{case_id}/actions",
            data={"csrf_token": token, "owner_agency_id": "", "description": "Someone to do something by Friday"},
        )
        assert answer.status_code == 400 and "The owner must be a member agency" in answer.text
        assert "Someone to do something by Friday" in answer.text  # what was typed is kept
    assert await Action.all().count() == 0


async def test_the_action_list_pages_by_due_date_and_every_action_comes_once(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    # 120 actions, many due the same day (ties in due date and even in creation time are broken by id).
    due = [meeting.date + timedelta(days=14 + n % 3) for n in range(120)]
    made = [(await agree(client, personas, meeting, case_id, due_date=d.isoformat()))["id"] for d in due]
    same_moment = await Action.filter(id__in=made[:10]).first()
    await Action.filter(id__in=made[:10]).update(created_at=same_moment.created_at)
    seen, cursor, pages = [], None, 0
    while True:
        url = "/api/v1/actions?status=all" + (f"&cursor={cursor}" if cursor else "")
        body = (await client.get(url, headers=personas["health"].bearer)).json()
        pages += 1
        assert len(body["items"]) <= 50
        seen += body["items"]
        cursor = body["next"]
        if cursor is None:
            break
    assert pages == 3 and sorted(a["id"] for a in seen) == sorted(made)
    assert [a["due_date"] for a in seen] == sorted(a["due_date"] for a in seen)
    for bad in ("2026-13-01.1.%s" % ("0" * 32), "nonsense", "9999-12-31.999999999999999999.%s" % ("0" * 32)):
        refused = await client.get(f"/api/v1/actions?cursor={bad}", headers=personas["health"].bearer)
        assert refused.status_code == 422 and "cursor" in refused.json()["error"]["fields"], bad


async def test_listed_actions_carry_their_case_label_and_the_page_names_the_owner(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    action = await agree(client, personas, meeting, case_id, owner="health")
    item = await AgendaItem.get(id=case_id)
    label = f"{meeting.date.isoformat()} case {item.number}"
    listed = (await client.get("/api/v1/actions", headers=personas["health"].bearer)).json()["items"]
    assert [(a["id"], a["case_label"], a["version"], a["status"]) for a in listed] == [(action["id"], label, 1, "open")]
    assert listed[0]["description"] == action["description"] and listed[0]["due_date"] == action["due_date"]
    changed = await client.patch(
        f"/api/v1/actions/{action['id']}",
        json={"status": "in_progress", "update": "Records requested"},
        headers={**personas["health"].bearer, "If-Match": "1"},
    )
    assert {k: changed.json()[k] for k in ("version", "status", "case_label")} == {
        "version": 2,
        "status": "in_progress",
        "case_label": label,
    }
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = (await chair.get("/actions")).text
    health = await personas["health"].user.agency
    assert re.search(
        rf"{re.escape(label)}.*?{re.escape(action['description'][:40])}.*?{re.escape(health.name)}.*?In progress",
        page,
        re.S,
    )


async def _three_meetings_of_actions(personas):
    """Meeting 1 agrees four actions due before meeting 2: one stays open, one is done, one the agency
    closes as not possible, one stays open. Meeting 2 is published, ready to review them."""
    from tests import builders

    world = await published_meeting(personas)
    due = world.meeting.date + timedelta(days=1)
    made = {}
    for key, status in (
        ("open", "open"),
        ("done", "done"),
        ("ended", "not_possible_changed_circumstances"),
        ("late", "open"),
    ):
        made[key] = await builders.action(personas, world.meeting, world.case_id, due=due, status=status)
    await builders.close(personas, world)
    second = await builders.publish(personas, await builders.next_meeting(world.meeting))
    return made, second


async def test_outstanding_actions_are_the_incomplete_ones_and_an_undone_end_is_reviewed_once(personas):
    from marac.actions import service as actions
    from tests import builders

    made, second = await _three_meetings_of_actions(personas)
    ids = {key: a.id for key, a in made.items()}

    async def listed(meeting) -> set[str]:
        return {a.id for a in await actions.outstanding(meeting)}

    assert await listed(second) == {ids["open"], ids["ended"], ids["late"]}  # the done one is not reviewed
    chair = await builders.as_(personas, "chair")
    for key, outcome, note in (
        ("open", "in_progress", "Started last week"),
        ("ended", "not_possible_changed_circumstances", "The victim moved away"),
        ("late", "not_done_by_agency", "No reply from the agency"),
    ):
        version = (await Action.get(id=ids[key])).version
        await actions.review_action(chair, second, ids[key], outcome, note, version)
    # Reviewed here, they stay on this meeting's list while it runs.
    assert await listed(second) == {ids["open"], ids["ended"], ids["late"]}
    await actions.close_meeting(await builders.as_(personas, "coordinator"), second)
    third = await builders.publish(personas, await builders.next_meeting(second))
    # The two undone ends were reviewed once and leave the list; the unfinished one comes back.
    assert await listed(third) == {ids["open"]}
    snapshot = await builders.reload(third)
    section = next(s for s in snapshot.snapshot["sections"] if s["key"] == "outstanding_actions")
    assert [a["action_id"] for a in section["items"]] == [ids["open"]]


async def test_an_undone_end_the_agency_records_after_a_review_is_reviewed_again(personas):
    from marac.actions import service as actions
    from tests import builders

    made, second = await _three_meetings_of_actions(personas)
    chair = await builders.as_(personas, "chair")
    ended = await Action.get(id=made["ended"].id)
    await actions.review_action(chair, second, ended.id, "not_possible_changed_circumstances", "Moved", ended.version)
    await actions.update_action(
        await builders.as_(personas, "health"), ended.id, ended.version + 1, "not_done_by_agency", "We did not do it"
    )
    await actions.close_meeting(await builders.as_(personas, "coordinator"), second)
    third = await builders.publish(personas, await builders.next_meeting(second))
    assert ended.id in {a.id for a in await actions.outstanding(third)}


async def test_a_review_made_on_an_older_version_is_refused_with_412_and_changes_nothing(app, client, personas):
    from marac.actions import service as actions
    from marac.errors import StaleVersion
    from tests import builders

    made, second = await _three_meetings_of_actions(personas)
    action = await Action.get(id=made["open"].id)
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = (await chair.get(f"/meetings/{second.id}/run")).text
        assert f'name="version" value="{action.version}"' in page
        token = await csrf_token(chair, f"/meetings/{second.id}/run")
        # The owner agency updates the action while the chair has the page open.
        patched = await client.patch(
            f"/api/v1/actions/{action.id}",
            headers={**personas["health"].bearer, "If-Match": str(action.version)},
            json={"status": "in_progress", "update": "Called the victim today"},
        )
        assert patched.status_code == 200
        stale = await chair.post(
            f"/meetings/{second.id}/reviews/{action.id}",
            data={
                "csrf_token": token,
                "outcome": "not_done_by_agency",
                "note": "Nothing heard",
                "version": action.version,
            },
        )
        assert stale.status_code == 412 and "Someone else updated this action" in stale.text
    after = await Action.get(id=action.id)
    assert (after.status, after.version) == ("in_progress", action.version + 1)
    with pytest.raises(StaleVersion):
        await actions.review_action(
            await builders.as_(personas, "chair"), second, action.id, "done", "Done at last", action.version
        )
    assert (await Action.get(id=action.id)).status == "in_progress"


async def test_the_victims_name_stands_beside_the_case_label_for_those_entitled_to_it(app, personas):
    from marac.actions import service as actions_service
    from tests import builders

    world = await published_meeting(personas)
    made = await builders.action(personas, world.meeting, world.case_id, owner="childrens")
    label = f"{world.meeting.date.isoformat()} case 1"
    for key in ("coordinator", "chair", "childrens"):
        async with make_client(app) as browser:
            browser.cookies.update(await session_cookie_for(personas[key]))
            listed = (await browser.get("/actions")).text
            assert label in listed and "Jane Doe" in listed, key
            assert "Jane Doe" in (await browser.get(f"/actions/{made.id}")).text, key
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        run = (await chair.get(f"/meetings/{world.meeting.id}/run")).text
        assert f"{label}</a>" in run and "Jane Doe" in run
    async with make_client(app) as police:
        police.cookies.update(await session_cookie_for(personas["police"]))
        research = (await police.get(f"/meetings/{world.meeting.id}")).text
        assert f"{label}: Jane Doe" in research
    # Nobody else: not an agency outside the conference, an auditor, an administrator or another
    # conference's coordinator.
    from marac.agencies import access

    for key in ("housing", "auditor", "admin"):
        viewer = await builders.as_(personas, key)
        assert not await access.may_see_who_cases_are_about(viewer, world.meeting.conference_id), key
        assert await actions_service.case_names(viewer, [(world.meeting.conference_id, world.case_id)]) == {}
    south = await viewer_for((await builders.other_conference_coordinator()).user)
    assert await actions_service.case_names(south, [(world.meeting.conference_id, world.case_id)]) == {}
