"""Malformed input is refused with a 4xx and a message, never a 500.

Each case below once answered 500: text that `str.isdigit()` takes and `int()` refuses
("²"), numbers past a database column or a date, values longer than a column, a quarter
past year 9999, JSON nested deeper than Python's stack, a slug with a trailing newline.
tests/test_page_fuzz.py searches every page route for more of the same kind.
"""

from __future__ import annotations

from datetime import date

import pytest

from marac.actions.models import Action
from marac.agencies.models import Conference, User
from marac.agencies.service import create_conference
from marac.errors import RuleViolation
from marac.referrals.models import Referral
from tests.conftest import CONFERENCE, csrf_token, make_client, session_cookie_for
from tests.test_api_schemathesis import seed

SUPERSCRIPT_TWO = "\u00b2"
HUGE = "9" * 30
LONG = "a" * 300


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# (name, persona (None: not signed in), method, path, what is sent)
TRIGGERS = [
    ("calendar feed, long token", None, "GET", f"/calendar/{LONG}.ics", {}),
    ("reports, long conference", "coordinator", "GET", f"/reports?conference={LONG}", {}),
    ("referrals, long conference", "coordinator", "GET", f"/referrals?conference={LONG}", {}),
    ("actions, long conference", "coordinator", "GET", f"/actions?conference={LONG}", {}),
    (
        "API meetings, superscript count",
        "coordinator",
        "GET",
        f"/api/v1/conferences/{CONFERENCE}/meetings?count={SUPERSCRIPT_TWO}",
        {},
    ),
    (
        "API minutes, superscript version",
        "auditor",
        "GET",
        "/api/v1/meetings/{held}/minutes.pdf?version=" + SUPERSCRIPT_TWO,
        {},
    ),
    (
        "minutes page, superscript version",
        "auditor",
        "GET",
        "/meetings/{held}/minutes.pdf?version=" + SUPERSCRIPT_TWO,
        {},
    ),
    ("minutes page, huge version", "auditor", "GET", "/meetings/{held}/minutes.pdf?version=" + HUGE, {}),
    (
        "API action, superscript If-Match",
        "coordinator",
        "PATCH",
        "/api/v1/actions/{action}",
        {"headers": {"If-Match": SUPERSCRIPT_TWO.encode("latin-1")}, "json": {"status": "in_progress"}},
    ),
    (
        "action page, superscript version",
        "coordinator",
        "POST",
        "/actions/{action}/update",
        {"form": {"version": SUPERSCRIPT_TWO, "status": "in_progress", "update": "x"}},
    ),
    (
        "action page, huge version",
        "coordinator",
        "POST",
        "/actions/{action}/update",
        {"form": {"version": HUGE, "status": "in_progress", "update": "x"}},
    ),
    (
        "report settings, superscript population",
        "coordinator",
        "POST",
        "/reports/settings",
        {"form": {"conference": CONFERENCE, "adult_female_population": SUPERSCRIPT_TWO, "repeat_rate_benchmark": "28"}},
    ),
    (
        "report settings, superscript benchmark",
        "coordinator",
        "POST",
        "/reports/settings",
        {
            "form": {
                "conference": CONFERENCE,
                "adult_female_population": "1000",
                "repeat_rate_benchmark": SUPERSCRIPT_TWO,
            }
        },
    ),
    (
        "admin report settings, superscript population",
        "admin",
        "POST",
        f"/admin/conferences/{CONFERENCE}/report-settings",
        {"form": {"adult_female_population": SUPERSCRIPT_TWO, "repeat_rate_benchmark": "28"}},
    ),
    ("reports page, quarter 9999Q4", "coordinator", "GET", "/reports?quarter=9999Q4", {}),
    (
        "API quarterly report, quarter 9999Q4",
        "coordinator",
        "GET",
        f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=9999Q4",
        {},
    ),
    (
        "API referral, JSON nested deeper than the stack",
        "police",
        "POST",
        "/api/v1/referrals",
        {"content": nested(100_000), "headers": {"Content-Type": "application/json"}},
    ),
    (
        "API referral, JSON nested a thousand deep",
        "police",
        "POST",
        "/api/v1/referrals",
        {"content": '{"victim": ' + nested(990) + "}", "headers": {"Content-Type": "application/json"}},
    ),
]


