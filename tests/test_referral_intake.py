"""What a referral holds and how intake reads it: the police DASH, incident dates, age, consent
and monitoring only, duplicates (the same incident referred twice) against repeats."""

from __future__ import annotations

from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marac.audit.models import AuditEvent
from marac.referrals.models import Referral, ReferralPerson
from marac.referrals.service import NOT_RECORDED
from tests.conftest import dash_body
from tests.test_referrals import JSONISH, hate_body, hate_conference, post

POLICE_QUESTIONS = 27


def police_body(yes: int = 15, **overrides) -> dict:
    body = dash_body(**overrides)
    body["risk"] = {"instrument": "dash-police", "answers": ["yes"] * yes + ["no"] * (POLICE_QUESTIONS - yes)}
    return body


def fields_of(answer) -> dict[str, str]:
    assert answer.status_code == 422, answer.text
    return answer.json()["error"]["fields"]


# ---- instruments ------------------------------------------------------------------------------


async def test_the_police_dash_is_accepted_with_27_answers_or_a_score(client, personas):
    answered = await post(client, personas["police"], police_body(yes=14))
    assert answered.status_code == 201, answered.text
    stored = await Referral.get(id=answered.json()["id"])
    assert stored.risk["instrument"] == "dash-police" and stored.risk["score"] == 14
    assert stored.criteria_met == ["visible_high_risk"]
    scored = police_body()
    scored["risk"] = {"instrument": "dash-police", "score": 27}
    assert (await post(client, personas["police"], scored)).status_code == 201
    # 13 yes on the police form is below the threshold its file sets, as on the partner form
    assert "14 or more" in fields_of(await post(client, personas["police"], police_body(yes=13)))["criteria.0"]


async def test_each_dash_form_takes_its_own_number_of_answers(client, personas):
    partner_answers_on_police_form = police_body()
    partner_answers_on_police_form["risk"]["answers"] = ["yes"] * 24
    assert (
        "send 27 answers"
        in fields_of(await post(client, personas["police"], partner_answers_on_police_form))["risk.answers"]
    )
    police_answers_on_partner_form = dash_body()
    police_answers_on_partner_form["risk"]["answers"] = ["yes"] * 27
    assert (
        "send 24 answers"
        in fields_of(await post(client, personas["police"], police_answers_on_partner_form))["risk.answers"]
    )
    wrong = dash_body()
    wrong["risk"] = {"instrument": "hate-crime", "level": "high"}
    assert "dash or dash-police" in fields_of(await post(client, personas["police"], wrong))["risk.instrument"]
    assert await Referral.all().count() == 0


async def test_the_form_offers_the_police_dash_and_marks_the_hate_crime_tool_an_example(client, personas):
    from tests.conftest import session_cookie_for

    client.cookies.update(await session_cookie_for(personas["police"]))
    partner = await client.get("/referrals/new?conference=northshire-da")
    assert partner.status_code == 200 and "instrument=dash-police" in partner.text
    police = await client.get("/referrals/new?conference=northshire-da&instrument=dash-police")
    assert "Police DASH risk identification checklist" in police.text
    for group in ("Current situation", "Children/dependants", "Domestic violence history", "Abuser"):
        assert f">{group}</h4>" in police.text
    assert 'value="dash-police"' in police.text and "example risk tool" not in police.text
    await hate_conference(personas)
    hate = await client.get("/referrals/new?conference=northshire-hc")
    assert "example risk tool shipped with marac" in hate.text


# ---- incident dates ---------------------------------------------------------------------------


async def test_the_incident_date_defaults_to_the_received_date_and_is_never_in_the_future(client, personas):
    created = await post(client, personas["police"], dash_body(received_at="2026-11-02"))
    read = await client.get(f"/api/v1/referrals/{created.json()['id']}", headers=personas["police"].bearer)
    assert read.json()["incident_date"] == "2026-11-02"
    future = dash_body(incident_date="2099-01-01")
    assert fields_of(await post(client, personas["police"], future)) == {
        "incident_date": "The incident date cannot be in the future"
    }
    assert await Referral.all().count() == 1


