"""The three journeys of the README ("Browser tests") in headless Chromium, driven through the pages as people
live them: a coordinator triaging and publishing, a chair running the meeting, an agency
user between meetings (also by keyboard alone). Each runs with JavaScript on (every page
checked by axe-core, at 375 px, for script errors) and off (GOV.UK progressive enhancement:
everything must still work). Only the state that exists before a journey starts (referrals
already sent, a meeting already held) is made through the API.

Screenshots of the key pages go to $MARAC_ARTIFACTS (default test-artifacts/browser/), one
folder per test; a failing test also leaves each open page's screenshot and HTML there.
Runs with MARAC_TEST_BROWSER=1 (run B of scripts/test).
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.async_api import Page, expect

from marac import i18n
from marac.actions.models import Action
from marac.agencies import service as directory
from marac.agencies.models import Conference, User
from marac.audit.models import AuditEvent
from marac.clock import today
from marac.documents.render import change_line
from marac.meetings.models import Meeting
from marac.referrals.models import Referral
from tests import browser
from tests.conftest import CONFERENCE, REPORTS, dash_body, make_client, session_cookie_for
from tests.flows import page_post, run_jobs

pytestmark = pytest.mark.browser
# Each journey with JavaScript on and off, and once more in Welsh: the same steps, each looked for by what
# the Welsh catalogue says (browser.Session.t), so a Welsh page that lost a button or a label fails here.
RUNS = pytest.mark.parametrize(
    ("javascript", "language"), [(True, "en"), (False, "en"), (True, "cy")], ids=["js", "no-js", "js-cy"]
)
expect.set_options(timeout=10_000)  # a busy CI machine renders PDFs while the page waits

# Long enough to run a note over more than one page of the minutes, with a word that
# cannot break at a space: the PDF check sees whether any of it is clipped.
LONG_NOTE = " ".join(
    ["Police will share the bail conditions with the advocate before the hearing."] * 40 + ["Reference:" + "Q" * 150]
)


@pytest.fixture(scope="module")
async def base_url(app):
    async with browser.serve(app) as url:
        yield url


@pytest.fixture(scope="module")
async def chromium():
    async with browser.chromium() as b:
        yield b


@pytest.fixture
async def session(request, chromium, base_url):
    name = request.node.name.replace("[", "-").replace("]", "").replace("/", "-")
    shutil.rmtree(browser.ARTIFACTS / name, ignore_errors=True)  # no leftovers of an earlier run
    language = request.node.callspec.params.get("language", "en") if hasattr(request.node, "callspec") else "en"
    s = browser.Session(chromium, base_url, name, language=language)
    yield s
    report = request.node.stash.get(REPORTS, {}).get("call")
    if report is None or report.failed:
        await s.dump()
    await s.close()


@pytest.fixture
async def api(app):
    async with make_client(app) as c:
        yield c


def referral(name: str, dob: str) -> dict:
    body = dash_body(received_at=today().isoformat())
    body["victim"] = {**body["victim"], "name": name, "date_of_birth": dob}
    return body


async def referred(api: httpx.AsyncClient, who, name: str, dob: str) -> dict:
    made = await api.post("/api/v1/referrals", json=referral(name, dob), headers=who.bearer)
    assert made.status_code == 201, made.text
    return made.json()


async def published(api: httpx.AsyncClient, personas, names: list[str]) -> tuple[str, list[str]]:
    """Referrals sent by police, accepted and on a published agenda: (meeting id, case ids)."""
    meeting_id = None
    for n, name in enumerate(names):
        made = await referred(api, personas["police"], name, f"199{n}-03-14")
        meeting_id = made["meeting_id"]
        decided = await api.post(
            f"/api/v1/referrals/{made['id']}/decision",
            json={"decision": "accept"},
            headers=personas["coordinator"].bearer,
        )
        assert decided.status_code == 200, decided.text
    answer = await api.post(f"/api/v1/meetings/{meeting_id}/agenda/publish", headers=personas["coordinator"].bearer)
    assert answer.status_code == 200, answer.text
    await run_jobs()
    cases = [i["case_id"] for s in answer.json()["sections"] for i in s["items"] if "case_id" in i]
    return meeting_id, cases


async def open_meeting(session: browser.Session, page: Page, meeting_id: str) -> None:
    """From home through the conference's calendar to one meeting, as a user finds it."""
    await page.goto("/")
    await page.get_by_role("link", name="Northshire DA MARAC").click()
    meeting = await Meeting.get(id=meeting_id)
    await page.get_by_role("link", name=session.date(meeting.date, "full")).click()
    await page.wait_for_url(f"**/meetings/{meeting_id}")