@pytest.mark.parametrize("name, who, method, path, sent", TRIGGERS, ids=[t[0] for t in TRIGGERS])
async def test_malformed_input_is_refused_with_a_4xx_not_a_500(app, personas, name, who, method, path, sent):
    world = await seed(personas)
    path = path.format(held=world["held"].id, action=world["actions"]["police"])
    cookies = await session_cookie_for(personas[who]) if who and not path.startswith("/api/") else {}
    before = await Conference.get(slug=CONFERENCE).values("adult_female_population", "repeat_rate_benchmark")
    versions = {a.id: a.version for a in await Action.all()}
    async with make_client(app) as client:
        client.cookies.update(cookies)
        headers = dict(sent.get("headers", {}))
        if who and path.startswith("/api/"):
            headers.update(personas[who].bearer)
        if "form" in sent:
            data = {**sent["form"], "csrf_token": await csrf_token(client, "/account")}
            answer = await client.request(method, path, data=data, headers=headers)
        else:
            answer = await client.request(
                method, path, headers=headers, json=sent.get("json"), content=sent.get("content")
            )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[:300])
    assert answer.headers["x-content-type-options"] == "nosniff"
    # Nothing changed.
    assert await Conference.get(slug=CONFERENCE).values("adult_female_population", "repeat_rate_benchmark") == before
    assert {a.id: a.version for a in await Action.all()} == versions


async def test_a_superscript_second_factor_code_is_a_wrong_code_not_a_500(app, personas):
    """compare_digest refuses non-ASCII text: a code of six "²" must be refused before it."""
    persona = personas["police"]
    async with make_client(app) as client:
        token = await csrf_token(client)
        form = {"email": persona.email, "password": persona.password, "csrf_token": token}
        first = await client.post("/login", data=form)
        assert first.status_code == 303
        token = await csrf_token(client, "/login/mfa")
        answer = await client.post("/login/mfa", data={"code": SUPERSCRIPT_TWO * 6, "csrf_token": token, "next": "/"})
        assert answer.status_code == 400, answer.text[:300]
        assert "session" not in "".join(answer.headers.get_list("set-cookie"))
    assert (await User.get(id=persona.user.id)).totp_last_step == persona.user.totp_last_step


@pytest.mark.parametrize("slug", ["newline\n", "newline\r\n", "tab\t", "\u0661\u0662\u0663"])
async def test_a_conference_slug_with_a_trailing_newline_or_other_characters_is_refused(app, personas, slug):
    """A `$` anchor with .match() took "newline\\n"; the CSV export then put it in a header."""
    async with make_client(app) as client:
        client.cookies.update(await session_cookie_for(personas["admin"]))
        answer = await client.post(
            "/admin/conferences",
            data={
                "name": "Newline MARAC",
                "slug": slug,
                "type": "domestic-abuse",
                "weekday": "tuesday",
                "start_time": "10:00",
                "first_date": "2026-01-06",
                "csrf_token": await csrf_token(client, "/account"),
            },
        )
    assert answer.status_code == 400
    assert "Use 3 to 64 lower-case letters" in answer.text
    assert not await Conference.filter(name="Newline MARAC").exists()
    with pytest.raises(RuleViolation) as refused:
        await create_conference(
            None,
            name="Newline MARAC",
            slug=slug,
            type="domestic-abuse",
            weekday="tuesday",
            start_time="10:00",
            first_date=date(2026, 1, 6),
            members=[],
        )
    assert "slug" in refused.value.fields


@pytest.mark.parametrize("depth", [40, 990, 100_000])
async def test_an_imported_json_file_nested_too_deep_is_refused_and_nothing_imported(app, personas, depth):
    content = '[{"victim": ' + nested(depth) + "}]"
    async with make_client(app) as client:
        client.cookies.update(await session_cookie_for(personas["coordinator"]))
        token = await csrf_token(client, "/referrals/import")
        answer = await client.post(
            "/referrals/import", data={"csrf_token": token}, files={"file": ("deep.json", content.encode())}
        )
    assert answer.status_code == 400, answer.text[:300]
    assert "nested more than 32 levels" in answer.text
    assert not await Referral.exists()
