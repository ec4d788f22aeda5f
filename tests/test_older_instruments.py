"""A conference created before its type listed several instruments holds one (`instrument` and its
`instrument_definition`, as frozen then) and still accepts the ones its type allows now: the police
DASH in a domestic-abuse conference created before dash-police existed."""

from __future__ import annotations

from copy import deepcopy

from marac.agencies.models import Conference
from marac.referrals.models import Referral
from tests.conftest import CONFERENCE, dash_body, session_cookie_for
from tests.test_referral_intake import police_body
from tests.test_referrals import post


def as_an_older_release_wrote_it(settings: dict) -> dict:
    """The type settings a release before several instruments froze into a conference: one
    instrument, its definition without thresholds or score range, and visible high risk as the
    type's own min_score; no instruments list, duplicate_days or case order."""
    old = deepcopy(settings)
    for key in ("instruments", "instrument_definitions", "duplicate_days", "case_order"):
        old.pop(key, None)
    old["instrument"] = "dash"
    definition = old["instrument_definition"]
    for key in ("thresholds", "score_range", "example"):
        definition.pop(key, None)
    for question in definition["questions"]:
        question.pop("group", None)
    old["criteria"]["visible_high_risk"] = {"min_score": 14}
    return old


async def older_conference() -> None:
    conference = await Conference.get(slug=CONFERENCE)
    await Conference.filter(id=conference.id).update(
        type_settings=as_an_older_release_wrote_it(conference.type_settings)
    )


async def test_an_older_conference_accepts_the_police_dash_its_type_now_allows(client, personas):
    await older_conference()
    police = await post(client, personas["police"], police_body(yes=14, received_at="2026-06-01"))
    assert police.status_code == 201, police.text
    stored = await Referral.get(id=police.json()["id"])
    assert stored.risk["instrument"] == "dash-police" and stored.criteria_met == ["visible_high_risk"]
    # below the police DASH's own threshold: no visible high risk
    someone_else = {**dash_body()["victim"], "name": "Beth Cole", "date_of_birth": "1981-02-02"}
    low = await post(client, personas["police"], police_body(yes=13, victim=someone_else))
    assert low.status_code == 422 and "criteria.0" in low.json()["error"]["fields"], low.text
    # the instrument it was created with still counts as it did (its stored min_score)
    partner = await post(client, personas["police"], dash_body(yes=14))
    assert partner.status_code == 201, partner.text
    # and what the conference holds is left as it was
    held = (await Conference.get(slug=CONFERENCE)).type_settings
    assert "instrument_definitions" not in held and held["criteria"]["visible_high_risk"] == {"min_score": 14}


async def test_the_older_conferences_form_offers_the_police_dash(client, personas):
    await older_conference()
    client.cookies.update(await session_cookie_for(personas["police"]))
    partner = await client.get(f"/referrals/new?conference={CONFERENCE}")
    assert partner.status_code == 200 and "instrument=dash-police" in partner.text
    police = await client.get(f"/referrals/new?conference={CONFERENCE}&instrument=dash-police")
    assert 'value="dash-police"' in police.text and "Children/dependants" in police.text
    made = (await post(client, personas["police"], police_body())).json()
    assert (await client.get(f"/referrals/{made['id']}")).status_code == 200
