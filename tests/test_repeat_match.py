"""Repeats follow the type's repeat.match (agendas/README.md): the same victim, perpetrator or
location (a hate crime hotspot), or several; the duplicates rule asks for the same victim and the
same of whatever repeat.match names. Locations are a postcode or a place the coordinator names,
kept sealed and matched by a keyed digest that names no address."""

from __future__ import annotations

import dataclasses
import logging
import os
from datetime import date
from itertools import combinations

import hypothesis
import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from tortoise import connections

from marac import settings
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.referrals.models import MatchSuggestion, NamedPlace, Referral
from tests.conftest import csrf_token, dash_body, make_client, session_cookie_for
from tests.test_key_versions import b64
from tests.test_migrations_and_cli import cli
from tests.test_referrals import HATE, JSONISH, hate_body, hate_conference, post

# Every value repeat.match may take (the loader accepts any non-empty set of these).
MATCHES = [list(c) for n in (1, 2, 3) for c in combinations(("victim", "perpetrator", "location"), n)]
SAME = {
    "victim": {
        "name": "Samir Patel",
        "date_of_birth": "1970-01-20",
        "address": {"line1": "2 Mill Lane", "postcode": "NS2 2BB"},
    },
    "perpetrator": {"name": "Gary Blunt", "date_of_birth": "1980-02-02"},
    "location": {"postcode": "NS1 4QT"},
}
OTHER = {
    "victim": {
        "name": "Olu Adeyemi",
        "date_of_birth": "1988-08-08",
        "address": {"line1": "9 Dock Road", "postcode": "NS7 7TT"},
    },
    "perpetrator": {"name": "Tom Reeve", "date_of_birth": "1975-05-05"},
    "location": {"postcode": "NS9 9ZZ"},
}


async def matching_on(match: list[str]) -> None:
    """The hate crime conference as created from a type file whose repeat.match is `match`: written
    into its frozen settings, since the shipped type files say ["victim"]."""
    conference = await Conference.get(slug=HATE)
    conference.type_settings = {
        **conference.type_settings,
        "repeat": {**conference.type_settings["repeat"], "match": match},
    }
    await conference.save()


def body(match: list[str], other: str | None = None, received: str = "2026-11-02", incident: str | None = None) -> dict:
    """A hate crime referral about the SAME victim, perpetrator and location, but `other`; the location
    only where the type matches on it (elsewhere it is refused)."""
    pick = {key: (OTHER if key == other else SAME)[key] for key in SAME}
    made = hate_body(
        received_at=received,
        victim=dict(pick["victim"]),
        perpetrators=[dict(pick["perpetrator"])],
    )
    if incident:
        made["incident_date"] = incident
    if "location" in match:
        made["incident_location"] = dict(pick["location"])
    return made


async def refer(client, personas, made: dict) -> dict:
    answer = await post(client, personas["police"], made)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def withdraw(client, personas, referral_id: str) -> None:
    """Out of the pool, so the next variant is compared with the first referral alone."""
    url = f"/api/v1/referrals/{referral_id}/withdraw"
    answer = await client.post(url, json={"reason": "Test variant"}, headers=personas["police"].bearer)
    assert answer.status_code == 200, answer.text


def repeat_of(referral_id: str | None) -> dict:
    return {"is_repeat": referral_id is not None, "previous_referral_id": referral_id}


@pytest.mark.parametrize("match", MATCHES, ids=["+".join(m) for m in MATCHES])
async def test_a_repeat_is_the_same_of_everything_repeat_match_names_within_the_window(client, personas, match):
    await hate_conference(personas)
    await matching_on(match)
    first = await refer(client, personas, body(match, received="2026-06-01"))
    for other in (None, "victim", "perpetrator", "location"):
        later = await refer(client, personas, body(match, other))
        # a different value of anything repeat.match names is no repeat; of anything else, still one
        expected = first["id"] if other not in match else None
        assert later["repeat"] == repeat_of(expected), (other, later)
        assert later["possible_duplicate_of"] is None
        await withdraw(client, personas, later["id"])
    # Outside the window of the last referral: a new case. On its last day: a repeat.
    await withdraw(client, personas, first["id"])
    old = await refer(client, personas, body(match, received="2025-09-01"))
    late = await refer(client, personas, body(match))
    assert late["repeat"] == repeat_of(None)
    await withdraw(client, personas, late["id"])
    edge = await refer(client, personas, body(match, received="2025-11-02"))
    assert edge["repeat"] == repeat_of(old["id"])
    assert (await refer(client, personas, body(match)))["repeat"] == repeat_of(edge["id"])