async def signed_in(session: browser.Session, persona, javascript: bool) -> Page:
    page = await session.page(javascript)
    await page.goto("/login")
    await session.look(page, "sign-in")
    await browser.sign_in(page, persona, session.t)
    await session.look(page, "security-code")
    await browser.enter_code(page, persona, session.t)
    await session.look(page, "home")
    return page


# --- journey 1: the coordinator ------------------------------------------------------------------


@RUNS
async def test_coordinator_triages_referrals_and_publishes_the_agenda(session, personas, api, javascript, language):
    t = session.t
    first = await referred(api, personas["police"], "Jane Doe", "1990-03-14")
    second = await referred(api, personas["idva"], "Mary Major", "1982-06-30")
    third = await referred(api, personas["health"], "Ann Other", "1975-01-09")
    meeting_id = first["meeting_id"]
    await run_jobs()  # each referral's request queued the telling of its event (docs/notifications.md)

    page = await signed_in(session, personas["coordinator"], javascript)
    # The home page is the coordinator's to-do list: what waits for them, with a link to do it.
    todo = page.locator(f'ul.govuk-task-list[data-conference="{CONFERENCE}"]')
    await expect(
        todo.get_by_role("link", name=session.tn("%(num)d referral to triage", "%(num)d referrals to triage", 3))
    ).to_have_attribute("href", f"/referrals?conference={CONFERENCE}")
    await session.look(page, "todo-coordinator")
    # The header counts what is new for the coordinator: the three referrals; opening the list reads them.
    await page.get_by_role("link", name=f"{t('Notifications')} (3) {t('unread')}").click()
    await expect(page.get_by_role("link", name=t("A new referral was received"))).to_have_count(3)
    await session.look(page, "notifications")
    await expect(page.get_by_role("link", name=t("Notifications"), exact=True)).to_be_visible()
    await page.get_by_role("link", name=t("Referrals"), exact=True).click()
    await expect(page.get_by_role("heading", name=t("Awaiting triage (%(num)d)", num=3))).to_be_visible()
    await session.look(page, "triage-queue")

    for made, decision in (
        (first, "Accept for the next meeting whose cut-off it met"),
        (second, "Accept for the next meeting whose cut-off it met"),
        (third, "Reject"),
    ):
        await page.locator(f'a[href="/referrals/{made["id"]}"]').first.click()
        if made is first:
            await session.look(page, "referral")
        await page.get_by_label(t(decision), exact=True).check()
        if decision == "Reject":
            await page.get_by_label(t("Reason (needed to reject; the referrer sees it)")).fill(
                "Below the threshold: referred to the local service."
            )
        await page.get_by_role("button", name=t("Save decision")).click()
        await page.wait_for_url("**/referrals")
    await expect(page.get_by_role("heading", name=t("Awaiting triage (%(num)d)", num=0))).to_be_visible()

    await page.get_by_role("link", name=t("Home"), exact=True).click()
    await page.get_by_role("link", name="Northshire DA MARAC").click()
    await session.look(page, "calendar")
    meeting = await Meeting.get(id=meeting_id)
    await page.get_by_role("link", name=session.date(meeting.date, "full")).click()
    rows = page.locator("table.govuk-table tbody tr")
    await expect(rows).to_have_count(2)  # the rejected referral is not on it
    top = await rows.first.locator("td").nth(1).inner_text()
    await session.look(page, "agenda-draft")

    # Build: the first case moves down, then publish.
    await rows.first.get_by_role("button", name=t("Down")).click()
    await expect(rows.nth(1).locator("td").nth(1)).to_have_text(top)
    await page.get_by_role("link", name=t("Publish agenda")).click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(t("Publish the agenda?"))
    await session.look(page, "publish-confirm")
    await page.get_by_role("button", name=t("Publish the agenda")).click()
    await expect(
        page.get_by_text(t("Agenda published: the research list is released to member agencies"))
    ).to_be_visible()
    with i18n.use(session.language):  # a meeting's status: its own word, "Wedi'i gyhoeddi" in Welsh
        published = i18n.pgettext("meeting", "Published")
    await expect(page.locator(".govuk-summary-list").get_by_text(published)).to_be_visible()
    await expect(page.get_by_role("link", name=t("Run the meeting"))).to_be_visible()
    await session.look(page, "agenda-published")

    # The coordinator's own overview pages: the dashboard and the quarter's figures.
    await page.get_by_role("link", name=t("Dashboard")).first.click()
    await expect(page.get_by_role("heading", level=1)).to_contain_text(t("Dashboard"))
    await session.look(page, "dashboard")
    await page.get_by_role("link", name=t("Reports")).first.click()
    await session.look(page, "reports")
    assert second["meeting_id"] == meeting_id
    assert (await Meeting.get(id=meeting_id)).status == "published"
    assert (await Referral.get(id=third["id"])).status == "rejected"


