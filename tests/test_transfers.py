"""Transfers between MARAC areas (docs/domain.md#transfers): a heard case sent out with its transfer
package (the referral, the minutes extracts, the open actions), for the coordinator alone and in the
disclosure log; and an incoming transfer recorded with its source area, tagged and listed with the
transfers, counted in the figures."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf

from marac import clock, settings
from marac.agencies import auth
from marac.agencies import service as directory
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent, Disclosure
from marac.governance import retention
from marac.jobs import queue, tasks
from marac.minutes.models import TransferPackage
from marac.referrals.models import Referral
from marac.reports.figures import Quarter, quarterly
from tests.builders import (
    TODAY,
    action,
    approve_minutes,
    close,
    note,
    other_victim,
    published_meeting,
    referral,
)
from tests.conftest import CONFERENCE, Persona, dash_body, make_client, session_cookie_for
from tests.pdfs import assert_only_the_bundled_font

SOUTH = {"area": "Southshire", "recipient": "marac.coordinator@southshire.gov.uk"}
OPEN_ACTION = "Children's social care to hand the child protection plan to Southshire"
DONE_ACTION = "Police to serve the court order on the perpetrator"
NOTE_FOR_ALL = "The victim has moved to Southshire to live with her sister"
RESTRICTED_NOTE = "Health holds a disclosure about the pregnancy"


def out_url(referral_id: str) -> str:
    return f"/api/v1/referrals/{referral_id}/transfer-out"


def package_url(referral_id: str) -> str:
    return f"/api/v1/referrals/{referral_id}/transfer-package.pdf"


async def lay_out_pending() -> None:
    """Run the package jobs as a worker would (with Redis no worker runs inside the tests)."""
    await queue.drain()
    for waiting in await TransferPackage.filter(status="pending"):
        await tasks.render_transfer_package(waiting.id, waiting.job_id)


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


async def heard_case_with_minutes(personas: dict[str, Persona]):
    """A held meeting whose one case has a note for all, a restricted note, an action still open and
    one done, with the minutes approved."""
    world = await published_meeting(personas)
    await note(personas, world.meeting, world.case_id, NOTE_FOR_ALL)
    await note(personas, world.meeting, world.case_id, RESTRICTED_NOTE, visibility="restricted", agencies=("health",))
    await action(personas, world.meeting, world.case_id, OPEN_ACTION, owner="childrens")
    await action(personas, world.meeting, world.case_id, DONE_ACTION, owner="police", status="done")
    world = await close(personas, world)
    await approve_minutes(personas, world.meeting)
    return world


async def transfer(client, personas, referral_id: str, who: str = "coordinator", **body):
    return await client.post(out_url(referral_id), json={**SOUTH, **body}, headers=personas[who].bearer)


async def download(client, personas, referral_id: str, who: str = "coordinator"):
    return await client.get(package_url(referral_id), headers=personas[who].bearer)


# --- transfer out ---------------------------------------------------------------------------------


async def test_the_coordinator_transfers_a_heard_case_with_its_referral_minutes_extract_and_open_actions(
    client, personas
):
    world = await heard_case_with_minutes(personas)
    sent = await transfer(client, personas, world.referral.id)
    assert sent.status_code == 202, sent.text
    assert sent.json()["job_id"]
    await lay_out_pending()
    got = await download(client, personas, world.referral.id)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/pdf"
    text = text_of(got.content)
    flat = " ".join(text.split())
    # The referral in full, as its page shows it: the people, the safe contact, the account, the consent.
    for shown in ("Jane Doe", "John Roe", "Amy Doe", "07700 900123", "NS1 1AA", "Escalating threats after separation"):
        assert shown in flat, shown
    # The minutes extract as approved: the note for all, the decision, both actions; never the restricted note.
    assert NOTE_FOR_ALL in flat and "Outcome: heard" in flat
    assert RESTRICTED_NOTE not in flat and "1 note shared under restriction" in flat
    assert flat.count(OPEN_ACTION) == 2  # in the extract and among the open actions
    assert flat.count(DONE_ACTION) == 1  # in the extract only: it is done
    # Who it goes to, marked on every page, with the recipient in the footer.
    assert "Southshire MARAC" in flat and SOUTH["recipient"] in flat
    pages = pypdf.PdfReader(io.BytesIO(got.content)).pages
    assert all("OFFICIAL-SENSITIVE" in page.extract_text() for page in pages)
    assert all("For: Southshire MARAC" in " ".join(page.extract_text().split()) for page in pages)
    assert_only_the_bundled_font(got.content)

    # The case is marked transferred out; it is still a heard case.
    seen = (await client.get(f"/api/v1/referrals/{world.referral.id}", headers=personas["coordinator"].bearer)).json()
    assert seen["transferred_out"] == {"area": "Southshire", "on": clock.today().isoformat()}
    assert seen["status"] == "heard"
    # Logged in the disclosure log (who, to which area, when, what) and audited.
    logged = await Disclosure.filter(kind="transfer_package")
    assert [(d.user_id, d.recipient, d.agency_id) for d in logged] == [
        (personas["coordinator"].user.id, "Southshire", personas["coordinator"].user.agency_id)
    ]
    package = await TransferPackage.get(referral_id=world.referral.id)
    assert logged[0].document_id == package.id
    events = await AuditEvent.filter(case_id=world.referral.id).values_list("action", flat=True)
    assert "referral.transfer_out" in events and "transfer_package.download" in events
    # The recipient's e-mail is sealed at rest, like every contact detail.
    assert package.recipient == SOUTH["recipient"]


async def test_only_the_conferences_coordinator_transfers_and_downloads(client, personas):
    world = await heard_case_with_minutes(personas)
    other = await directory.create_conference(
        None,
        name="Westshire DA MARAC",
        slug="westshire-da",
        type="domestic-abuse",
        weekday="monday",
        start_time="10:00",
        first_date=date(2026, 1, 5),
        members=[],
    )
    elsewhere = await directory.add_user(
        None,
        email="west.coordinator@test.example.org",
        name="West",
        agency_id=personas["coordinator"].user.agency_id,
        role="coordinator",
        conference_slugs=[other.slug],
    )
    _, raw = await auth.create_token(elsewhere.user, "tests")
    personas = {**personas, "west": Persona(key="west", user=elsewhere.user, totp_secret="", token=raw)}
    # The chair and the referrer see the referral but may not transfer it (403); the others, and a
    # coordinator of another conference, never learn it exists (404).
    for who, status in [("chair", 403), ("police", 403), ("health", 404), ("idva", 404), ("admin", 404)]:
        assert (await transfer(client, personas, world.referral.id, who)).status_code == status, who
    assert (await transfer(client, personas, world.referral.id, "west")).status_code == 404
    assert await Referral.filter(id=world.referral.id).first().values_list("transferred_out_to", flat=True) is None
    assert (await transfer(client, personas, world.referral.id)).status_code == 202
    await lay_out_pending()
    for who in ("chair", "police", "health", "idva", "housing", "admin", "auditor", "west"):
        assert (await download(client, personas, world.referral.id, who)).status_code == 404, who
    assert not await Disclosure.filter(kind="transfer_package").exists()
    assert (await download(client, personas, world.referral.id)).status_code == 200


async def test_bad_transfers_are_refused_and_change_nothing(client, personas):
    world = await heard_case_with_minutes(personas)
    case = world.referral.id
    empty = await client.post(out_url(case), json={}, headers=personas["coordinator"].bearer)
    assert empty.status_code == 422 and {"area", "recipient"} <= set(empty.json()["error"]["fields"])
    blank = await transfer(client, personas, case, area="   ")
    assert blank.status_code == 422 and "area" in blank.json()["error"]["fields"]
    two_lines = await transfer(client, personas, case, recipient="a@b.example\nBcc: c@d.example")
    assert two_lines.status_code == 422 and "recipient" in two_lines.json()["error"]["fields"]
    unknown = await transfer(client, personas, case, urgent=True)
    assert unknown.status_code == 422
    assert (await transfer(client, personas, "f" * 32)).status_code == 404
    assert not await TransferPackage.exists() and not await Referral.filter(transferred_out_to__isnull=False).exists()
    # Not heard: nothing to transfer yet.
    waiting = await referral(personas, accept=True, body=other_victim(1))
    refused = await transfer(client, personas, waiting.id)
    assert refused.status_code == 409 and "not been heard" in refused.json()["error"]["message"]
    # Once transferred, a second transfer is refused and the first stands.
    assert (await transfer(client, personas, case)).status_code == 202
    again = await transfer(client, personas, case, area="Eastshire")
    assert again.status_code == 409
    assert await Referral.filter(id=case).first().values_list("transferred_out_to", flat=True) == "Southshire"
    assert await TransferPackage.filter(referral_id=case).count() == 1
    # No package before a transfer: 404, as for a case that does not exist.
    assert (await download(client, personas, waiting.id)).status_code == 404


async def test_the_coordinator_transfers_from_the_referral_page_and_the_open_actions_say_so(app, personas):
    world = await heard_case_with_minutes(personas)
    page = f"/referrals/{world.referral.id}"
    async with make_client(app) as coordinator, make_client(app) as chair, make_client(app) as childrens:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        shown = await coordinator.get(page)
        assert "Transfer the case" in shown.text
        token = shown.text.split('name="csrf_token" value="')[1].split('"')[0]
        refused = await coordinator.post(f"{page}/transfer", data={"csrf_token": token, "area": "", "recipient": ""})
        assert refused.status_code == 400 and "Enter the MARAC area the case goes to" in refused.text
        assert await Referral.filter(id=world.referral.id).first().values_list("transferred_out_to", flat=True) is None
        sent = await coordinator.post(f"{page}/transfer", data={"csrf_token": token, **SOUTH})
        assert sent.status_code == 303 and sent.headers["location"].startswith(page)
        await lay_out_pending()
        after = await coordinator.get(page)
        assert "Transferred out to Southshire MARAC" in after.text and "Transfer the case" not in after.text
        assert f"{page}/transfer-package.pdf" in after.text
        pdf = await coordinator.get(f"{page}/transfer-package.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        log = await coordinator.get("/disclosures")
        assert "Transfer package" in log.text and "Southshire MARAC, sent by Coordinator" in log.text

        # The chair sees the case marked, but neither the form nor the package.
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        seen = await chair.get(page)
        assert "Transferred out" in seen.text and "transfer-package.pdf" not in seen.text
        assert (await chair.get(f"{page}/transfer-package.pdf")).status_code == 404

        # The owner agency's open action says the case went.
        childrens.cookies.update(await session_cookie_for(personas["childrens"]))
        owned = [a for a in await world.meeting.actions.all() if a.description == OPEN_ACTION][0]
        detail = await childrens.get(f"/actions/{owned.id}")
        assert detail.status_code == 200 and "Transferred out to Southshire MARAC" in detail.text
        listed = await childrens.get("/actions")
        assert "Transferred out to Southshire" in listed.text


async def test_a_package_is_laid_out_once_whatever_the_deliveries(client, personas):
    world = await heard_case_with_minutes(personas)
    assert (await transfer(client, personas, world.referral.id)).status_code == 202
    await lay_out_pending()
    package = await TransferPackage.get(referral_id=world.referral.id)
    await tasks.render_transfer_package(package.id, package.job_id)  # a second delivery of the job
    again = await TransferPackage.get(id=package.id)
    assert (again.file_name, again.sha256) == (package.file_name, package.sha256)


async def test_retention_deletes_a_transfer_package_with_its_case(client, personas):
    world = await heard_case_with_minutes(personas)
    assert (await transfer(client, personas, world.referral.id)).status_code == 202
    await lay_out_pending()
    package = await TransferPackage.get(referral_id=world.referral.id)
    stored = settings.get().document_store / package.file_name
    assert stored.exists()
    listed = date(2032, 11, 15)  # six years after the last referral, and a week's notice
    await retention.run(listed)
    (done,) = await retention.run(listed + timedelta(days=7))
    assert done.anonymised_cases == 1
    assert not await TransferPackage.exists() and not stored.exists()


# --- transfer in ----------------------------------------------------------------------------------


def transfer_in(**overrides) -> dict:
    return other_victim(1, **{"transfer_from": "Southshire", "transfer_last_heard": "2026-10-20", **overrides})


async def test_an_incoming_transfer_keeps_its_source_and_last_hearing(client, personas):
    made = await client.post("/api/v1/referrals", json=transfer_in(), headers=personas["coordinator"].bearer)
    assert made.status_code == 201, made.text
    seen = (await client.get(f"/api/v1/referrals/{made.json()['id']}", headers=personas["coordinator"].bearer)).json()
    assert (seen["transfer_from"], seen["transfer_last_heard"]) == ("Southshire", "2026-10-20")
    listed = (await client.get("/api/v1/referrals", headers=personas["coordinator"].bearer)).json()["items"]
    assert [i["kind"] for i in listed if i["id"] == made.json()["id"]] == ["transfer"]


async def test_a_last_hearing_needs_a_source_and_a_past_date(client, personas):
    headers = personas["coordinator"].bearer
    no_source = await client.post("/api/v1/referrals", json=transfer_in(transfer_from=None), headers=headers)
    assert no_source.status_code == 422 and "transfer_last_heard" in no_source.json()["error"]["fields"]
    future = await client.post("/api/v1/referrals", json=transfer_in(transfer_last_heard="2099-01-01"), headers=headers)
    assert future.status_code == 422 and "transfer_last_heard" in future.json()["error"]["fields"]
    assert not await Referral.exists()


async def test_the_referral_form_records_a_transfer_in(app, personas):
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        form_page = await coordinator.get(f"/referrals/new?conference={CONFERENCE}")
        assert 'name="transfer_last_heard"' in form_page.text
        token = form_page.text.split('name="csrf_token" value="')[1].split('"')[0]
        form = {
            "csrf_token": token,
            "received_at": "02/11/2026",
            "transfer_from": "Southshire",
            "transfer_last_heard": "20/10/2026",
            "criteria": "visible_high_risk",
            "victim.name": "Beth Cole",
            "victim.address.line1": "2 Low Road",
            "victim.address.postcode": "NS2 2BB",
            "summary": "Moved into the area after a hearing at Southshire MARAC.",
            "consent.victim_aware": "yes",
            "consent.consented": "yes",
        }
        keys = [chunk.split('"')[0] for chunk in form_page.text.split('name="risk.answers.')[1:]][::3]
        for number, key in enumerate(keys):
            form[f"risk.answers.{key}"] = "yes" if number < 14 else "no"
        sent = await coordinator.post(f"/referrals/new?conference={CONFERENCE}", data=form)
        assert sent.status_code == 303, sent.text[:2000]
    made = await Referral.get(transfer_from="Southshire")
    assert made.transfer_last_heard == date(2026, 10, 20)


async def test_transfers_in_are_listed_after_new_and_repeat_cases_tagged_with_their_source(app, client, personas):
    world = await published_meeting(personas, bodies=[transfer_in(), dash_body()])
    headers = personas["coordinator"].bearer
    agenda = (await client.get(f"/api/v1/meetings/{world.meeting.id}/agenda", headers=headers)).json()
    cases = [(s["key"], i["kind"]) for s in agenda["sections"] for i in s["items"]]
    assert cases == [("cases", "new"), ("transfers", "transfer")]
    research = await client.get(f"/api/v1/meetings/{world.meeting.id}/research-list", headers=personas["health"].bearer)
    assert [i.get("transfer_from") for i in research.json()["items"]] == [None, "Southshire"]
    async with make_client(app) as coordinator, make_client(app) as health:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        assert "Transfer from Southshire" in (await coordinator.get(f"/meetings/{world.meeting.id}")).text
        assert "Transfer from Southshire" in (await coordinator.get(f"/meetings/{world.meeting.id}/run")).text
        health.cookies.update(await session_cookie_for(personas["health"]))
        assert "transfer from Southshire" in (await health.get(f"/meetings/{world.meeting.id}")).text


async def test_the_quarterly_figures_count_transfers_in_and_out(client, personas, monkeypatch):
    world = await close(personas, await published_meeting(personas, bodies=[transfer_in(), dash_body()]))
    await approve_minutes(personas, world.meeting)
    jane = next(r for r in world.referrals if not r.transfer_from)
    monkeypatch.setattr(clock, "today", lambda: TODAY)  # sent in the quarter that heard it
    assert (await transfer(client, personas, jane.id)).status_code == 202
    conference = await Conference.get(slug=CONFERENCE)
    quarter = Quarter.parse("2026Q4")
    figures = await quarterly(conference, quarter, quarter.end)
    assert figures["cases"]["heard"] == 2
    assert (figures["cases"]["transfers_in"], figures["cases"]["transfers_out"]) == (1, 1)
    api = await client.get(
        f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=2026Q4", headers=personas["coordinator"].bearer
    )
    assert api.status_code == 200 and api.json()["cases"]["transfers_in"] == "≤5"
