"""Break-glass access (README "Break-glass access"): someone outside a case's entitlement, with an urgent
safeguarding need, re-authenticates, gives a reason and reads that one case for 4 hours,
with the victim's address and safe contact masked unless a coordinator approves them.
The coordinator is told at once and reviews every use; everything is audited.

Health (a member agency that did not make the referral) is the usual outsider; police made it.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pyotp
import pytest

from marac import clock
from marac.agencies.models import User
from marac.audit.models import AuditEvent
from marac.jobs import queue, tasks
from marac.jobs.models import Job
from marac.notices.models import Notification
from marac.referrals.models import BreakGlass, Referral
from tests.builders import other_conference_coordinator
from tests.conftest import Persona, csrf_token, make_client, make_referral, session_cookie_for

REASON = "Victim presented at the emergency department tonight, need the risk picture before discharge"
PHONE = "07700 900123"
STREET = "1 High Street"
MASKED = "Masked: break-glass access"


async def browser(app, persona: Persona, ip: str = "10.9.0.1") -> httpx.AsyncClient:
    client = make_client(app, ip=ip)
    client.cookies.update(await session_cookie_for(persona))
    return client


async def break_glass(
    client: httpx.AsyncClient,
    persona: Persona,
    reference: str,
    *,
    password: str | None = None,
    code: str | None = None,
    reason: str = REASON,
    fresh_code: bool = True,
) -> httpx.Response:
    if fresh_code:  # each code is accepted once; a test may step up twice within 30 s
        await User.filter(id=persona.user.id).update(totp_last_step=0)
    token = await csrf_token(client, "/break-glass")
    return await client.post(
        "/break-glass",
        data={
            "reference": reference,
            "reason": reason,
            "password": persona.password if password is None else password,
            "code": pyotp.TOTP(persona.totp_secret).now() if code is None else code,
            "csrf_token": token,
        },
    )


async def events(action: str, **filters) -> list[AuditEvent]:
    return await AuditEvent.filter(action=action, **filters).order_by("seq")


async def test_an_outsider_reads_that_one_case_for_four_hours_with_contact_masked(app, personas):
    health = personas["health"]
    case, other = await make_referral(personas["police"]), await make_referral(personas["police"])
    async with await browser(app, health) as client:
        assert (await client.get(f"/referrals/{case.id}")).status_code == 404
        opened = await break_glass(client, health, case.id)
        assert opened.status_code == 303 and opened.headers["location"] == f"/referrals/{case.id}"
        page = await client.get(f"/referrals/{case.id}")
        assert page.status_code == 200
        assert "Jane Doe" in page.text and "Escalating threats" in page.text
        assert MASKED in page.text and PHONE not in page.text and STREET not in page.text and "NS1 1AA" not in page.text
        assert "break-glass access until" in page.text
        assert (await client.get(f"/referrals/{other.id}")).status_code == 404

    grant = await BreakGlass.get(user_id=health.user.id)
    assert (grant.referral_id, grant.agency_id, grant.reason) == (case.id, health.user.agency_id, REASON)
    assert grant.expires_at - grant.started_at == timedelta(hours=4)
    # Over the API too, for the same user's token: the same case only, masked the same way.
    async with make_client(app) as api:
        body = (await api.get(f"/api/v1/referrals/{case.id}", headers=health.bearer)).json()
        assert body["victim"]["address"]["line1"] == MASKED and body["victim"]["safe_contact"]["phone"] == MASKED
        assert (await api.get(f"/api/v1/referrals/{other.id}", headers=health.bearer)).status_code == 404
    # The stored referral is untouched by the masking.
    assert (await Referral.get(id=case.id)).victim["safe_contact"]["phone"] == PHONE

    [start] = await events("break_glass.start", user_id=health.user.id)
    assert (start.outcome, start.object_id, start.conference_id) == ("ok", grant.id, case.conference_id)
    reads = await events("break_glass.read", object_id=grant.id)
    assert len(reads) == 2 and all(e.user_id == health.user.id for e in reads)
    assert len(await events("referral.read", object_id=case.id, user_id=health.user.id)) == 2


async def test_a_wrong_password_or_a_replayed_code_grants_nothing_and_is_audited(app, personas):
    health = personas["health"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        wrong = await break_glass(client, health, case.id, password="not my password at all")
        assert wrong.status_code == 400 and "password or security code is not right" in wrong.text
        assert "not my password" not in wrong.text and REASON in wrong.text  # the reason is kept, secrets are not

        code = pyotp.TOTP(health.totp_secret).now()
        await User.filter(id=health.user.id).update(totp_last_step=pyotp.TOTP(health.totp_secret).timecode(clock.now()))
        replay = await break_glass(client, health, case.id, code=code, fresh_code=False)
        assert replay.status_code == 400

        short = await break_glass(client, health, case.id, reason="urgent")
        assert short.status_code == 400 and "at least 20 characters" in short.text
        assert (await client.get(f"/referrals/{case.id}")).status_code == 404
    assert not await BreakGlass.exists()
    denied = await events("break_glass.start", outcome="denied")
    assert len(denied) == 2 and all(e.object_id is None for e in denied)  # the form error costs no audit


async def test_an_unknown_reference_and_a_monitoring_only_report_answer_alike_and_count_as_failures(app, personas):
    health = personas["health"]
    hidden = await make_referral(personas["police"])
    await Referral.filter(id=hidden.id).update(monitoring_only=True)
    async with await browser(app, health, ip="10.9.0.2") as client:
        unknown = await break_glass(client, health, "0" * 32)
        monitoring = await break_glass(client, health, hidden.id)
        assert unknown.status_code == monitoring.status_code == 400
        message = "No case you can open with break-glass access has this reference"
        assert message in unknown.text and message in monitoring.text
        malformed = await break_glass(client, health, "../etc/passwd")
        assert malformed.status_code == 400 and "32 letters and numbers" in malformed.text
        # Five failures throttle the account from this address, as sign-in does.
        for _ in range(3):
            await break_glass(client, health, "f" * 32)
        case = await make_referral(personas["police"])
        throttled = await break_glass(client, health, case.id)
        assert throttled.status_code == 429
    assert not await BreakGlass.exists()


async def test_someone_already_entitled_goes_to_the_case_without_a_grant(app, personas):
    police = personas["police"]
    case = await make_referral(police)
    async with await browser(app, police) as client:
        answer = await break_glass(client, police, case.id, password="wrong but irrelevant")
        assert answer.status_code == 303 and answer.headers["location"] == f"/referrals/{case.id}"
    assert not await BreakGlass.exists() and not await events("break_glass.start")


async def test_after_four_hours_the_case_is_closed_again_and_the_end_is_audited_once(app, personas):
    health = personas["health"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        await break_glass(client, health, case.id)
        grant = await BreakGlass.get(user_id=health.user.id)
        # Four hours and a minute pass (the tests' way with the clock: move stored times back).
        shift = timedelta(hours=4, minutes=1)
        await BreakGlass.filter(id=grant.id).update(
            started_at=grant.started_at - shift, expires_at=grant.expires_at - shift
        )
        assert (await client.get(f"/referrals/{case.id}")).status_code == 404
        assert (await client.get(f"/referrals/{case.id}")).status_code == 404
    ended = await BreakGlass.get(id=grant.id)
    assert ended.end_reason == "expired" and ended.ended_at == grant.expires_at - shift
    [end] = await events("break_glass.end", object_id=grant.id)
    assert end.user_id == health.user.id


async def test_the_sweep_records_expiries_no_request_noticed(app, personas):
    health = personas["health"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        await break_glass(client, health, case.id)
    await BreakGlass.all().update(expires_at=clock.now() - timedelta(seconds=1))
    await tasks.end_expired_break_glass()
    await tasks.end_expired_break_glass()  # idempotent
    assert (await BreakGlass.get(user_id=health.user.id)).end_reason == "expired"
    assert len(await events("break_glass.end")) == 1


async def test_the_holder_may_end_it_early_and_nobody_else_may(app, personas):
    health, idva = personas["health"], personas["idva"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        await break_glass(client, health, case.id)
        grant = await BreakGlass.get(user_id=health.user.id)
        async with await browser(app, idva, ip="10.9.0.3") as stranger:
            token = await csrf_token(stranger, "/break-glass")
            assert (await stranger.post(f"/break-glass/{grant.id}/end", data={"csrf_token": token})).status_code == 404
        assert (await client.get(f"/referrals/{case.id}")).status_code == 200
        token = await csrf_token(client, "/break-glass")
        assert (await client.post(f"/break-glass/{grant.id}/end", data={"csrf_token": token})).status_code == 303
        assert (await client.get(f"/referrals/{case.id}")).status_code == 404
    assert (await BreakGlass.get(id=grant.id)).end_reason == "ended"
    [end] = await events("break_glass.end", object_id=grant.id)
    assert end.user_id == health.user.id


async def test_the_coordinator_is_told_at_once_in_the_app_and_by_an_email_without_case_details(app, personas, smtp):
    health, coordinator = personas["health"], personas["coordinator"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as client:
        await break_glass(client, health, case.id)
    assert await Job.exists(name="notify_break_glass")
    await queue.drain()  # without Redis the job ran in-process; with Redis no worker runs here:
    [notification] = await Notification.filter(kind="break_glass")
    await tasks.notify_break_glass(grant_id=notification.break_glass_id)  # so run it as the worker would
    assert notification.user_id == coordinator.user.id  # not the chair, not the holder
    async with await browser(app, coordinator, ip="10.9.0.4") as client:
        page = await client.get("/notifications")
        assert "Break glass" in page.text and "/break-glass/reviews" in page.text
    [message] = smtp.to(coordinator.email)
    body = message.get_content()
    assert "/break-glass/reviews" in body and "waiting for your review: 1" in body
    for detail in (case.id, "Jane Doe", "Health", "Northshire NHS Trust", REASON, "emergency"):
        assert detail not in body and detail not in message["Subject"]
    assert len(smtp.messages) == 1
    await tasks.notify_break_glass(grant_id=notification.break_glass_id)  # another delivery sends nothing
    assert len(smtp.messages) == 1


async def test_the_coordinator_approves_contact_details_reviews_the_use_and_others_cannot(app, personas):
    health, coordinator = personas["health"], personas["coordinator"]
    case = await make_referral(personas["police"])
    async with await browser(app, health) as holder, await browser(app, coordinator, ip="10.9.0.5") as officer:
        await break_glass(holder, health, case.id)
        grant = await BreakGlass.get(user_id=health.user.id)
        listing = await officer.get("/break-glass/reviews")
        assert listing.status_code == 200
        for shown in ("Health", "Northshire NHS Trust", case.id, REASON, "Active"):
            assert shown in listing.text
        token = await csrf_token(officer, "/break-glass/reviews")

        assert (
            await officer.post(f"/break-glass/reviews/{grant.id}/contact", data={"csrf_token": token})
        ).status_code == 303
        page = await holder.get(f"/referrals/{case.id}")
        assert PHONE in page.text and STREET in page.text and MASKED not in page.text

        early = await officer.post(
            f"/break-glass/reviews/{grant.id}/review", data={"csrf_token": token, "note": "Checked"}
        )
        assert early.status_code == 409  # a review covers the whole use: end it first
        assert (
            await officer.post(f"/break-glass/reviews/{grant.id}/end", data={"csrf_token": token})
        ).status_code == 303
        assert (await holder.get(f"/referrals/{case.id}")).status_code == 404  # revoked: effective on the next request
        late = await officer.post(f"/break-glass/reviews/{grant.id}/contact", data={"csrf_token": token})
        assert late.status_code == 409
        empty = await officer.post(f"/break-glass/reviews/{grant.id}/review", data={"csrf_token": token, "note": " "})
        assert empty.status_code == 400
        assert REASON in (await officer.get("/break-glass/reviews")).text
        done = await officer.post(
            f"/break-glass/reviews/{grant.id}/review",
            data={"csrf_token": token, "note": "Called the nurse: genuine emergency attendance"},
        )
        assert done.status_code == 303
        assert REASON not in (await officer.get("/break-glass/reviews")).text

    for persona, ip in (("chair", "10.9.0.6"), ("health", "10.9.0.7"), ("auditor", "10.9.0.8")):
        async with await browser(app, personas[persona], ip=ip) as client:
            assert (await client.get("/break-glass/reviews")).status_code == 403
    reviewed = await BreakGlass.get(id=grant.id)
    assert (reviewed.reviewed_by, reviewed.review_note) == (
        coordinator.user.id,
        "Called the nurse: genuine emergency attendance",
    )
    assert reviewed.contact_approved_by == coordinator.user.id and reviewed.end_reason == "revoked"
    for action in ("break_glass.approve_contact", "break_glass.end", "break_glass.review"):
        [event] = await events(action, object_id=grant.id)
        assert event.user_id == coordinator.user.id and event.conference_id == case.conference_id


async def test_a_coordinator_of_another_conference_reads_but_never_changes_the_case(app, personas):
    south = await other_conference_coordinator()
    case = await make_referral(personas["police"])
    async with await browser(app, south) as client:
        assert (await break_glass(client, south, case.id)).status_code == 303
        page = await client.get(f"/referrals/{case.id}")
        assert page.status_code == 200 and "Save decision" not in page.text
        token = await csrf_token(client, "/break-glass")
        decision = await client.post(
            f"/referrals/{case.id}/decision", data={"csrf_token": token, "decision": "reject", "reason": "x"}
        )
        assert decision.status_code == 404
        # Nor may they review their own use: it is not their conference's case.
        assert (await client.get("/break-glass/reviews")).text.count(REASON) == 0
    assert (await Referral.get(id=case.id)).status == "received"


@pytest.mark.parametrize("role", ["admin", "auditor"])
async def test_admins_and_auditors_never_break_glass(app, personas, role):
    case = await make_referral(personas["police"])
    async with await browser(app, personas[role]) as client:
        token = await csrf_token(client, "/")
        answer = await client.post("/break-glass", data={"csrf_token": token, "reference": case.id, "reason": REASON})
        assert answer.status_code == 403
    assert not await BreakGlass.exists()


async def test_a_repeat_opened_by_break_glass_does_not_lead_to_the_earlier_case(app, personas):
    health = personas["health"]
    first = await make_referral(personas["police"])
    await Referral.filter(id=first.id).update(status="heard")  # not yet heard, it would be a duplicate
    repeat = await make_referral(personas["police"])
    assert (await Referral.get(id=repeat.id)).previous_referral_id == first.id
    async with await browser(app, health) as client:
        assert (await break_glass(client, health, repeat.id)).status_code == 303
    async with make_client(app) as api:
        body = (await api.get(f"/api/v1/referrals/{repeat.id}", headers=health.bearer)).json()
    assert body["repeat"] == {"is_repeat": True, "previous_referral_id": None}
    assert (await Referral.get(id=repeat.id)).previous_referral_id == first.id  # only the answer is masked