# --- journey 1b: the advocate ---------------------------------------------------------------------


@RUNS
async def test_advocate_reads_a_new_referral_before_the_meeting(session, personas, api, javascript, language):
    """The IDVA service receives the conference's referrals: its advocate finds a police referral
    the moment it arrives, untriaged, and reads it whole, safe contact included, to reach the victim."""
    t = session.t
    conference = await Conference.get(slug=CONFERENCE)
    idva = directory.MemberSpec(personas["idva"].user.agency_id, "full", receives_referrals=True)
    await directory.set_membership(None, conference, idva)
    made = await referred(api, personas["police"], "Jane Doe", "1990-03-14")

    page = await signed_in(session, personas["idva"], javascript)
    await page.get_by_role("link", name=t("Referrals"), exact=True).click()
    await expect(page.get_by_role("heading", name=t("Referrals you can see"))).to_be_visible()
    await page.get_by_label(t("Conference")).select_option(CONFERENCE)
    await page.get_by_label(t("Status")).select_option("received")
    await page.get_by_role("button", name=t("Filter")).click()
    await page.wait_for_url(f"**/referrals?conference={CONFERENCE}&status=received")
    link = page.locator(f'a[href="/referrals/{made["id"]}"]')
    await expect(link).to_have_count(1)
    await expect(page.get_by_role("cell", name="Northshire Police")).to_be_visible()
    await session.look(page, "advocate-referrals")

    await link.click()
    await page.wait_for_url(f"**/referrals/{made['id']}")
    await expect(page.get_by_text("Jane Doe").first).to_be_visible()
    await expect(page.get_by_text("07700 900123").first).to_be_visible()
    await session.look(page, "advocate-referral")
    assert await AuditEvent.filter(
        action="referral.read", object_id=made["id"], user_id=personas["idva"].user.id
    ).exists()
    assert (await Referral.get(id=made["id"])).status == "received"  # read before any triage


# --- journey 2: the chair --------------------------------------------------------------------------


