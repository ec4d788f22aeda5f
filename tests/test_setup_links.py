"""An administrator must never be able to act as a case-handling user (docs/security.md).

A set-up link (new account, or reset sign-in) goes only to the user's own e-mail address,
through the outbox; the API and the admin page say where it went and show the link only on a
development or demo server. The CLI, the server's operator, still prints it. An account with
case access created or reset in a conference is told to that conference's coordinators, and
every such act is audited with the administrator's id and the role. E-mail goes to a real SMTP
server (aiosmtpd) on loopback.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from email.message import EmailMessage

import pytest
from tortoise import connections

from marac import clock, settings
from marac.agencies import auth, service
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference, User
from marac.audit.models import AuditEvent
from marac.jobs import queue, tasks
from marac.notices.models import Notification
from marac.notify import outbox
from marac.notify.models import OutboxEmail
from marac.web import cookies, csrf
from tests.conftest import CONFERENCE, csrf_token, make_client
from tests.mail import Inbox, free_port, smtp_settings
from tests.test_migrations_and_cli import cli

SETUP_LINK = re.compile(r"/setup/[A-Za-z0-9_-]{20,}")


@contextmanager
def environment(name: str) -> Iterator[None]:
    """The running settings (database, keys, SMTP) as MARAC_ENV=`name` would have them."""
    real = settings.get()
    settings.override(dataclasses.replace(real, env=name))
    try:
        yield
    finally:
        settings.override(real)


async def delivered(inbox: Inbox, address: str) -> list[EmailMessage]:
    """Let the e-mail job run as the service runs it (in-process, or call it as a worker would),
    then what reached `address`, and only it."""
    await queue.drain()
    await tasks.send_email()
    return inbox.to(address)


async def admin_browser(app, persona):
    """The admin signed in (both factors just given), over https when the settings ask for it."""
    base = "https://testserver" if settings.get().secure_cookies else "http://testserver"
    browser = make_client(app, base_url=base)
    browser.cookies.set(cookies.name(csrf.SESSION), await auth.start_session(persona.user, mfa_passed=True))
    return browser


async def post_form(browser, form_page: str, url: str, data: dict):
    return await browser.post(url, data={**data, "csrf_token": await csrf_token(browser, form_page)})


@pytest.mark.parametrize("env", ["test", "production"])
async def test_an_admin_never_receives_a_set_up_link_the_user_does_by_e_mail(app, client, personas, smtp, env):
    admin, police = personas["admin"], personas["police"]
    with environment(env):
        answer = await client.post(
            "/api/v1/users",
            headers=admin.bearer,
            json={
                "email": "new.coordinator@test.example.org",
                "name": "New Coordinator",
                "agency_id": police.user.agency_id,
                "role": "coordinator",
                "conferences": [CONFERENCE],
            },
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["setup_link_sent_to"] == "new.coordinator@test.example.org"
        assert answer.json()["setup_url"] is None and not SETUP_LINK.search(answer.text)

        async with await admin_browser(app, admin) as browser:
            page = await post_form(
                browser,
                "/admin/users",
                "/admin/users",
                {
                    "email": "new.member@test.example.org",
                    "name": "New Member",
                    "agency_id": police.user.agency_id,
                    "role": "member",
                    "conferences": CONFERENCE,
                },
            )
            assert page.status_code == 200 and "Sent to new.member@test.example.org" in page.text
            assert not SETUP_LINK.search(page.text) and 'id="setup-url"' not in page.text
            reset = await post_form(browser, "/admin/users", f"/admin/users/{police.user.id}/reset", {})
            assert reset.status_code == 200 and f"Sent to {police.email}" in reset.text
            assert not SETUP_LINK.search(reset.text)

        for address in ("new.coordinator@test.example.org", "new.member@test.example.org", police.email):
            # (The new coordinator also hears of the other two accounts: see the coordinators' test.)
            (text,) = [m.get_content() for m in await delivered(smtp, address) if m["Subject"] == service.SETUP_SUBJECT]
            (path,) = SETUP_LINK.findall(text)
            # The link and nothing else: no name, agency, conference or case.
            assert not re.search(r"Northshire|New Coordinator|New Member|Police", text)
            async with make_client(app) as stranger:
                assert (await stranger.get(path)).status_code == 200  # the user's link works
        assert smtp.to(admin.email) == []
        assert not [m for m in smtp.messages if SETUP_LINK.search(m.get_content()) and m["To"] == admin.email]


@pytest.mark.parametrize("env", ["development", "demo"])
async def test_a_development_or_demo_server_also_shows_the_link(client, personas, smtp, env):
    with environment(env):
        answer = await client.post(
            "/api/v1/users",
            headers=personas["admin"].bearer,
            json={
                "email": "dev@test.example.org",
                "name": "Dev",
                "agency_id": personas["police"].user.agency_id,
                "role": "member",
                "conferences": [CONFERENCE],
            },
        )
    assert answer.status_code == 201 and answer.json()["setup_link_sent_to"] == "dev@test.example.org"
    shown = SETUP_LINK.search(answer.json()["setup_url"]).group(0)
    (mail,) = await delivered(smtp, "dev@test.example.org")
    assert SETUP_LINK.search(mail.get_content()).group(0) == shown  # one link, also e-mailed


async def test_the_command_line_prints_the_link_and_e_mails_nothing(client, personas):
    code, out = await cli(
        "user",
        "add",
        "--email",
        "ops.member@test.example.org",
        "--name",
        "Ops Member",
        "--agency",
        "Northshire Police",
        "--role",
        "member",
        "--conference",
        CONFERENCE,
    )
    assert code == 0 and SETUP_LINK.search(out), out
    code, out = await cli("user", "reset", "--email", personas["police"].email)
    assert code == 0 and SETUP_LINK.search(out), out
    assert (await User.get(id=personas["police"].user.id)).password_hash is None
    assert not await OutboxEmail.filter(kind="setup_link").exists()
    code, out = await cli("user", "reset", "--email", "nobody@test.example.org")
    assert code == 1 and "No active user" in out


async def test_coordinators_are_told_of_accounts_with_case_access_in_their_conference(app, client, personas, smtp):
    admin, coordinator, police = personas["admin"], personas["coordinator"], personas["police"]
    # A second conference with its own coordinator, who must hear nothing about the first.
    other = await service.create_conference(
        None,
        name="Southshire DA MARAC",
        slug="southshire-da",
        type="domestic-abuse",
        weekday="tuesday",
        start_time="10:00",
        first_date=date(2026, 1, 6),
        members=[],
    )
    elsewhere = (
        await service.add_user(
            None,
            email="south.coordinator@test.example.org",
            name="South",
            role="coordinator",
            agency_id=coordinator.user.agency_id,
            conference_slugs=[other.slug],
        )
    ).user

    made = await client.post(
        "/api/v1/users",
        headers=admin.bearer,
        json={
            "email": "new.chair@test.example.org",
            "name": "Newly Made Chair",
            "agency_id": police.user.agency_id,
            "role": "chair",
            "conferences": [CONFERENCE],
        },
    )
    assert made.status_code == 201, made.text
    async with await admin_browser(app, admin) as browser:
        assert (await post_form(browser, "/admin/users", f"/admin/users/{police.user.id}/reset", {})).status_code == 200
        # Accounts that handle no cases are no coordinator's business.
        for role in ("auditor", "admin"):
            answer = await post_form(
                browser,
                "/admin/users",
                "/admin/users",
                {
                    "email": f"{role}2@test.example.org",
                    "name": role,
                    "agency_id": admin.user.agency_id,
                    "role": role,
                    **({"conferences": CONFERENCE} if role == "auditor" else {}),
                },
            )
            assert answer.status_code == 200, answer.text

    conference = await Conference.get(slug=CONFERENCE)
    told = (
        await Notification.filter(user_id=coordinator.user.id)
        .order_by("id")
        .values_list("kind", "about_user_id", "conference_id", "role")
    )
    assert told == [
        ("account_created", made.json()["id"], conference.id, "chair"),
        ("account_reset", police.user.id, conference.id, "member"),
    ]
    assert not await Notification.filter(user_id__in=[elsewhere.id, admin.user.id, police.user.id]).exists()

    # In the app: who, which role, where. By e-mail: what happened and a link, no name.
    async with make_client(app) as browser:
        browser.cookies.set(csrf.SESSION, await auth.start_session(coordinator.user, mfa_passed=True))
        page = (await browser.get("/notifications")).text
    assert "Newly Made Chair" in page and "chair in Northshire DA MARAC" in page and "Sign-in reset" in page
    mails = await delivered(smtp, coordinator.email)
    assert len(mails) == 2
    for mail in mails:
        text = mail.get_content()
        assert "/notifications" in text and not SETUP_LINK.search(text)
        assert not re.search(r"Newly Made Chair|new\.chair|Police|Northshire", text)
    assert await delivered(smtp, elsewhere.email) == []


async def test_creating_and_resetting_an_account_is_audited_with_the_admin_and_the_role(app, client, personas):
    admin, police = personas["admin"], personas["police"]
    conference = await Conference.get(slug=CONFERENCE)
    made = await client.post(
        "/api/v1/users",
        headers=admin.bearer,
        json={
            "email": "audited@test.example.org",
            "name": "Audited Person",
            "agency_id": police.user.agency_id,
            "role": "coordinator",
            "conferences": [CONFERENCE],
        },
    )
    async with await admin_browser(app, admin) as browser:
        assert (await post_form(browser, "/admin/users", f"/admin/users/{police.user.id}/reset", {})).status_code == 200

    for action, target, role in (
        ("user.create", made.json()["id"], "coordinator"),
        ("user.reset_sign_in", police.user.id, "member"),
    ):
        event = await AuditEvent.get(action=action, object_id=target)
        (granted,) = await AuditEvent.filter(action=f"user.role.{role}", object_id=target, user_id=admin.user.id)
        assert event.user_id == admin.user.id and granted.agency_id == admin.user.agency_id
        assert granted.conference_id == conference.id and granted.request_id == event.request_id
    events = await AuditEvent.filter(object_id=made.json()["id"]).values()
    rows = " ".join(str(value) for event in events for value in event.values())
    assert "Audited Person" not in rows and "audited@" not in rows  # ids and the role only


async def test_a_refused_message_waits_sealed_in_the_outbox_and_goes_later(client, personas, caplog):
    caplog.set_level(logging.DEBUG)
    closed = free_port()  # nothing listens here: the server refuses every connection
    with smtp_settings(f"smtp://127.0.0.1:{closed}"):
        made = await client.post(
            "/api/v1/users",
            headers=personas["admin"].bearer,
            json={
                "email": "patient@test.example.org",
                "name": "Patient",
                "agency_id": personas["police"].user.agency_id,
                "role": "member",
                "conferences": [CONFERENCE],
            },
        )
        assert made.status_code == 201
        await queue.drain()
        assert await tasks.send_email() is None
    row = await OutboxEmail.get(user_id=made.json()["id"], kind="setup_link")
    assert row.status == "pending" and row.attempts >= 1 and row.next_attempt_at > clock.now()
    conn = connections.get("default")
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    (stored,) = await conn.execute_query_dict(f'SELECT "body" FROM "email_outbox" WHERE "id" = {mark}', [row.id])
    assert stored["body"] and "/setup/" not in stored["body"]  # sealed while it waits

    from aiosmtpd.controller import Controller

    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        with smtp_settings(f"smtp://127.0.0.1:{server.port}"):
            assert await outbox.send_pending() == 0  # not yet: it waits for its next attempt
            # A sender that claimed it and died: the claim runs out and the next run sends it.
            await OutboxEmail.filter(id=row.id).update(
                next_attempt_at=clock.now(), claimed_until=clock.now() - timedelta(seconds=1)
            )
            assert await outbox.send_pending() == 1
            assert await outbox.send_pending() == 0  # once
    finally:
        server.stop()
    (mail,) = inbox.to("patient@test.example.org")
    assert SETUP_LINK.search(mail.get_content())
    sent = await OutboxEmail.get(id=row.id)
    assert sent.status == "sent" and sent.body is None  # the link is not kept once it has gone
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")  # not the test SMTP server's
    assert "/setup/" not in ours and "patient@" not in ours


async def test_a_new_reset_replaces_an_unsent_link_and_a_disabled_user_gets_none(app, personas, smtp):
    admin, police, health = personas["admin"], personas["police"], personas["health"]
    viewer = await viewer_for(admin.user)
    await service.reset_sign_in(viewer, police.user)
    await service.reset_sign_in(viewer, police.user)
    await service.reset_sign_in(viewer, health.user)
    await service.disable(viewer, await User.get(id=health.user.id))
    (mail,) = await delivered(smtp, police.email)  # only the link that works
    async with make_client(app) as stranger:
        assert (await stranger.get(SETUP_LINK.search(mail.get_content()).group(0))).status_code == 200
    assert await delivered(smtp, health.email) == []
    assert not await OutboxEmail.filter(body__isnull=False).exists()  # no link kept, sent or not
