"""Sign-in with password and second factor, throttling, session lifetime and revocation."""

from __future__ import annotations

from datetime import timedelta

import pyotp

from marac import clock, settings
from marac.agencies import auth
from marac.agencies.models import ApiToken, Session, User
from marac.audit.models import AuditEvent
from tests.conftest import csrf_token, make_client, session_cookie_for, sign_in


async def test_password_and_code_sign_a_user_in(client, personas):
    done = await sign_in(client, personas["police"])
    assert done.status_code == 303 and done.headers["location"] == "/"
    home = await client.get("/")
    assert home.status_code == 200
    assert "Northshire DA MARAC" in home.text
    assert await AuditEvent.filter(action="sign_in", user_id=personas["police"].user.id, outcome="ok").exists()


async def test_the_password_alone_does_not_open_any_page(client, personas):
    token = await csrf_token(client)
    first = await client.post(
        "/login",
        data={"email": "police@test.example.org", "password": personas["police"].password, "csrf_token": token},
    )
    assert first.headers["location"].startswith("/login/mfa")
    home = await client.get("/")
    assert home.status_code == 303 and home.headers["location"].startswith("/login")


async def test_a_wrong_code_is_refused(client, personas):
    token = await csrf_token(client)
    await client.post(
        "/login",
        data={"email": "police@test.example.org", "password": personas["police"].password, "csrf_token": token},
    )
    token = await csrf_token(client, "/login/mfa")
    wrong = await client.post("/login/mfa", data={"code": "000000", "csrf_token": token})
    assert wrong.status_code == 400
    assert "6-digit code" in wrong.text
    assert (await client.get("/")).status_code == 303


async def test_a_code_cannot_be_used_twice(app, personas):
    police = personas["police"]
    async with make_client(app) as first:
        assert (await sign_in(first, police)).status_code == 303
    code = pyotp.TOTP(police.totp_secret).now()
    async with make_client(app) as second:
        token = await csrf_token(second)
        await second.post("/login", data={"email": police.email, "password": police.password, "csrf_token": token})
        token = await csrf_token(second, "/login/mfa")
        # sign_in used the current step; the same code again is a replay.
        await User.filter(id=police.user.id).update(totp_last_step=pyotp.TOTP(police.totp_secret).timecode(clock.now()))
        replay = await second.post("/login/mfa", data={"code": code, "csrf_token": token})
        assert replay.status_code == 400