@RUNS
async def test_chair_runs_the_meeting_and_approves_the_minutes(session, personas, api, javascript, language):
    t = session.t
    meeting_id, cases = await published(api, personas, ["Jane Doe"])
    advocate = await api.put(
        f"/api/v1/meetings/{meeting_id}/cases/{cases[0]}/research",
        json={
            "known": True,
            "summary": "Supporting her since May.",
            "victim_contacted": "yes",
            "victim_views": "Wants to stay at home with a sanctuary scheme.",
        },
        headers=personas["idva"].bearer,
    )
    assert advocate.status_code == 200, advocate.text
    chair = await signed_in(session, personas["chair"], javascript)
    # The chair's to-do list: the preparation of the published agenda.
    await expect(chair.get_by_role("link", name=session.pattern("Chair's preparation for %(day)s"))).to_have_attribute(
        "href", f"/meetings/{meeting_id}/preparation"
    )
    await session.look(chair, "todo-chair")
    await open_meeting(session, chair, meeting_id)
    # The evening before: the preparation page, then the pack.
    await chair.get_by_role("link", name=t("The chair's preparation")).click()
    await chair.wait_for_url(f"**/meetings/{meeting_id}/preparation")
    await expect(chair.get_by_text("Wants to stay at home with a sanctuary scheme.")).to_be_visible()
    await session.look(chair, "preparation")
    if javascript:  # not only serious or critical: no violation at all on this page
        assert (await browser._axe.run(chair)).response["violations"] == []
    await chair.get_by_role("link", name=t("Prepare the chair's pack (PDF)")).click()
    await chair.wait_for_url(f"**/meetings/{meeting_id}/preparation#pack")  # not the page already open
    await run_jobs()
    await chair.goto(f"/meetings/{meeting_id}/preparation")
    async with chair.expect_download() as download:
        await chair.get_by_role(
            "link",
            name=session.pattern(
                "Download the chair's pack (PDF, %(num)d page)", "Download the chair's pack (PDF, %(num)d pages)"
            ),
        ).click()
    pack = session.folder / "chair-pack.pdf"
    await (await download.value).save_as(pack)
    pack_text = " ".join(browser.check_pdf(pack))
    assert "Wants to stay at home with a sanctuary scheme." in pack_text and "Supporting her since May." in pack_text
    assert "07700 900123" not in pack_text and "1 High Street" not in pack_text
    await open_meeting(session, chair, meeting_id)
    await chair.get_by_role("link", name=t("Run the meeting")).click()
    await session.look(chair, "run")

    await chair.get_by_role("button", name=t("Record that it was read")).click()
    await expect(chair.get_by_text(session.pattern("Read at %(time)s."))).to_be_visible()
    await chair.locator('[id="present.0.agency_id"]').select_option(label="Northshire Police")
    await chair.locator('[id="present.0.name"]').fill("DS Priya Shah")
    await chair.locator('[id="present.1.agency_id"]').select_option(label="Northshire IDVA Service")
    await chair.locator('[id="present.1.name"]').fill("Sam Idva")
    await chair.locator('[id="apologies.0.agency_id"]').select_option(label="Northshire NHS Trust")
    await chair.locator('[id="apologies.0.name"]').fill("Dr Lee")
    await chair.locator('[id="apologies.0.information_sent"]').select_option("yes")
    await chair.locator('[id="observers.0.name"]').fill("Student social worker")
    for line in ("present.0", "present.1", "observers.0"):
        await chair.locator(f'[id="{line}.confidentiality_signed"]').check()
    # A date the register cannot read brings the page back with every value as typed.
    await chair.locator('[id="apologies.0.information_sent_on"]').fill("31/02/2026")
    await chair.get_by_role("button", name=t("Save register")).click()
    await expect(chair.locator('[id="apologies.0.information_sent_on-error"]')).to_be_visible()
    await expect(chair.locator('[id="present.1.name"]')).to_have_value("Sam Idva")
    await expect(chair.locator('[id="observers.0.confidentiality_signed"]')).to_be_checked()
    assert session.problems[chair] == [f"400 {chair.url}"]  # the refusal itself, and nothing else
    session.problems[chair].clear()
    await session.look(chair, "register-error")
    await chair.locator('[id="apologies.0.information_sent_on"]').fill("20 11 2026")
    # More lines than the page shows, without JavaScript: "Add more rows".
    await chair.get_by_role("button", name=t("Add more rows: observers")).click()
    await expect(chair.locator('[id="observers.7.name"]')).to_be_visible()
    await chair.locator('[id="observers.7.name"]').fill("Visiting inspector")
    await chair.locator('[id="observers.7.confidentiality_signed"]').check()
    await chair.get_by_role("button", name=t("Save register")).click()
    await expect(chair.get_by_text(t("Register saved"))).to_be_visible()
    await expect(chair.locator('[id="present.0.name"]')).to_have_value("DS Priya Shah")
    await expect(chair.locator('[id="apologies.0.information_sent_on"]')).to_have_value("20/11/2026")
    await expect(chair.locator('[id="observers.1.name"]')).to_have_value("Visiting inspector")
    await expect(chair.locator('[id="observers.0.confidentiality_signed"]')).to_be_checked()
    await session.look(chair, "register-saved")

    await chair.locator('a[href*="/cases/"]').first.click()
    await session.look(chair, "case")
    notes = (
        ("all", "All recipients of full minutes", LONG_NOTE),
        ("restricted", "Only the agencies named below, plus chair and coordinator", "Police-only intelligence note."),
        ("chair_only", "Chair only: never minuted", "Chair-only remark, never minuted."),
    )
    for _, choice, text in notes:
        await chair.get_by_label(t("Part of the discussion")).select_option(label=t("Agency information"))
        await chair.get_by_label(
            t("Note (risks and actions, not a transcript; never a refuge address or safe number)")
        ).fill(text)
        await chair.get_by_label(t(choice)).check()
        if choice.startswith("Only"):
            await (
                chair.get_by_role("group", name=t("Agencies that may read a restricted note"))
                .get_by_label("Northshire Police")
                .check()
            )
        await chair.get_by_role("button", name=t("Add note")).click()
        await expect(chair.locator(".marac-pre", has_text=text[:30]).first).to_be_visible()
    # Put a note right: change its wording (its history is kept).
    await (
        chair.locator(".govuk-inset-text", has_text="Police-only intelligence note.")
        .get_by_role("link", name=t("Change"))
        .click()
    )
    await expect(chair.get_by_role("heading", level=1)).to_have_text(t("Change a note"))
    await session.look(chair, "note-edit")
    await chair.get_by_label(t("Note"), exact=True).fill("Police-only intelligence note, corrected.")
    if javascript:  # GOV.UK's live count of what is left, in the page's language
        await expect(chair.locator(".govuk-character-count__status")).to_have_text(
            session.pattern("You have %(count)s character remaining", "You have %(count)s characters remaining")
        )
    await chair.get_by_role("button", name=t("Save the note")).click()
    await expect(chair.get_by_text(t("Note changed"))).to_be_visible()
    await expect(chair.locator(".marac-pre", has_text="Police-only intelligence note, corrected.")).to_be_visible()
    await chair.get_by_label(t("Owner agency")).select_option(label="Northshire Police")
    await chair.get_by_label(t("What will be done")).fill("Police to serve the restraining order by Friday.")
    await chair.get_by_role("button", name=t("Add action")).click()
    await expect(chair.get_by_text("Police to serve the restraining order by Friday.")).to_be_visible()
    await chair.get_by_label(t("Heard")).check()
    await chair.get_by_role("button", name=t("Save decision")).click()
    await expect(chair.get_by_text(t("Recorded: %(outcome)s. You can change it.", outcome=t("Heard")))).to_be_visible()
    await session.look(chair, "case-decided")

    await chair.get_by_role("link", name=t("Back to the meeting")).click()
    await chair.get_by_label(t("Recorded for the full minutes")).fill("Next meeting moves to the town hall.")
    await chair.get_by_role("button", name=t("Save"), exact=True).click()
    await chair.get_by_role("link", name=t("Close the meeting")).click()
    await session.look(chair, "close-confirm")
    await chair.get_by_role("button", name=t("Close the meeting")).click()
    await chair.wait_for_url(f"**/meetings/{meeting_id}?done=closed")
    # Reopened with a reason before approval, then closed again.
    await chair.goto(f"/meetings/{meeting_id}/run")
    await chair.get_by_role("link", name=t("Reopen the meeting")).click()
    await chair.get_by_label(t("Reason")).fill("The police action needs a due date")
    await session.look(chair, "reopen")
    await chair.get_by_role("button", name=t("Reopen the meeting")).click()
    await expect(chair.get_by_text(t("Meeting reopened"))).to_be_visible()
    await chair.get_by_role("link", name=t("Close the meeting")).click()
    await chair.get_by_role("button", name=t("Close the meeting")).click()
    await chair.wait_for_url(f"**/meetings/{meeting_id}?done=closed")
    await chair.get_by_role("link", name=t("Minutes"), exact=True).click()
    await chair.get_by_role("link", name=t("Approve the minutes")).click()
    await session.look(chair, "minutes-approve-confirm")
    await chair.get_by_role("button", name=t("Yes, approve the minutes")).click()
    await expect(
        chair.get_by_text(t("%(done)s: version %(version)s.", done=t("The minutes are approved"), version=1))
    ).to_be_visible()
    await expect(
        chair.get_by_text(session.pattern("Version %(version)s approved %(moment)s.", version=1))
    ).to_be_visible()
    await session.look(chair, "minutes-approved")

    # The coordinator (already signed in) renders and circulates them.
    coordinator = await session.page(javascript)
    await coordinator.context.add_cookies(
        [
            {"name": name, "value": value, "url": session.base_url}
            for name, value in (await session_cookie_for(personas["coordinator"])).items()
        ]
    )
    await coordinator.goto(f"/meetings/{meeting_id}/circulation")
    await coordinator.get_by_role("button", name=t("Render and circulate to every recipient")).click()
    await coordinator.wait_for_url("**/jobs/*")
    await run_jobs()
    await coordinator.reload()
    await expect(coordinator.locator(".govuk-summary-list__value").first).to_have_text(t("Done"))
    await session.look(coordinator, "minutes-rendered")

    await chair.get_by_role("link", name=t("Agenda"), exact=True).click()
    async with chair.expect_download() as download:
        await chair.get_by_role("link", name=t("Download your agency's minutes (PDF)")).click()
    full = session.folder / "minutes-police.pdf"
    await (await download.value).save_as(full)
    restricted = session.folder / "minutes-childrens-services.pdf"
    async with httpx.AsyncClient(base_url=session.base_url) as http:
        answer = await http.get(f"/api/v1/meetings/{meeting_id}/minutes.pdf", headers=personas["childrens"].bearer)
    assert answer.status_code == 200, answer.text
    restricted.write_bytes(answer.content)

    if not javascript:
        return  # the same documents: checked once, in the run with JavaScript on
    full_text = " ".join(browser.check_pdf(full))
    assert len(browser.pdf_pages(full)) > 1  # the long note runs over: every page is checked
    assert "Police-only intelligence note, corrected." in full_text  # police is named on the restricted note
    assert "Chair-only remark" not in full_text
    assert "Police will share the bail conditions" in full_text
    own_actions = " ".join(browser.check_pdf(restricted))
    assert "Police will share the bail conditions" not in own_actions and "Police-only" not in own_actions


