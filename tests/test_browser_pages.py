"""Every page of the route inventory in headless Chromium: each HTML page that
tests/test_route_inventory.py's access table lists is opened as each kind of user entitled to
it, with real records behind its ids, and must show no axe violation at all, no sideways
scroll at 375 px, no script error, and the menu on one line at 1280 px.

The pages come from the access table, so a new page is swept without anyone remembering it:
it is opened as every role the table gives 200. A page whose test ids are made up in the
table (so it answers 404 there) says here who opens it; one nobody can open fails the sweep.
Runs with MARAC_TEST_BROWSER=1 (run B of scripts/test).
"""

from __future__ import annotations

import re
import shutil
from datetime import timedelta

import pyotp
import pytest
from playwright.async_api import Page

from marac import i18n
from marac.actions.models import Action
from marac.agencies import auth
from marac.agencies import service as directory
from marac.agencies.models import Conference, User
from marac.clock import today
from marac.jobs.models import Job
from marac.notices import events
from marac.referrals import break_glass, drafts, history, locations
from marac.webhooks import delivery
from marac.webhooks import service as webhooks
from tests import browser, builders
from tests.conftest import CONFERENCE, PASSWORD, REPORTS, make_client, session_cookie_for
from tests.test_route_inventory import EXPECTED

SERVICE = {"/healthz", "/readyz", "/favicon.ico", "/metrics"}
PAGES = sorted(
    path
    for method, path in EXPECTED
    if method == "GET"
    and not path.startswith("/api/")
    and path not in SERVICE
    and not path.endswith((".pdf", ".ics", ".csv"))
)
# One of each kind of user: the pages differ by role (and members by agency tier).
KINDS = ["anonymous", "admin", "coordinator", "chair", "police", "childrens", "auditor"]
# Pages the access table opens with made-up ids or in a state it cannot reach, and who opens them here:
# "pending" has given a password but no code yet, "enrolling" has no authenticator yet.
OPENED_AS = {
    "/login/mfa": ["pending"],
    "/mfa/enrol": ["enrolling"],
    "/setup/{token}": ["anonymous"],
    "/meetings/{meeting_id}/cases/{case_id}": ["coordinator", "chair"],
    "/actions/{action_id}": ["coordinator", "police"],
    "/meetings/{meeting_id}/preparation": ["chair", "coordinator"],
    "/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}/edit": ["chair", "coordinator"],
    "/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}/delete": ["chair", "coordinator"],
    "/meetings/{meeting_id}/cases/{case_id}/actions/{action_id}/edit": ["chair", "coordinator"],
    "/meetings/{meeting_id}/cases/{case_id}/actions/{action_id}/delete": ["chair", "coordinator"],
    "/meetings/{meeting_id}/minutes/preview": ["chair", "coordinator"],
    "/admin/webhooks/{webhook_id}": ["admin"],
    "/admin/users/{user_id}": ["admin"],
    "/conferences/{slug}/history/{import_id}": ["coordinator"],
}
# Pages of a published meeting only (a held one answers 409, or refuses a deletion once the minutes
# are approved): opened with the published meeting alone.
PUBLISHED_ONLY = {
    "/meetings/{meeting_id}/preparation",
    "/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}/delete",
    "/meetings/{meeting_id}/cases/{case_id}/actions/{action_id}/delete",
}
# Pages opened with the first world only: the held meeting's minutes exist to preview, and its
# referral still waits for triage, so it can be changed (the second world's is on a published agenda).
HELD_ONLY = {"/meetings/{meeting_id}/minutes/preview", "/referrals/{referral_id}/edit"}
# The query a page needs to show its content rather than send the reader on.
QUERY = {"/meetings/{meeting_id}/minutes/preview": "?agency_id={agency_id}"}


def opened_as(path: str) -> list[str]:
    return OPENED_AS.get(path) or [k for k in KINDS if EXPECTED[("GET", path)][k] == 200]


