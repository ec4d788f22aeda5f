"""Correcting, withdrawing and de-duplicating referrals in headless Chromium, as people do it: the
referrer corrects a referral before triage and then withdraws it; the coordinator merges a duplicate
into one case and keeps another pair apart. Each page is checked as in tests/test_browser.py (axe with
no violation of any impact, 375 px, script errors), with JavaScript on and off, its refusals too.
Runs with MARAC_TEST_BROWSER=1 (run B of scripts/test)."""

from __future__ import annotations

import pytest
from playwright.async_api import Page, expect

from marac.audit.models import AuditEvent
from marac.referrals.models import Referral, ReferralChange
from tests import browser
from tests.test_browser import api, base_url, chromium, referred, session, signed_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


async def open_referral(page: Page, referral_id: str) -> None:
    """From the referrals list to one referral, as its reader finds it."""
    await page.get_by_role("link", name="Referrals", exact=True).click()
    await page.locator(f'a[href="/referrals/{referral_id}"]').first.click()
    await page.wait_for_url(f"**/referrals/{referral_id}")


def refused(journey: browser.Session, page: Page) -> None:
    """The form's 400 is the refusal the journey asked for, not a problem of the page."""
    assert journey.problems[page] == [f"400 {page.url}"], journey.problems[page]
    journey.problems[page].clear()


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_referrer_corrects_a_referral_then_withdraws_it(session, personas, api, javascript):  # noqa: F811
    made = await referred(api, personas["police"], "Jane Doe", "1990-03-14")
    page = await signed_in(session, personas["police"], javascript)
    await open_referral(page, made["id"])

    await page.get_by_role("link", name="Correct the referral").click()
    await page.wait_for_url(f"**/referrals/{made['id']}/edit")
    await expect(page.get_by_role("heading", level=1)).to_contain_text("Correct the referral")
    summary = page.get_by_label("Incident history and current risks")
    await expect(page.get_by_label("Full name").first).to_have_value("Jane Doe")
    await session.look(page, "referral-edit")

    # An empty account of the incident is refused, and the form keeps everything else.
    await summary.fill("")
    await page.get_by_role("button", name="Save the correction").click()
    await expect(page.locator(".govuk-error-summary")).to_be_visible()
    refused(session, page)
    await expect(page.get_by_label("Full name").first).to_have_value("Jane Doe")
    await session.look(page, "referral-edit-refused")

    await summary.fill("Corrected: the incident was on the Friday, not the Saturday.")
    await page.get_by_role("button", name="Save the correction").click()
    await page.wait_for_url(f"**/referrals/{made['id']}")
    await expect(page.get_by_text("Corrected: the incident was on the Friday")).to_be_visible()
    await expect(page.get_by_text("edited (summary)")).to_be_visible()
    await session.look(page, "referral-corrected")

    # Withdrawn: a reason is needed first.
    await page.get_by_role("button", name="Withdraw the referral").click()
    await expect(page.locator(".govuk-error-summary")).to_be_visible()
    refused(session, page)
    await session.look(page, "withdraw-refused")
    await page.get_by_label("Why is the referral withdrawn?").fill("Sent in error: the victim was referred by health.")
    await page.get_by_role("button", name="Withdraw the referral").click()
    await page.wait_for_url(f"**/referrals/{made['id']}")
    await expect(page.get_by_text("Sent in error: the victim was referred by health.")).to_be_visible()
    await expect(page.get_by_role("button", name="Withdraw the referral")).to_have_count(0)
    await session.look(page, "referral-withdrawn")

    referral = await Referral.get(id=made["id"])
    assert referral.status == "withdrawn" and referral.summary.startswith("Corrected:")
    assert sorted(await ReferralChange.filter(referral_id=made["id"]).values_list("kind", flat=True)) == [
        "edit",
        "withdraw",
    ]


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
async def test_coordinator_merges_one_duplicate_and_keeps_another_apart(session, personas, api, javascript):  # noqa: F811
    # Police and the advocate refer the same incident twice over, for two victims.
    first = await referred(api, personas["police"], "Jane Doe", "1990-03-14")
    duplicate = await referred(api, personas["idva"], "Jane Doe", "1990-03-14")
    other = await referred(api, personas["police"], "Mary Major", "1982-06-30")
    apart = await referred(api, personas["health"], "Mary Major", "1982-06-30")
    assert duplicate["possible_duplicate_of"] == first["id"] and apart["possible_duplicate_of"] == other["id"]

    page = await signed_in(session, personas["coordinator"], javascript)
    await open_referral(page, duplicate["id"])
    await expect(page.get_by_role("heading", name="Possible duplicate")).to_be_visible()
    await session.look(page, "duplicate")
    await page.get_by_role("button", name="Merge into one case").click()
    await page.wait_for_url(f"**/referrals/{duplicate['id']}")
    await expect(page.get_by_text("The case it duplicates")).to_be_visible()
    await expect(page.get_by_role("button", name="Merge into one case")).to_have_count(0)
    await session.look(page, "duplicate-merged")
    await page.get_by_role("link", name="The case it duplicates").click()
    await page.wait_for_url(f"**/referrals/{first['id']}")
    await expect(page.get_by_text("(merged duplicate)")).to_be_visible()
    await session.look(page, "merged-case")

    await open_referral(page, apart["id"])
    await page.get_by_role("button", name="Keep apart").click()
    await expect(page.locator(".govuk-error-summary")).to_be_visible()
    refused(session, page)
    await session.look(page, "keep-apart-refused")
    await page.get_by_label("Or keep them apart: why are these separate incidents?").fill(
        "Two incidents: the health visit was a week before the police call-out."
    )
    await page.get_by_role("button", name="Keep apart").click()
    await page.wait_for_url(f"**/referrals/{apart['id']}")
    await expect(page.get_by_text("kept apart (Two incidents")).to_be_visible()
    await session.look(page, "kept-apart")

    assert (await Referral.get(id=duplicate["id"])).merged_into_id == first["id"]
    kept = await Referral.get(id=apart["id"])
    assert kept.kept_apart_reason and kept.merged_into_id is None
    assert await AuditEvent.filter(action="referral.keep_apart", object_id=apart["id"]).exists()