# --- journey 3: an agency user between meetings ------------------------------------------------


@RUNS
async def test_chair_previews_each_agencys_minutes_then_approves_a_correction(
    session, app, personas, api, javascript, language
):
    t = session.t
    chair_api = personas["chair"].bearer
    meeting_id, (case_id,) = await published(api, personas, ["Jane Doe"])
    note = await api.post(
        f"/api/v1/meetings/{meeting_id}/cases/{case_id}/notes",
        headers=chair_api,
        json={
            "text": "Police-only: bail conditions shared.",
            "visibility": "restricted",
            "agencies": [personas["police"].user.agency_id],
        },
    )
    assert note.status_code == 201, note.text
    async with make_client(app) as chair_page:
        chair_page.cookies.update(await session_cookie_for(personas["chair"]))
        answer = await page_post(
            chair_page,
            f"/meetings/{meeting_id}/cases/{case_id}",
            f"/meetings/{meeting_id}/cases/{case_id}/decision",
            {"outcome": "heard"},
        )
        assert answer.status_code == 303, answer.text
        answer = await page_post(chair_page, f"/meetings/{meeting_id}/run", f"/meetings/{meeting_id}/close", {})
        assert answer.status_code == 303, answer.text

    chair = await signed_in(session, personas["chair"], javascript)
    await open_meeting(session, chair, meeting_id)
    await chair.get_by_role("link", name=t("Minutes"), exact=True).click()
    await session.look(chair, "minutes")
    await chair.get_by_role("link", name=re.compile(re.escape(t("On screen")) + r"\W+Northshire Police")).click()
    await expect(chair.get_by_text("Police-only: bail conditions shared.")).to_be_visible()
    await session.look(chair, "minutes-preview-police")
    await chair.go_back()
    await chair.get_by_role(
        "link", name=re.compile(re.escape(t("On screen")) + r"\W+Northshire Children's Services")
    ).click()
    await expect(chair.get_by_role("heading", name=t("Actions for your agency"))).to_be_visible()
    await expect(chair.get_by_text("Police-only: bail conditions shared.")).to_have_count(0)
    await chair.go_back()
    async with chair.expect_download() as download:
        await chair.get_by_role("link", name=re.compile(re.escape(t("draft PDF")) + r"\W+Northshire Police")).click()
    draft = session.folder / "minutes-draft-police.pdf"
    await (await download.value).save_as(draft)
    assert draft.read_bytes().startswith(b"%PDF")

    await chair.get_by_role("link", name=t("Approve the minutes")).click()
    await session.look(chair, "minutes-approve")
    await chair.get_by_role("button", name=t("Yes, approve the minutes")).click()
    await expect(
        chair.get_by_text(t("%(done)s: version %(version)s.", done=t("The minutes are approved"), version=1))
    ).to_be_visible()

    # A correction: a note added after approval, then version 2 with its reason.
    added = await api.post(
        f"/api/v1/meetings/{meeting_id}/cases/{case_id}/notes",
        headers=chair_api,
        json={"text": "The advocate has since spoken to the victim.", "visibility": "all"},
    )
    assert added.status_code == 201, added.text
    await chair.reload()
    with i18n.use(session.language):
        added_note = change_line({"kind": "note", "detail": "discussion", "how": "added"})
    await expect(chair.get_by_text(added_note)).to_be_visible()
    await chair.get_by_role("link", name=t("Approve a correction")).click()
    await chair.get_by_role("button", name=t("Yes, approve version %(version)s", version=2)).click()
    await expect(chair.get_by_role("link", name=t("Say why the minutes are corrected"))).to_be_visible()
    # That refusal (400) was the point: it is not a problem of the page.
    session.problems[chair][:] = [p for p in session.problems[chair] if not p.startswith("400 ")]
    await chair.get_by_label(t("Why are the minutes corrected?")).fill("A note was missed at the meeting.")
    await chair.get_by_role("button", name=t("Yes, approve version %(version)s", version=2)).click()
    await expect(
        chair.get_by_text(t("%(done)s: version %(version)s.", done=t("The minutes are approved"), version=2))
    ).to_be_visible()
    await session.look(chair, "minutes-corrected")


