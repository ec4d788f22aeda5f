"""Taking access away works on the very next request: an agency removed from a
conference gets 404 for that conference's cases, exactly as for records that do not exist; a
disabled user is signed out everywhere, browser sessions and API tokens alike.

Both changes are made the way an administrator makes them, on the admin pages.
"""

from __future__ import annotations

from marac.agencies.models import Session
from marac.jobs import tasks
from marac.meetings import agenda
from tests.builders import action, approve_minutes, as_, close, published_meeting
from tests.conftest import CONFERENCE, csrf_token, make_client, session_cookie_for, sign_in
from tests.flows import page_post


async def test_an_agency_removed_from_a_conference_gets_404_for_its_cases_on_the_next_request(app, client, personas):
    police, idva = personas["police"], personas["idva"]
    async with make_client(app) as police_page, make_client(app) as admin_page:
        police_page.cookies.update(await session_cookie_for(police))
        admin_page.cookies.update(await session_cookie_for(personas["admin"]))
        # Police referred the case, own an action on it, researched it and received minutes and research list.
        world = await published_meeting(personas)
        meeting, case_id = world.meeting.id, world.case_id
        await agenda.record_research(await as_(personas, "police"), world.meeting, case_id, True, "Known to police")
        owned = await action(
            personas,
            world.meeting,
            case_id,
            "Police to check the bail conditions by Friday",
            owner="police",
            status="in_progress",
        )
        await tasks.render_agendas(meeting)
        await close(personas, world)
        await approve_minutes(personas, world.meeting, rendered=True)
        api_reads = [
            f"/api/v1/referrals/{world.referral.id}",
            f"/api/v1/meetings/{meeting}/research-list",
            f"/api/v1/meetings/{meeting}/minutes.pdf",
            f"/api/v1/meetings/{meeting}/agenda.pdf",
        ]
        pages = [
            f"/referrals/{world.referral.id}",
            f"/meetings/{meeting}",
            f"/actions/{owned.id}",
            f"/meetings/{meeting}/minutes.pdf",
            f"/meetings/{meeting}/agenda.pdf",
        ]

        async def own_actions() -> list[str]:
            answer = await client.get("/api/v1/actions?status=all", headers=police.bearer)
            assert answer.status_code == 200
            return [a["id"] for a in answer.json()["items"]]

        for url in api_reads:
            assert (await client.get(url, headers=police.bearer)).status_code == 200, url
        for url in pages:
            assert (await police_page.get(url)).status_code == 200, url
        assert owned.id in await own_actions()

        removed = await page_post(
            admin_page,
            f"/admin/conferences/{CONFERENCE}",
            f"/admin/conferences/{CONFERENCE}/members/{police.user.agency_id}/remove",
            {},
        )
        assert removed.status_code == 303

        for url in api_reads:
            answer = await client.get(url, headers=police.bearer)
            assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found", url
        for url in pages:
            assert (await police_page.get(url)).status_code == 404, url
        assert owned.id not in await own_actions()
        update = await client.patch(
            f"/api/v1/actions/{owned.id}",
            headers={**police.bearer, "If-Match": "2"},
            json={"update": "still working on it"},
        )
        assert update.status_code == 404
        research = await client.put(
            f"/api/v1/meetings/{meeting}/cases/{case_id}/research", json={"known": False}, headers=police.bearer
        )
        assert research.status_code == 404
        # Another member agency of the conference is untouched.
        assert (await client.get(f"/api/v1/meetings/{meeting}/research-list", headers=idva.bearer)).status_code == 200
        assert (await client.get(f"/api/v1/meetings/{meeting}/minutes.pdf", headers=idva.bearer)).status_code == 200


async def test_a_disabled_user_is_out_on_the_next_request_in_the_browser_and_the_api(app, client, personas):
    police = personas["police"]
    async with make_client(app) as browser, make_client(app) as admin_page:
        signed_in = await sign_in(browser, police)
        assert signed_in.status_code == 303
        assert (await browser.get("/referrals")).status_code == 200
        assert (await client.get("/api/v1/actions", headers=police.bearer)).status_code == 200
        form_token = await csrf_token(browser, "/account")

        admin_page.cookies.update(await session_cookie_for(personas["admin"]))
        disabled = await page_post(admin_page, "/admin/users", f"/admin/users/{police.user.id}/disable", {})
        assert disabled.status_code == 303

        # Pages: exactly what anyone without a session gets, a redirect to sign in.
        page = await browser.get("/referrals")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/referrals"
        posted = await browser.post("/account/tokens", data={"label": "after disabling", "csrf_token": form_token})
        assert posted.status_code == 303 and posted.headers["location"] == "/login?next=/"
        # The API: 401, as for a missing or bad token.
        answer = await client.get("/api/v1/actions", headers=police.bearer)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "unauthorized"
        assert not await Session.filter(user_id=police.user.id).exists()
        # And no way back in with the password.
        again = await browser.post(
            "/login", data={"email": police.email, "password": police.password, "csrf_token": await csrf_token(browser)}
        )
        assert again.status_code == 400
        # Other users are untouched.
        assert (await client.get("/api/v1/actions", headers=personas["idva"].bearer)).status_code == 200
