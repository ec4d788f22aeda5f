"""Referral intake, repeats, consent, visibility and triage, through the API as integrators use it."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marac.audit.models import AuditEvent
from marac.meetings.models import Meeting
from marac.meetings.schedule import working_days_before
from marac.referrals.models import MatchSuggestion, Person, Referral
from tests.conftest import dash_body, make_client, make_referral

HATE = "northshire-hc"


async def post(client, persona, body):
    return await client.post("/api/v1/referrals", json=body, headers=persona.bearer)


async def test_a_dash_referral_is_scored_by_the_server_and_queued_for_triage(client, personas):
    answer = await post(client, personas["police"], dash_body(yes=15))
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "received" and body["repeat"] == {"is_repeat": False, "previous_referral_id": None}
    meeting = await Meeting.get(id=body["meeting_id"])
    assert meeting.cut_off >= date(2026, 11, 2) and meeting.date > meeting.cut_off
    stored = (await client.get(f"/api/v1/referrals/{body['id']}", headers=personas["police"].bearer)).json()
    assert stored["risk"]["score"] == 15 and stored["criteria_met"] == ["visible_high_risk"]
    assert stored["referring_agency"]["id"] == personas["police"].user.agency_id


async def test_a_score_that_disagrees_with_the_answers_is_refused(client, personas):
    body = dash_body(yes=15)
    body["risk"]["score"] = 16
    answer = await post(client, personas["police"], body)
    assert answer.status_code == 422 and "risk.score" in answer.json()["error"]["fields"]
    assert await Referral.all().count() == 0


async def test_a_referral_that_meets_no_criterion_is_refused(client, personas):
    answer = await post(client, personas["police"], dash_body(yes=10))
    assert answer.status_code == 422
    fields = answer.json()["error"]["fields"]
    assert any(k.startswith("criteria") for k in fields), fields


async def test_professional_judgement_below_14_needs_a_written_reason(client, personas):
    body = dash_body(yes=9, criteria=["professional_judgement"])
    refused = await post(client, personas["police"], body)
    assert refused.status_code == 422 and "judgement_reason" in refused.json()["error"]["fields"]
    body["judgement_reason"] = "Threats to kill made yesterday in front of the children."
    accepted = await post(client, personas["police"], body)
    assert accepted.status_code == 201


async def test_escalation_counts_incidents_in_the_last_12_months(client, personas):
    body = dash_body(yes=5, criteria=["escalation"], incidents=["2026-01-10", "2025-10-01"])
    too_few = await post(client, personas["police"], body)  # 2025-10-01 is outside the 12 months
    assert too_few.status_code == 422
    body["incidents"] = ["2026-01-10", "2026-06-01"]
    enough = await post(client, personas["police"], body)
    assert enough.status_code == 201
    assert (await Referral.get(id=enough.json()["id"])).incidents_in_window == 3


async def test_a_further_referral_within_12_months_of_the_last_is_a_repeat_despite_spelling(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2025-11-02"))).json()
    again = dash_body(received_at="2026-11-02")  # day 365 after a non-leap date: still within 12 months
    again["victim"]["name"] = "JANE  DOE"
    again["perpetrators"][0]["name"] = "Jon Roe"
    second = (await post(client, personas["idva"], again)).json()
    assert second["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}


async def test_the_window_runs_from_the_last_referral_and_ends_after_12_months(client, personas):
    a = (await post(client, personas["police"], dash_body(received_at="2024-01-10"))).json()
    b = (await post(client, personas["police"], dash_body(received_at="2024-12-01"))).json()
    c = (await post(client, personas["police"], dash_body(received_at="2025-11-20"))).json()
    assert b["repeat"]["previous_referral_id"] == a["id"]
    assert c["repeat"]["previous_referral_id"] == b["id"]  # >12 months after A, within 12 of B
    d = (await post(client, personas["police"], dash_body(received_at="2026-11-21"))).json()
    assert d["repeat"]["is_repeat"] is False  # 366 days after C


async def test_a_different_perpetrator_is_not_a_repeat_for_domestic_abuse(client, personas):
    await post(client, personas["police"], dash_body(received_at="2026-06-01"))
    other = dash_body(received_at="2026-09-01")
    other["perpetrators"] = [{"name": "Mark Stone", "date_of_birth": "1979-02-02"}]
    assert (await post(client, personas["police"], other)).json()["repeat"]["is_repeat"] is False


async def test_without_consent_the_reason_for_sharing_is_mandatory(client, personas):
    body = dash_body(consent={"victim_aware": False, "consented": False})
    refused = await post(client, personas["police"], body)
    assert refused.status_code == 422 and "consent.reason_if_not" in refused.json()["error"]["fields"]
    body["consent"]["reason_if_not"] = "Risk of serious harm to the children"
    assert (await post(client, personas["police"], body)).status_code == 201


def hate_body(**overrides) -> dict:
    body = {
        "conference": HATE,
        "received_at": "2026-11-02",
        "criteria": ["visible_high_risk"],
        "risk": {"instrument": "hate-crime", "level": "high"},
        "victim": {
            "name": "Samir Patel",
            "date_of_birth": "1970-01-20",
            "address": {"line1": "2 Mill Lane", "postcode": "NS2 2BB"},
        },
        "perpetrators": [],
        "strands": ["religion:anti_muslim", "race"],
        "incident_kind": "crime",
        "summary": "Repeated abuse at home address.",
        "consent": {"victim_aware": True, "consented": True},
    }
    body.update(overrides)
    return body


async def hate_conference(personas) -> None:
    from marac.agencies import service

    members = [service.MemberSpec(personas[p].user.agency_id, "full") for p in ("police", "idva")]
    conference = await service.create_conference(
        None,
        name="Northshire HC",
        slug=HATE,
        type="hate-crime",
        weekday="thursday",
        start_time="14:00",
        first_date=date(2026, 1, 8),
        members=members,
    )
    for key in ("police", "idva", "coordinator", "chair"):
        await personas[key].user.conferences.add(conference)


async def test_hate_crime_referrals_carry_their_strands_and_crime_or_incident(client, personas):
    await hate_conference(personas)
    ok = await post(client, personas["police"], hate_body())
    assert ok.status_code == 201, ok.text
    bad = await post(client, personas["police"], hate_body(strands=["race:anti_martian"], incident_kind=None))
    fields = bad.json()["error"]["fields"]
    assert bad.status_code == 422 and "strands.0" in fields and "incident_kind" in fields
    none = await post(client, personas["police"], hate_body(strands=[]))
    assert "strands" in none.json()["error"]["fields"]


async def test_judgement_may_raise_a_hate_crime_level_but_never_lower_it(client, personas):
    await hate_conference(personas)
    answers = ["yes"] * 12
    lowered = await post(
        client, personas["police"], hate_body(risk={"instrument": "hate-crime", "level": "low", "answers": answers})
    )
    assert lowered.status_code == 422 and "risk.level" in lowered.json()["error"]["fields"]


async def test_a_hate_report_without_consent_is_monitoring_only_and_seen_by_no_other_agency(app, client, personas):
    await hate_conference(personas)
    body = hate_body(consent={"victim_aware": True, "consented": False, "monitoring_only": True})
    made = await post(client, personas["police"], body)
    assert made.status_code == 201
    assert made.json()["status"] == "monitoring_only" and made.json()["meeting_id"] is None
    referral_id = made.json()["id"]
    assert (await client.get(f"/api/v1/referrals/{referral_id}", headers=personas["police"].bearer)).status_code == 200
    # The chair is a police inspector: the referring agency's own staff may see it.
    for other in ("coordinator", "idva", "health", "housing", "admin", "auditor"):
        seen = await client.get(f"/api/v1/referrals/{referral_id}", headers=personas[other].bearer)
        assert seen.status_code == 404, other
    async with make_client(app) as browser:
        from tests.conftest import session_cookie_for

        browser.cookies.update(await session_cookie_for(personas["coordinator"]))
        assert referral_id not in (await browser.get("/referrals")).text
        assert (await browser.get(f"/referrals/{referral_id}")).status_code == 404
        # A later, shared report about the same person must not surface this one as a match.
        await post(client, personas["idva"], hate_body(criteria=["visible_high_risk"]))
        assert await MatchSuggestion.all().count() == 0
        assert "Samir" not in (await browser.get("/matches")).text


async def test_only_the_referrer_and_the_conference_officers_see_a_referral(client, personas):
    referral = await make_referral(personas["police"])
    for persona, status in [
        ("police", 200),
        ("coordinator", 200),
        ("chair", 200),
        ("idva", 404),
        ("health", 404),
        ("childrens", 404),
        ("housing", 404),
        ("admin", 404),
        ("auditor", 404),
    ]:
        answer = await client.get(f"/api/v1/referrals/{referral.id}", headers=personas[persona].bearer)
        assert answer.status_code == status, persona
    reads = await AuditEvent.filter(action="referral.read", object_id=referral.id).count()
    assert reads == 3  # every read of case data is audited; refusals read nothing


async def test_the_coordinator_accepts_or_rejects_and_the_referrer_sees_the_outcome(client, personas):
    accepted = await make_referral(personas["police"])
    coordinator = personas["coordinator"].bearer
    no_reason = await client.post(
        f"/api/v1/referrals/{accepted.id}/decision", json={"decision": "reject"}, headers=coordinator
    )
    assert no_reason.status_code == 422 and "reason" in no_reason.json()["error"]["fields"]
    done = await client.post(
        f"/api/v1/referrals/{accepted.id}/decision", json={"decision": "accept"}, headers=coordinator
    )
    assert done.status_code == 200 and done.json()["status"] == "accepted" and done.json()["meeting_id"]
    twice = await client.post(
        f"/api/v1/referrals/{accepted.id}/decision", json={"decision": "reject", "reason": "x"}, headers=coordinator
    )
    assert twice.status_code == 409
    rejected = await make_referral(personas["police"], dash_body(received_at="2026-10-01"))
    await client.post(
        f"/api/v1/referrals/{rejected.id}/decision",
        json={"decision": "reject", "reason": "Not in our area"},
        headers=coordinator,
    )
    seen = (await client.get(f"/api/v1/referrals/{rejected.id}", headers=personas["police"].bearer)).json()
    assert seen["decision"]["status"] == "rejected" and seen["decision"]["reason"] == "Not in our area"
    chair = await client.post(
        f"/api/v1/referrals/{rejected.id}/decision", json={"decision": "accept"}, headers=personas["chair"].bearer
    )
    assert chair.status_code == 403


async def test_a_referral_received_on_the_cut_off_day_makes_that_meeting_and_the_next_day_does_not(personas):
    referral = await make_referral(personas["police"])
    meeting = await Meeting.get(id=referral.expected_meeting_id)
    on_time = await make_referral(personas["police"], dash_body(received_at=meeting.cut_off.isoformat()))
    late_day = date.fromordinal(meeting.cut_off.toordinal() + 1)
    late = await make_referral(personas["police"], dash_body(received_at=late_day.isoformat()))
    assert on_time.expected_meeting_id == meeting.id
    assert late.expected_meeting_id != meeting.id
    assert (await Meeting.get(id=late.expected_meeting_id)).date > meeting.date


def test_cut_offs_count_working_days_and_skip_bank_holidays():
    # Tuesday 7 April 2026 is after Easter: Good Friday (3rd) and Easter Monday (6th) are bank holidays.
    assert working_days_before(date(2026, 4, 7), 1) == date(2026, 4, 2)
    assert working_days_before(date(2026, 4, 14), 5) == date(2026, 4, 7)
    assert working_days_before(date(2026, 12, 29), 2) == date(2026, 12, 23)  # Christmas, Boxing Day (observed 28th)


async def test_transfers_keep_their_source(client, personas):
    made = (await post(client, personas["police"], dash_body(transfer_from="Southshire MARAC"))).json()
    seen = (await client.get(f"/api/v1/referrals/{made['id']}", headers=personas["coordinator"].bearer)).json()
    assert seen["transfer_from"] == "Southshire MARAC"


async def test_a_medium_match_is_offered_to_the_coordinator_and_the_answer_is_remembered(client, personas):
    await post(client, personas["police"], dash_body(received_at="2026-05-01"))
    variant = dash_body(received_at="2026-09-01")
    variant["victim"]["name"] = "J. Doe"  # an initial: never linked automatically
    made = (await post(client, personas["police"], variant)).json()
    assert made["repeat"]["is_repeat"] is False
    suggestion = await MatchSuggestion.get(status="pending")
    async with make_client(client._transport.app) as browser:  # type: ignore[attr-defined]
        from tests.conftest import csrf_token, session_cookie_for

        browser.cookies.update(await session_cookie_for(personas["coordinator"]))
        assert "Match score" in (await browser.get("/matches")).text
        token = await csrf_token(browser, "/matches")
        # "Same person" asks first and changes nothing until confirmed.
        asked = await browser.post(f"/matches/{suggestion.id}", data={"decision": "same", "csrf_token": token})
        assert asked.status_code == 200 and "Link these two people as the same person?" in asked.text
        assert (await MatchSuggestion.get(id=suggestion.id)).status == "pending"
        assert not (await Referral.get(id=made["id"])).is_repeat
        confirmed = await browser.post(
            f"/matches/{suggestion.id}", data={"decision": "same", "confirmed": "yes", "csrf_token": token}
        )
        assert confirmed.status_code == 303 and confirmed.headers["location"] == "/matches?done=same"
        assert "Linked as the same person" in (await browser.get("/matches?done=same")).text
    assert (await Referral.get(id=made["id"])).is_repeat  # re-checked after the merge
    assert await Person.filter(keys__isnull=False).distinct().count() >= 1
    assert (await MatchSuggestion.get(id=suggestion.id)).status == "same"


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    noise=st.dictionaries(
        st.sampled_from(
            [
                "received_at",
                "risk",
                "victim",
                "perpetrators",
                "children",
                "strands",
                "criteria",
                "consent",
                "incidents",
                "summary",
                "conference",
                "incident_date",
                "referrer",
                "previously_known",
            ]
        ),
        JSONISH,
        max_size=4,
    )
)
async def test_no_input_gets_a_server_error(client, personas, noise):
    answer = await post(client, personas["police"], {**dash_body(), **noise})
    assert answer.status_code in (201, 422), answer.text
