"""Step-up: creating accounts, resetting sign-in, adding an agency to a conference and making an
API token need both factors within the last 15 minutes; a session that has not given them since
changes nothing and is sent to /step-up first (README "Step-up")."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from marac import clock
from marac.agencies import auth
from marac.agencies.models import Agency, ApiToken, Membership, Session, User
from marac.audit.models import AuditEvent
from tests.conftest import CONFERENCE, csrf_token, session_cookie_for


async def stale(client, persona) -> None:
    """Signed in 16 minutes ago and active since: the factors are no longer fresh."""
    cookie = await session_cookie_for(persona)
    client.cookies.update(cookie)
    (raw,) = cookie.values()
    await Session.filter(id=auth.sha256(raw)).update(
        stepped_up_at=clock.now() - auth.STEP_UP_LIFETIME - timedelta(minutes=1)
    )


async def step_up(client, persona, *, password: str | None = None, next_path: str = "/"):
    await User.filter(id=persona.user.id).update(totp_last_step=0)  # each code is accepted once
    return await client.post(
        "/step-up",
        data={
            "password": persona.password if password is None else password,
            "code": pyotp.TOTP(persona.totp_secret).now(),
            "next": next_path,
            "csrf_token": await csrf_token(client, "/step-up"),
        },
    )


async def test_a_stale_session_resets_nobodys_sign_in_until_it_steps_up(client, personas):
    admin, police = personas["admin"], personas["police"]
    await stale(client, admin)
    token = await csrf_token(client, "/admin/users")
    asked = await client.post(f"/admin/users/{police.user.id}/reset", data={"csrf_token": token})
    assert asked.status_code == 303 and asked.headers["location"] == "/step-up?next=/admin/users"
    assert (await User.get(id=police.user.id)).password_hash is not None  # nothing changed
    assert not await AuditEvent.filter(action="user.reset_sign_in").exists()

    wrong = await step_up(client, admin, password="not it")
    assert wrong.status_code == 400 and "password or security code is not right" in wrong.text
    assert await AuditEvent.filter(action="step_up", outcome="failed").count() == 1
    assert (await client.post(f"/admin/users/{police.user.id}/reset", data={"csrf_token": token})).status_code == 303

    done = await step_up(client, admin, next_path="/admin/users")
    assert done.status_code == 303 and done.headers["location"] == "/admin/users"
    reset = await client.post(f"/admin/users/{police.user.id}/reset", data={"csrf_token": token})
    assert reset.status_code == 200 and f"Sent to {police.email}" in reset.text and "/setup/" not in reset.text
    assert (await User.get(id=police.user.id)).password_hash is None
    assert await AuditEvent.filter(action="step_up", outcome="ok").count() == 1


async def test_creating_accounts_adding_members_and_making_tokens_all_ask(client, personas):
    admin, chair = personas["admin"], personas["chair"]
    await stale(client, admin)
    token = await csrf_token(client, "/admin/users")
    housing = await Agency.get(kind="housing")
    answers = [
        await client.post(
            "/admin/users",
            data={
                "email": "new@test.example.org",
                "name": "New",
                "agency_id": housing.id,
                "role": "coordinator",
                "conferences": CONFERENCE,
                "csrf_token": token,
            },
        ),
        await client.post(
            f"/admin/conferences/{CONFERENCE}/members",
            data={"agency_id": housing.id, "tier": "full", "csrf_token": token},
        ),
    ]
    assert [a.headers.get("location") for a in answers] == [
        "/step-up?next=/admin/users",
        f"/step-up?next=/admin/conferences/{CONFERENCE}",
    ]
    assert not await User.filter(email="new@test.example.org").exists()
    assert not await Membership.filter(agency_id=housing.id).exists()

    client.cookies.clear()
    await stale(client, chair)
    before = await ApiToken.filter(user_id=chair.user.id).count()
    made = await client.post(
        "/account/tokens", data={"label": "case system", "csrf_token": await csrf_token(client, "/account")}
    )
    assert made.headers["location"] == "/step-up?next=/account"
    assert await ApiToken.filter(user_id=chair.user.id).count() == before
    # Reading and protective actions are never held up: revoking a token needs no step-up.
    assert (await client.get("/account")).status_code == 200


async def test_signing_in_counts_as_a_step_up_and_the_next_path_stays_on_this_site(client, personas):
    chair = personas["chair"]
    client.cookies.update(await session_cookie_for(chair))  # as just after sign-in with both factors
    made = await client.post(
        "/account/tokens", data={"label": "case system", "csrf_token": await csrf_token(client, "/account")}
    )
    assert made.status_code == 200
    answer = await step_up(client, chair, next_path="//evil.example.org/")
    assert answer.status_code == 303 and answer.headers["location"] == "/"
