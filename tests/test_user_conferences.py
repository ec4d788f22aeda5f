"""Changing a user's conferences after the account is made: the admin adds them to a conference, takes
them out of one or changes their role there, on the user's admin page or by PATCH /api/v1/users/{id}
(agencies.service.set_conferences behind both). The change holds from the user's next request, is
audited with the role before and after, is told to the conference's coordinators as a new account
is, and never leaves a conference without a coordinator. Who may call each door: the route inventory;
over random histories: the entitlement model."""

from __future__ import annotations

import pytest

from marac.agencies import auth
from marac.agencies.models import Conference, ConferenceRole, User
from marac.audit.models import AuditEvent
from marac.notices.models import Notification
from marac.web import csrf
from tests import builders
from tests.conftest import CONFERENCE, csrf_token, make_client, make_referral
from tests.test_conference_roles import HATE, add_user, bearer, hate_conference
from tests.test_referrals import hate_body
from tests.test_setup_links import admin_browser, delivered


def url_of(user_id: str) -> str:
    return f"/api/v1/users/{user_id}"


async def roles_of(user_id: str) -> dict[str, str | None]:
    """The user's conferences by slug, each with the role given there alone (None: their own)."""
    user = await User.get(id=user_id)
    given = dict(await ConferenceRole.filter(user_id=user_id).values_list("conference__slug", "role"))
    return {c.slug: given.get(c.slug) for c in await user.conferences.all()}