async def between_meetings(app, api: httpx.AsyncClient, personas) -> dict[str, str]:
    """A meeting held, its minutes circulated, a police action overdue; the next agenda published."""
    chair = personas["chair"]
    held_id, (case_id,) = await published(api, personas, ["Jane Doe"])
    action = await api.post(
        f"/api/v1/meetings/{held_id}/cases/{case_id}/actions",
        headers=chair.bearer,
        json={
            "description": "Police to review the bail conditions.",
            "owner_agency_id": personas["police"].user.agency_id,
        },
    )
    assert action.status_code == 201, action.text
    async with make_client(app) as chair_page:
        chair_page.cookies.update(await session_cookie_for(chair))
        answer = await page_post(
            chair_page,
            f"/meetings/{held_id}/cases/{case_id}",
            f"/meetings/{held_id}/cases/{case_id}/decision",
            {"outcome": "heard"},
        )
        assert answer.status_code == 303, answer.text
        answer = await page_post(chair_page, f"/meetings/{held_id}/run", f"/meetings/{held_id}/close", {})
        assert answer.status_code == 303, answer.text
    assert (await api.post(f"/api/v1/meetings/{held_id}/minutes/approve", headers=chair.bearer)).status_code == 200
    assert (
        await api.post(f"/api/v1/meetings/{held_id}/minutes/render", headers=personas["coordinator"].bearer)
    ).status_code == 202
    await run_jobs()
    await Action.filter(id=action.json()["id"]).update(due_date=today() - timedelta(days=3))
    next_id, _ = await published(api, personas, ["Mary Major"])
    return {"held": held_id, "next": next_id, "action": action.json()["id"]}