async def world(app, personas, size: int = 1) -> list[dict[str, str]]:
    """Records behind every id of the inventory: a held meeting with notes, an overdue action and
    minutes circulated and downloaded; the next meeting published; a referral awaiting triage
    that someone outside it opened by break-glass; a set-up link. Returns the ids, once per
    meeting (the held one, then the published one). A larger `size` lengthens every list (cases,
    notes, actions, referrals waiting) for tests/test_query_counts.py; the ids stay the first of each."""
    # Victims 1, 3 and 4 at size 1; each list's further ones from victim 5 on when larger.
    extra = iter(range(5, 5 + 3 * size))
    held_victims, later, waiting_victims = ([first, *(next(extra) for _ in range(1, size))] for first in (1, 3, 4))
    bodies = [builders.dash_body()] + [builders.other_victim(n) for n in held_victims]
    held = await builders.published_meeting(personas, bodies=bodies)
    held_note = await builders.note(personas, held.meeting, held.case_id, "Police will share the bail conditions.")
    for n in range(1, size):
        await builders.note(personas, held.meeting, held.case_id, f"Note {n} on the case.")
    overdue = await builders.action(personas, held.meeting, held.case_id, owner="police", status="in_progress")
    more = [await builders.action(personas, held.meeting, held.case_id, owner="police") for _ in range(1, size)]
    await Action.filter(id__in=[overdue.id, *(a.id for a in more)]).update(due_date=today() - timedelta(days=3))
    await builders.close(personas, held)
    await builders.approve_minutes(personas, held.meeting, rendered=True)
    async with make_client(app) as api:
        download = f"/api/v1/meetings/{held.meeting.id}/minutes.pdf"
        assert (await api.get(download, headers=personas["police"].bearer)).status_code == 200

    now = today()
    accepted_all = [
        await builders.referral(
            personas, accept=True, body=builders.other_victim(n, received_at=now.isoformat()), today=now
        )
        for n in later
    ]
    accepted = accepted_all[0]
    next_meeting = await builders.publish(personas, await builders.meeting_of(accepted))
    next_case = (await next_meeting.items.filter(referral_id=accepted.id).first()).id
    next_note = await builders.note(personas, next_meeting, next_case, "Housing will check the tenancy.")
    next_action = await builders.action(personas, next_meeting, next_case, owner="police")
    for _ in range(1, size):
        await builders.action(personas, next_meeting, next_case, owner="police")
    waiting = [
        await builders.referral(personas, body=builders.other_victim(n, received_at=now.isoformat()), today=now)
        for n in waiting_victims
    ][0]

    health = personas["health"]
    await User.filter(id=health.user.id).update(totp_last_step=0)
    await break_glass.start(
        await builders.as_(personas, "health"),
        health.user,
        reference=waiting.id,
        reason="Urgent: the victim is in A&E tonight.",
        password=PASSWORD,
        code=pyotp.TOTP(health.totp_secret).now(),
        ip="10.8.0.1",
    )
    made = await directory.add_user(
        None,
        email="new@test.example.org",
        name="New Starter",
        agency_id=personas["police"].user.agency_id,
        role="member",
        conference_slugs=[CONFERENCE],
    )
    # Webhooks of the referring agency, each with deliveries waiting in its log.
    hooks = [
        await webhooks.register(
            None, personas["police"].user.agency_id, f"https://hooks{n}.police.example/marac", ["referral.received"]
        )
        for n in range(size)
    ]
    hook = hooks[0]
    for _ in range(size):
        await events.emit("referral.received", conn=None, conference_id=waiting.conference_id, referral_id=waiting.id)
    assert await delivery.fan_out() == size * size
    for n in range(1, size):
        await directory.add_user(
            None,
            email=f"new{n}@test.example.org",
            name=f"New Starter {n}",
            agency_id=personas["police"].user.agency_id,
            role="member",
            conference_slugs=[CONFERENCE],
        )
    # A named place, so the places page lists one with its button.
    await locations.add(
        await builders.as_(personas, "coordinator"), await Conference.get(slug=CONFERENCE), "Market Square"
    )
    # Still queued: its page is the one that keeps itself up to date.
    job = await Job.create(name="render_minutes", requested_by=personas["coordinator"].user.id)
    # A history file refused, its page listing each problem beside the progress bar.
    coordinator = await builders.as_(personas, "coordinator")
    conference = await history.conference_for(coordinator, CONFERENCE)
    refused = await history.start(coordinator, conference, b"victim_name,heard_on\nJane Doe,soon\n,2026-01-01\n")
    await history.run(refused.id)
    # The police referrer's drafts, half written (a draft's page is the referral form, filled in).
    police = await builders.as_(personas, "police")
    draft, *_ = [
        await drafts.save(police, {"conference": CONFERENCE, "victim": {"name": name, "date_of_birth": "31/02/1990"}})
        for name in ["Dana Draft", *(f"Draft {n}" for n in range(1, size))]
    ]
    ids = {
        "draft_id": draft.id,
        "referral_id": waiting.id,
        "action_id": overdue.id,
        "slug": CONFERENCE,
        "token": made.setup_token,
        "job_id": job.id,
        "person_id": held.referral.victim_person_id,
        "agency_id": personas["police"].user.agency_id,
        "webhook_id": hook.webhook.id,
        "user_id": made.user.id,
        "import_id": refused.id,
    }
    return [
        {**ids, "meeting_id": held.meeting.id, "case_id": held.case_id, "note_id": held_note.id},
        {
            **ids,
            "meeting_id": next_meeting.id,
            "case_id": next_case,
            "referral_id": accepted.id,
            "note_id": next_note.id,
            "action_id": next_action.id,
        },
    ]


