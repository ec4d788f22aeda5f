"""Running the meeting as a chair relies on it: a register that never loses what was typed, whole
notes that can be changed with their history kept, actions the chair can put right, decisions,
closing and reopening, by page and by API alike."""

from __future__ import annotations

import html
import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from marac import validation
from marac.actions import service
from marac.actions.models import Action, Attendance, Note, Revision
from marac.audit.models import AuditEvent
from marac.errors import RuleViolation
from marac.meetings.models import Meeting
from marac.minutes.models import MinutesVersion
from tests.builders import (
    action,
    approve_minutes,
    close,
    held_meeting,
    next_meeting,
    note,
    publish,
    published_meeting,
    reload,
)
from tests.conftest import csrf_token, make_client, session_cookie_for

STATEMENT = "Information shared at this MARAC is confidential"


async def signed_in(app, personas, key: str):
    client = make_client(app)
    client.cookies.update(await session_cookie_for(personas[key]))
    return client


def field_value(page: str, name: str) -> str | None:
    """The value an <input> named `name` comes back with."""
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    return html.unescape(found.group(1)) if found else None


def selected(page: str, name: str) -> str | None:
    """The option chosen in the <select> named `name`."""
    select = re.search(rf'name="{re.escape(name)}"[^>]*>(.*?)</select>', page, re.S)
    chosen = re.search(r'<option value="([^"]*)" selected', select.group(1)) if select else None
    return chosen.group(1) if chosen else None


# --- the register ----------------------------------------------------------------------------------


async def test_no_input_is_lost_on_any_error_of_the_register(app, personas):
    world = await published_meeting(personas)
    meeting = world.meeting
    police, health = personas["police"].user.agency_id, personas["health"].user.agency_id
    typed = {
        "present_rows": "4",
        "present.0.agency_id": police,
        "present.0.name": "DS Green",
        "present.0.confidentiality_signed": "yes",
        "present.1.agency_id": "",  # a name and no agency: no agency is chosen for them
        "present.1.name": "Sam Idva",
        "present.2.agency_id": health,  # an agency and no name
        "present.2.name": "",
        "present.3.agency_id": "",
        "present.3.name": "",
        "apologies_rows": "2",
        "apologies.0.agency_id": health,
        "apologies.0.name": "Dr Brown",
        "apologies.0.information_sent": "yes",
        "apologies.0.information_sent_on": "31/02/2026",  # no such day
        "apologies.1.agency_id": "",
        "apologies.1.name": "",
        "apologies.1.information_sent_on": "",
        "observers_rows": "1",
        "observers.0.name": "Student social worker",
        "observers.0.confidentiality_signed": "yes",
    }
    async with await signed_in(app, personas, "chair") as chair:
        token = await csrf_token(chair, f"/meetings/{meeting.id}/run")
        answer = await chair.post(f"/meetings/{meeting.id}/attendance", data={**typed, "csrf_token": token})
    assert answer.status_code == 400
    page = answer.text
    # Every value comes back as typed ...
    assert selected(page, "present.0.agency_id") == police
    assert field_value(page, "present.0.name") == "DS Green"
    assert re.search(r'name="present\.0\.confidentiality_signed" type="checkbox" value="yes" checked', page)
    assert field_value(page, "present.1.name") == "Sam Idva" and selected(page, "present.1.agency_id") is None
    assert selected(page, "present.2.agency_id") == health
    assert field_value(page, "apologies.0.name") == "Dr Brown"
    assert field_value(page, "apologies.0.information_sent_on") == "31/02/2026"
    assert selected(page, "apologies.0.information_sent") == "yes"
    assert field_value(page, "observers.0.name") == "Student social worker"
    # ... with each error on its own field, and nothing saved.
    assert 'id="present.1.agency_id-error"' in page and "Choose a member agency" in page
    assert 'id="present.2.name-error"' in page
    assert 'id="apologies.0.information_sent_on-error"' in page and validation.DATE_MESSAGE in page
    assert 'href="#apologies.0.information_sent_on"' in page  # the error summary links to the field
    assert await Attendance.filter(meeting_id=meeting.id).count() == 0


