"""Random JSON in the bodies of the routes that correct a referral (PATCH, withdraw, merge, keep apart)
and change a user's conferences (PATCH /api/v1/users/{id}): a clear 4xx or a success, never a 500.

Random top-level noise stops at the schema. To reach the rules behind it, most bodies here are valid
ones with one value somewhere inside replaced (a date in the victim's address, a DASH answer, a
conference's role), or a field dropped; the rest are noise. Each example is sent by someone the route
lets in (the referrer, the coordinator), so it gets past the door.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marac.agencies.models import CONFERENCE_ROLES, Conference
from tests.conftest import CONFERENCE, dash_body
from tests.test_conference_roles import HATE, hate_conference
from tests.test_referrals import JSONISH

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ODD = st.one_of(
    JSONISH,
    st.text(min_size=0, max_size=300),
    st.sampled_from(["2026-02-30", "9999-12-31", "0001-01-01", "\u0663", "x\x00", "9" * 40, "a" * 65, "", " "]),
    st.integers(min_value=-(2**70), max_value=2**70),
    # JSON has no NaN or infinity: the client could not send them (it raised before any request went).
    st.floats(allow_nan=False, allow_infinity=False),
)


def mutate(data: st.DataObject, value: Any) -> Any:
    """`value` with one value somewhere inside it replaced by an odd one, or a key dropped."""
    if isinstance(value, dict) and value and data.draw(st.integers(0, 3)):
        key = data.draw(st.sampled_from(sorted(value)))
        if data.draw(st.integers(0, 5)) == 0:
            return {k: v for k, v in value.items() if k != key}
        return {**value, key: mutate(data, value[key])}
    if isinstance(value, list) and value and data.draw(st.integers(0, 3)):
        index = data.draw(st.integers(0, len(value) - 1))
        return [*value[:index], mutate(data, value[index]), *value[index + 1 :]]
    return data.draw(ODD)


async def send(client, method: str, url: str, body: Any, headers: dict[str, str]):
    answer = await client.request(method, url, json=body, headers=headers)
    assert answer.status_code < 500, answer.text
    return answer


@SETTINGS
@given(data=st.data(), by=st.sampled_from(["police", "coordinator"]), noise=st.integers(0, 4))
async def test_no_correction_of_a_referral_gets_a_server_error(client, personas, data, by, noise):
    made = (await client.post("/api/v1/referrals", json=dash_body(), headers=personas["police"].bearer)).json()
    whole = {k: v for k, v in dash_body(incident_date="2026-11-01").items() if k != "conference"}
    fields = data.draw(st.lists(st.sampled_from(sorted(whole)), min_size=1, max_size=4, unique=True))
    body = data.draw(JSONISH) if noise == 0 else mutate(data, {k: whole[k] for k in fields})
    answer = await send(client, "PATCH", f"/api/v1/referrals/{made['id']}", body, personas[by].bearer)
    assert answer.status_code in (200, 409, 422), answer.text


@SETTINGS
@given(
    route=st.sampled_from(["withdraw", "merge", "keep-apart"]),
    body=st.one_of(
        JSONISH,
        st.fixed_dictionaries({}, optional={"reason": ODD, "into": ODD}),
        st.fixed_dictionaries({"into": st.sampled_from(["FIRST", "SELF", "0" * 32, "x" * 33])}),
    ),
)
async def test_no_withdrawal_merge_or_keeping_apart_gets_a_server_error(client, personas, route, body):
    first = (await client.post("/api/v1/referrals", json=dash_body(), headers=personas["police"].bearer)).json()
    second = (await client.post("/api/v1/referrals", json=dash_body(), headers=personas["idva"].bearer)).json()
    if isinstance(body, dict) and body.get("into") in ("FIRST", "SELF"):
        body = {**body, "into": first["id"] if body["into"] == "FIRST" else second["id"]}
    answer = await send(
        client, "POST", f"/api/v1/referrals/{second['id']}/{route}", body, personas["coordinator"].bearer
    )
    assert answer.status_code in (200, 409, 422), answer.text


SLUGS = st.sampled_from([CONFERENCE, HATE, "nowhere-da"])
CONFERENCE_ITEM = st.one_of(
    SLUGS,
    st.fixed_dictionaries(
        {"slug": st.one_of(SLUGS, ODD), "role": st.one_of(st.sampled_from([*CONFERENCE_ROLES, "admin"]), ODD)},
        optional={"extra": ODD},
    ),
    ODD,
)


@SETTINGS
@given(
    who=st.sampled_from(["police", "coordinator", "chair", "idva", "housing", "auditor", "admin"]),
    body=st.one_of(
        JSONISH,
        st.fixed_dictionaries(
            {"conferences": st.one_of(st.lists(CONFERENCE_ITEM, max_size=4), ODD)}, optional={"role": ODD}
        ),
    ),
)
async def test_no_change_of_a_users_conferences_gets_a_server_error(client, personas, who, body):
    if not await Conference.filter(slug=HATE).exists():  # once: the examples share the database
        await hate_conference(personas)
    answer = await send(client, "PATCH", f"/api/v1/users/{personas[who].user.id}", body, personas["admin"].bearer)
    assert answer.status_code in (200, 409, 422), answer.text
