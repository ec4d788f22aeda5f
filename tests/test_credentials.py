"""Credentials after the outside test: the second factor cannot be guessed by giving the
password again, one code opens one door even when posted twice at once, the password change
is a step-up, common passwords are refused, TOTP seeds are sealed and API tokens expire."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import os
from datetime import timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from tortoise import Tortoise, connections

from marac import clock, db, demo, settings
from marac.agencies import auth, service
from marac.agencies.models import ApiToken, LoginFailure, User
from marac.audit.models import AuditEvent
from marac.errors import RuleViolation
from marac.jobs import queue, tasks
from marac.notices.models import Notification
from marac.sealed import model_columns, reseal
from tests.conftest import (
    PASSWORD,
    Persona,
    csrf_token,
    make_client,
    run_check_script,
    scratch_postgres,
    session_cookie_for,
    sign_in,
)
from tests.test_migrations_and_cli import cli

WRONG = "000000"


async def password_step(client: httpx.AsyncClient, persona: Persona) -> httpx.Response:
    token = await csrf_token(client)
    answer = await client.post(
        "/login", data={"email": persona.email, "password": persona.password, "csrf_token": token}
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login/mfa"), answer.text
    return answer


async def post_code(client: httpx.AsyncClient, code: str) -> httpx.Response:
    token = await csrf_token(client, "/login/mfa")
    return await client.post("/login/mfa", data={"code": code, "csrf_token": token, "next": "/"})


def wrong_code(persona: Persona) -> str:
    """A well-formed code that is not the one of now or either neighbouring step."""
    totp = pyotp.TOTP(persona.totp_secret)
    step = totp.timecode(clock.now())
    near = {totp.generate_otp(s) for s in (step - 1, step, step + 1)}
    return next(c for c in (WRONG, "111111", "222222", "333333") if c not in near)


# --- F1: the second factor cannot be brute-forced ------------------------------------------


async def test_giving_the_password_again_does_not_give_more_guesses_at_the_code(app, personas):
    """The attack as reported: 4 wrong codes, the password again, repeat. It must stop."""
    police = personas["police"]
    wrong = wrong_code(police)
    answers: list[int] = []
    async with make_client(app) as client:
        for _ in range(5):
            if (
                await client.post(
                    "/login",
                    data={"email": police.email, "password": police.password, "csrf_token": await csrf_token(client)},
                )
            ).status_code != 303:
                answers.append(429)
                continue
            for _ in range(4):
                answers.append((await post_code(client, wrong)).status_code)
    assert answers.count(400) <= 4, answers  # at most four wrong codes are ever looked at
    assert answers[-1] == 429
    # Locked: even the right code is refused now, from a fresh address too.
    async with make_client(app, ip="10.20.0.9") as other:
        await password_step(other, police)
        right = await post_code(other, pyotp.TOTP(police.totp_secret).now())
        assert right.status_code == 429 and "locked" in right.text
        assert (await other.get("/")).status_code == 303


async def test_the_lock_follows_the_account_not_the_address_and_tells_the_user_and_coordinators(app, personas, smtp):
    police, coordinator = personas["police"], personas["coordinator"]
    wrong = wrong_code(police)
    statuses = []
    for n in range(6):  # a new address for every guess: the address throttle never sees two
        async with make_client(app, ip=f"10.30.0.{n + 1}") as client:
            await password_step(client, police)
            statuses.append((await post_code(client, wrong)).status_code)
    assert statuses == [400, 400, 400, 400, 429, 429]
    user = await User.get(id=police.user.id)
    assert user.locked_at is not None
    [lock] = await AuditEvent.filter(action="user.lock")
    assert lock.user_id == police.user.id and lock.object_id == police.user.id and lock.outcome == "denied"
    assert await Notification.filter(user_id=police.user.id, kind="own_lock").count() == 1
    assert await Notification.filter(user_id=coordinator.user.id, kind="account_lock").count() == 1
    assert not await Notification.filter(user_id=personas["admin"].user.id).exists()  # admin has no conference
    assert await AuditEvent.filter(action="sign_in.mfa", outcome="denied").count() == 2
    # The e-mails: counts and a link, never whose account.
    await queue.drain()
    await tasks.send_email()  # as the worker would (no worker runs in the Redis run)
    [own] = smtp.to(police.email)
    [told] = smtp.to(coordinator.email)
    assert "/login" in own.get_content() and "/notifications" in told.get_content()
    for message in (own, told):
        for detail in (police.email, police.user.name, "Northshire Police"):
            assert detail not in message.get_content() and detail not in message["Subject"]
    sent = len(smtp.messages)
    await tasks.send_email()  # another delivery sends nothing more
    assert len(smtp.messages) == sent
    async with make_client(app, ip="10.30.1.1") as client:
        client.cookies.update(await session_cookie_for(coordinator))
        assert "An account of one of your conferences was locked" in (await client.get("/notifications")).text


async def test_after_an_hour_one_more_try_is_allowed_and_the_right_code_clears_the_count(app, personas):
    police = personas["police"]
    await User.filter(id=police.user.id).update(
        second_factor_failures=auth.MAX_SECOND_FACTOR_FAILURES,
        locked_at=clock.now() - auth.LOCK_PERIOD - timedelta(minutes=1),
    )
    async with make_client(app, ip="10.40.0.1") as client:
        await password_step(client, police)
        assert (await post_code(client, wrong_code(police))).status_code == 429  # one try, failed: locked again
    await User.filter(id=police.user.id).update(locked_at=clock.now() - auth.LOCK_PERIOD - timedelta(minutes=1))
    async with make_client(app, ip="10.40.0.2") as client:
        done = await sign_in(client, police)
        assert done.status_code == 303 and done.headers["location"] == "/"
    user = await User.get(id=police.user.id)
    assert user.second_factor_failures == 0 and user.locked_at is None


async def test_an_admin_reset_of_the_sign_in_lifts_the_lock(app, personas):
    police = personas["police"]
    await User.filter(id=police.user.id).update(
        second_factor_failures=auth.MAX_SECOND_FACTOR_FAILURES, locked_at=clock.now()
    )
    await service.reset_sign_in(None, await User.get(id=police.user.id))
    user = await User.get(id=police.user.id)
    assert user.locked_at is None and user.second_factor_failures == 0


async def test_step_up_and_break_glass_share_the_accounts_limit(app, personas):
    health = personas["health"]
    wrong = wrong_code(health)
    statuses = []
    for n in range(4):
        async with make_client(app, ip=f"10.50.0.{n + 1}") as client:
            client.cookies.update(await session_cookie_for(health))
            statuses.append(
                (
                    await client.post(
                        "/step-up",
                        data={
                            "password": health.password,
                            "code": wrong,
                            "next": "/",
                            "csrf_token": await csrf_token(client, "/step-up"),
                        },
                    )
                ).status_code
            )
    # A password success in between (a new sign-in's first step) does not reset the count.
    async with make_client(app, ip="10.50.1.1") as client:
        await password_step(client, health)
    async with make_client(app, ip="10.50.2.1") as client:
        client.cookies.update(await session_cookie_for(health))
        glass = await client.post(
            "/break-glass",
            data={
                "reference": "0" * 32,
                "reason": "Urgent: the victim is in the emergency department right now",
                "password": health.password,
                "code": wrong,
                "csrf_token": await csrf_token(client, "/break-glass"),
            },
        )
        statuses.append(glass.status_code)
        assert "locked" in glass.text
        right = await client.post(
            "/step-up",
            data={
                "password": health.password,
                "code": pyotp.TOTP(health.totp_secret).now(),
                "next": "/",
                "csrf_token": await csrf_token(client, "/step-up"),
            },
        )
        statuses.append(right.status_code)
    assert statuses == [400, 400, 400, 400, 429, 429]
    assert await AuditEvent.filter(action="user.lock", user_id=health.user.id).count() == 1


async def test_guesses_posted_at_once_cannot_slip_under_the_limit(app, personas):
    police = personas["police"]
    async with make_client(app, ip="10.60.0.1") as client:
        await password_step(client, police)
        token = await csrf_token(client, "/login/mfa")
        codes = [f"{n:06d}" for n in range(100000, 100020)]
        answers = await asyncio.gather(
            *(client.post("/login/mfa", data={"code": c, "csrf_token": token}) for c in codes)
        )
    assert sum(a.status_code == 400 for a in answers) <= 4
    assert (await User.get(id=police.user.id)).second_factor_failures == auth.MAX_SECOND_FACTOR_FAILURES


# --- F3: one code, one door, even at once ---------------------------------------------------


async def test_one_code_posted_by_two_pending_sign_ins_at_once_lets_one_in(app, personas):
    police = personas["police"]
    async with make_client(app, ip="10.70.0.1") as first, make_client(app, ip="10.70.0.2") as second:
        await User.filter(id=police.user.id).update(totp_last_step=0)
        for client in (first, second):
            await password_step(client, police)
        tokens = [await csrf_token(c, "/login/mfa") for c in (first, second)]
        code = pyotp.TOTP(police.totp_secret).now()
        answers = await asyncio.gather(
            *(
                c.post("/login/mfa", data={"code": code, "csrf_token": t, "next": "/"})
                for c, t in zip((first, second), tokens, strict=True)
            )
        )
    assert sorted(a.status_code for a in answers) == [303, 400]


async def test_one_code_posted_by_two_step_ups_at_once_passes_one(app, personas):
    admin = personas["admin"]
    async with make_client(app, ip="10.71.0.1") as first, make_client(app, ip="10.71.0.2") as second:
        for client in (first, second):
            client.cookies.update(await session_cookie_for(admin))
        await User.filter(id=admin.user.id).update(totp_last_step=0)
        tokens = [await csrf_token(c, "/step-up") for c in (first, second)]
        code = pyotp.TOTP(admin.totp_secret).now()
        answers = await asyncio.gather(
            *(
                c.post("/step-up", data={"password": admin.password, "code": code, "next": "/", "csrf_token": t})
                for c, t in zip((first, second), tokens, strict=True)
            )
        )
    assert sorted(a.status_code for a in answers) == [303, 400]


# --- F4: the password change is a step-up ---------------------------------------------------


async def change_password(
    client: httpx.AsyncClient,
    persona: Persona,
    current: str,
    code: str | None = None,
    new: str = "a different long passphrase",
) -> httpx.Response:
    return await client.post(
        "/account/password",
        data={
            "current_password": current,
            "code": pyotp.TOTP(persona.totp_secret).now() if code is None else code,
            "new_password": new,
            "confirm": new,
            "csrf_token": await csrf_token(client, "/account"),
        },
    )


async def test_guessing_the_current_password_is_throttled_and_audited(app, personas):
    idva = personas["idva"]
    before = (await User.get(id=idva.user.id)).password_hash
    statuses = []
    async with make_client(app, ip="10.80.0.1") as client:
        client.cookies.update(await session_cookie_for(idva))
        for n in range(8):
            await User.filter(id=idva.user.id).update(totp_last_step=0)
            statuses.append((await change_password(client, idva, f"guess number {n}")).status_code)
        # Throttled: the right password and code are refused too until the limit passes.
        await User.filter(id=idva.user.id).update(totp_last_step=0)
        statuses.append((await change_password(client, idva, idva.password)).status_code)
    assert statuses[:4] == [400] * 4 and set(statuses[4:]) == {429}, statuses
    assert (await User.get(id=idva.user.id)).password_hash == before
    assert await AuditEvent.filter(action="user.password_change", outcome="failed").count() == 4
    assert await AuditEvent.filter(action="user.password_change", outcome="denied").count() == 5
    assert await LoginFailure.all().count() >= 4


async def test_the_password_change_needs_a_code_as_well(app, personas):
    idva = personas["idva"]
    before = (await User.get(id=idva.user.id)).password_hash
    async with make_client(app, ip="10.81.0.1") as client:
        client.cookies.update(await session_cookie_for(idva))
        blank = await change_password(client, idva, idva.password, code="")
        assert blank.status_code == 400 and "6-digit code" in blank.text
        wrong = await change_password(client, idva, idva.password, code=wrong_code(idva))
        assert wrong.status_code == 400 and "password or security code is not right" in wrong.text
        assert (await User.get(id=idva.user.id)).password_hash == before
        await User.filter(id=idva.user.id).update(totp_last_step=0)
        assert (await change_password(client, idva, idva.password)).status_code == 303
    assert (await User.get(id=idva.user.id)).password_hash != before


# --- F5: common and breached passwords ------------------------------------------------------

WEAK = ["password1234", "aaaaaaaaaaaa", "qwertyuiop123", "iloveyou2024"]


@pytest.mark.parametrize("weak", WEAK)
async def test_a_common_password_is_refused_when_changing_it(app, personas, weak):
    idva = personas["idva"]
    before = (await User.get(id=idva.user.id)).password_hash
    async with make_client(app, ip="10.90.0.1") as client:
        client.cookies.update(await session_cookie_for(idva))
        answer = await change_password(client, idva, idva.password, new=weak)
    assert answer.status_code == 400 and str(auth.WEAK_PASSWORD) in answer.text
    assert (await User.get(id=idva.user.id)).password_hash == before
    assert (await User.get(id=idva.user.id)).second_factor_failures == 0  # no code spent on a refused form


@pytest.mark.parametrize("weak", ["password1234", "aaaaaaaaaaaa"])
async def test_a_common_password_is_refused_at_set_up(client, personas, weak):
    created = await service.add_user(
        None,
        email="new.officer@test.example.org",
        name="New Officer",
        agency_id=personas["police"].user.agency_id,
        role="member",
        conference_slugs=[],
    )
    token = await csrf_token(client, f"/setup/{created.setup_token}")
    answer = await client.post(
        f"/setup/{created.setup_token}", data={"password": weak, "confirm": weak, "csrf_token": token}
    )
    assert answer.status_code == 400 and str(auth.WEAK_PASSWORD) in answer.text
    user = await User.get(id=created.user.id)
    assert user.password_hash is None and user.setup_token_hash is not None  # the link still works


def test_a_password_built_on_the_persons_own_name_or_address_is_refused():
    auth.check_password_rules("northshireofficer")  # strong enough for a stranger
    with pytest.raises(RuleViolation):
        auth.check_password_rules("northshireofficer", ("northshire.officer@test.example.org", "Northshire Officer"))


async def test_a_common_password_is_refused_on_the_command_line_and_nothing_is_added(client):
    code, out = await cli(
        "user",
        "add",
        "--email",
        "weak@test.example.org",
        "--name",
        "Weak",
        "--agency",
        "A New Agency",
        "--role",
        "member",
        "--password-stdin",
        stdin="password1234\n",
    )
    assert code == 1 and str(auth.WEAK_PASSWORD) in out, out
    assert not await User.filter(email="weak@test.example.org").exists()
    from marac.agencies.models import Agency

    assert not await Agency.filter(name="A New Agency").exists()


def test_the_demo_and_test_passwords_are_acceptable():
    for email, name, _, _, _, password in demo.USERS:
        auth.check_password_rules(password, (email, name))
    auth.check_password_rules(PASSWORD, ("police@test.example.org", "Police"))


# --- F9: sealed TOTP seeds --------------------------------------------------------------------


async def test_the_stored_seed_is_sealed_and_rotation_keeps_sign_in_working(app, personas):
    police = personas["police"]
    conn = connections.get("default")
    _, rows = await conn.execute_query(f"SELECT totp_secret FROM \"user\" WHERE id = '{police.user.id}'")
    stored = rows[0]["totp_secret"]
    assert stored.startswith("enc1:") and police.totp_secret not in stored
    assert base64.b32decode(police.totp_secret).hex() not in stored
    real = settings.get()
    new_key = os.urandom(32)
    settings.override(dataclasses.replace(real, data_keys={**real.data_keys, 99: new_key}))
    try:
        assert await reseal(conn, model_columns(list(Tortoise.apps[db.APP].values()))) >= len(personas)
        settings.override(dataclasses.replace(real, data_keys={99: new_key}))  # the old key retired
        _, rows = await conn.execute_query(f"SELECT totp_secret FROM \"user\" WHERE id = '{police.user.id}'")
        assert rows[0]["totp_secret"].startswith("enc1:99:")
        async with make_client(app, ip="10.100.0.1") as client:
            done = await sign_in(client, police)
            assert done.status_code == 303 and done.headers["location"] == "/"
        # An API call loads the user by hand-written SQL: the seed opens there too.
        async with make_client(app, ip="10.100.0.2") as client:
            assert (await client.get("/api/v1/conferences", headers=police.bearer)).status_code == 200
    finally:
        settings.override(real)


# --- API tokens: expiry and last use ------------------------------------------------------------


async def test_a_token_is_refused_after_its_expiry(client, personas):
    police = personas["police"]
    assert (await client.get("/api/v1/conferences", headers=police.bearer)).status_code == 200
    await ApiToken.filter(user_id=police.user.id).update(expires_at=clock.now() - timedelta(seconds=1))
    refused = await client.get("/api/v1/conferences", headers=police.bearer)
    assert refused.status_code == 401


async def test_a_token_lasts_90_days_unless_set_otherwise(personas):
    police = personas["police"]
    token, _ = await auth.create_token(police.user, "default")
    assert abs(token.expires_at - (clock.now() + timedelta(days=90))) < timedelta(minutes=1)
    token, _ = await auth.create_token(police.user, "short", "7")
    assert abs(token.expires_at - (clock.now() + timedelta(days=7))) < timedelta(minutes=1)
    for bad in ("0", "367", "²", "-1", "1.5", "9" * 30):
        with pytest.raises(RuleViolation):
            await auth.create_token(police.user, "bad", bad)


async def test_the_account_page_sets_the_expiry_and_shows_it_with_the_last_use(app, personas):
    chair = personas["chair"]
    async with make_client(app, ip="10.110.0.1") as client:
        client.cookies.update(await session_cookie_for(chair))
        bad = await client.post(
            "/account/tokens",
            data={"label": "case system", "expires_in_days": "400", "csrf_token": await csrf_token(client, "/account")},
        )
        assert bad.status_code == 400 and "from 1 to 366" in bad.text
        made = await client.post(
            "/account/tokens",
            data={"label": "case system", "expires_in_days": "30", "csrf_token": await csrf_token(client, "/account")},
        )
        assert made.status_code == 200
        raw = made.text.split('<code id="new-token">')[1].split("<")[0]
        token = await ApiToken.get(token_hash=auth.sha256(raw))
        assert abs(token.expires_at - (clock.now() + timedelta(days=30))) < timedelta(minutes=1)
        assert (await client.get("/api/v1/conferences", headers={"Authorization": f"Bearer {raw}"})).status_code == 200
        page = (await client.get("/account")).text
        row = page.split("case system")[1].split("</tr>")[0]
        # Dates as the page writes them, in UK time: "5 Jan 2027".
        assert token.expires_at.astimezone(clock.UK).strftime("%-d %b %Y") in row
        assert "Never" not in row and clock.now().astimezone(clock.UK).strftime("%-d %b %Y") in row  # last used: today


async def test_the_command_line_sets_the_expiry(client, personas):
    code, out = await cli("token", "create", "--email", personas["police"].email, "--expires-days", "3")
    assert code == 0, out
    token = await ApiToken.get(token_hash=auth.sha256(out.strip().splitlines()[-1]))
    assert abs(token.expires_at - (clock.now() + timedelta(days=3))) < timedelta(minutes=1)
    code, out = await cli("token", "create", "--email", personas["police"].email, "--expires-days", "1000")
    assert code == 1 and "366" in out


# --- migration 0012 ---------------------------------------------------------------------------

MIGRATION_CHECK = Path(__file__).with_name("credentials_migration_check.py")
PG_ADMIN_URL = os.environ.get("MARAC_TEST_PG_ADMIN_URL")
MIGRATED = {"stored_sealed": True, "reads_back": True, "token_days": 90, "token_works": True}


async def run_migration_check(url: str) -> dict:
    return await run_check_script(MIGRATION_CHECK, url)


async def test_the_migration_seals_seeds_and_dates_tokens_on_sqlite(tmp_path):
    assert await run_migration_check(f"sqlite://{tmp_path}/old.sqlite3") == MIGRATED


@pytest.mark.skipif(not PG_ADMIN_URL, reason="MARAC_TEST_PG_ADMIN_URL not set (scripts/test sets it)")
async def test_the_migration_seals_seeds_and_dates_tokens_on_postgresql():
    async with scratch_postgres("marac_creds") as url:
        assert await run_migration_check(url) == MIGRATED
