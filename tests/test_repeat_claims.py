"""Repeats claimed by the referrer: an earlier MARAC case the system does not hold, named by area and
date, accepted and flagged for the coordinator, counted as a repeat only once confirmed."""

from __future__ import annotations

import csv
import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marac.audit.models import AuditEvent
from marac.meetings import agenda
from marac.meetings.models import Meeting
from marac.referrals.imports import COLUMNS
from marac.referrals.models import Referral, ReferralChange
from tests.conftest import csrf_token, dash_body, session_cookie_for
from tests.test_referrals import JSONISH, post

EARLIER = {"area": "Riverside MARAC", "date": "2026-03-10", "repeat": True}


def claimed(**previously_known) -> dict:
    # 5 yes answers: below visible high risk, so the claimed repeat is the criterion that lets it in
    return dash_body(
        yes=5, criteria=["repeat"], incident_date="2026-11-01", previously_known=EARLIER | previously_known
    )


def fields_of(answer) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return answer.json()["error"]["fields"]


async def claim_url(client, personas) -> tuple[str, str]:
    made = await post(client, personas["police"], claimed())
    assert made.status_code == 201, made.text
    return made.json()["id"], f"/api/v1/referrals/{made.json()['id']}/repeat-claim"


async def test_a_claimed_repeat_is_accepted_and_waits_for_the_coordinator(client, personas):
    made = await post(client, personas["police"], claimed())
    assert made.status_code == 201, made.text
    assert made.json()["repeat"] == {"is_repeat": False, "previous_referral_id": None}  # not yet a repeat
    read = (await client.get(f"/api/v1/referrals/{made.json()['id']}", headers=personas["police"].bearer)).json()
    assert read["criteria_met"] == ["repeat"]
    assert read["repeat_claim"] == {
        "status": "pending",
        "area": "Riverside MARAC",
        "date": "2026-03-10",
        "reason": None,
        "decided_at": None,
    }
    listed = (await client.get("/api/v1/referrals", headers=personas["coordinator"].bearer)).json()["items"]
    assert [item["kind"] for item in listed] == ["new"]


async def test_once_confirmed_it_counts_as_a_repeat_on_the_agenda(client, personas):
    referral_id, url = await claim_url(client, personas)
    coordinator = personas["coordinator"].bearer
    await client.post(f"/api/v1/referrals/{referral_id}/decision", json={"decision": "accept"}, headers=coordinator)
    meeting = await Meeting.get(id=(await Referral.get(id=referral_id)).expected_meeting_id).prefetch_related(
        "conference"
    )
    await agenda.build(meeting)

    async def kind() -> str:
        shown = (await client.get(f"/api/v1/meetings/{meeting.id}/agenda", headers=coordinator)).json()
        return next(i["kind"] for s in shown["sections"] for i in s["items"] if i["referral_id"] == referral_id)

    assert await kind() == "new"
    confirmed = await client.post(url, json={"confirm": True}, headers=coordinator)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["repeat"]["is_repeat"] is True and confirmed.json()["repeat_claim"]["status"] == "confirmed"
    assert confirmed.json()["history"][-1]["kind"] == "repeat_confirm"
    assert await kind() == "repeat"
    assert await AuditEvent.filter(action="referral.repeat_confirm", object_id=referral_id).exists()
    # decided once
    assert (await client.post(url, json={"confirm": False, "reason": "x"}, headers=coordinator)).status_code == 409


async def test_a_rejected_claim_needs_a_reason_and_is_no_repeat(client, personas):
    referral_id, url = await claim_url(client, personas)
    coordinator = personas["coordinator"].bearer
    assert "reason" in fields_of(await client.post(url, json={"confirm": False}, headers=coordinator))
    assert "confirm" in fields_of(await client.post(url, json={}, headers=coordinator))
    rejected = await client.post(
        url, json={"confirm": False, "reason": "Riverside has no case for her"}, headers=coordinator
    )
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["repeat"]["is_repeat"] is False
    assert rejected.json()["criteria_met"] == []  # the claim was its only criterion: the coordinator may reject it
    assert rejected.json()["repeat_claim"]["reason"] == "Riverside has no case for her"
    change = await ReferralChange.get(referral_id=referral_id)
    assert change.kind == "repeat_reject" and change.before["previously_known"] == EARLIER
    assert await AuditEvent.filter(action="referral.repeat_reject", object_id=referral_id).exists()


async def test_only_the_coordinator_decides_a_claim(client, personas):
    _, url = await claim_url(client, personas)
    body = {"confirm": True}
    assert (await client.post(url, json=body, headers=personas["police"].bearer)).status_code == 403
    assert (await client.post(url, json=body, headers=personas["chair"].bearer)).status_code == 403
    assert (await client.post(url, json=body, headers=personas["health"].bearer)).status_code == 404
    assert (await Referral.get()).repeat_claim == "pending"


async def test_a_claim_outside_the_window_or_in_the_future_is_refused_on_its_date(client, personas):
    police = personas["police"]
    # 12 months and a day before the incident: after 12 months it is a new case
    late = fields_of(await post(client, police, claimed(date="2025-10-31")))
    assert "more than 12 months" in late["previously_known.date"].lower()
    assert "previously known only" in late["previously_known.date"]
    assert "future" in fields_of(await post(client, police, claimed(date="2099-01-01")))["previously_known.date"]
    assert (
        "before the incident"
        in fields_of(await post(client, police, claimed(date="2026-11-05")))["previously_known.date"]
    )
    assert "previously_known.date" in fields_of(await post(client, police, claimed(date=None)))
    assert await Referral.all().count() == 0
    # exactly 12 months is inside; the same old date without a claim is previously known only
    assert (await post(client, police, claimed(date="2025-11-01"))).status_code == 201
    known = dash_body(previously_known={"area": "Riverside MARAC", "date": "2024-01-01"})
    made = await post(client, police, known)
    assert made.status_code == 201 and (await Referral.get(id=made.json()["id"])).repeat_claim is None


