"""Who sees what, conference by conference: a user's role in each conference (chair of one, a member
in another, a deputy chair), the agency that receives a conference's referrals, and the list of
referrals a caller may see (docs/security.md#access). The route inventory and the entitlement model
cover the same rules route by route and over random histories."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from marac.agencies import auth
from marac.agencies import service as directory
from marac.agencies.models import Conference, ConferenceRole, User
from marac.audit.models import AuditEvent
from marac.web import api_referrals, csrf
from tests import builders
from tests.conftest import (
    CONFERENCE,
    PG_ADMIN_URL,
    make_client,
    make_referral,
    run_check_script,
    scratch_postgres,
    session_cookie_for,
)
from tests.test_referrals import hate_body

HATE = "northshire-hc"


async def hate_conference(personas, receiving: str | None = None) -> Conference:
    """A hate crime conference where police and the IDVA service are members (`receiving`: the one
    that receives its referrals) and the coordinator is given it too."""
    members = [
        directory.MemberSpec(personas[p].user.agency_id, "full", receives_referrals=p == receiving)
        for p in ("police", "idva")
    ]
    conference = await directory.create_conference(
        None,
        name="Northshire HC MARAC",
        slug=HATE,
        type="hate-crime",
        weekday="thursday",
        start_time="14:00",
        first_date=date(2026, 1, 8),
        members=members,
    )
    for key in ("police", "idva", "coordinator"):
        await personas[key].user.conferences.add(conference)
    return conference


async def add_user(client, personas, **body) -> object:
    sent = {"email": "dual@test.example.org", "name": "Dual", "role": "member", **body}
    return await client.post("/api/v1/users", json=sent, headers=personas["admin"].bearer)


async def bearer(user_id: str) -> dict[str, str]:
    _, raw = await auth.create_token(await User.get(id=user_id), "tests")
    return {"Authorization": f"Bearer {raw}"}


async def receives(personas, key: str, conference: str = CONFERENCE, on: bool = True) -> None:
    await directory.set_membership(
        None,
        await Conference.get(slug=conference),
        directory.MemberSpec(personas[key].user.agency_id, "full", receives_referrals=on),
    )


# --- roles per conference ---------------------------------------------------------------------------


async def test_a_user_may_chair_one_conference_and_sit_in_another_as_a_member(client, personas):
    # A detective inspector: chair of the hate crime MARAC, the police representative at the domestic-abuse one.
    await hate_conference(personas)
    made = await add_user(
        client,
        personas,
        agency_id=personas["police"].user.agency_id,
        conferences=[CONFERENCE, {"slug": HATE, "role": "chair"}],
    )
    assert made.status_code == 201, made.text
    assert made.json()["role"] == "member"
    assert made.json()["conferences"] == [CONFERENCE, {"slug": HATE, "role": "chair"}]
    dual = await bearer(made.json()["id"])

    domestic = await make_referral(personas["health"])
    hate = await make_referral(personas["idva"], hate_body(criteria=["visible_high_risk"]))
    # A member in the domestic-abuse conference: neither another agency's referral nor the agenda.
    assert (await client.get(f"/api/v1/referrals/{domestic.id}", headers=dual)).status_code == 404
    assert (
        await client.get(f"/api/v1/meetings/{domestic.expected_meeting_id}/agenda", headers=dual)
    ).status_code == 404
    # The chair of the hate crime conference: every referral, and the agenda.
    assert (await client.get(f"/api/v1/referrals/{hate.id}", headers=dual)).status_code == 200
    assert (await client.get(f"/api/v1/meetings/{hate.expected_meeting_id}/agenda", headers=dual)).status_code == 200
    listed = await client.get("/api/v1/referrals", headers=dual)
    assert [r["id"] for r in listed.json()["items"]] == [hate.id]
    # Approving minutes is a chair's act: as a member of the domestic-abuse conference, refused.
    approve = await client.post(
        f"/api/v1/meetings/{domestic.expected_meeting_id}/minutes/approve", json={}, headers=dual
    )
    assert approve.status_code in (403, 404)
    # Audited with the role held in each conference.
    events = await AuditEvent.filter(object_id=made.json()["id"], action__startswith="user.role.").values_list(
        "action", "conference_id"
    )
    by_conference = {c.slug: c.id for c in await Conference.all()}
    assert sorted(events) == sorted(
        [("user.role.member", by_conference[CONFERENCE]), ("user.role.chair", by_conference[HATE])]
    )


async def test_a_deputy_chair_may_do_what_the_chair_does(client, personas):
    made = await add_user(
        client,
        personas,
        agency_id=personas["police"].user.agency_id,
        conferences=[{"slug": CONFERENCE, "role": "deputy_chair"}],
    )
    assert made.status_code == 201, made.text
    deputy = await bearer(made.json()["id"])
    world = await builders.held_meeting(personas)
    referral = world.referral
    assert (await client.get(f"/api/v1/referrals/{referral.id}", headers=deputy)).status_code == 200
    assert (await client.get(f"/api/v1/meetings/{world.meeting.id}/agenda", headers=deputy)).status_code == 200
    report = await client.get(f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=2026Q4", headers=deputy)
    assert report.status_code == 200, report.text
    approved = await client.post(f"/api/v1/meetings/{world.meeting.id}/minutes/approve", json={}, headers=deputy)
    assert approved.status_code == 200, approved.text
    # Not the coordinator's work, though: triage stays theirs.
    late = await make_referral(personas["health"], builders.other_victim(1))
    decided = await client.post(f"/api/v1/referrals/{late.id}/decision", json={"decision": "accept"}, headers=deputy)
    assert decided.status_code == 403


@pytest.mark.parametrize(
    "role,conferences,field",
    [
        ("admin", [{"slug": CONFERENCE, "role": "chair"}], "conferences.0.role"),  # the admin never handles cases
        ("auditor", [{"slug": CONFERENCE, "role": "member"}], "conferences.0.role"),
        ("member", [{"slug": CONFERENCE, "role": "boss"}], "conferences.0"),
        ("member", [{"slug": CONFERENCE}], "conferences.0"),
        ("member", [{"slug": CONFERENCE, "role": "chair", "extra": 1}], "conferences.0"),
        ("chair", [{"slug": "nowhere-da", "role": "member"}], "conferences"),
    ],
)
async def test_a_bad_conference_role_is_refused_naming_the_field_and_adds_nobody(
    client, personas, role, conferences, field
):
    before = await User.all().count()
    answer = await add_user(
        client, personas, agency_id=personas["police"].user.agency_id, role=role, conferences=conferences
    )
    assert answer.status_code == 422, answer.text
    assert any(name.startswith(field) for name in answer.json()["error"]["fields"]), answer.json()
    assert await User.all().count() == before and await ConferenceRole.all().count() == 0


async def test_a_member_role_in_a_conference_needs_the_agency_to_be_a_member_there(client, personas):
    # Housing is no member of the conference: its staff cannot sit in it, whatever their own role.
    answer = await add_user(
        client,
        personas,
        agency_id=personas["housing"].user.agency_id,
        role="chair",
        conferences=[{"slug": CONFERENCE, "role": "member"}],
    )
    assert answer.status_code == 422 and "conferences" in answer.json()["error"]["fields"], answer.text


async def test_the_admin_page_gives_a_role_per_conference(app, personas):
    await hate_conference(personas)
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["admin"]))
        session, _ = await auth.session_user(browser.cookies[csrf.SESSION])
        await auth.mark_stepped_up(session)
        page = await browser.get("/admin/users")
        assert 'name="role.northshire-hc"' in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        sent = await browser.post(
            "/admin/users",
            data={
                "csrf_token": token,
                "email": "deputy@test.example.org",
                "name": "Deputy",
                "agency_id": personas["police"].user.agency_id,
                "role": "member",
                "conferences": [CONFERENCE, HATE],
                f"role.{HATE}": "deputy_chair",
            },
        )
        assert sent.status_code == 200, sent.text
        assert f"{HATE} (Deputy chair)" in sent.text
    user = await User.get(email="deputy@test.example.org")
    roles = await ConferenceRole.filter(user=user).values_list("conference__slug", "role")
    assert roles == [(HATE, "deputy_chair")]  # the domestic-abuse conference: their own role, no row


MIGRATION_CHECK = Path(__file__).with_name("roles_migration_check.py")
UNCHANGED = {
    "chair": {"role_there": "chair", "same_by_token": True, "reads_every_referral": True, "receives": False},
    "coordinator": {
        "role_there": "coordinator",
        "same_by_token": True,
        "reads_every_referral": True,
        "receives": False,
    },
    "member": {"role_there": "member", "same_by_token": True, "reads_every_referral": False, "receives": False},
    "outsider": {"role_there": None, "same_by_token": True, "reads_every_referral": False, "receives": False},
}


async def test_the_migration_carries_todays_users_over_unchanged_on_sqlite(tmp_path):
    assert await run_check_script(MIGRATION_CHECK, f"sqlite://{tmp_path}/old.sqlite3") == UNCHANGED


@pytest.mark.skipif(not PG_ADMIN_URL, reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
async def test_the_migration_carries_todays_users_over_unchanged_on_postgresql():
    async with scratch_postgres("marac_roles") as url:
        assert await run_check_script(MIGRATION_CHECK, url) == UNCHANGED


# --- receiving agencies ------------------------------------------------------------------------------


async def test_the_receiving_agency_reads_every_referral_in_full_as_it_arrives_and_each_read_is_audited(
    client, personas
):
    await receives(personas, "idva")
    referral = await make_referral(personas["police"])  # just arrived: not triaged
    assert referral.status == "received"
    for persona, status in [
        ("police", 200),  # the referrer
        ("idva", 200),  # the receiving agency
        ("coordinator", 200),
        ("chair", 200),
        ("health", 404),
        ("childrens", 404),
        ("housing", 404),
        ("admin", 404),
        ("auditor", 404),
    ]:
        answer = await client.get(f"/api/v1/referrals/{referral.id}", headers=personas[persona].bearer)
        assert answer.status_code == status, persona
    read = (await client.get(f"/api/v1/referrals/{referral.id}", headers=personas["idva"].bearer)).json()
    assert read["victim"]["safe_contact"]["phone"] == "07700 900123"  # in full: to reach the victim first
    assert read["victim"]["address"]["line1"] == "1 High Street"
    reads = await AuditEvent.filter(
        action="referral.read", object_id=referral.id, user_id=personas["idva"].user.id
    ).count()
    assert reads == 2


async def test_the_receiving_agency_sees_the_referrals_page_entries_and_the_referral_page(app, personas):
    await receives(personas, "idva")
    referral = await make_referral(personas["police"])
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["idva"]))
        listed = await browser.get(f"/referrals?conference={CONFERENCE}&status=received")
        assert listed.status_code == 200 and f'href="/referrals/{referral.id}"' in listed.text
        assert "Jane Doe" not in listed.text  # the list names nobody; the referral page does
        assert f'href="/referrals/{referral.id}"' not in (await browser.get("/referrals?status=heard")).text
        page = await browser.get(f"/referrals/{referral.id}")
        assert page.status_code == 200 and "07700 900123" in page.text
        assert (await browser.get("/referrals?status=bogus")).status_code == 400
        assert (await browser.get("/referrals?conference=elsewhere-da")).status_code == 404


async def test_receiving_ends_when_the_flag_or_the_membership_goes(client, personas):
    await receives(personas, "idva")
    referral = await make_referral(personas["police"])
    url, idva = f"/api/v1/referrals/{referral.id}", personas["idva"].bearer
    assert (await client.get(url, headers=idva)).status_code == 200
    await receives(personas, "idva", on=False)
    assert (await client.get(url, headers=idva)).status_code == 404
    await receives(personas, "idva")
    await directory.remove_membership(None, await Conference.get(slug=CONFERENCE), personas["idva"].user.agency_id)
    assert (await client.get(url, headers=idva)).status_code == 404


async def test_receiving_one_conference_opens_no_other_and_no_monitoring_only_report(client, personas):
    await hate_conference(personas, receiving="idva")
    domestic = await make_referral(personas["police"])
    monitoring = await make_referral(
        personas["police"], hate_body(consent={"victim_aware": True, "consented": False, "monitoring_only": True})
    )
    shared = await make_referral(personas["police"], hate_body(criteria=["visible_high_risk"]))
    idva = personas["idva"].bearer
    assert monitoring.monitoring_only
    assert (await client.get(f"/api/v1/referrals/{shared.id}", headers=idva)).status_code == 200
    assert (await client.get(f"/api/v1/referrals/{monitoring.id}", headers=idva)).status_code == 404
    assert (await client.get(f"/api/v1/referrals/{domestic.id}", headers=idva)).status_code == 404


async def test_the_conference_api_and_admin_page_say_which_agency_receives(app, client, personas):
    await receives(personas, "idva")
    members = (await client.get(f"/api/v1/conferences/{CONFERENCE}", headers=personas["police"].bearer)).json()
    flags = {m["agency_id"]: m["receives_referrals"] for m in members["members"]}
    assert flags[personas["idva"].user.agency_id] is True and flags[personas["police"].user.agency_id] is False
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["admin"]))
        session, _ = await auth.session_user(browser.cookies[csrf.SESSION])
        await auth.mark_stepped_up(session)
        page = await browser.get(f"/admin/conferences/{CONFERENCE}")
        assert "Receives every referral" in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        health = personas["health"].user.agency_id
        sent = await browser.post(
            f"/admin/conferences/{CONFERENCE}/members",
            data={"csrf_token": token, "agency_id": health, "tier": "full", "receives_referrals": "yes"},
        )
        assert sent.status_code == 303, sent.text
    referral = await make_referral(personas["police"])
    assert (await client.get(f"/api/v1/referrals/{referral.id}", headers=personas["health"].bearer)).status_code == 200


async def test_a_new_conference_may_name_its_receiving_agency(client, personas):
    answer = await client.post(
        "/api/v1/conferences",
        headers=personas["admin"].bearer,
        json={
            "name": "Eastshire DA MARAC",
            "slug": "eastshire-da",
            "type": "domestic-abuse",
            "weekday": "tuesday",
            "start_time": "10:00",
            "first_date": "2026-01-06",
            "members": [{"agency_id": personas["idva"].user.agency_id, "tier": "full", "receives_referrals": True}],
        },
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["members"][0]["receives_referrals"] is True


# --- the list ----------------------------------------------------------------------------------------


async def test_the_list_holds_what_each_caller_may_see_and_no_personal_data(client, personas):
    await receives(personas, "idva")
    police = [await make_referral(personas["police"], builders.other_victim(n)) for n in (1, 2)]
    health = await make_referral(personas["health"])

    async def listed(persona: str, query: str = "") -> set[str]:
        answer = await client.get(f"/api/v1/referrals{query}", headers=personas[persona].bearer)
        assert answer.status_code == 200, answer.text
        assert "Jane Doe" not in answer.text and "07700" not in answer.text
        return {item["id"] for item in answer.json()["items"]}

    everything = {r.id for r in [*police, health]}
    assert await listed("coordinator") == everything
    assert await listed("chair") == everything
    assert await listed("idva") == everything  # the receiving agency
    assert await listed("police") == {r.id for r in police}
    assert await listed("health") == {health.id}
    assert await listed("childrens") == set() and await listed("housing") == set()
    for persona in ("admin", "auditor"):
        answer = await client.get("/api/v1/referrals", headers=personas[persona].bearer)
        assert answer.status_code == 403
    assert await listed("coordinator", "?status=accepted") == set()
    assert await listed("coordinator", f"?status=received&conference={CONFERENCE}") == everything
    item = (await client.get("/api/v1/referrals", headers=personas["health"].bearer)).json()["items"][0]
    assert item == {
        "id": health.id,
        "conference": CONFERENCE,
        "status": "received",
        "received_at": "2026-11-02",
        "referring_agency": {"id": personas["health"].user.agency_id, "name": "Northshire NHS Trust"},
        "kind": "new",
        "criteria_met": ["visible_high_risk"],
        "meeting_id": health.expected_meeting_id,
    }


async def test_the_list_pages_newest_first_with_a_cursor(client, personas, monkeypatch):
    monkeypatch.setattr(api_referrals, "REFERRALS_PAGE", 2)
    made = []
    for n, day in enumerate(["2026-11-02", "2026-11-03", "2026-11-03", "2026-11-05", "2026-11-01"]):
        made.append(await make_referral(personas["police"], builders.other_victim(n + 1, received_at=day)))
    seen: list[str] = []
    url = "/api/v1/referrals"
    pages = 0
    while url:
        answer = (await client.get(url, headers=personas["coordinator"].bearer)).json()
        seen += [item["received_at"] for item in answer["items"]]
        pages += 1
        url = f"/api/v1/referrals?cursor={answer['next']}" if answer["next"] else None
    assert pages == 3 and len(seen) == 5
    assert seen == sorted(seen, reverse=True)


@pytest.mark.parametrize(
    "query,status,field",
    [
        ("?status=bogus", 422, "status"),
        ("?conference=NOT%20A%20SLUG", 422, "conference"),
        ("?conference=elsewhere-da", 404, None),  # a conference not the caller's, as one that does not exist
        ("?cursor=yesterday", 422, "cursor"),
        ("?cursor=2026-02-30." + "0" * 32, 422, "cursor"),
    ],
)
async def test_bad_list_filters_are_named(client, personas, query, status, field):
    answer = await client.get(f"/api/v1/referrals{query}", headers=personas["coordinator"].bearer)
    assert answer.status_code == status, answer.text
    if field:
        assert field in answer.json()["error"]["fields"]


async def test_as_a_member_here_the_chair_of_another_conference_runs_nothing_here(client, personas):
    await hate_conference(personas)
    police = personas["police"].user.agency_id
    made = await add_user(
        client, personas, agency_id=police, role="chair", conferences=[{"slug": CONFERENCE, "role": "member"}, HATE]
    )
    assert made.status_code == 201, made.text
    dual = await bearer(made.json()["id"])
    world = await builders.published_meeting(personas)
    case = f"/api/v1/meetings/{world.meeting.id}/cases/{world.case_id}"
    # Whole, valid bodies: refused as for any member of this conference, never done.
    note = await client.post(f"{case}/notes", json={"text": "Seen near the school", "visibility": "all"}, headers=dual)
    action = await client.post(
        f"{case}/actions", json={"description": "Check records", "owner_agency_id": police}, headers=dual
    )
    attendance = await client.put(f"/api/v1/meetings/{world.meeting.id}/attendance", json={}, headers=dual)
    assert (note.status_code, action.status_code, attendance.status_code) == (404, 404, 404)
    # What a member agency of this conference gets, they get: the research list, once published.
    research = await client.get(f"/api/v1/meetings/{world.meeting.id}/research-list", headers=dual)
    assert research.status_code == 200 and [i["case_id"] for i in research.json()["items"]] == [world.case_id]


async def test_the_command_line_gives_a_role_per_conference(personas):
    from tests.test_migrations_and_cli import cli

    await hate_conference(personas)
    code, out = await cli(
        "user",
        "add",
        "--email",
        "inspector@test.example.org",
        "--name",
        "Inspector",
        "--agency",
        "Northshire Police",
        "--role",
        "member",
        "--conference",
        CONFERENCE,
        "--conference",
        f"{HATE}:chair",
        "--password-stdin",
        stdin="a very long password indeed\n",
    )
    assert code == 0, out
    user = await User.get(email="inspector@test.example.org")
    assert await ConferenceRole.filter(user=user).values_list("conference__slug", "role") == [(HATE, "chair")]
    code, out = await cli(
        "user",
        "add",
        "--email",
        "x@test.example.org",
        "--name",
        "X",
        "--agency",
        "Ops",
        "--role",
        "admin",
        "--conference",
        f"{CONFERENCE}:chair",
    )
    assert code == 1 and "holds no role in a conference" in out
    assert not await User.filter(email="x@test.example.org").exists()


async def test_a_bearer_token_and_a_session_give_the_same_entitlements(client, personas):
    # The token's hand-written query (agencies/queries.py) must read roles and receiving as the ORM does.
    from marac.agencies.access import viewer_for, viewer_of

    await hate_conference(personas, receiving="idva")
    await receives(personas, "health")
    made = await add_user(
        client,
        personas,
        agency_id=personas["health"].user.agency_id,
        role="chair",
        conferences=[{"slug": CONFERENCE, "role": "member"}, {"slug": HATE, "role": "deputy_chair"}],
    )
    assert made.status_code == 201, made.text
    _, raw = await auth.create_token(await User.get(id=made.json()["id"]), "tests")
    tokens = {**{k: p.token for k, p in personas.items()}, "dual": raw}
    for key, token in tokens.items():
        holder = await auth.token_holder(token)
        by_token = viewer_of(
            holder.user, holder.conferences, holder.agency_member_of, holder.conference_roles, holder.receiving
        )
        assert by_token == await viewer_for(holder.user), key
    dual = await viewer_for(await User.get(id=made.json()["id"]))
    conferences = {c.slug: c.id for c in await Conference.all()}
    assert dual.role_in(conferences[CONFERENCE]) == "member" and dual.role_in(conferences[HATE]) == "deputy_chair"
    assert dual.receiving == {conferences[CONFERENCE]}  # health receives the domestic-abuse conference's referrals