async def test_first_sign_in_enrols_the_second_factor_with_a_qr_code(client, personas):
    user = personas["health"].user
    await User.filter(id=user.id).update(totp_secret=None, totp_confirmed=False)
    token = await csrf_token(client)
    first = await client.post(
        "/login", data={"email": user.email, "password": personas["health"].password, "csrf_token": token}
    )
    assert first.headers["location"].startswith("/mfa/enrol")
    enrol = await client.get("/mfa/enrol")
    assert 'src="data:image/svg+xml' in enrol.text
    secret = (await User.get(id=user.id)).totp_secret
    assert secret and secret in enrol.text
    token = await csrf_token(client, "/mfa/enrol")
    done = await client.post("/mfa/enrol", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert done.status_code == 303
    assert (await client.get("/")).status_code == 200
    assert (await User.get(id=user.id)).totp_confirmed


async def test_unknown_email_and_wrong_password_get_the_same_answer(client, personas):
    token = await csrf_token(client)
    unknown = await client.post(
        "/login", data={"email": "nobody@test.example.org", "password": "whatever-password", "csrf_token": token}
    )
    wrong = await client.post(
        "/login", data={"email": "police@test.example.org", "password": "whatever-password", "csrf_token": token}
    )
    assert unknown.status_code == wrong.status_code == 400
    strip = lambda text: text.replace("nobody@test.example.org", "").replace("police@test.example.org", "")  # noqa: E731
    assert strip(unknown.text) == strip(wrong.text)


async def test_five_failures_throttle_the_account_from_that_address(app, personas):
    police = personas["police"]
    async with make_client(app, ip="10.9.8.7") as client:
        token = await csrf_token(client)
        for _ in range(5):
            answer = await client.post(
                "/login", data={"email": police.email, "password": "wrong-password-x", "csrf_token": token}
            )
            assert answer.status_code == 400
        locked = await client.post(
            "/login", data={"email": police.email, "password": police.password, "csrf_token": token}
        )
        assert locked.status_code == 429
        assert not await Session.filter(user_id=police.user.id).exists()
    # The real user at another address is not locked out by someone else's guessing.
    async with make_client(app, ip="10.1.1.1") as elsewhere:
        assert (await sign_in(elsewhere, police)).status_code == 303


async def test_failures_older_than_15_minutes_no_longer_count(app, personas):
    police = personas["police"]
    for _ in range(5):
        await auth.note_failure(police.email, "10.2.2.2")
    from marac.agencies.models import LoginFailure

    await LoginFailure.all().update(at=clock.now() - timedelta(minutes=16))
    async with make_client(app, ip="10.2.2.2") as client:
        assert (await sign_in(client, police)).status_code == 303


async def test_an_idle_session_expires_after_30_minutes(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    assert (await client.get("/")).status_code == 200
    await Session.filter(user_id=personas["police"].user.id).update(last_seen_at=clock.now() - timedelta(minutes=31))
    expired = await client.get("/")
    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")


async def test_a_busy_session_still_ends_after_12_hours(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    await Session.filter(user_id=personas["police"].user.id).update(
        created_at=clock.now() - timedelta(hours=12, minutes=1)
    )
    assert (await client.get("/")).status_code == 303


async def test_disabling_a_user_ends_their_sessions_and_tokens_at_once(app, personas):
    police = personas["police"]
    async with make_client(app) as browser, make_client(app) as admin:
        browser.cookies.update(await session_cookie_for(police))
        assert (await browser.get("/")).status_code == 200
        assert (await browser.get("/api/v1/conferences", headers=police.bearer)).status_code == 200
        admin.cookies.update(await session_cookie_for(personas["admin"]))
        token = await csrf_token(admin, "/admin/users")
        assert (
            await admin.post(f"/admin/users/{police.user.id}/disable", data={"csrf_token": token})
        ).status_code == 303
        assert (await browser.get("/")).status_code == 303
        assert (await browser.get("/api/v1/conferences", headers=police.bearer)).status_code == 401
    assert not await Session.filter(user_id=police.user.id).exists()


async def test_changing_the_password_ends_every_other_session_and_token(app, personas):
    idva = personas["idva"]
    async with make_client(app) as laptop, make_client(app) as phone:
        laptop.cookies.update(await session_cookie_for(idva))
        phone.cookies.update(await session_cookie_for(idva))
        token = await csrf_token(laptop, "/account")
        new = "a different long passphrase"
        changed = await laptop.post(
            "/account/password",
            data={
                "current_password": idva.password,
                "code": pyotp.TOTP(idva.totp_secret).now(),
                "new_password": new,
                "confirm": new,
                "csrf_token": token,
            },
        )
        assert changed.status_code == 303
        assert (await laptop.get("/account")).status_code == 200  # this browser got a fresh session
        assert (await phone.get("/")).status_code == 303
        assert (await phone.get("/api/v1/conferences", headers=idva.bearer)).status_code == 401
    assert await ApiToken.filter(user_id=idva.user.id, revoked_at__isnull=True).count() == 0


async def test_a_wrong_current_password_changes_nothing(client, personas):
    idva = personas["idva"]
    client.cookies.update(await session_cookie_for(idva))
    before = (await User.get(id=idva.user.id)).password_hash
    token = await csrf_token(client, "/account")
    new = "a different long passphrase"
    answer = await client.post(
        "/account/password",
        data={
            "current_password": "not my password",
            "code": pyotp.TOTP(idva.totp_secret).now(),
            "new_password": new,
            "confirm": new,
            "csrf_token": token,
        },
    )
    assert answer.status_code == 400 and "password or security code is not right" in answer.text
    assert (await User.get(id=idva.user.id)).password_hash == before


async def test_sign_out_ends_the_session(client, personas):
    client.cookies.update(await session_cookie_for(personas["chair"]))
    token = await csrf_token(client, "/")
    assert (await client.post("/logout", data={"csrf_token": token})).status_code == 303
    assert (await client.get("/")).status_code == 303


async def test_demo_accounts_skip_the_second_factor_only_in_the_demo_environment(app, personas):
    police = personas["police"]
    await User.filter(id=police.user.id).update(demo=True)
    real = settings.get()
    async with make_client(app) as client:
        token = await csrf_token(client)
        answer = await client.post(
            "/login", data={"email": police.email, "password": police.password, "csrf_token": token}
        )
        assert answer.headers["location"].startswith("/login/mfa")
    try:
        settings.override(settings.load({**__import__("os").environ, "MARAC_ENV": "demo"}))
        async with make_client(app) as client:
            token = await csrf_token(client)
            answer = await client.post(
                "/login", data={"email": police.email, "password": police.password, "csrf_token": token}
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/"
            home = await client.get("/")
            assert "Demo data — not for real cases" in home.text
    finally:
        settings.override(real)


async def test_an_open_redirect_after_sign_in_goes_home_instead(client, personas):
    police = personas["police"]
    await User.filter(id=police.user.id).update(totp_last_step=0)
    token = await csrf_token(client)
    await client.post(
        "/login",
        data={"email": police.email, "password": police.password, "csrf_token": token, "next": "//evil.example"},
    )
    token = await csrf_token(client, "/login/mfa")
    done = await client.post(
        "/login/mfa", data={"code": pyotp.TOTP(police.totp_secret).now(), "csrf_token": token, "next": "//evil.example"}
    )
    assert done.headers["location"] == "/"