async def test_an_edit_that_keeps_the_claim_keeps_the_decision(client, personas):
    referral_id, url = await claim_url(client, personas)
    coordinator = personas["coordinator"].bearer
    await client.post(url, json={"confirm": True}, headers=coordinator)
    patched = await client.patch(f"/api/v1/referrals/{referral_id}", json={"summary": "More."}, headers=coordinator)
    assert patched.json()["repeat_claim"]["status"] == "confirmed" and patched.json()["repeat"]["is_repeat"] is True
    # another earlier case named: a new claim, waiting again
    moved = await client.patch(
        f"/api/v1/referrals/{referral_id}",
        json={"previously_known": EARLIER | {"date": "2026-04-01"}},
        headers=coordinator,
    )
    assert moved.json()["repeat_claim"]["status"] == "pending" and moved.json()["repeat"]["is_repeat"] is False


async def test_the_coordinator_confirms_on_the_referral_page_and_the_queue_flags_it(client, personas):
    referral_id, _ = await claim_url(client, personas)
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    queue = await client.get("/referrals")
    assert "Repeat claimed: to confirm" in queue.text
    page = f"/referrals/{referral_id}"
    shown = await client.get(page)
    assert "Repeat claimed by the referrer" in shown.text and "Riverside MARAC" in shown.text
    token = await csrf_token(client, page)
    refused = await client.post(f"{page}/repeat-claim", data={"csrf_token": token, "claim_decision": "reject"})
    assert refused.status_code == 400 and 'id="claim_reason"' in refused.text and "Say why" in refused.text
    done = await client.post(f"{page}/repeat-claim", data={"csrf_token": token, "claim_decision": "confirm"})
    assert done.status_code == 303
    assert (await Referral.get(id=referral_id)).is_repeat
    assert "Confirmed" in (await client.get(page)).text


async def test_the_form_and_the_import_carry_the_claim(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    row = {
        "conference": "northshire-da",
        "received_at": "2026-11-02",
        "criteria": "repeat",
        "risk_instrument": "dash",
        "risk_score": "3",
        "victim_name": "Kim Low",
        "previously_known_area": "Riverside MARAC",
        "previously_known_date": "2026-02-01",
        "previously_known_repeat": "yes",
        "summary": "Threats.",
        "consent_victim_aware": "true",
        "consent_consented": "true",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerow(row)
    token = await csrf_token(client, "/referrals/import")
    imported = await client.post(
        "/referrals/import", data={"csrf_token": token}, files={"file": ("r.csv", out.getvalue().encode())}
    )
    assert imported.status_code == 200, imported.text
    assert (await Referral.get()).repeat_claim == "pending"
    form_page = "/referrals/new?conference=northshire-da"
    assert 'name="previously_known.repeat"' in (await client.get(form_page)).text
    form = {
        "csrf_token": await csrf_token(client, form_page),
        "received_at": "02/11/2026",
        "criteria": "repeat",
        "risk.instrument": "dash",
        "risk.score": "3",
        "victim.name": "Ann Other",
        "summary": "Threats.",
        "previously_known.area": "Eastshire MARAC",
        "previously_known.date": "01/03/2026",
        "previously_known.repeat": "yes",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
    }
    made = await client.post(form_page, data=form)
    assert made.status_code == 303, made.text
    referral = await Referral.get(id=made.headers["location"].split("/")[2].split("?")[0])
    assert referral.repeat_claim == "pending" and referral.previously_known["repeat"] is True


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(noise=st.dictionaries(st.sampled_from(["confirm", "reason", "into"]), JSONISH, max_size=3))
async def test_no_claim_decision_body_gets_a_server_error(client, personas, noise):
    _, url = await claim_url(client, personas)
    answer = await client.post(url, json=noise, headers=personas["coordinator"].bearer)
    assert answer.status_code in (200, 409, 422), answer.text


async def test_the_quarterly_figures_count_a_claimed_repeat_only_once_confirmed(personas):
    from marac.agencies.access import viewer_for
    from marac.referrals import service
    from marac.reports.figures import Quarter, quarterly
    from tests import builders

    def claiming(n: int) -> dict:
        return builders.other_victim(n, criteria=["repeat"], risk=claimed()["risk"], previously_known=EARLIER)

    confirmed = await builders.referral(personas, accept=True, body=claiming(1))
    pending = await builders.referral(personas, accept=True, body=claiming(2))
    assert await builders.meeting_of(confirmed) == await builders.meeting_of(pending)
    await service.decide_repeat_claim(await viewer_for(personas["coordinator"].user), confirmed.id, True, None)
    meeting = await builders.publish(personas, await builders.meeting_of(confirmed))
    figures = await quarterly(meeting.conference, Quarter.of(meeting.date), meeting.date)
    assert (figures["cases"]["heard"], figures["cases"]["repeat"], figures["cases"]["repeat_rate"]) == (2, 1, 50.0)