@pytest.mark.parametrize("match", MATCHES, ids=["+".join(m) for m in MATCHES])
async def test_a_duplicate_is_the_same_victim_and_the_same_of_what_repeat_match_names(client, personas, match):
    """Two agencies referring one incident: the same victim (and the same perpetrator and place where
    repeat.match names them) within duplicate_days (7) of a referral not yet heard."""
    await hate_conference(personas)
    await matching_on(match)
    first = await refer(client, personas, body(match, incident="2026-10-30"))
    for other in (None, "perpetrator", "location"):
        again = await refer(client, personas, body(match, other, received="2026-11-03", incident="2026-11-01"))
        if other in match:  # another incident: not the same of what repeat.match names, so no repeat either
            assert (again["possible_duplicate_of"], again["repeat"]) == (None, repeat_of(None)), (other, again)
        else:
            assert (again["possible_duplicate_of"], again["repeat"]) == (first["id"], repeat_of(None)), (other, again)
        await withdraw(client, personas, again["id"])
    # Another victim is never a duplicate (a repeat where the victim is not matched on).
    # (Its incident comes after the first referral was received, as a repeat's must.)
    someone_else = await refer(client, personas, body(match, "victim", received="2026-11-03", incident="2026-11-03"))
    assert someone_else["possible_duplicate_of"] is None
    assert someone_else["repeat"] == repeat_of(None if "victim" in match else first["id"])
    await withdraw(client, personas, someone_else["id"])
    # Beyond duplicate_days: a further incident, so a repeat.
    later = await refer(client, personas, body(match, received="2026-11-09", incident="2026-11-07"))
    assert (later["possible_duplicate_of"], later["repeat"]) == (None, repeat_of(first["id"]))


async def test_a_perpetrator_linked_later_makes_the_repeat(client, personas):
    """With ["perpetrator"], the coordinator linking two spellings of a perpetrator re-checks the
    referrals naming them: another victim of the same perpetrator is then a repeat."""
    await hate_conference(personas)
    await matching_on(["perpetrator"])
    first = await refer(client, personas, body(["perpetrator"], received="2026-06-01"))
    variant = body(["perpetrator"], "victim")
    variant["perpetrators"] = [{"name": "G. Blunt", "date_of_birth": "1980-02-02"}]  # an initial: never linked alone
    later = await refer(client, personas, variant)
    assert later["repeat"] == repeat_of(None)
    suggestion = await MatchSuggestion.get(status="pending")
    async with make_client(client._transport.app) as browser:  # type: ignore[attr-defined]
        browser.cookies.update(await session_cookie_for(personas["coordinator"]))
        token = await csrf_token(browser, "/matches")
        done = await browser.post(
            f"/matches/{suggestion.id}", data={"decision": "same", "confirmed": "yes", "csrf_token": token}
        )
        assert done.status_code == 303
    stored = await Referral.get(id=later["id"])
    assert (stored.is_repeat, stored.previous_referral_id) == (True, first["id"])


# ---- locations -----------------------------------------------------------------------------------


