"""One whole meeting cycle, driven the way people and partner systems drive it: referral and
repeat over the API, triage, publication, research, the register, notes of each visibility,
an action and its update, the decision, AOB and closing on the pages, minutes approved and
rendered by a real job, downloads, reminders, and the next meeting's review of the action.

Every piece of text a person types comes from `text(field)`, so a test can mark each field
(an XSS payload, a canary) and look for it wherever it may end up.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import httpx
from arq import Worker

from marac import settings
from marac.actions import reminders
from marac.actions import service as actions
from marac.actions.models import Action
from marac.agencies.access import viewer_for
from marac.jobs import queue
from marac.jobs.worker import WorkerSettings
from marac.meetings import agenda
from marac.meetings.models import Meeting
from tests.conftest import CONFERENCE, Persona, csrf_token, dash_body

REDIS_URL = os.environ.get("MARAC_TEST_REDIS_URL") or os.environ.get("MARAC_REDIS_URL") or None


@asynccontextmanager
async def queue_mode(redis_url: str | None):
    """Jobs through Redis (a real arq queue) or in-process, for the length of the block."""
    real = settings.get()
    await queue.stop()
    settings.override(settings.load({**os.environ, "MARAC_REDIS_URL": redis_url or ""}))
    await queue.start()
    try:
        yield
    finally:
        await queue.stop()
        settings.override(real)
        await queue.start()


async def run_jobs() -> None:
    """Run what is queued: an arq worker in burst mode with Redis, else wait for in-process jobs."""
    await queue.drain()
    if settings.get().redis_url:
        worker = Worker(
            functions=WorkerSettings.functions,
            redis_settings=queue.redis_settings(),
            burst=True,
            job_serializer=queue.serialize,
            job_deserializer=queue.deserialize,
            poll_delay=0.05,
        )
        await worker.main()
        await worker.close()


@dataclass
class Cycle:
    referral_id: str
    repeat_id: str
    meeting_id: str
    case_id: str
    action_id: str
    next_meeting_id: str
    minutes_job_id: str


def referral_body(
    text: Callable[[str], str],
    received_at: str,
    postcode: str = "NS1 1AA",
    phone: str = "07700 900123",
    dob: str = "1990-03-14",
    incident_date: str | None = None,
) -> dict:
    body = dash_body(
        received_at=received_at,
        **({"incident_date": incident_date} if incident_date else {}),
        criteria=["visible_high_risk", "professional_judgement"],
        judgement_reason=text("judgement_reason"),
        summary=text("summary"),
        transfer_from=text("transfer_from"),
        consent={"victim_aware": True, "consented": False, "reason_if_not": text("consent_reason")},
        perpetrators=[
            {
                "name": text("perpetrator_name"),
                "aliases": [text("perpetrator_alias")],
                "date_of_birth": "1985-07-01",
                "relationship": text("relationship"),
            }
        ],
        children=[{"name": text("child_name"), "date_of_birth": "2018-05-05"}],
    )
    body["victim"] = {
        "name": text("victim_name"),
        "aliases": [text("victim_alias")],
        "date_of_birth": dob,
        "gender": "female",
        "address": {
            "line1": text("address_line1"),
            "line2": text("address_line2"),
            "town": text("town"),
            "postcode": postcode,
        },
        "safe_contact": {"phone": phone, "safe_to_call": True, "safe_to_leave_message": False},
        "language": text("language")[:50],
        "monitoring": {"ethnicity": text("ethnicity")[:100], "religion": text("religion")[:100]},
    }
    return body


async def page_post(client: httpx.AsyncClient, form_page: str, url: str, data: dict) -> httpx.Response:
    token = await csrf_token(client, form_page)
    return await client.post(url, data={**data, "csrf_token": token})


async def meeting_cycle(
    client: httpx.AsyncClient,
    chair_page: httpx.AsyncClient,
    personas: dict[str, Persona],
    text: Callable[[str], str],
    at: Callable[[str, dict[str, str]], Awaitable[None]] | None = None,
    **identifiers: str,
) -> Cycle:
    """`client` speaks the API (bearer tokens); `chair_page` is the chair's signed-in browser.
    `at(stage, ids)` is called with the agenda still a draft ("scheduled") and with the meeting
    running, before it closes ("live"), for a test to look at the pages of that moment."""
    police, coordinator, chair, health = (personas[k] for k in ("police", "coordinator", "chair", "health"))
    ids = {k: personas[k].user.agency_id for k in ("police", "idva", "health", "childrens")}

    made = await client.post(
        # an incident two weeks before the next one: a further incident (a repeat), not the same one again
        "/api/v1/referrals",
        json=referral_body(text, "2026-11-02", incident_date="2026-10-20", **identifiers),
        headers=police.bearer,
    )
    assert made.status_code == 201, made.text
    referral_id = made.json()["id"]
    again = await client.post(
        "/api/v1/referrals", json=referral_body(text, "2026-11-03", **identifiers), headers=police.bearer
    )
    assert again.status_code == 201 and again.json()["repeat"]["is_repeat"], again.text
    repeat_id = again.json()["id"]
    for rid in (referral_id, repeat_id):
        decided = await client.post(
            f"/api/v1/referrals/{rid}/decision",
            json={"decision": "accept", "reason": text("decision_reason")},
            headers=coordinator.bearer,
        )
        assert decided.status_code == 200, decided.text

    meeting_id = made.json()["meeting_id"]
    if at:
        await at("scheduled", {"meeting_id": meeting_id})
    assert (await client.get(f"/api/v1/meetings/{meeting_id}/agenda", headers=chair.bearer)).status_code == 200
    published = await client.post(f"/api/v1/meetings/{meeting_id}/agenda/publish", headers=coordinator.bearer)
    assert published.status_code == 200, published.text
    await run_jobs()  # the research-list documents
    cases = [i["case_id"] for s in published.json()["sections"] for i in s["items"] if "case_id" in i]
    case_id = cases[0]

    for who in (health, police):
        research = await client.put(
            f"/api/v1/meetings/{meeting_id}/cases/{case_id}/research",
            json={"known": True, "summary": text("research_summary")},
            headers=who.bearer,
        )
        assert research.status_code == 200, research.text
    # The victim's advocate: its research with its contact with the victim and the victim's views.
    contact = await client.put(
        f"/api/v1/meetings/{meeting_id}/cases/{case_id}/research",
        json={
            "known": True,
            "summary": text("advocate_research"),
            "victim_contacted": "yes",
            "victim_views": text("victim_views"),
        },
        headers=personas["idva"].bearer,
    )
    assert contact.status_code == 200, contact.text
    # The chair's pack: asked for, laid out by its job, then downloaded.
    pack_url = f"/api/v1/meetings/{meeting_id}/chair-pack.pdf"
    assert (await client.get(pack_url, headers=chair.bearer)).status_code == 202
    await run_jobs()
    chair_pack = await client.get(pack_url, headers=chair.bearer)
    assert chair_pack.status_code == 200, chair_pack.text
    register = await client.put(
        f"/api/v1/meetings/{meeting_id}/attendance",
        headers=chair.bearer,
        json={
            "present": [{"agency_id": ids["police"], "name": text("present_name")}],
            "apologies": [{"agency_id": ids["health"], "name": text("apology_name"), "information_sent": True}],
            "observers": [{"name": text("observer_name"), "confidentiality_signed": True}],
        },
    )
    assert register.status_code == 200, register.text
    for visibility, agencies in (("all", []), ("restricted", [ids["police"]]), ("chair_only", [])):
        note = await client.post(
            f"/api/v1/meetings/{meeting_id}/cases/{case_id}/notes",
            headers=chair.bearer,
            json={"text": text(f"note_{visibility}"), "visibility": visibility, "agencies": agencies},
        )
        assert note.status_code == 201, note.text
    meeting = await Meeting.get(id=meeting_id)
    action = await client.post(
        f"/api/v1/meetings/{meeting_id}/cases/{case_id}/actions",
        headers=chair.bearer,
        json={
            "description": text("action_description"),
            "owner_agency_id": ids["police"],
            "due_date": (meeting.date + timedelta(days=7)).isoformat(),
        },
    )
    assert action.status_code == 201, action.text
    action_id = action.json()["id"]
    updated = await client.patch(
        f"/api/v1/actions/{action_id}",
        headers={**police.bearer, "If-Match": str(action.json()["version"])},
        json={"status": "in_progress", "update": text("action_update")},
    )
    assert updated.status_code == 200, updated.text

    if at:
        await at("live", {"meeting_id": meeting_id, "case_id": case_id, "action_id": action_id})
    for case in cases:
        answer = await page_post(
            chair_page,
            f"/meetings/{meeting_id}/cases/{case}",
            f"/meetings/{meeting_id}/cases/{case}/decision",
            {"outcome": "heard", "outcome_reason": text("outcome_reason")},
        )
        assert answer.status_code == 303, answer.text
    answer = await page_post(
        chair_page,
        f"/meetings/{meeting_id}/run",
        f"/meetings/{meeting_id}/aob",
        {"any_other_business": text("any_other_business")},
    )
    assert answer.status_code == 303, answer.text
    answer = await page_post(chair_page, f"/meetings/{meeting_id}/run", f"/meetings/{meeting_id}/close", {})
    assert answer.status_code == 303, answer.text

    assert (
        await client.post(f"/api/v1/meetings/{meeting_id}/minutes/approve", headers=chair.bearer)
    ).status_code == 200
    started = await client.post(f"/api/v1/meetings/{meeting_id}/minutes/render", headers=coordinator.bearer)
    assert started.status_code == 202, started.text
    await run_jobs()
    job = await client.get(f"/api/v1/jobs/{started.json()['job_id']}", headers=coordinator.bearer)
    assert job.json()["status"] == "done", job.text
    for who in ("police", "childrens"):
        pdf = await client.get(f"/api/v1/meetings/{meeting_id}/minutes.pdf", headers=personas[who].bearer)
        assert pdf.status_code == 200, (who, pdf.text)
    assert (await client.get(f"/api/v1/meetings/{meeting_id}/agenda.pdf", headers=health.bearer)).status_code == 200

    await reminders.emit_reminders(meeting.date + timedelta(days=5))  # the action is due soon that day
    await queue.enqueue("notify_people")  # as the daily run does: the reminder told, in the app and by e-mail
    await run_jobs()

    # The next meeting reviews the outstanding action.
    following = (
        await Meeting.filter(conference__slug=CONFERENCE, date__gt=meeting.date)
        .order_by("date")
        .first()
        .prefetch_related("conference")
    )
    await agenda.publish(await viewer_for(coordinator.user), following)
    following = await Meeting.get(id=following.id).prefetch_related("conference")
    version = (await Action.get(id=action_id)).version
    await actions.review_action(
        await viewer_for(chair.user), following, action_id, "not_done_by_agency", text("review_note"), version
    )
    return Cycle(
        referral_id=referral_id,
        repeat_id=repeat_id,
        meeting_id=meeting_id,
        case_id=case_id,
        action_id=action_id,
        next_meeting_id=following.id,
        minutes_job_id=started.json()["job_id"],
    )