async def test_the_register_takes_as_many_rows_as_needed_without_javascript(app, personas):
    world = await published_meeting(personas)
    meeting = world.meeting
    police = personas["police"].user.agency_id
    async with await signed_in(app, personas, "coordinator") as coordinator:
        token = await csrf_token(coordinator, f"/meetings/{meeting.id}/run")
        first = await coordinator.get(f"/meetings/{meeting.id}/run")
        assert '<option value="">Choose an agency</option>' in first.text
        assert 'name="present_rows" value="3"' in first.text
        # "Add more rows" keeps what was typed and saves nothing.
        more = await coordinator.post(
            f"/meetings/{meeting.id}/attendance",
            data={
                "csrf_token": token,
                "present_rows": "3",
                "present.0.agency_id": police,
                "present.0.name": "Officer 1",
                "add_rows": "present",
            },
        )
        assert more.status_code == 200 and field_value(more.text, "present.0.name") == "Officer 1"
        assert 'name="present_rows" value="8"' in more.text
        assert await Attendance.filter(meeting_id=meeting.id).count() == 0
        # Thirty people present, each accepting the statement, and an apology dated as people type it.
        rows = {"present_rows": "30", "apologies_rows": "1", "observers_rows": "0"}
        for n in range(30):
            rows |= {f"present.{n}.agency_id": police, f"present.{n}.name": f"Officer {n + 1}"}
            rows[f"present.{n}.confidentiality_signed"] = "yes"
        rows |= {
            "apologies.0.agency_id": police,
            "apologies.0.name": "DI Absent",
            "apologies.0.information_sent": "yes",
        }
        rows["apologies.0.information_sent_on"] = "21 11 2026"
        saved = await coordinator.post(f"/meetings/{meeting.id}/attendance", data={**rows, "csrf_token": token})
        assert saved.status_code == 303 and saved.headers["location"].endswith("?done=register")
        shown = await coordinator.get(saved.headers["location"])
        assert "Register saved" in shown.text and field_value(shown.text, "present.29.name") == "Officer 30"
        assert STATEMENT in shown.text  # the conference type's own statement, read at the meeting
    present = await Attendance.filter(meeting_id=meeting.id, kind="present")
    assert len(present) == 30 and all(p.confidentiality_signed for p in present)
    apology = await Attendance.get(meeting_id=meeting.id, kind="apology")
    assert apology.information_sent_on == date(2026, 11, 21)


async def test_the_minutes_carry_the_types_statement_and_everyones_acceptance(client, personas):
    world = await published_meeting(personas)
    meeting = world.meeting
    register = {
        "present": [
            {"agency_id": personas["police"].user.agency_id, "name": "DS Green", "confidentiality_signed": True},
            {"agency_id": personas["health"].user.agency_id, "name": "Dr Brown"},
        ],
        "observers": [{"name": "Student", "confidentiality_signed": True}],
    }
    answer = await client.put(
        f"/api/v1/meetings/{meeting.id}/attendance", json=register, headers=personas["chair"].bearer
    )
    assert answer.status_code == 200
    await close(personas, world)
    minutes = await approve_minutes(personas, meeting)
    assert minutes.content["confidentiality"].startswith(STATEMENT)
    assert [p["confidentiality_signed"] for p in minutes.content["present"]] == [True, False]


def test_dates_are_read_in_the_three_ways_people_type_them():
    for text in ("21/11/2026", "21 11 2026", "2026-11-21", " 21/11/2026 "):
        assert validation.day(text, "d") == date(2026, 11, 21)
    for text in ("21-11-2026", "31/02/2026", "21/11/26", "2026/11/21"):
        with pytest.raises(RuleViolation) as refused:
            validation.day(text, "d")
        assert refused.value.fields == {"d": validation.DATE_MESSAGE}


# --- notes ----------------------------------------------------------------------------------------