async def test_the_admin_changes_a_users_conferences_and_it_holds_from_their_next_request(app, client, personas, smtp):
    await hate_conference(personas)
    made = await add_user(client, personas, agency_id=personas["police"].user.agency_id, conferences=[CONFERENCE])
    assert made.status_code == 201, made.text
    user_id = made.json()["id"]
    token = await bearer(user_id)
    session = make_client(app)
    session.cookies.set(csrf.SESSION, await auth.start_session(await User.get(id=user_id), mfa_passed=True))
    domestic = await make_referral(personas["health"])
    hate = await make_referral(personas["idva"], hate_body(criteria=["visible_high_risk"]))
    async with session:
        # A member here: neither another agency's referral nor the other conference's.
        for referral in (domestic, hate):
            assert (await client.get(f"/api/v1/referrals/{referral.id}", headers=token)).status_code == 404
            assert (await session.get(f"/referrals/{referral.id}")).status_code == 404

        # Made chair of the hate crime conference: the same token and the same session read its referral.
        changed = await client.patch(
            url_of(user_id),
            json={"conferences": [CONFERENCE, {"slug": HATE, "role": "chair"}]},
            headers=personas["admin"].bearer,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["conferences"] == [CONFERENCE, {"slug": HATE, "role": "chair"}]
        assert (await client.get(f"/api/v1/referrals/{hate.id}", headers=token)).status_code == 200
        assert (await session.get(f"/referrals/{hate.id}")).status_code == 200
        assert (await client.get(f"/api/v1/referrals/{domestic.id}", headers=token)).status_code == 404

        # Taken out of it and made deputy chair here: the other way round, at once.
        changed = await client.patch(
            url_of(user_id),
            json={"conferences": [{"slug": CONFERENCE, "role": "deputy_chair"}]},
            headers=personas["admin"].bearer,
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["conferences"] == [{"slug": CONFERENCE, "role": "deputy_chair"}]
        assert (await client.get(f"/api/v1/referrals/{hate.id}", headers=token)).status_code == 404
        assert (await session.get(f"/referrals/{hate.id}")).status_code == 404
        assert (await client.get(f"/api/v1/referrals/{domestic.id}", headers=token)).status_code == 200
        assert (await session.get(f"/referrals/{domestic.id}")).status_code == 200
    assert await roles_of(user_id) == {CONFERENCE: "deputy_chair"}

    # Audited per conference with the role before and after, by the admin; ids and roles only.
    ids = {c.slug: c.id for c in await Conference.all()}
    events = await AuditEvent.filter(object_id=user_id, action__startswith="user.conference_role.").order_by("seq")
    assert [(e.action, e.conference_id, e.user_id) for e in events[:1]] == [
        ("user.conference_role.none.chair", ids[HATE], personas["admin"].user.id),
    ]
    assert sorted((e.action, e.conference_id, e.user_id) for e in events[1:]) == sorted(
        [
            ("user.conference_role.member.deputy_chair", ids[CONFERENCE], personas["admin"].user.id),
            ("user.conference_role.chair.none", ids[HATE], personas["admin"].user.id),
        ]
    )

    # The coordinator (of both conferences) is told of each new role with case access, as of a new
    # account; being taken out of a conference gives nobody access, so it is not told.
    told = (
        await Notification.filter(user_id=personas["coordinator"].user.id, kind="account_role")
        .order_by("id")
        .values_list("about_user_id", "conference_id", "role")
    )
    assert told == [(user_id, ids[HATE], "chair"), (user_id, ids[CONFERENCE], "deputy_chair")]
    async with make_client(app) as browser:
        browser.cookies.set(csrf.SESSION, await auth.start_session(personas["coordinator"].user, mfa_passed=True))
        page = (await browser.get("/notifications")).text
    assert "New role" in page and "deputy chair in Northshire DA MARAC" in page and "chair in Northshire HC" in page
    mails = await delivered(smtp, personas["coordinator"].email)
    assert len(mails) == 3  # the new account, then each change
    assert "given an account a new role" in mails[-1].get_content() and "Dual" not in mails[-1].get_content()


async def test_the_same_conferences_again_change_nothing_and_tell_nobody(client, personas):
    police = personas["police"]
    before = await AuditEvent.all().count()
    again = await client.patch(
        url_of(police.user.id), json={"conferences": [CONFERENCE]}, headers=personas["admin"].bearer
    )
    assert again.status_code == 200 and again.json()["conferences"] == [CONFERENCE], again.text
    # Their own role given as a role there is the same role: no row, no event.
    same = await client.patch(
        url_of(police.user.id),
        json={"conferences": [{"slug": CONFERENCE, "role": "member"}]},
        headers=personas["admin"].bearer,
    )
    assert same.status_code == 200 and same.json()["conferences"] == [CONFERENCE], same.text
    assert await AuditEvent.all().count() == before
    assert not await Notification.filter(kind="account_role").exists()


async def test_a_conferences_last_coordinator_is_never_taken_away(app, client, personas):
    coordinator, admin = personas["coordinator"], personas["admin"].bearer
    before = await AuditEvent.all().count()
    for conferences in ([], [{"slug": CONFERENCE, "role": "chair"}]):
        refused = await client.patch(url_of(coordinator.user.id), json={"conferences": conferences}, headers=admin)
        assert refused.status_code == 409, refused.text
        assert "only coordinator of Northshire DA MARAC" in refused.json()["error"]["fields"]["conferences"]
    assert await roles_of(coordinator.user.id) == {CONFERENCE: None} and await AuditEvent.all().count() == before
    # The page says the same, and keeps what was chosen.
    async with await admin_browser(app, personas["admin"]) as browser:
        page = f"/admin/users/{coordinator.user.id}"
        sent = await browser.post(
            f"{page}/conferences",
            data={
                "csrf_token": await csrf_token(browser, page),
                "conferences": CONFERENCE,
                f"role.{CONFERENCE}": "chair",
            },
        )
        assert sent.status_code == 400 and "only coordinator of Northshire DA MARAC" in sent.text
        assert '<option value="chair" selected>' in sent.text
    assert await roles_of(coordinator.user.id) == {CONFERENCE: None}

    # With a second coordinator, the first may step down to chair.
    second = await add_user(
        client, personas, agency_id=coordinator.user.agency_id, role="coordinator", conferences=[CONFERENCE]
    )
    assert second.status_code == 201, second.text
    stepped = await client.patch(
        url_of(coordinator.user.id), json={"conferences": [{"slug": CONFERENCE, "role": "chair"}]}, headers=admin
    )
    assert stepped.status_code == 200, stepped.text
    # ... and the second, now the last, may not.
    last = await client.patch(url_of(second.json()["id"]), json={"conferences": []}, headers=admin)
    assert last.status_code == 409, last.text


@pytest.mark.parametrize(
    "who,body,field",
    [
        ("police", {}, "conferences"),
        ("police", {"conferences": "northshire-da"}, "conferences"),
        ("police", {"conferences": [CONFERENCE], "role": "chair"}, "role"),  # only the conferences change here
        ("police", {"conferences": ["nowhere-da"]}, "conferences"),
        ("police", {"conferences": [CONFERENCE, {"slug": CONFERENCE, "role": "chair"}]}, "conferences.1"),
        ("police", {"conferences": [{"slug": CONFERENCE, "role": "boss"}]}, "conferences.0"),
        ("auditor", {"conferences": [{"slug": CONFERENCE, "role": "member"}]}, "conferences.0.role"),
        ("housing", {"conferences": [CONFERENCE]}, "conferences"),  # housing is no member agency
    ],
)
async def test_a_bad_change_is_refused_naming_the_field_and_changes_nothing(client, personas, who, body, field):
    user = personas[who].user
    before, events = await roles_of(user.id), await AuditEvent.all().count()
    answer = await client.patch(url_of(user.id), json=body, headers=personas["admin"].bearer)
    assert answer.status_code == 422, answer.text
    assert any(name.startswith(field) for name in answer.json()["error"]["fields"]), answer.json()
    assert await roles_of(user.id) == before and await AuditEvent.all().count() == events


async def test_a_slug_no_conference_can_have_is_unknown_whatever_the_door(client, personas):
    # Longer than the column: the ORM refuses to compare it, which once answered 500 to both doors.
    admin, police = personas["admin"].bearer, personas["police"].user
    changed = await client.patch(url_of(police.id), json={"conferences": ["a" * 65]}, headers=admin)
    body = {"email": "long@test.example.org", "name": "Long", "agency_id": police.agency_id, "role": "member"}
    made = await client.post("/api/v1/users", json={**body, "conferences": ["a" * 65]}, headers=admin)
    for answer in (changed, made):
        assert answer.status_code == 422 and "No conference called" in answer.json()["error"]["fields"]["conferences"]


async def test_a_conference_the_agency_has_left_does_not_block_other_changes(client, personas):
    # Police left the conference after its staff were given it: a change elsewhere still goes through.
    from marac.agencies import service as directory

    await hate_conference(personas)
    police = personas["police"]
    await directory.remove_membership(None, await Conference.get(slug=CONFERENCE), police.user.agency_id)
    answer = await client.patch(
        url_of(police.user.id),
        json={"conferences": [CONFERENCE, {"slug": HATE, "role": "deputy_chair"}]},
        headers=personas["admin"].bearer,
    )
    assert answer.status_code == 200, answer.text
    # Re-adding it as a member, though, is held to the rule.
    await client.patch(url_of(police.user.id), json={"conferences": [HATE]}, headers=personas["admin"].bearer)
    again = await client.patch(
        url_of(police.user.id), json={"conferences": [CONFERENCE, HATE]}, headers=personas["admin"].bearer
    )
    assert (
        again.status_code == 422 and "not a member of northshire-da" in again.json()["error"]["fields"]["conferences"]
    )


async def test_no_such_user_is_404_and_no_one_but_the_admin_may_change_anyone(client, personas):
    body = {"conferences": [CONFERENCE]}
    assert (await client.patch(url_of("0" * 32), json=body, headers=personas["admin"].bearer)).status_code == 404
    # The coordinator may not add anyone to their own conference, as they may not make accounts.
    chair = personas["chair"].user.id
    refused = await client.patch(
        url_of(chair),
        json={"conferences": [{"slug": CONFERENCE, "role": "coordinator"}]},
        headers=personas["coordinator"].bearer,
    )
    assert refused.status_code == 404  # another's account: as if there were none
    coordinator = personas["coordinator"].user.id
    own = await client.patch(url_of(coordinator), json={"conferences": []}, headers=personas["coordinator"].bearer)
    assert own.status_code == 403  # their own: seen, not theirs to change
    assert await roles_of(chair) == {CONFERENCE: None} and await roles_of(coordinator) == {CONFERENCE: None}


async def test_the_admin_page_changes_a_users_conferences(app, client, personas):
    await hate_conference(personas)
    health = personas["health"]  # given the domestic-abuse conference alone
    async with await admin_browser(app, personas["admin"]) as browser:
        listed = await browser.get("/admin/users")
        assert f'href="/admin/users/{health.user.id}"' in listed.text
        page = f"/admin/users/{health.user.id}"
        shown = await browser.get(page)
        assert shown.status_code == 200 and health.email in shown.text
        assert f'value="{CONFERENCE}" data-aria-controls="conf-{CONFERENCE}-role" checked' in shown.text
        assert f'value="{HATE}" data-aria-controls="conf-{HATE}-role">' in shown.text  # not given: unticked
        sent = await browser.post(
            f"{page}/conferences",
            data={
                "csrf_token": await csrf_token(browser, page),
                "conferences": [CONFERENCE, HATE],
                f"role.{HATE}": "chair",
            },
        )
        assert sent.status_code == 303 and sent.headers["location"] == f"{page}?saved=1"
        done = await browser.get(sent.headers["location"])
        assert "Conferences and roles saved" in done.text and '<option value="chair" selected>' in done.text
    assert await roles_of(health.user.id) == {CONFERENCE: None, HATE: "chair"}
    world = await builders.as_(personas, "health")
    assert world.role_in((await Conference.get(slug=HATE)).id) == "chair"