async def test_the_repeat_window_runs_from_the_last_referral_to_the_new_incident_date(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2025-11-02"))).json()
    # received 18 days after the 12 months ran out, about an incident inside them: a repeat
    late = await post(client, personas["idva"], dash_body(received_at="2026-11-20", incident_date="2026-11-01"))
    assert late.json()["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}
    stored = await Referral.get(id=late.json()["id"])
    assert stored.incident_date == date(2026, 11, 1) and stored.received_at == date(2026, 11, 20)


async def test_a_referral_received_after_the_12_months_about_a_later_incident_is_a_new_case(client, personas):
    await post(client, personas["police"], dash_body(received_at="2025-11-02"))
    new = await post(client, personas["police"], dash_body(received_at="2026-11-20", incident_date="2026-11-03"))
    assert new.json()["repeat"]["is_repeat"] is False


async def test_escalation_counts_incident_dates_not_received_dates(client, personas):
    # An earlier referral received in March 2026 about an incident in September 2025.
    await post(client, personas["police"], dash_body(received_at="2026-03-01", incident_date="2025-09-01"))
    body = dash_body(
        yes=5, criteria=["escalation"], received_at="2026-11-02", incident_date="2026-10-01", incidents=["2026-05-01"]
    )
    # 2026-10-01 and 2026-05-01 are within 12 months; 2025-09-01 is not, and no received date counts.
    assert "2 recorded" in fields_of(await post(client, personas["idva"], body))["criteria.0"]
    body["incidents"] = ["2026-05-01", "2025-12-24"]
    accepted = await post(client, personas["idva"], body)
    assert accepted.status_code == 201, accepted.text
    assert (await Referral.get(id=accepted.json()["id"])).incidents_in_window == 3


async def test_an_earlier_incident_cannot_be_after_the_incident_date(client, personas):
    body = dash_body(incident_date="2026-10-01", incidents=["2026-10-20"])
    assert "after the incident date" in fields_of(await post(client, personas["police"], body))["incidents.0"]


# ---- age --------------------------------------------------------------------------------------


async def test_under_16_on_the_incident_date_is_for_child_safeguarding_not_domestic_abuse(client, personas):
    young_victim = dash_body(incident_date="2026-11-01")
    young_victim["victim"]["date_of_birth"] = "2010-11-02"  # 16 the day after the incident
    assert (
        "child safeguarding" in fields_of(await post(client, personas["police"], young_victim))["victim.date_of_birth"]
    )
    young_perpetrator = dash_body(incident_date="2026-11-01")
    young_perpetrator["perpetrators"][0]["date_of_birth"] = "2011-01-01"
    assert (
        "child safeguarding"
        in fields_of(await post(client, personas["police"], young_perpetrator))["perpetrators.0.date_of_birth"]
    )
    assert await Referral.all().count() == 0
    sixteen = dash_body(incident_date="2026-11-01")
    sixteen["victim"]["date_of_birth"] = "2010-11-01"  # 16 on the day
    assert (await post(client, personas["police"], sixteen)).status_code == 201


async def test_a_hate_crime_conference_hears_a_victim_under_16(client, personas):
    await hate_conference(personas)
    body = hate_body()
    body["victim"]["date_of_birth"] = "2012-01-01"
    assert (await post(client, personas["police"], body)).status_code == 201


# ---- consent and monitoring only --------------------------------------------------------------


async def test_without_consent_a_blank_reason_is_no_reason(client, personas):
    await hate_conference(personas)
    for body in (dash_body(), hate_body()):
        body["consent"] = {"victim_aware": False, "consented": False, "reason_if_not": "   "}
        assert "consent.reason_if_not" in fields_of(await post(client, personas["police"], body))
    assert await Referral.all().count() == 0


async def test_monitoring_only_must_be_said_and_only_where_the_type_keeps_such_reports(client, personas):
    await hate_conference(personas)
    monitoring = hate_body(consent={"victim_aware": False, "consented": False, "monitoring_only": True})
    kept = await post(client, personas["police"], monitoring)
    assert kept.status_code == 201 and kept.json()["status"] == "monitoring_only"
    both = hate_body(
        consent={"victim_aware": False, "consented": False, "monitoring_only": True, "reason_if_not": "Risk to life"}
    )
    assert "consent.monitoring_only" in fields_of(await post(client, personas["police"], both))
    with_consent = hate_body(consent={"victim_aware": True, "consented": True, "monitoring_only": True})
    assert "consent.monitoring_only" in fields_of(await post(client, personas["police"], with_consent))
    domestic = dash_body(consent={"victim_aware": False, "consented": False, "monitoring_only": True})
    assert (
        "hears referrals made without consent"
        in fields_of(await post(client, personas["police"], domestic))["consent.monitoring_only"]
    )


async def test_a_monitoring_only_non_crime_incident_keeps_what_the_figures_need_and_no_names(client, personas):
    await hate_conference(personas)
    body = hate_body(
        incident_kind="incident", consent={"victim_aware": False, "consented": False, "monitoring_only": True}
    )
    body["victim"] |= {"gender": "male", "monitoring": {"racially_minoritised": True, "disabled": False}}
    body["perpetrators"] = [{"name": "Gary Neighbour", "date_of_birth": "2009-06-01"}]
    created = await post(client, personas["police"], body)
    assert created.status_code == 201, created.text
    referral = await Referral.get(id=created.json()["id"])
    assert referral.strands == ["religion:anti_muslim", "race"] and referral.received_at == date(2026, 11, 2)
    assert referral.victim == {
        "gender": "male",
        "monitoring": {
            "ethnicity": None,
            "racially_minoritised": True,
            "lgbt": None,
            "disabled": False,
            "religion": None,
        },
        "area": "NS2",
    }
    assert referral.summary == "" and referral.judgement_reason is None
    named = await ReferralPerson.filter(referral=referral).order_by("role")
    assert [(p.role, p.name, p.date_of_birth) for p in named] == [
        ("perpetrator", NOT_RECORDED, None),
        ("victim", NOT_RECORDED, None),
    ]
    # the age bands the figures count stay (a perpetrator aged 17 or under)
    assert [p.age_band for p in named] == ["16-17", "55-64"]
    read = (await client.get(f"/api/v1/referrals/{referral.id}", headers=personas["police"].bearer)).json()
    assert "Samir" not in str(read) and "Gary" not in str(read) and "Mill Lane" not in str(read)


async def test_a_monitoring_only_hate_crime_keeps_its_details_for_the_referring_agency(client, personas):
    await hate_conference(personas)
    body = hate_body(consent={"victim_aware": False, "consented": False, "monitoring_only": True})
    created = await post(client, personas["police"], body)
    referral = await Referral.get(id=created.json()["id"])
    assert referral.victim["name"] == "Samir Patel" and referral.summary


# ---- duplicates -------------------------------------------------------------------------------


async def test_duplicates_and_repeats_of_a_name_pair(client, personas):
    """Police and the IDVA refer the same incident: a duplicate, not a repeat. A later incident
    is a repeat; a different perpetrator is neither; once heard, it is a repeat again."""
    police = await post(client, personas["police"], dash_body(received_at="2026-11-02", incident_date="2026-11-01"))
    first = police.json()
    assert first["possible_duplicate_of"] is None
    same_incident = dash_body(received_at="2026-11-05", incident_date="2026-11-03")
    same_incident["victim"]["name"] = "Jane  DOE"  # the advocate spells the pair their own way
    same_incident["perpetrators"][0]["name"] = "Jon Roe"
    duplicate = (await post(client, personas["idva"], same_incident)).json()
    assert duplicate["possible_duplicate_of"] == first["id"]
    assert duplicate["repeat"] == {"is_repeat": False, "previous_referral_id": None}

    # nine days after the latest incident: a further incident, so a repeat of the last referral
    later = dash_body(received_at="2026-11-13", incident_date="2026-11-12")
    nine_days_on = (await post(client, personas["idva"], later)).json()
    assert nine_days_on["possible_duplicate_of"] is None
    assert nine_days_on["repeat"] == {"is_repeat": True, "previous_referral_id": duplicate["id"]}

    other_perpetrator = dash_body(received_at="2026-11-04", incident_date="2026-11-02")
    other_perpetrator["perpetrators"] = [{"name": "Mark Stone", "date_of_birth": "1979-02-02"}]
    other = (await post(client, personas["idva"], other_perpetrator)).json()
    assert other["possible_duplicate_of"] is None and other["repeat"]["is_repeat"] is False


async def test_a_referral_already_heard_is_repeated_not_duplicated(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-11-02"))).json()
    await Referral.filter(id=first["id"]).update(status="heard")
    again = (await post(client, personas["idva"], dash_body(received_at="2026-11-04"))).json()
    assert again["possible_duplicate_of"] is None
    assert again["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}


async def test_the_coordinator_merges_a_duplicate_into_one_case_with_both_referrers(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-11-02"))).json()
    second = (await post(client, personas["idva"], dash_body(received_at="2026-11-03"))).json()
    assert second["possible_duplicate_of"] == first["id"]
    coordinator = personas["coordinator"].bearer
    # only the coordinator merges; the chair sees both and may not; the referrer cannot see the other
    assert (
        await client.post(
            f"/api/v1/referrals/{second['id']}/merge", json={"into": first["id"]}, headers=personas["chair"].bearer
        )
    ).status_code == 403
    assert (
        await client.post(f"/api/v1/referrals/{second['id']}/merge", json={"into": second["id"]}, headers=coordinator)
    ).json()["error"]["fields"] == {"into": "Choose the other referral"}
    assert (
        await client.post(
            f"/api/v1/referrals/{second['id']}/merge", json={"into": "nosuchreferral"}, headers=coordinator
        )
    ).status_code == 422
    merged = await client.post(
        f"/api/v1/referrals/{second['id']}/merge", json={"into": first["id"]}, headers=coordinator
    )
    assert merged.status_code == 200, merged.text
    case = merged.json()
    assert case["id"] == first["id"] and case["status"] == "received"
    assert case["merged"] == [{"id": second["id"], "referring_agency_id": personas["idva"].user.agency_id}]
    duplicate = await Referral.get(id=second["id"])
    assert (duplicate.status, duplicate.merged_into_id, duplicate.expected_meeting_id) == ("merged", first["id"], None)
    # merged once: a second merge is a conflict, and the case page names both referring agencies
    again = await client.post(
        f"/api/v1/referrals/{second['id']}/merge", json={"into": first["id"]}, headers=coordinator
    )
    assert again.status_code == 409
    from tests.conftest import session_cookie_for

    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/referrals/{first['id']}")
    assert "(merged duplicate)" in page.text
    events = await AuditEvent.filter(action__in=["referral.merge", "referral.merged_into"]).values_list(
        "action", "object_id"
    )
    assert sorted(events) == [("referral.merge", second["id"]), ("referral.merged_into", first["id"])]
    # a merged referral is no live referral: a later one is a repeat of the case, not of the duplicate
    later = (await post(client, personas["police"], dash_body(received_at="2026-11-20"))).json()
    assert later["repeat"]["previous_referral_id"] == first["id"]


async def test_the_coordinator_keeps_a_duplicate_apart_with_a_reason_and_it_becomes_a_repeat(client, personas):
    first = (await post(client, personas["police"], dash_body(received_at="2026-11-02"))).json()
    second = (await post(client, personas["idva"], dash_body(received_at="2026-11-04"))).json()
    url = f"/api/v1/referrals/{second['id']}/keep-apart"
    coordinator = personas["coordinator"].bearer
    assert "reason" in (await client.post(url, json={"reason": ""}, headers=coordinator)).json()["error"]["fields"]
    kept = await client.post(url, json={"reason": "A second assault two days later"}, headers=coordinator)
    assert kept.status_code == 200, kept.text
    body = kept.json()
    assert body["kept_apart"] is True and body["possible_duplicate_of"] == first["id"]
    assert body["repeat"] == {"is_repeat": True, "previous_referral_id": first["id"]}
    assert (await client.post(url, json={"reason": "again"}, headers=coordinator)).status_code == 409
    assert await AuditEvent.filter(action="referral.keep_apart", object_id=second["id"]).exists()


async def test_the_duplicate_page_merges_through_the_same_use_case(client, personas):
    from tests.conftest import csrf_token, session_cookie_for

    first = (await post(client, personas["police"], dash_body(received_at="2026-11-02"))).json()
    second = (await post(client, personas["idva"], dash_body(received_at="2026-11-03"))).json()
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/referrals/{second['id']}")
    assert "Merge into one case" in page.text and f'value="{first["id"]}"' in page.text
    token = await csrf_token(client, f"/referrals/{second['id']}")
    empty = await client.post(f"/referrals/{second['id']}/keep-apart", data={"csrf_token": token, "apart_reason": " "})
    assert empty.status_code == 400 and "separate incidents" in empty.text
    done = await client.post(f"/referrals/{second['id']}/merge", data={"csrf_token": token, "into": first["id"]})
    assert done.status_code == 303
    assert (await Referral.get(id=second["id"])).status == "merged"


# ---- what a referral holds --------------------------------------------------------------------


def full_body() -> dict:
    body = dash_body(
        referrer={"name": "PC Ann Lee", "phone": "01632 960001", "email": "ann.lee@police.example"},
        previously_known={"area": "Riverside MARAC", "date": "2024-05-14"},
    )
    body["victim"] |= {
        "language": "Polish",
        "interpreter_needed": True,
        "communication_needs": "Hard of hearing: text first",
        "safe_ways_to_contact": "Text on weekdays before 3pm; never call at home",
    }
    body["perpetrators"][0]["address"] = {"line1": "3 Low Road", "town": "Northshire", "postcode": "NS1 2BB"}
    body["children"] = [
        {
            "name": "Amy Doe",
            "date_of_birth": "2018-05-05",
            "relationship_to_victim": "daughter",
            "relationship_to_perpetrator": "stepdaughter",
            "school": "Northshire Primary",
            "address": {"line1": "9 Grand Street", "postcode": "NS3 3CC"},
        }
    ]
    return body


async def test_the_new_fields_are_kept_sealed_and_read_back(client, personas):
    from tortoise import connections

    from marac.sealed import is_sealed

    created = await post(client, personas["police"], full_body())
    assert created.status_code == 201, created.text
    read = (
        await client.get(f"/api/v1/referrals/{created.json()['id']}", headers=personas["coordinator"].bearer)
    ).json()
    assert read["referrer"] == {"name": "PC Ann Lee", "phone": "01632 960001", "email": "ann.lee@police.example"}
    assert read["previously_known"] == {"area": "Riverside MARAC", "date": "2024-05-14"}
    assert read["victim"]["safe_ways_to_contact"].startswith("Text on weekdays")
    assert read["victim"]["interpreter_needed"] is True and read["victim"]["language"] == "Polish"
    assert read["perpetrators"][0]["address"]["postcode"] == "NS1 2BB"
    child = read["children"][0]
    assert (child["relationship_to_victim"], child["relationship_to_perpetrator"], child["school"]) == (
        "daughter",
        "stepdaughter",
        "Northshire Primary",
    )
    # contact data is sealed in the database, not readable in SQL
    conn = connections.get("default")
    _, rows = await conn.execute_query("SELECT referrer_contact FROM referral")
    assert all(is_sealed(row["referrer_contact"]) for row in rows)
    _, rows = await conn.execute_query("SELECT details FROM referral_person WHERE details IS NOT NULL")
    assert len(rows) == 2 and all(is_sealed(row["details"]) for row in rows)


async def test_bad_new_fields_are_named(client, personas):
    body = full_body()
    body["referrer"]["email"] = "not an address"
    body["children"][0]["address"] = {"line1": "9 Grand Street", "postcode": "nowhere"}
    body["previously_known"]["date"] = "2099-01-01"
    fields = fields_of(await post(client, personas["police"], body))
    assert {"referrer.email", "children.0.address.postcode"} <= set(fields)
    body = full_body()
    body["previously_known"]["date"] = "2099-01-01"
    assert "previously_known.date" in fields_of(await post(client, personas["police"], body))
    assert await Referral.all().count() == 0


async def test_the_research_list_carries_the_perpetrators_and_a_childs_own_address(client, personas):
    from tests.builders import published_meeting

    meeting = (await published_meeting(personas, bodies=[full_body()])).meeting
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/research-list", headers=personas["health"].bearer)
    item = answer.json()["items"][0]
    assert item["perpetrators"][0]["address"] == "3 Low Road, Northshire, NS1 2BB"
    assert item["children"][0]["address"] == "9 Grand Street, NS3 3CC"
    # still limited identifiers: no school, relationships, referrer or contact
    for secret in ("Northshire Primary", "stepdaughter", "PC Ann Lee", "Text on weekdays", "Polish"):
        assert secret not in answer.text


async def test_break_glass_hides_safe_ways_to_contact_and_a_childs_address(personas):
    from marac.agencies.access import MASKED, mask_for_break_glass
    from marac.referrals.models import BreakGlass
    from tests.conftest import make_referral

    made = await make_referral(personas["police"], full_body())
    referral = await Referral.filter(id=made.id).prefetch_related("people").first()
    mask_for_break_glass(referral, BreakGlass(contact_approved_at=None))
    assert referral.victim["safe_ways_to_contact"] == MASKED
    child = next(p for p in referral.people if p.role == "child")
    assert set(child.details["address"].values()) == {MASKED} and child.details["school"] == "Northshire Primary"


async def test_the_form_and_the_csv_take_the_new_fields(client, personas):
    import csv
    import io

    from marac.referrals.imports import COLUMNS
    from tests.conftest import csrf_token, session_cookie_for

    row = {
        "conference": "northshire-da",
        "received_at": "2026-11-02",
        "incident_date": "2026-10-30",
        "criteria": "visible_high_risk",
        "risk_instrument": "dash-police",
        "risk_score": "16",
        "victim_name": "Kim Low",
        "victim_language": "Welsh",
        "victim_interpreter_needed": "no",
        "victim_safe_ways_to_contact": "E-mail only",
        "perpetrator_name": "Lee Low",
        "perpetrator_address_line1": "4 Hill Road",
        "perpetrator_postcode": "NS4 4DD",
        "referrer_name": "PC Ann Lee",
        "referrer_email": "ann.lee@police.example",
        "previously_known_area": "Riverside MARAC",
        "summary": "Threats.",
        "consent_victim_aware": "true",
        "consent_consented": "true",
        "children": "Max Low|2019-01-01|son|son|Hill Nursery",
    }
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=[*COLUMNS, "children"])
    writer.writeheader()
    writer.writerow(row)
    client.cookies.update(await session_cookie_for(personas["police"]))
    token = await csrf_token(client, "/referrals/import")
    imported = await client.post(
        "/referrals/import", data={"csrf_token": token}, files={"file": ("r.csv", out.getvalue().encode())}
    )
    assert imported.status_code in (200, 303), imported.text
    referral = await Referral.first()
    assert referral.incident_date == date(2026, 10, 30) and referral.risk["instrument"] == "dash-police"
    assert referral.referrer_contact == {"name": "PC Ann Lee", "phone": None, "email": "ann.lee@police.example"}
    assert referral.previously_known == {"area": "Riverside MARAC", "date": None}
    people = {p.role: p for p in await ReferralPerson.filter(referral=referral)}
    assert people["perpetrator"].details["address"] | {"line2": None, "town": None} == {
        "line1": "4 Hill Road",
        "line2": None,
        "town": None,
        "postcode": "NS4 4DD",
    }
    assert people["child"].details == {
        "relationship_to_victim": "son",
        "relationship_to_perpetrator": "son",
        "school": "Hill Nursery",
    }

    token = await csrf_token(client, "/referrals/new?conference=northshire-da")
    form = {
        "csrf_token": token,
        "received_at": "02/11/2026",
        "incident_date": "01/11/2026",
        "criteria": "visible_high_risk",
        "risk.instrument": "dash",
        "risk.score": "15",
        "victim.name": "Pat Field",
        "victim.communication_needs": "Uses BSL",
        "referrer.name": "Sam Reed",
        "referrer.phone": "01632 960002",
        "previously_known.area": "Eastshire MARAC",
        "previously_known.date": "01/03/2025",
        "perpetrators.0.name": "Rob Field",
        "perpetrators.0.address.line1": "5 Dale Road",
        "perpetrators.0.address.postcode": "NS5 5EE",
        "children.0.name": "Ivy Field",
        "children.0.school": "Dale Primary",
        "summary": "Stalking.",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
    }
    made = await client.post("/referrals/new?conference=northshire-da", data=form)
    assert made.status_code == 303, made.text
    referral = await Referral.get(id=made.headers["location"].split("/")[2].split("?")[0])
    assert referral.incident_date == date(2026, 11, 1) and referral.victim["communication_needs"] == "Uses BSL"
    assert referral.referrer_contact["name"] == "Sam Reed"
    assert referral.previously_known == {"area": "Eastshire MARAC", "date": "2025-03-01"}
    people = {p.role: p for p in await ReferralPerson.filter(referral=referral)}
    assert people["perpetrator"].details["address"]["postcode"] == "NS5 5EE"
    assert people["child"].details == {"school": "Dale Primary"}


# ---- editing and withdrawal -------------------------------------------------------------------


async def test_the_referrer_edits_before_triage_and_every_change_is_kept(client, personas):
    made = (await post(client, personas["police"], dash_body(received_at="2026-11-02"))).json()
    url = f"/api/v1/referrals/{made['id']}"
    police = personas["police"].bearer
    edited = await client.patch(
        url, json={"summary": "Threats to kill since the DASH.", "incident_date": "2026-10-30"}, headers=police
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["summary"] == "Threats to kill since the DASH." and body["incident_date"] == "2026-10-30"
    assert [(h["kind"], h["fields"]) for h in body["history"]] == [("edit", ["incident_date", "summary"])]
    # every rule again: a field the body cannot hold, a future incident, a conference change
    assert fields_of(await client.patch(url, json={"incident_date": "2099-01-01"}, headers=police)) == {
        "incident_date": "The incident date cannot be in the future"
    }
    assert "conference" in fields_of(await client.patch(url, json={"conference": "northshire-hc"}, headers=police))
    stored = await Referral.get(id=made["id"])
    assert stored.summary == "Threats to kill since the DASH."
    from marac.referrals.models import ReferralChange

    (change,) = await ReferralChange.filter(referral_id=made["id"])
    assert change.before["summary"] == "Escalating threats after separation."
    assert await AuditEvent.filter(action="referral.edit", object_id=made["id"]).count() == 1
    # the chair sees the referral and may not change it; another agency cannot see it
    assert (await client.patch(url, json={"summary": "x"}, headers=personas["chair"].bearer)).status_code == 403
    assert (await client.patch(url, json={"summary": "x"}, headers=personas["health"].bearer)).status_code == 404


async def test_after_triage_only_the_coordinator_edits_until_heard(client, personas):
    made = (await post(client, personas["police"], dash_body())).json()
    coordinator = personas["coordinator"].bearer
    await client.post(f"/api/v1/referrals/{made['id']}/decision", json={"decision": "accept"}, headers=coordinator)
    url = f"/api/v1/referrals/{made['id']}"
    assert (await client.patch(url, json={"summary": "x"}, headers=personas["police"].bearer)).status_code == 409
    assert (await client.patch(url, json={"summary": "Corrected."}, headers=coordinator)).status_code == 200
    await Referral.filter(id=made["id"]).update(status="heard")
    assert (await client.patch(url, json={"summary": "Later."}, headers=coordinator)).status_code == 409


async def test_an_edit_of_the_people_reruns_matching_and_repeat_detection(client, personas):
    earlier = (await post(client, personas["police"], dash_body(received_at="2026-06-01"))).json()
    other = dash_body(received_at="2026-11-02")
    other["victim"] |= {"name": "Zoe Quill", "date_of_birth": "1988-08-08"}
    made = (await post(client, personas["idva"], other)).json()
    assert made["repeat"]["is_repeat"] is False
    corrected = await client.patch(
        f"/api/v1/referrals/{made['id']}", json={"victim": dash_body()["victim"]}, headers=personas["idva"].bearer
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["repeat"] == {"is_repeat": True, "previous_referral_id": earlier["id"]}
    assert corrected.json()["history"][0]["fields"] == ["victim"]
    referral = await Referral.get(id=made["id"])
    assert referral.victim_person_id == (await Referral.get(id=earlier["id"])).victim_person_id


async def test_withdrawal_takes_the_referral_out_of_the_pool_and_an_unpublished_agenda(client, personas):
    from marac.meetings import agenda
    from marac.meetings.models import AgendaItem, Meeting

    made = (await post(client, personas["police"], dash_body())).json()
    coordinator = personas["coordinator"].bearer
    await client.post(f"/api/v1/referrals/{made['id']}/decision", json={"decision": "accept"}, headers=coordinator)
    meeting = await Meeting.get(id=(await Referral.get(id=made["id"])).expected_meeting_id).prefetch_related(
        "conference"
    )
    await agenda.build(meeting)
    assert await AgendaItem.exists(referral_id=made["id"], meeting=meeting)
    url = f"/api/v1/referrals/{made['id']}/withdraw"
    assert "reason" in fields_of(await client.post(url, json={"reason": " "}, headers=coordinator))
    # after triage the referrer asks the coordinator
    assert (await client.post(url, json={"reason": "Moved away"}, headers=personas["police"].bearer)).status_code == 409
    done = await client.post(url, json={"reason": "Victim moved to another area"}, headers=coordinator)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "withdrawn" and done.json()["history"][-1]["kind"] == "withdraw"
    assert not await AgendaItem.exists(referral_id=made["id"])
    await agenda.build(meeting)  # and it does not come back
    assert not await AgendaItem.exists(referral_id=made["id"])
    assert await AuditEvent.filter(action="referral.withdraw", object_id=made["id"]).exists()
    again = await client.post(url, json={"reason": "again"}, headers=coordinator)
    assert again.status_code == 409
    # no longer a live referral: a later one is not a repeat of it
    later = (await post(client, personas["police"], dash_body(received_at="2026-11-20"))).json()
    assert later["repeat"]["is_repeat"] is False


async def test_the_referrer_withdraws_on_the_page(client, personas):
    from tests.conftest import csrf_token, session_cookie_for

    made = (await post(client, personas["police"], dash_body())).json()
    client.cookies.update(await session_cookie_for(personas["police"]))
    page = await client.get(f"/referrals/{made['id']}")
    assert "Withdraw the referral" in page.text
    token = await csrf_token(client, f"/referrals/{made['id']}")
    empty = await client.post(f"/referrals/{made['id']}/withdraw", data={"csrf_token": token})
    assert empty.status_code == 400 and "Say why" in empty.text
    done = await client.post(
        f"/referrals/{made['id']}/withdraw", data={"csrf_token": token, "withdraw_reason": "Sent in error"}
    )
    assert done.status_code == 303
    assert (await Referral.get(id=made["id"])).status == "withdrawn"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["PATCH", "merge", "keep-apart", "withdraw"]),
    noise=st.dictionaries(
        st.sampled_from(["into", "reason", "summary", "victim", "incident_date", "children", "consent", "referrer"]),
        JSONISH,
        max_size=3,
    ),
)
async def test_no_body_of_the_new_routes_gets_a_server_error(client, personas, route, noise):
    made = (await post(client, personas["police"], dash_body())).json()
    url = f"/api/v1/referrals/{made['id']}"
    coordinator = personas["coordinator"].bearer
    if route == "PATCH":
        answer = await client.patch(url, json=noise, headers=coordinator)
    else:
        answer = await client.post(f"{url}/{route}", json=noise, headers=coordinator)
    assert answer.status_code in (200, 409, 422), answer.text


async def test_the_referrer_corrects_the_referral_on_its_form_filled_in(client, personas):
    from tests.conftest import csrf_token, session_cookie_for

    made = (await post(client, personas["police"], police_body(**{"incident_date": "2026-11-01"}))).json()
    client.cookies.update(await session_cookie_for(personas["police"]))
    page = await client.get(f"/referrals/{made['id']}/edit")
    assert page.status_code == 200 and "Correct the referral" in page.text
    assert 'value="Jane Doe"' in page.text and 'value="2026-11-01"' in page.text and 'value="dash-police"' in page.text
    token = await csrf_token(client, f"/referrals/{made['id']}/edit")
    # the page's own values sent back with one change: everything else stays as it was
    from marac.referrals import service
    from marac.web.pages.referrals import body_to_form

    referral = await service.get_visible(await _viewer(personas["police"]), made["id"])
    form = body_to_form(
        service.body_of(referral), referral.conference.type_settings["instrument_definitions"]["dash-police"]
    )
    data: dict[str, list[str]] = {"summary": ["Corrected."], "csrf_token": [token]}
    for key, value in form.multi_items():
        if key != "summary":
            data.setdefault(key, []).append(str(value))
    saved = await client.post(f"/referrals/{made['id']}/edit", data=data)
    assert saved.status_code == 303, saved.text
    after = await service.get_visible(await _viewer(personas["police"]), made["id"])
    assert after.summary == "Corrected." and after.risk["score"] == 15 and after.risk["instrument"] == "dash-police"
    assert [c.changed_fields for c in after.changes] == [["summary"]]


async def test_an_emptied_summary_or_received_date_on_the_correction_form_is_refused_not_kept(client, personas):
    from tests.conftest import csrf_token, session_cookie_for

    made = (await post(client, personas["police"], dash_body())).json()
    client.cookies.update(await session_cookie_for(personas["police"]))
    token = await csrf_token(client, f"/referrals/{made['id']}/edit")
    from marac.referrals import service
    from marac.web.pages.referrals import body_to_form

    referral = await service.get_visible(await _viewer(personas["police"]), made["id"])
    form = body_to_form(service.body_of(referral), referral.conference.type_settings["instrument_definitions"]["dash"])
    for emptied in ("summary", "received_at"):
        data: dict[str, list[str]] = {emptied: [""], "csrf_token": [token]}
        for key, value in form.multi_items():
            if key != emptied:
                data.setdefault(key, []).append(str(value))
        refused = await client.post(f"/referrals/{made['id']}/edit", data=data)
        assert refused.status_code == 400 and 'class="govuk-error-summary"' in refused.text, emptied
        assert f'href="#{emptied}"' in refused.text, emptied
    after = await service.get_visible(await _viewer(personas["police"]), made["id"])
    assert after.summary == referral.summary and after.received_at == referral.received_at and not after.changes


async def _viewer(persona):
    from marac.agencies.access import viewer_for

    return await viewer_for(persona.user)