async def cookies_of(kind: str, personas) -> dict[str, str]:
    if kind == "anonymous":
        return {}
    if kind == "pending":
        return {"marac_session": await auth.start_session(personas["police"].user, mfa_passed=False)}
    if kind == "enrolling":
        user = await User.get(email="new@test.example.org")
        user.password_hash = personas["police"].user.password_hash
        await user.save()
        return {"marac_session": await auth.start_session(user, mfa_passed=False)}
    return await session_cookie_for(personas[kind])


# Each item of the service navigation starts on the first item's line.
MENU_ON_ONE_LINE = """() => {
  const items = [...document.querySelectorAll('.govuk-service-navigation__item')];
  return items.filter(i => Math.abs(i.getBoundingClientRect().top - items[0].getBoundingClientRect().top) > 2)
    .map(i => i.textContent.trim());
}"""


async def problems_of(page: Page, errors: list[str], language: str = "en") -> list[str]:
    """What is wrong with the page as it stands, at 375 px and at 1280 px. The menu's one line at 1280 px
    is an English layout choice: longer words may wrap it, as GOV.UK's service navigation allows."""
    found = list(errors)
    results = await browser._axe.run(page)
    found += [
        f"axe {v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
    ]
    overflow = await page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    if overflow > 0:
        found.append(f"scrolls sideways by {overflow}px at 375 px: {await page.evaluate(browser.WIDE_ELEMENTS)}")
    await page.set_viewport_size(browser.DESKTOP)
    wrapped = await page.evaluate(MENU_ON_ONE_LINE) if language == "en" else []
    if wrapped:
        found.append(f"the menu wraps at 1280 px: {wrapped} on a second line")
    return found


@pytest.fixture
async def sweep(request, app):
    async with browser.serve(app) as url, browser.chromium() as chromium:
        name = request.node.name
        shutil.rmtree(browser.ARTIFACTS / name, ignore_errors=True)
        session = browser.Session(chromium, url, name)
        yield session
        report = request.node.stash.get(REPORTS, {}).get("call")
        if report is None or report.failed:
            await session.dump()
        await session.close()


@pytest.mark.browser
@pytest.mark.timeout(900)  # every page as every role: about a minute on a quiet machine, growing with the pages
# In English, in Welsh, and in the pseudo-locale whose every string is 40 % longer (marac/i18n.py): a
# layout that only holds for English words breaks at 375 px there.
@pytest.mark.parametrize("language", ["en", "cy", i18n.PSEUDO])
async def test_every_page_passes_axe_and_fits_a_phone(app, personas, sweep, language):
    variants = await world(app, personas)
    failures: list[str] = []
    seen: set[tuple[str, str]] = set()
    pages: dict[str, Page] = {}
    for path in PAGES:
        kinds = opened_as(path)
        if not kinds:
            failures.append(f"{path}: nobody opens it here: say who in OPENED_AS")
        chosen = variants[1:] if path in PUBLISHED_ONLY else variants[:1] if path in HELD_ONLY else variants
        for values in chosen:
            template = path + QUERY.get(path, "")
            missing = set(re.findall(r"{(\w+)}", template)) - set(values)
            if missing:
                failures.append(f"{path}: the sweep's world has no {sorted(missing)}: add it to world()")
                break
            url = re.sub(r"{(\w+)}", lambda m, v=values: v[m.group(1)], template)
            for kind in kinds:
                if (url, kind) in seen:
                    continue
                seen.add((url, kind))
                page = pages.get(kind)
                if page is None or kind in ("pending", "enrolling"):
                    page = pages[kind] = await sweep.page()
                    jar = {**await cookies_of(kind, personas), "lang": language}
                    await page.context.add_cookies(
                        [{"name": n, "value": v, "url": sweep.base_url} for n, v in jar.items()]
                    )
                sweep.problems[page].clear()
                await page.set_viewport_size(browser.PHONE)
                answer = await page.goto(url)
                where = f"{path} as {kind} ({url})"
                if answer is None or answer.status != 200:
                    failures.append(f"{where}: answered {answer and answer.status}")
                    continue
                shot = re.sub(r"\W+", "-", path).strip("-") or "home"
                await page.screenshot(path=sweep.folder / f"{len(seen):02d}-{shot}-{kind}.png", full_page=True)
                failures += [f"{where}: {p}" for p in await problems_of(page, sweep.problems[page], language)]
    assert not failures, f"{len(failures)} problems:\n" + "\n".join(failures)


def test_the_sweep_knows_who_opens_every_page():
    """Without a browser: every page of the inventory has someone to open it as."""
    assert PAGES and all(opened_as(p) for p in PAGES)
    assert set(OPENED_AS) <= set(PAGES), "OPENED_AS names a page the inventory no longer has"
    assert PUBLISHED_ONLY | HELD_ONLY | set(QUERY) <= set(PAGES), "a page the inventory no longer has"