@RUNS
async def test_agency_user_researches_updates_an_overdue_action_and_downloads_minutes(
    session, app, personas, api, javascript, language
):
    t = session.t
    ids = await between_meetings(app, api, personas)
    page = await signed_in(session, personas["police"], javascript)
    # The agency's to-do list: the research due, the overdue action, the minutes not yet opened.
    todo = page.locator(f'ul.govuk-task-list[data-conference="{CONFERENCE}"]')
    await expect(
        todo.get_by_role(
            "link",
            name=session.pattern(
                "Research for %(num)d case due %(day)s", "Research for %(num)d cases due %(day)s", num=1
            ),
        )
    ).to_have_attribute("href", f"/meetings/{ids['next']}")
    await expect(
        todo.get_by_role("link", name=session.tn("%(num)d action overdue", "%(num)d actions overdue", 1))
    ).to_be_visible()
    await expect(todo.get_by_role("link", name=session.pattern("New minutes of %(day)s"))).to_have_attribute(
        "href", f"/meetings/{ids['held']}"
    )
    await session.look(page, "todo-member")

    await open_meeting(session, page, ids["next"])
    await expect(page.get_by_role("heading", name=t("Research list"))).to_be_visible()
    await expect(page.get_by_text("Mary Major, " + t("born %(day)s", day="").strip())).to_be_visible()
    await session.look(page, "research-list")
    await page.get_by_label(t("Yes")).check()
    await page.get_by_label(t("What you will bring (seen only by the chair and coordinator before the meeting)")).fill(
        "Two call-outs in October."
    )
    await page.get_by_role("button", name=t("Save research")).click()
    await expect(
        page.get_by_label(t("What you will bring (seen only by the chair and coordinator before the meeting)"))
    ).to_have_value("Two call-outs in October.")

    await page.get_by_role("link", name=t("Actions"), exact=True).click()
    await expect(page.locator(".govuk-tag", has_text=t("Overdue"))).to_be_visible()
    await session.look(page, "actions")
    await page.get_by_role("link", name="Police to review the bail conditions.").click()
    await session.look(page, "action")
    await page.get_by_label(t("In progress")).check()
    await page.get_by_label(t("Update"), exact=True).fill("Reviewed with CPS; awaiting the court date.")
    await page.get_by_role("button", name=t("Save update")).click()
    await expect(page.get_by_text(t("Update saved."))).to_be_visible()
    await expect(page.get_by_text("Reviewed with CPS; awaiting the court date.")).to_be_visible()
    await session.look(page, "action-updated")
    assert (await Action.get(id=ids["action"])).status == "in_progress"

    await open_meeting(session, page, ids["held"])
    await session.look(page, "minutes")
    async with page.expect_download() as download:
        await page.get_by_role("link", name=t("Download your agency's minutes (PDF)")).click()
    saved = session.folder / "minutes.pdf"
    await (await download.value).save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF")
    assert "Police to review the bail conditions." in " ".join(browser.pdf_pages(saved))