async def test_a_note_is_1_to_10000_characters_and_the_form_keeps_a_longer_one(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    url = f"/api/v1/meetings/{meeting.id}/cases/{case_id}/notes"
    longest = "R" * 9_999 + "."
    ok = await client.post(url, json={"text": longest, "visibility": "all"}, headers=personas["chair"].bearer)
    assert ok.status_code == 201 and ok.json()["text"] == longest
    too_long = await client.post(
        url, json={"text": longest + "x", "visibility": "all"}, headers=personas["chair"].bearer
    )
    assert too_long.status_code == 422 and "10,000" in too_long.json()["error"]["fields"]["text"]
    async with await signed_in(app, personas, "chair") as chair:
        page = await chair.get(f"/meetings/{meeting.id}/cases/{case_id}")
        assert 'data-module="govuk-character-count" data-maxlength="10000"' in page.text
        assert "You can enter up to 10,000 characters" in page.text  # said without JavaScript too
        token = await csrf_token(chair, f"/meetings/{meeting.id}/cases/{case_id}")
        typed = "Word " * 2001  # 10,004 characters once stripped
        answer = await chair.post(
            f"/meetings/{meeting.id}/cases/{case_id}/notes",
            data={"csrf_token": token, "text": typed, "visibility": "all", "stage": "discussion"},
        )
    assert answer.status_code == 400
    assert typed in html.unescape(answer.text) and "at most 10,000 characters" in answer.text
    assert await Note.filter(item_id=case_id).count() == 1


async def test_the_chair_changes_and_deletes_notes_with_their_history_kept(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    first = await note(personas, meeting, case_id, "Perpetrator bailed to the victim's street")
    url = f"/api/v1/meetings/{meeting.id}/cases/{case_id}/notes/{first.id}"
    police = personas["police"].user.agency_id
    changed = await client.patch(
        url,
        json={"text": "Perpetrator bailed away from the area", "visibility": "restricted", "agencies": [police]},
        headers=personas["chair"].bearer,
    )
    assert changed.status_code == 200 and changed.json()["visibility"] == "restricted"
    assert (await client.patch(url, json={"text": "x"}, headers=personas["police"].bearer)).status_code == 403
    assert (await client.patch(url, json={"text": "x"}, headers=personas["housing"].bearer)).status_code == 404
    too_long = await client.patch(url, json={"text": "x" * 10_001}, headers=personas["chair"].bearer)
    assert too_long.status_code == 422
    # The page: change, then delete after asking first.
    async with await signed_in(app, personas, "coordinator") as coordinator:
        case_page = await coordinator.get(f"/meetings/{meeting.id}/cases/{case_id}")
        assert f"/notes/{first.id}/edit" in case_page.text and f"/notes/{first.id}/delete" in case_page.text
        edit = f"/meetings/{meeting.id}/cases/{case_id}/notes/{first.id}/edit"
        token = await csrf_token(coordinator, edit)
        refused = await coordinator.post(edit, data={"csrf_token": token, "text": "", "visibility": "all"})
        assert refused.status_code == 400 and "Write the note" in refused.text
        saved = await coordinator.post(
            edit,
            data={
                "csrf_token": token,
                "text": "Perpetrator bailed: condition not to enter the town",
                "visibility": "all",
            },
        )
        assert saved.status_code == 303 and saved.headers["location"].endswith("?done=note_changed")
        assert "Note changed" in (await coordinator.get(saved.headers["location"])).text
        delete = f"/meetings/{meeting.id}/cases/{case_id}/notes/{first.id}/delete"
        ask = await coordinator.get(delete)
        assert ask.status_code == 200 and "Delete this note?" in ask.text and f'action="{delete}"' in ask.text
        assert await Note.filter(id=first.id).exists()  # asking changes nothing
        gone = await coordinator.post(delete, data={"csrf_token": token})
        assert gone.status_code == 303
    assert not await Note.filter(id=first.id).exists()
    history = await Revision.filter(object_id=first.id).order_by("at")
    assert [r.change for r in history] == ["edit", "edit", "delete"]
    assert history[0].before["text"] == "Perpetrator bailed to the victim's street"
    assert history[2].before["text"] == "Perpetrator bailed: condition not to enter the town"
    events = await AuditEvent.filter(object_id=first.id).values_list("action", flat=True)
    assert sorted(events) == ["note.create", "note.delete", "note.edit", "note.edit"]


async def test_after_approval_a_note_edit_is_a_correction(client, personas):
    world = await held_meeting(personas)
    kept = await Note.create(item_id=world.case_id, text="Written before the close", visibility="all", author_id="x")
    # (written directly: notes are added while the meeting runs, and this one is about after it)
    await approve_minutes(personas, world.meeting)
    url = f"/api/v1/meetings/{world.meeting.id}/cases/{world.case_id}/notes/{kept.id}"
    answer = await client.patch(url, json={"text": "Corrected wording"}, headers=personas["chair"].bearer)
    assert answer.status_code == 200
    revision = await Revision.get(object_id=kept.id)
    assert revision.reason == "correction" and revision.before["text"] == "Written before the close"


# --- actions --------------------------------------------------------------------------------------


async def test_the_chair_rewords_reassigns_and_deletes_actions_and_the_owner_may_not(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    agreed = await action(personas, meeting, case_id, owner="health")
    url = f"/api/v1/actions/{agreed.id}"
    idva = personas["idva"].user.agency_id
    change = {"description": "IDVA to share the safety plan with police by Friday", "owner_agency_id": idva}
    owner = await client.patch(url, json=change, headers={**personas["health"].bearer, "If-Match": "1"})
    assert owner.status_code == 403
    answer = await client.patch(
        url, json={**change, "due_date": "2026-12-04"}, headers={**personas["chair"].bearer, "If-Match": "1"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["version"] == 2 and answer.json()["owner_agency_id"] == idva
    assert answer.json()["due_date"] == "2026-12-04"
    stale = await client.patch(
        url, json={"due_date": "2026-12-11"}, headers={**personas["chair"].bearer, "If-Match": "1"}
    )
    assert stale.status_code == 412
    bad = await client.patch(
        url, json={"due_date": "2020-01-01"}, headers={**personas["chair"].bearer, "If-Match": "2"}
    )
    assert bad.status_code == 422 and "due_date" in bad.json()["error"]["fields"]
    saved = await Action.get(id=agreed.id)
    assert (saved.description, saved.owner_agency_id, saved.due_date) == (
        change["description"],
        idva,
        date(2026, 12, 4),
    )
    assert (await Revision.get(object_id=agreed.id)).before["owner_agency_id"] == personas["health"].user.agency_id
    # The new owner sees it; the old owner no longer does.
    assert [
        a["id"]
        for a in (await client.get("/api/v1/actions?status=all", headers=personas["idva"].bearer)).json()["items"]
    ] == [agreed.id]
    assert (await client.delete(url, headers={**personas["idva"].bearer, "If-Match": "2"})).status_code == 403
    assert (await client.delete(url, headers={**personas["coordinator"].bearer, "If-Match": "1"})).status_code == 412
    assert (await client.delete(url, headers={**personas["coordinator"].bearer, "If-Match": "2"})).status_code == 204
    assert not await Action.filter(id=agreed.id).exists()
    assert [r.change for r in await Revision.filter(object_id=agreed.id).order_by("at")] == ["edit", "delete"]


async def test_an_action_is_changed_on_the_page_and_deleted_after_asking(app, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    agreed = await action(personas, meeting, case_id, owner="health")
    edit = f"/meetings/{meeting.id}/cases/{case_id}/actions/{agreed.id}/edit"
    async with await signed_in(app, personas, "chair") as chair:
        form = await chair.get(edit)
        assert form.status_code == 200 and field_value(form.text, "version") == "1"
        token = await csrf_token(chair, edit)
        typed = {"csrf_token": token, "version": "1", "owner_agency_id": personas["health"].user.agency_id}
        typed |= {"description": "Health to share GP records by Monday", "due_date": "31 11 2026"}
        refused = await chair.post(edit, data=typed)
        assert refused.status_code == 400 and validation.DATE_MESSAGE in refused.text
        assert "Health to share GP records by Monday" in refused.text
        saved = await chair.post(edit, data={**typed, "due_date": "30/11/2026"})
        assert saved.status_code == 303 and saved.headers["location"].endswith("?done=action_changed")
        delete = f"/meetings/{meeting.id}/cases/{case_id}/actions/{agreed.id}/delete"
        ask = await chair.get(delete)
        assert "Delete this action?" in ask.text and field_value(ask.text, "version") == "2"
        gone = await chair.post(delete, data={"csrf_token": token, "version": "2"})
        assert gone.status_code == 303
    assert not await Action.filter(id=agreed.id).exists()


async def test_an_action_is_not_deleted_once_the_minutes_are_approved(client, personas):
    world = await published_meeting(personas)
    agreed = await action(personas, world.meeting, world.case_id)
    await close(personas, world)
    await approve_minutes(personas, world.meeting)
    url = f"/api/v1/actions/{agreed.id}"
    assert (await client.delete(url, headers={**personas["chair"].bearer, "If-Match": "1"})).status_code == 409
    reworded = await client.patch(
        url,
        json={"description": "Health to share GP records by Monday"},
        headers={**personas["chair"].bearer, "If-Match": "1"},
    )
    assert reworded.status_code == 200  # a correction, for the next version


# --- decisions, closing and reopening -------------------------------------------------------------


async def test_decide_close_and_reopen_through_the_api(client, personas):
    world = await published_meeting(personas, cases=2)
    meeting = world.meeting
    base = f"/api/v1/meetings/{meeting.id}"
    chair, coordinator = personas["chair"].bearer, personas["coordinator"].bearer
    labels = [f"{meeting.date.isoformat()} case {n}" for n in (1, 2)]
    refused = await client.post(f"{base}/close", headers=coordinator)
    assert refused.status_code == 409
    assert refused.json()["error"]["message"].startswith(f"2 cases have no decision yet ({labels[0]}, {labels[1]})")
    no_reason = await client.post(
        f"{base}/cases/{world.case_ids[0]}/decision", json={"outcome": "deferred"}, headers=chair
    )
    assert no_reason.status_code == 422 and "outcome_reason" in no_reason.json()["error"]["fields"]
    heard = await client.post(f"{base}/cases/{world.case_ids[0]}/decision", json={"outcome": "heard"}, headers=chair)
    assert heard.status_code == 200 and heard.json() == {"case_id": world.case_ids[0], "outcome": "heard"}
    one = await client.post(f"{base}/close", headers=coordinator)
    assert one.status_code == 409 and one.json()["error"]["message"].startswith("1 case has no decision yet")
    deferred = await client.post(
        f"{base}/cases/{world.case_ids[1]}/decision",
        json={"outcome": "deferred", "reason": "Referrer absent"},
        headers=coordinator,
    )
    assert deferred.status_code == 200
    closed = await client.post(f"{base}/close", headers=coordinator)
    assert closed.status_code == 200 and closed.json() == {"id": meeting.id, "status": "held"}
    # Reopening: the chair's, with a reason, until the minutes are approved.
    assert (await client.post(f"{base}/reopen", json={"reason": "Wrong owner"}, headers=coordinator)).status_code == 403
    assert (
        await client.post(f"{base}/reopen", json={"reason": "x"}, headers=personas["housing"].bearer)
    ).status_code == 404
    assert (await client.post(f"{base}/reopen", json={}, headers=chair)).status_code == 422
    reopened = await client.post(f"{base}/reopen", json={"reason": "An action has the wrong owner"}, headers=chair)
    assert reopened.status_code == 200 and reopened.json()["status"] == "published"
    assert (await Revision.get(object_id=meeting.id)).before["reason"] == "An action has the wrong owner"
    assert await AuditEvent.filter(object_id=meeting.id, action="meeting.reopen").exists()
    assert (await client.post(f"{base}/close", headers=coordinator)).status_code == 200
    assert (await client.post(f"{base}/minutes/approve", json={}, headers=chair)).status_code < 300
    after = await client.post(f"{base}/reopen", json={"reason": "Too late"}, headers=chair)
    assert after.status_code == 409 and (await reload(meeting)).status == "held"


async def test_a_case_is_read_by_its_officers_only(client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    await note(personas, meeting, case_id, "Chair's eyes only", "chair_only")
    await action(personas, meeting, case_id)
    url = f"/api/v1/meetings/{meeting.id}/cases/{case_id}"
    answer = await client.get(url, headers=personas["coordinator"].bearer)
    assert answer.status_code == 200
    case = answer.json()
    assert case["label"] == f"{meeting.date.isoformat()} case 1" and case["outcome"] is None
    assert [n["text"] for n in case["notes"]] == ["Chair's eyes only"] and len(case["actions"]) == 1
    assert (await client.get(url, headers=personas["police"].bearer)).status_code == 403
    assert (await client.get(url, headers=personas["housing"].bearer)).status_code == 404
    assert await AuditEvent.filter(action="case.read", object_id=case_id).exists()


async def test_close_publish_and_cancel_ask_first_and_say_when_done(app, personas):
    world = await published_meeting(personas)
    meeting = world.meeting
    async with await signed_in(app, personas, "coordinator") as coordinator:
        run_page = await coordinator.get(f"/meetings/{meeting.id}/run")
        assert f'href="/meetings/{meeting.id}/close"' in run_page.text
        ask = await coordinator.get(f"/meetings/{meeting.id}/close")
        assert ask.status_code == 200 and "Close the meeting?" in ask.text
        assert f'action="/meetings/{meeting.id}/close"' in ask.text
        assert (await reload(meeting)).status == "published"  # asking changes nothing
        for path, question in (("publish", "Publish the agenda?"), ("cancel", "Cancel this meeting?")):
            shown = await coordinator.get(f"/meetings/{meeting.id}/{path}")
            assert shown.status_code == 200 and question in shown.text
        token = await csrf_token(coordinator, f"/meetings/{meeting.id}/close")
        refused = await coordinator.post(f"/meetings/{meeting.id}/close", data={"csrf_token": token})
        assert refused.status_code == 409 and "1 case has no decision yet" in refused.text
        decided = await coordinator.post(
            f"/meetings/{meeting.id}/cases/{world.case_id}/decision", data={"csrf_token": token, "outcome": "heard"}
        )
        assert decided.headers["location"].endswith("?done=decision")
        closed = await coordinator.post(f"/meetings/{meeting.id}/close", data={"csrf_token": token})
        assert closed.status_code == 303 and closed.headers["location"].endswith("?done=closed")
        assert "Meeting closed" in (await coordinator.get(closed.headers["location"])).text
    assert (await Meeting.get(id=meeting.id)).status == "held"
    assert not await MinutesVersion.filter(meeting_id=meeting.id).exists()


async def test_the_chair_reopens_on_the_page_with_a_reason(app, personas):
    world = await held_meeting(personas)
    meeting = world.meeting
    async with await signed_in(app, personas, "chair") as chair:
        run_page = await chair.get(f"/meetings/{meeting.id}/run")
        assert f'href="/meetings/{meeting.id}/reopen"' in run_page.text
        token = await csrf_token(chair, f"/meetings/{meeting.id}/reopen")
        refused = await chair.post(f"/meetings/{meeting.id}/reopen", data={"csrf_token": token, "reason": " "})
        assert refused.status_code == 400 and "Say why the meeting is reopened" in refused.text
        done = await chair.post(f"/meetings/{meeting.id}/reopen", data={"csrf_token": token, "reason": "Wrong owner"})
        assert done.status_code == 303 and "Meeting reopened" in (await chair.get(done.headers["location"])).text
    assert (await reload(meeting)).status == "published"


async def test_a_refused_review_or_any_other_business_keeps_what_was_typed(app, personas):
    world = await published_meeting(personas)
    earlier = await action(personas, world.meeting, world.case_id, due=world.meeting.date)
    await close(personas, world)
    nxt = await publish(personas, await next_meeting(world.meeting))
    typed_aob = "Venue changes " * 800  # over 10,000 characters
    async with await signed_in(app, personas, "chair") as chair:
        token = await csrf_token(chair, f"/meetings/{nxt.id}/run")
        review = await chair.post(
            f"/meetings/{nxt.id}/reviews/{earlier.id}",
            data={"csrf_token": token, "outcome": "not_done_by_agency", "note": ""},
        )
        assert review.status_code == 400
        assert f'id="note-{earlier.id}-error"' in review.text and f'href="#note-{earlier.id}"' in review.text
        assert selected(review.text, "outcome") == "not_done_by_agency"
        typed_note = "Chased twice, no answer from the agency"
        review = await chair.post(
            f"/meetings/{nxt.id}/reviews/{earlier.id}",
            data={"csrf_token": token, "outcome": "nonsense", "note": typed_note},
        )
        assert review.status_code == 400 and typed_note in review.text
        aob = await chair.post(f"/meetings/{nxt.id}/aob", data={"csrf_token": token, "any_other_business": typed_aob})
        assert aob.status_code == 400 and "at most 10,000 characters" in aob.text
        assert typed_aob.strip() in html.unescape(aob.text)
    assert (await reload(nxt)).any_other_business == ""


def numbered_note(tag: str) -> str:
    """A note of exactly MAX_NOTE characters whose every word can be found again, in order."""
    words = [f"{tag}{n:04d}" for n in range(1, 1667)]  # 1,666 words of 5 characters, each with a space
    text = " ".join(words) + " END" + tag
    return text + "." * (service.MAX_NOTE - len(text))


async def test_the_longest_note_reaches_every_recipients_pdf_whole(client, personas):
    world = await published_meeting(personas)
    everyone, police_only = numbered_note("a"), numbered_note("p")
    assert len(everyone) == len(police_only) == service.MAX_NOTE
    await note(personas, world.meeting, world.case_id, everyone, "all")
    await note(personas, world.meeting, world.case_id, police_only, "restricted", ("police",))
    await close(personas, world)
    await approve_minutes(personas, world.meeting, rendered=True)
    for persona in ("police", "idva", "health", "coordinator"):
        answer = await client.get(f"/api/v1/meetings/{world.meeting.id}/minutes.pdf", headers=personas[persona].bearer)
        assert answer.status_code == 200, persona
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(answer.content)).pages)
        for tag, whole in (("a", everyone), ("p", police_only)):
            found = re.findall(rf"\b{tag}[0-9]{{4}}\b|END{tag}\b", text)
            expected = re.findall(rf"\b{tag}[0-9]{{4}}\b|END{tag}\b", whole)
            assert found == (expected if tag == "a" or persona == "police" else []), (persona, tag)