async def name_place(client, personas, name: str) -> dict:
    answer = await client.post(
        f"/api/v1/conferences/{HATE}/places", json={"name": name}, headers=personas["coordinator"].bearer
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_named_place_is_matched_by_its_id_or_name_and_stays_on_referrals_once_retired(client, personas):
    await hate_conference(personas)
    await matching_on(["location"])
    square = await name_place(client, personas, "  Market   Square ")
    assert square["name"] == "Market Square"
    again = await client.post(
        f"/api/v1/conferences/{HATE}/places", json={"name": "market square"}, headers=personas["coordinator"].bearer
    )
    assert again.status_code == 422 and "name" in again.json()["error"]["fields"]
    listed = await client.get(f"/api/v1/conferences/{HATE}/places", headers=personas["police"].bearer)
    assert listed.json() == {"items": [square]}
    # only the coordinator names places
    refused = await client.post(
        f"/api/v1/conferences/{HATE}/places", json={"name": "Park"}, headers=personas["police"].bearer
    )
    assert refused.status_code == 403

    first = hate_body(received_at="2026-06-01", incident_location={"place": "market square"})
    first = await refer(client, personas, first)
    other_victim = body(["location"], "victim")
    other_victim["incident_location"] = {"place": square["id"]}
    later = await refer(client, personas, other_victim)
    assert later["repeat"] == repeat_of(first["id"])  # another victim, the same hotspot
    elsewhere = body(["location"], "victim")  # a postcode: not the named place
    assert (await refer(client, personas, elsewhere))["repeat"] == repeat_of(None)

    seen = await client.get(f"/api/v1/referrals/{first['id']}", headers=personas["police"].bearer)
    assert seen.json()["incident_location"] == {"place": {"id": square["id"], "name": "Market Square"}}

    gone = await client.delete(
        f"/api/v1/conferences/{HATE}/places/{square['id']}", headers=personas["coordinator"].bearer
    )
    assert gone.status_code == 204
    assert (await client.get(f"/api/v1/conferences/{HATE}/places", headers=personas["police"].bearer)).json() == {
        "items": []
    }
    by_name = await post(client, personas["police"], hate_body(incident_location={"place": "Market Square"}))
    assert by_name.status_code == 422 and "incident_location.place" in by_name.json()["error"]["fields"]
    # the referral that named it keeps it, is corrected with it, and still counts for repeats
    patched = await client.patch(
        f"/api/v1/referrals/{first['id']}", json={"summary": "Corrected account."}, headers=personas["police"].bearer
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["incident_location"]["place"]["name"] == "Market Square"
    assert await AuditEvent.filter(action="named_place.retire", object_id=square["id"]).exists()


async def test_bad_locations_are_named_and_change_nothing(client, personas):
    await hate_conference(personas)
    await matching_on(["victim", "location"])
    cases = [
        (hate_body(incident_location={"postcode": "NS1 4QT", "place": "Market Square"}), "incident_location"),
        (hate_body(incident_location={}), "incident_location"),
        (hate_body(incident_location={"place": "Nowhere"}), "incident_location.place"),
        (hate_body(incident_location={"postcode": "not a postcode"}), "incident_location.postcode"),
        # a type that does not match on location takes none
        (dash_body(incident_location={"postcode": "NS1 4QT"}), "incident_location"),
    ]
    for made, field in cases:
        answer = await post(client, personas["police"], made)
        assert answer.status_code == 422 and field in answer.json()["error"]["fields"], (made, answer.text)
    assert await Referral.all().count() == 0


async def test_the_location_key_names_no_address_and_lists_do_not_carry_the_location(client, personas, caplog):
    caplog.set_level(logging.DEBUG)
    await hate_conference(personas)
    await matching_on(["location"])
    made = await refer(client, personas, body(["location"]))
    conn = connections.get("default")
    _, rows = await conn.execute_query('SELECT "incident_location", "location_key" FROM "referral"')
    raw = " ".join(str(value) for row in rows for value in dict(row).values())
    assert "NS1" not in raw and "4QT" not in raw  # sealed, and a keyed digest
    listed = await client.get("/api/v1/referrals", headers=personas["police"].bearer)
    assert "NS1 4QT" not in listed.text and made["id"] in listed.text
    assert "NS1" not in str(await AuditEvent.all().values())
    assert "NS1" not in caplog.text and "4QT" not in caplog.text
    # a monitoring-only report keeps no key: it is never matched
    monitoring = body(["location"])
    monitoring["consent"] = {"victim_aware": False, "consented": False, "monitoring_only": True}
    kept = await refer(client, personas, monitoring)
    stored = await Referral.get(id=kept["id"])
    assert stored.location_key is None and kept["repeat"] == repeat_of(None)


async def test_the_form_and_the_csv_take_the_location_where_the_type_matches_on_it(client, personas):
    await hate_conference(personas)
    await matching_on(["location"])
    square = await name_place(client, personas, "Market Square")
    client.cookies.update(await session_cookie_for(personas["police"]))
    form = await client.get(f"/referrals/new?conference={HATE}")
    assert 'name="incident_location.postcode"' in form.text and "Market Square" in form.text
    da_form = await client.get("/referrals/new?conference=northshire-da")
    assert "incident_location" not in da_form.text
    token = await csrf_token(client, f"/referrals/new?conference={HATE}")
    data = {
        "csrf_token": token,
        "received_at": "02/11/2026",
        "criteria": "visible_high_risk",
        "risk.instrument": "hate-crime",
        "risk.level": "high",
        "victim.name": "Samir Patel",
        "strands": "race",
        "incident_kind": "crime",
        "summary": "Abuse at the market.",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
        "incident_location.place": square["id"],
    }
    done = await client.post(f"/referrals/new?conference={HATE}", data=data)
    assert done.status_code == 303, done.text
    stored = await Referral.filter().order_by("-created_at").first()
    assert stored is not None and stored.incident_location == {"place": square["id"], "name": "Market Square"}
    assert "Market Square" in (await client.get(done.headers["location"])).text
    both = await client.post(
        f"/referrals/new?conference={HATE}", data={**data, "incident_location.postcode": "NS1 4QT"}
    )
    assert both.status_code == 400 and 'href="#incident_location"' in both.text

    header = "conference,received_at,criteria,risk_instrument,risk_level,victim_name,strands,incident_kind,summary,"
    header += "consent_victim_aware,consent_consented,incident_postcode,incident_place\n"
    rows = f"{HATE},2026-11-02,visible_high_risk,hate-crime,high,Ann Lee,race,crime,Abuse,true,true,,Market Square\n"
    rows += f"{HATE},2026-11-02,visible_high_risk,hate-crime,high,Bo Chan,race,crime,Abuse,true,true,NS1 4QT,\n"
    token = await csrf_token(client, "/referrals/import")
    imported = await client.post(
        "/referrals/import",
        data={"csrf_token": token},
        files={"file": ("rows.csv", (header + rows).encode(), "text/csv")},
    )
    assert imported.status_code == 200 and "2 referrals imported" in imported.text, imported.text
    bo = [r for r in await Referral.all().prefetch_related("people") if r.people and r.people[0].name == "Bo Chan"]
    ann = [r for r in await Referral.all().prefetch_related("people") if r.people and r.people[0].name == "Ann Lee"]
    assert bo[0].incident_location == {"postcode": "NS1 4QT"}
    assert ann[0].is_repeat and ann[0].previous_referral_id == stored.id  # the same named place


async def test_the_coordinator_names_and_retires_places_on_a_page(client, personas):
    await hate_conference(personas)
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/conferences/{HATE}/places")
    assert page.status_code == 200 and "No place is named yet" in page.text
    token = await csrf_token(client, f"/conferences/{HATE}/places")
    blank = await client.post(f"/conferences/{HATE}/places", data={"csrf_token": token, "name": " "})
    assert blank.status_code == 400 and "Name the place" in blank.text
    added = await client.post(f"/conferences/{HATE}/places", data={"csrf_token": token, "name": "Bus Station"})
    assert added.status_code == 303
    place = await NamedPlace.get(name="Bus Station")
    assert "Bus Station" in (await client.get(added.headers["location"])).text
    retired = await client.post(f"/conferences/{HATE}/places/{place.id}/retire", data={"csrf_token": token})
    assert retired.status_code == 303 and (await NamedPlace.get(id=place.id)).retired_at is not None
    assert "No place is named yet" in (await client.get(f"/conferences/{HATE}/places")).text


async def test_after_key_rotation_a_repeat_by_location_is_found_with_the_new_key_alone(client, personas):
    """`marac keys rotate` recomputes the location keys, like the person index's: once the old data
    key is gone from the list, a later referral about the same place still finds the earlier one."""
    await hate_conference(personas)
    await matching_on(["location"])
    first = await refer(client, personas, body(["location"], received="2026-06-01"))
    real = settings.get()
    (old_version, old_key), new_key = real.current_data_key, os.urandom(32)
    env = {"MARAC_DATA_KEYS": f"{old_version}:{b64(old_key)},{old_version + 1}:{b64(new_key)}"}
    code, out = await cli("keys", "rotate", env=env)
    assert code == 0 and "Recomputed the location keys of 1 referral under" in out, out
    code, out = await cli("keys", "rotate", env=env)
    assert code == 0 and "Recomputed the location keys of 0 referrals" in out, out  # safe to repeat
    settings.override(dataclasses.replace(real, data_keys={old_version + 1: new_key}))
    try:
        later = await refer(client, personas, body(["location"], "victim"))
        assert later["repeat"] == repeat_of(first["id"])
    finally:
        settings.override(real)


async def test_break_glass_hides_where_it_happened_unless_contact_is_approved(client, personas):
    """An incident postcode may be the victim's home: masked like the address (a named place is not)."""
    from marac.agencies.access import MASKED, mask_for_break_glass
    from marac.referrals.models import BreakGlass

    await hate_conference(personas)
    await matching_on(["location"])
    made = await refer(client, personas, body(["location"]))
    referral = await Referral.filter(id=made["id"]).prefetch_related("people").first()
    mask_for_break_glass(referral, BreakGlass(contact_approved_at=None))
    assert referral.incident_location == {"postcode": MASKED}


@hypothesis.settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    location=st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {}, optional={"postcode": JSONISH | st.just("NS1 4QT"), "place": JSONISH | st.just("Market Square")}
        ),
    ),
    place=JSONISH,
)
async def test_no_location_or_place_body_gets_a_server_error(client, personas, location, place):
    if not await Conference.exists(slug=HATE):
        await hate_conference(personas)
        await matching_on(["location"])
    answer = await post(client, personas["police"], hate_body(incident_location=location))
    assert answer.status_code in (201, 422), answer.text
    named = await client.post(
        f"/api/v1/conferences/{HATE}/places", json={"name": place}, headers=personas["coordinator"].bearer
    )
    assert named.status_code in (201, 422), named.text


async def test_retention_erases_where_it_happened_and_its_key(client, personas):
    from marac.governance import retention

    await hate_conference(personas)
    await matching_on(["location"])
    made = await refer(client, personas, body(["location"], received="2026-06-01"))
    await retention.run(date(2032, 6, 5))  # six years after the last referral: listed
    await retention.run(date(2032, 6, 12))  # a week on: anonymised
    stored = await Referral.get(id=made["id"])
    assert stored.anonymised_at is not None
    assert (stored.incident_location, stored.location_key, stored.location_key_version) == (None, None, None)