async def test_agency_user_journey_by_keyboard_alone(session, app, personas, api):
    """Journey 3 with Tab, arrows, Space and Enter: no pointer at all."""
    t = session.t
    ids = await between_meetings(app, api, personas)
    police = personas["police"]
    page = await session.page()
    keys = page.keyboard
    await page.goto("/login")
    await keys.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Skip to main content"
    await browser.tab_to(page, page.get_by_label(t("E-mail address")))
    await keys.type(police.email)
    await browser.tab_to(page, page.get_by_label(t("Password")))
    await keys.type(police.password)
    await keys.press("Enter")
    await page.wait_for_url("**/login/mfa**")
    await User.filter(id=police.user.id).update(totp_last_step=0)
    await browser.tab_to(page, page.get_by_label(t("Security code")))
    await keys.type(pyotp.TOTP(police.totp_secret).now())
    await keys.press("Enter")
    await page.get_by_role("heading", name=t("Hello, %(name)s", name="Police")).wait_for()

    async def to_meeting(meeting_id: str) -> None:
        await browser.tab_to(page, page.get_by_role("link", name="Northshire DA MARAC"))
        await keys.press("Enter")
        await page.wait_for_url("**/conferences/*")
        meeting = await Meeting.get(id=meeting_id)
        await browser.tab_to(page, page.get_by_role("link", name=session.date(meeting.date, "full")))
        await keys.press("Enter")
        await page.wait_for_url(f"**/meetings/{meeting_id}")

    # From the to-do list straight to the research due.
    await browser.tab_to(
        page,
        page.get_by_role(
            "link",
            name=session.pattern(
                "Research for %(num)d case due %(day)s", "Research for %(num)d cases due %(day)s", num=1
            ),
        ),
    )
    await keys.press("Enter")
    await page.wait_for_url(f"**/meetings/{ids['next']}")
    await browser.tab_to(page, page.get_by_label(t("Yes")))
    await keys.press("Space")
    await browser.tab_to(
        page, page.get_by_label(t("What you will bring (seen only by the chair and coordinator before the meeting)"))
    )
    await keys.type("Known: one call-out.")
    await browser.tab_to(page, page.get_by_role("button", name=t("Save research")))
    await keys.press("Enter")
    await expect(
        page.get_by_label(t("What you will bring (seen only by the chair and coordinator before the meeting)"))
    ).to_have_value("Known: one call-out.")
    await expect(page.get_by_label(t("Yes"))).to_be_checked()

    await browser.tab_to(page, page.get_by_role("link", name=t("Actions"), exact=True))
    await keys.press("Enter")
    await page.wait_for_url("**/actions")
    await browser.tab_to(page, page.get_by_role("link", name="Police to review the bail conditions."))
    await keys.press("Enter")
    await page.wait_for_url(f"**/actions/{ids['action']}")
    await browser.tab_to(page, page.get_by_label(t("Open"), exact=True))  # the checked radio takes the focus
    await keys.press("ArrowDown")
    await expect(page.get_by_label(t("In progress"))).to_be_checked()
    await browser.tab_to(page, page.get_by_label(t("Update"), exact=True))
    await keys.type("Chased by phone.")
    await browser.tab_to(page, page.get_by_role("button", name=t("Save update")))
    await keys.press("Enter")
    await expect(page.get_by_text(t("Update saved."))).to_be_visible()
    assert (await Action.get(id=ids["action"])).status == "in_progress"

    await browser.tab_to(page, page.get_by_role("link", name=t("Home"), exact=True))
    await keys.press("Enter")
    await page.get_by_role("heading", name=t("Hello, %(name)s", name="Police")).wait_for()
    await to_meeting(ids["held"])
    await browser.tab_to(page, page.get_by_role("link", name=t("Download your agency's minutes (PDF)")))
    async with page.expect_download() as download:
        await keys.press("Enter")
    assert Path(await (await download.value).path()).read_bytes().startswith(b"%PDF")
