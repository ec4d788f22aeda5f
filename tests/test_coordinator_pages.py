"""The smaller things a coordinator meets on the pages on meeting day: the triage queue and its
form, deferring a case, adding a user, and the wording of counts and messages."""

from __future__ import annotations

import re

import httpx

from marac.actions import service as actions
from marac.agencies.models import User
from marac.audit.models import AuditEvent
from marac.wording import count, plural
from tests import builders
from tests.conftest import make_client, session_cookie_for
from tests.flows import page_post


async def signed_in(app, persona) -> httpx.AsyncClient:
    client = make_client(app)
    client.cookies.update(await session_cookie_for(persona))
    return client


def row_of(html: str, marker: str) -> str:
    """The first table row that holds `marker` (the triage queue comes first on the referrals page)."""
    rows = re.findall(r"<tr class=\"govuk-table__row\">.*?</tr>", html, re.S)
    return next(r for r in rows if marker in r)


# --- triage -------------------------------------------------------------------------------------


async def test_the_triage_queue_names_the_victim_and_shows_the_risk_and_the_read_is_audited(app, personas):
    waiting = await builders.referral(personas)  # Jane Doe, DASH with 15 yes-answers
    async with await signed_in(app, personas["coordinator"]) as coordinator:
        page = await coordinator.get("/referrals")
    assert page.status_code == 200
    row = row_of(page.text, f'href="/referrals/{waiting.id}"')
    assert "Jane Doe" in row and "Score 15" in row
    read = await AuditEvent.filter(
        action="referral.read", object_id=waiting.id, user_id=personas["coordinator"].user.id
    )
    assert len(read) == 1


async def test_a_refused_triage_decision_keeps_the_chosen_answer(app, personas):
    waiting = await builders.referral(personas)
    async with await signed_in(app, personas["coordinator"]) as coordinator:
        refused = await page_post(
            coordinator, f"/referrals/{waiting.id}", f"/referrals/{waiting.id}/decision", {"decision": "reject"}
        )
    assert refused.status_code == 400
    assert re.search(r'<input[^>]*value="reject" checked', refused.text), "the Reject choice is lost"
    assert not re.search(r'<input[^>]*value="accept" checked', refused.text)
    assert '<a href="#reason">' in refused.text  # the summary points at the missing reason


async def test_a_refused_deferral_shows_its_error_in_that_cases_open_section(app, personas):
    made = [await builders.referral(personas, accept=True, body=b) for b in (None, builders.other_victim(1))]
    meeting = await builders.meeting_of(made[0])
    async with await signed_in(app, personas["coordinator"]) as coordinator:
        page = await coordinator.get(f"/meetings/{meeting.id}")
        case_ids = re.findall(r'action="/meetings/\w+/cases/(\w+)/defer"', page.text)
        assert len(case_ids) == 2
        second = case_ids[1]
        refused = await page_post(
            coordinator, f"/meetings/{meeting.id}", f"/meetings/{meeting.id}/cases/{second}/defer", {"reason": " "}
        )
    assert refused.status_code == 400
    field = f"reason-{second}"
    assert f'<a href="#{field}">' in refused.text  # the error summary links to that case's field
    sections = re.findall(r"<details[^>]*>.*?</details>", refused.text, re.S)
    [open_one] = [s for s in sections if re.match(r"<details[^>]* open", s)]
    assert f'id="{field}"' in open_one and "Say why the case is deferred" in open_one
    assert sum(f'id="reason-{c}"' in refused.text for c in case_ids) == 2  # one field per case, ids unique


# --- adding a user ------------------------------------------------------------------------------


async def test_adding_a_user_has_no_default_role_and_refuses_a_form_without_one(app, personas):
    async with await signed_in(app, personas["admin"]) as admin:
        form = await admin.get("/admin/users")
        role = re.search(r'<select[^>]*name="role".*?</select>', form.text, re.S).group(0)
        assert "selected" not in role and re.search(r'<option value="">Choose a role</option>', role)
        refused = await page_post(
            admin,
            "/admin/users",
            "/admin/users",
            {"email": "new@test.example.org", "name": "New Starter", "agency_id": personas["police"].user.agency_id},
        )
    assert refused.status_code == 400
    assert '<a href="#role">' in refused.text and 'id="role-error"' in refused.text
    assert 'value="new@test.example.org"' in refused.text  # what was typed stays
    assert not await User.filter(email="new@test.example.org").exists()


# --- wording ------------------------------------------------------------------------------------


def test_counts_say_one_thing_or_many_things():
    assert [count(n, "case") for n in (0, 1, 2)] == ["0 cases", "1 case", "2 cases"]
    assert count(1, "person", "people") == "1 person" and count(3, "person", "people") == "3 people"
    assert [plural(n, "has", "have") for n in (1, 2)] == ["has", "have"]


async def test_closing_with_one_undecided_case_says_so_once_in_the_singular(app, personas):
    world = await builders.published_meeting(personas, cases=2)
    await actions.decide_case(await builders.as_(personas, "chair"), world.meeting, world.case_ids[0], "heard", "")
    run = f"/meetings/{world.meeting.id}/run"
    async with await signed_in(app, personas["coordinator"]) as coordinator:
        refused = await page_post(coordinator, run, f"/meetings/{world.meeting.id}/close", {})
    assert refused.status_code == 409
    assert refused.text.count("1 case has no decision yet") == 1, "said twice, or in the plural"
    assert "cases have" not in refused.text


async def test_an_import_of_one_referral_says_one_referral(app, personas):
    from tests.test_referral_import_and_form import GOOD_ROW, csv_text, upload

    async with make_client(app) as client:
        answer = await upload(client, personas["police"], "referrals.csv", csv_text([GOOD_ROW]))
    assert answer.status_code == 200 and "1 referral imported" in answer.text
