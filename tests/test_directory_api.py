"""The directory part of the JSON API, and the set-up link a new user receives."""

from __future__ import annotations

import re
from datetime import date

import pytest

from marac.agencies import service
from marac.agencies.access import viewer_for
from marac.agencies.models import Agency, Conference, Membership, User
from marac.audit.models import AuditEvent
from marac.errors import AccessDenied
from tests.conftest import CONFERENCE, csrf_token, make_client, session_cookie_for
from tests.test_setup_links import delivered

OPAQUE_ID = re.compile(r"^[0-9a-f]{32}$")


async def test_an_admin_adds_an_agency(client, personas):
    answer = await client.post(
        "/api/v1/agencies", json={"name": "Northshire Fire", "kind": "fire"}, headers=personas["admin"].bearer
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["name"] == "Northshire Fire" and body["kind"] == "fire"
    assert OPAQUE_ID.match(body["id"])
    listed = await client.get("/api/v1/agencies", headers=personas["police"].bearer)
    assert "Northshire Fire" in [a["name"] for a in listed.json()["items"]]
    assert listed.json()["next"] is None


async def test_bad_agency_input_gets_a_clear_error_and_changes_nothing(client, personas):
    admin = personas["admin"].bearer
    before = await Agency.all().count()
    bad_kind = await client.post("/api/v1/agencies", json={"name": "X", "kind": "wizards"}, headers=admin)
    assert bad_kind.status_code == 422 and "kind" in bad_kind.json()["error"]["fields"]
    unknown = await client.post("/api/v1/agencies", json={"name": "X", "kind": "fire", "colour": "red"}, headers=admin)
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"]["colour"] == "Unknown field"
    malformed = await client.post(
        "/api/v1/agencies", content=b"{not json", headers={**admin, "Content-Type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "malformed_json"
    duplicate = await client.post(
        "/api/v1/agencies", json={"name": "Northshire Police", "kind": "police"}, headers=admin
    )
    assert duplicate.status_code == 409
    assert await Agency.all().count() == before


async def test_an_admin_creates_a_conference_with_members_and_tiers(client, personas):
    police = personas["police"].user.agency_id
    childrens = personas["childrens"].user.agency_id
    answer = await client.post(
        "/api/v1/conferences",
        headers=personas["admin"].bearer,
        json={
            "name": "Eastshire Hate Crime MARAC",
            "slug": "eastshire-hc",
            "type": "hate-crime",
            "weekday": "thursday",
            "start_time": "14:00",
            "first_date": "2026-01-08",
            "members": [{"agency_id": police, "tier": "full"}, {"agency_id": childrens, "tier": "actions_only"}],
        },
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert {(m["agency_id"], m["tier"]) for m in body["members"]} == {(police, "full"), (childrens, "actions_only")}
    conference = await Conference.get(slug="eastshire-hc")
    assert conference.type_settings["cadence_days"] == 14  # a copy of the type, kept with the conference


async def test_a_conference_with_bad_details_is_refused_field_by_field(client, personas):
    admin = personas["admin"].bearer
    wrong_day = await client.post(
        "/api/v1/conferences",
        headers=admin,
        json={
            "name": "X",
            "slug": "x-conf",
            "type": "domestic-abuse",
            "weekday": "tuesday",
            "start_time": "10:00",
            "first_date": "2026-01-07",
        },
    )
    assert wrong_day.status_code == 422 and "first_date" in wrong_day.json()["error"]["fields"]
    unknown_type = await client.post(
        "/api/v1/conferences",
        headers=admin,
        json={
            "name": "X",
            "slug": "x-conf",
            "type": "parking",
            "weekday": "tuesday",
            "start_time": "10:00",
            "first_date": "2026-01-06",
        },
    )
    assert unknown_type.status_code == 422 and "type" in unknown_type.json()["error"]["fields"]
    unknown_agency = await client.post(
        "/api/v1/conferences",
        headers=admin,
        json={
            "name": "X",
            "slug": "x-conf",
            "type": "domestic-abuse",
            "weekday": "tuesday",
            "start_time": "10:00",
            "first_date": "2026-01-06",
            "members": [{"agency_id": "f" * 32, "tier": "full"}],
        },
    )
    assert unknown_agency.status_code == 422 and "members.0.agency_id" in unknown_agency.json()["error"]["fields"]
    assert not await Conference.filter(slug="x-conf").exists()


@pytest.mark.parametrize("persona", ["coordinator", "chair", "police", "auditor"])
async def test_the_directory_services_refuse_anyone_but_an_admin_whatever_the_door(personas, persona):
    """The services check the admin capability themselves: a new page, route or job that calls
    them without a check of its own still cannot change the directory."""
    viewer = await viewer_for(personas[persona].user)
    conference = await Conference.get(slug=CONFERENCE)
    police = personas["police"].user
    before = (
        await Agency.all().count(),
        await Conference.all().count(),
        await Membership.all().count(),
        await User.filter(active=True).count(),
    )
    attempts = [
        lambda: service.create_agency(viewer, "Northshire Fire", "fire"),
        lambda: service.create_conference(
            viewer,
            name="Eastshire HC",
            slug="eastshire-hc",
            type="hate-crime",
            weekday="thursday",
            start_time="14:00",
            first_date=date(2026, 1, 8),
            members=[],
        ),
        lambda: service.set_membership(viewer, conference, service.MemberSpec(police.agency_id, "actions_only")),
        lambda: service.remove_membership(viewer, conference, police.agency_id),
        lambda: service.add_user(
            viewer,
            email="new@test.example.org",
            name="New",
            agency_id=police.agency_id,
            role="admin",
            conference_slugs=[],
        ),
        lambda: service.disable(viewer, police),
        lambda: service.reset_sign_in(viewer, police),
    ]
    for attempt in attempts:
        with pytest.raises(AccessDenied):
            await attempt()
    assert before == (
        await Agency.all().count(),
        await Conference.all().count(),
        await Membership.all().count(),
        await User.filter(active=True).count(),
    )


async def test_a_non_member_cannot_see_a_conference_and_learns_nothing(client, personas):
    missing = await client.get("/api/v1/conferences/no-such-conference", headers=personas["housing"].bearer)
    hidden = await client.get(f"/api/v1/conferences/{CONFERENCE}", headers=personas["housing"].bearer)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    listed = await client.get("/api/v1/conferences", headers=personas["housing"].bearer)
    assert listed.json()["items"] == []


async def test_removing_an_agency_from_a_conference_takes_effect_on_the_next_request(client, personas):
    health = personas["health"]
    assert (await client.get(f"/api/v1/conferences/{CONFERENCE}", headers=health.bearer)).status_code == 200
    await Membership.filter(agency_id=health.user.agency_id).delete()
    assert (await client.get(f"/api/v1/conferences/{CONFERENCE}", headers=health.bearer)).status_code == 404


async def test_a_new_user_chooses_a_password_through_a_one_time_link(app, client, personas, smtp):
    agency = personas["police"].user.agency_id
    created = await client.post(
        "/api/v1/users",
        headers=personas["admin"].bearer,
        json={
            "email": "New.Officer@Test.Example.org",
            "name": "New Officer",
            "agency_id": agency,
            "role": "member",
            "conferences": [CONFERENCE],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "new.officer@test.example.org" and body["conferences"] == [CONFERENCE]
    assert body["setup_link_sent_to"] == "new.officer@test.example.org" and body["setup_url"] is None
    (mail,) = await delivered(smtp, "new.officer@test.example.org")
    path = re.search(r"/setup/\S+", mail.get_content()).group(0)
    async with make_client(app) as browser:
        token = await csrf_token(browser, path)
        mismatch = await browser.post(
            path, data={"password": "a long new password", "confirm": "something else", "csrf_token": token}
        )
        assert mismatch.status_code == 400
        done = await browser.post(
            path, data={"password": "a long new password", "confirm": "a long new password", "csrf_token": token}
        )
        assert done.status_code == 303
        again = await browser.get(path)
        assert again.status_code == 404  # the link works once
        token = await csrf_token(browser)
        signed = await browser.post(
            "/login",
            data={"email": "new.officer@test.example.org", "password": "a long new password", "csrf_token": token},
        )
        assert signed.headers["location"].startswith("/mfa/enrol")  # the second factor comes next, always


async def test_a_member_user_must_belong_to_a_member_agency(client, personas):
    housing_agency = personas["housing"].user.agency_id
    refused = await client.post(
        "/api/v1/users",
        headers=personas["admin"].bearer,
        json={
            "email": "h2@test.example.org",
            "name": "H",
            "agency_id": housing_agency,
            "role": "member",
            "conferences": [CONFERENCE],
        },
    )
    assert refused.status_code == 422 and "conferences" in refused.json()["error"]["fields"]
    assert not await User.filter(email="h2@test.example.org").exists()


async def test_directory_changes_are_audited_with_ids_only(client, personas):
    answer = await client.post(
        "/api/v1/agencies", json={"name": "Audit Trail Agency", "kind": "other"}, headers=personas["admin"].bearer
    )
    event = await AuditEvent.get(action="agency.create", object_id=answer.json()["id"])
    assert event.user_id == personas["admin"].user.id and event.request_id
    row = " ".join(str(v) for v in (await AuditEvent.filter(seq=event.seq).values())[0].values())
    assert "Audit Trail Agency" not in row


async def test_the_openapi_document_describes_every_api_route(app, client):
    document = (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.1")
    from starlette.routing import Route

    for route in app.routes:
        if isinstance(route, Route) and route.path.startswith("/api/v1/") and route.path != "/api/v1/openapi.json":
            for method in route.methods - {"HEAD"}:
                operation = document["paths"][route.path][method.lower()]
                assert operation["responses"], route.path
    create = document["paths"]["/api/v1/agencies"]["post"]
    schema_name = create["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert document["components"]["schemas"][schema_name]["additionalProperties"] is False


async def test_the_openapi_document_names_the_parameters_and_statuses_integrators_meet(client):
    paths = (await client.get("/api/v1/openapi.json")).json()["paths"]

    def parameters(path: str, method: str = "get") -> dict[str, dict]:
        return {p["name"]: p for p in paths[path][method].get("parameters", [])}

    patch = parameters("/api/v1/actions/{action_id}", "patch")
    assert patch["If-Match"]["in"] == "header" and patch["If-Match"]["required"] is True
    assert {"409", "412"} <= set(paths["/api/v1/actions/{action_id}"]["patch"]["responses"])
    assert parameters("/api/v1/actions")["status"]["schema"]["enum"] == ["open", "overdue", "due_this_week", "all"]
    assert set(parameters("/api/v1/audit")) == {"object_id", "case_id", "user", "from", "to", "cursor"}
    assert set(parameters("/api/v1/conferences/{slug}/meetings")) == {"slug", "from", "count"}
    assert set(parameters("/api/v1/meetings/{meeting_id}/minutes.pdf")) == {"meeting_id", "version"}
    assert "409" in paths["/api/v1/meetings/{meeting_id}/agenda/publish"]["post"]["responses"]


async def test_users_come_a_page_at_a_time_in_the_api_and_on_the_admin_page(app, client, personas, monkeypatch):
    # A national directory holds about 10,000 accounts: neither reads them all at once.
    from marac.agencies import auth
    from marac.web import api, csrf

    monkeypatch.setattr(api, "PAGE_SIZE", 3)
    monkeypatch.setattr(service, "DIRECTORY_PAGE", 3)
    everyone = sorted(await User.all().values_list("email", flat=True))
    assert len(everyone) > 6
    listed, cursor, pages = [], None, 0
    while True:
        answer = await client.get(
            "/api/v1/users" + (f"?cursor={cursor}" if cursor else ""), headers=personas["admin"].bearer
        )
        assert answer.status_code == 200 and len(answer.json()["items"]) <= 3
        listed += [u["email"] for u in answer.json()["items"]]
        cursor, pages = answer.json()["next"], pages + 1
        if cursor is None:
            break
    assert listed == everyone and pages == -(-len(everyone) // 3)
    refused = await client.get("/api/v1/users?cursor=first", headers=personas["admin"].bearer)
    assert refused.status_code in (400, 422) and "cursor" in refused.text
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["admin"]))
        session, _ = await auth.session_user(browser.cookies[csrf.SESSION])
        await auth.mark_stepped_up(session)
        first = await browser.get("/admin/users")
        second = await browser.get("/admin/users?start=3")
    shown = [email for email in everyone if f">{email}</span>" in first.text]
    assert shown == everyone[:3] and 'href="/admin/users?start=3" rel="next"' in first.text
    assert 'rel="prev"' not in first.text
    assert [email for email in everyone if f">{email}</span>" in second.text] == everyone[3:6]
    assert 'href="/admin/users?start=0" rel="prev"' in second.text and 'href="/admin/users?start=6"' in second.text


async def test_agencies_and_conferences_come_a_page_at_a_time_and_a_rows_form_keeps_its_page(
    app, client, personas, monkeypatch
):
    from marac.agencies import auth
    from marac.web import api, csrf

    monkeypatch.setattr(api, "PAGE_SIZE", 2)
    monkeypatch.setattr(service, "DIRECTORY_PAGE", 2)
    names = [a.name for a in await Agency.all().order_by("name", "id")]
    assert len(names) > 4
    listed, cursor = [], None
    while True:
        answer = await client.get(
            "/api/v1/agencies" + (f"?cursor={cursor}" if cursor else ""), headers=personas["police"].bearer
        )
        assert answer.status_code == 200 and len(answer.json()["items"]) <= 2
        listed += [a["name"] for a in answer.json()["items"]]
        if (cursor := answer.json()["next"]) is None:
            break
    assert listed == names
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas["admin"]))
        session, _ = await auth.session_user(browser.cookies[csrf.SESSION])
        await auth.mark_stepped_up(session)
        second = await browser.get("/admin/agencies?start=2")
        shown = [name for name in names if f">{name}</td>" in second.text]
        assert shown == names[2:4] and 'href="/admin/agencies?start=0" rel="prev"' in second.text
        # Changing an agency's language from the second page comes back to the second page, refused or not.
        agency = await Agency.get(name=names[2])
        token = second.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = f"/admin/agencies/{agency.id}/language"
        refused = await browser.post(form, data={"csrf_token": token, "start": "2", "language": "xx"})
        assert refused.status_code == 400 and f">{names[3]}</td>" in refused.text
        changed = await browser.post(form, data={"csrf_token": token, "start": "2", "language": "cy"})
        assert changed.status_code == 303 and changed.headers["location"] == "/admin/agencies?start=2"
        conferences = await browser.get("/admin/conferences")
    first_conference = (await Conference.all().order_by("name", "id").first()).name
    assert f">{first_conference}</a>" in conferences.text
    assert (await Conference.all().count() > 2) == ('href="/admin/conferences?start=2" rel="next"' in conferences.text)
