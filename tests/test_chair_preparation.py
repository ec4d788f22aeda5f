"""The chair's preparation page and pack: the advocate's contact with the victim, the risk picture,
history, research per agency, chasing research, and who may read any of it."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pypdf
import pytest

from marac import clock
from marac.actions import preparation
from marac.agencies.models import Membership
from marac.audit.models import Disclosure
from marac.jobs import queue, tasks
from marac.meetings.models import AgendaItem, ChairPack
from marac.notices.models import Notification
from tests.builders import action, close, meeting_of, publish, published_meeting, referral, reload
from tests.conftest import dash_body, make_client, session_cookie_for
from tests.pdfs import assert_only_the_bundled_font

NOT_OFFICERS = ["police", "idva", "health", "childrens", "housing", "admin", "auditor"]
AGENCIES = ["police", "idva", "health", "childrens"]  # the conference's member agencies' case handlers


def research_url(meeting, case_id: str) -> str:
    return f"/api/v1/meetings/{meeting.id}/cases/{case_id}/research"


async def put_research(client, personas, who: str, meeting, case_id: str, **body):
    return await client.put(research_url(meeting, case_id), json={"known": True, **body}, headers=personas[who].bearer)


async def pack(client, personas, meeting, who: str = "chair"):
    """The pack as `who` downloads it: asked for, laid out by its job (as a worker would), asked again."""
    url = f"/api/v1/meetings/{meeting.id}/chair-pack.pdf"
    first = await client.get(url, headers=personas[who].bearer)
    if first.status_code != 202:
        return first
    assert first.json()["job_id"]
    await queue.drain()
    for waiting in await ChairPack.filter(meeting_id=meeting.id, status="pending"):
        await tasks.render_chair_pack(waiting.id, waiting.job_id)  # with Redis no worker runs here
    return await client.get(url, headers=personas[who].bearer)


def text_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages]


# --- the advocate's contact with the victim ------------------------------------------------------


async def test_the_advocate_records_contact_and_the_victims_views_with_its_research(client, personas):
    world = await published_meeting(personas)
    on = (clock.today() - timedelta(days=2)).isoformat()
    answer = await put_research(
        client,
        personas,
        "idva",
        world.meeting,
        world.case_id,
        victim_contacted="yes",
        contacted_on=on,
        victim_views="Wants to stay at home with a sanctuary scheme",
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["victim_contacted"] == "yes" and answer.json()["contacted_on"] == on
    # Research sent again without the contact keeps the contact recorded.
    assert (await put_research(client, personas, "idva", world.meeting, world.case_id)).status_code == 200
    found = await preparation.content(await reload(world.meeting))
    contact = found["cases"][0]["contacts"]
    assert contact == [
        {
            "agency": "Northshire IDVA Service",
            "contacted": "yes",
            "contacted_words": "Contacted",
            "contacted_on": on,
            "views": "Wants to stay at home with a sanctuary scheme",
        }
    ]


@pytest.mark.parametrize(
    "body,field",
    [
        ({"victim_contacted": "maybe"}, "victim_contacted"),
        ({"victim_contacted": "yes", "contacted_on": "FUTURE"}, "contacted_on"),
        ({"victim_views": "Views without saying whether contacted"}, "victim_contacted"),
    ],
)
async def test_bad_contact_with_the_victim_is_422_and_changes_nothing(client, personas, body, field):
    world = await published_meeting(personas)
    if body.get("contacted_on") == "FUTURE":
        body = {**body, "contacted_on": (clock.today() + timedelta(days=1)).isoformat()}
    answer = await put_research(client, personas, "idva", world.meeting, world.case_id, **body)
    assert answer.status_code == 422
    assert field in answer.json()["error"]["fields"]
    found = await preparation.content(await reload(world.meeting))
    assert found["cases"][0]["contacts"] == []
    assert {r["status"] for r in found["cases"][0]["research"]} == {"not returned"}


async def test_research_from_an_agency_that_is_not_a_member_is_404(client, personas):
    world = await published_meeting(personas)
    answer = await put_research(client, personas, "housing", world.meeting, world.case_id, victim_contacted="yes")
    assert answer.status_code == 404


async def test_only_the_advocacy_agency_records_contact_with_the_victim(client, personas):
    world = await published_meeting(personas)
    answer = await put_research(client, personas, "police", world.meeting, world.case_id, victim_contacted="no")
    assert answer.status_code == 403
    assert (await preparation.content(await reload(world.meeting)))["cases"][0]["contacts"] == []


async def test_where_an_agency_receives_the_referrals_it_alone_records_contact_with_the_victim(client, personas):
    world = await published_meeting(personas)
    await Membership.filter(agency_id=personas["health"].user.agency_id).update(receives_referrals=True)
    refused = await put_research(client, personas, "idva", world.meeting, world.case_id, victim_contacted="yes")
    assert refused.status_code == 403
    done = await put_research(client, personas, "health", world.meeting, world.case_id, victim_contacted="unable")
    assert done.status_code == 200 and done.json()["victim_contacted"] == "unable"


async def test_the_advocate_records_contact_through_the_research_form_and_a_future_date_is_refused(app, personas):
    world = await published_meeting(personas)
    url = f"/meetings/{world.meeting.id}/cases/{world.case_id}/research"
    async with make_client(app) as idva, make_client(app) as police:
        idva.cookies.update(await session_cookie_for(personas["idva"]))
        page = await idva.get(f"/meetings/{world.meeting.id}")
        assert 'name="victim_views"' in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        future = (clock.today() + timedelta(days=3)).isoformat()
        form = {"csrf_token": token, "known": "yes", "summary": "", "victim_contacted": "yes"}
        refused = await idva.post(url, data={**form, "contacted_on": future, "victim_views": "x"})
        assert refused.status_code == 400 and "today or earlier" in refused.text
        done = await idva.post(url, data={**form, "contacted_on": "", "victim_views": "Wants a new tenancy"})
        assert done.status_code == 303
        police.cookies.update(await session_cookie_for(personas["police"]))
        assert 'name="victim_views"' not in (await police.get(f"/meetings/{world.meeting.id}")).text
    found = await preparation.content(await reload(world.meeting))
    assert found["cases"][0]["contacts"][0]["views"] == "Wants a new tenancy"


# --- the preparation page ------------------------------------------------------------------------


async def test_the_page_shows_the_risk_picture_referral_history_research_and_time(app, client, personas):
    # An earlier hearing of the same victim, with an action agreed there and done.
    earlier = await published_meeting(personas)
    await action(personas, earlier.meeting, earlier.case_id, "CANARYHISTORY refer to the sanctuary scheme", "health")
    await close(personas, earlier)
    answers = ["yes", "yes", "no", "not known"] + ["no"] * 15 + ["yes"] + ["no"] * 4
    body = dash_body(
        received_at="2026-11-25",
        criteria=["professional_judgement"],
        judgement_reason="Threats escalating",
        risk={"instrument": "dash", "answers": answers},
    )
    made = await referral(personas, accept=True, body=body, today=date(2026, 11, 26))
    meeting = await publish(personas, await meeting_of(made))
    case_id = (await AgendaItem.get(meeting=meeting, referral_id=made.id)).id
    await put_research(client, personas, "health", meeting, case_id, summary="GP saw bruising")
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = (await chair.get(f"/meetings/{meeting.id}/preparation")).text
    assert "Current situation" in page and "Are you very frightened?" in page
    assert "Abuser" in page and "Are there any financial issues?" in page
    not_known = page.index('Answered "not known"')
    assert page.index("Do you feel isolated from family/friends") > not_known
    assert "Is the abuse getting worse?" not in page  # answered no
    assert "Threats escalating" in page and "Escalating threats after separation." in page
    assert "John Roe" in page and "Amy Doe" in page
    assert "2026-11-24" in page and "CANARYHISTORY refer to the sanctuary scheme" in page
    assert "GP saw bruising" in page and "Not returned:" in page
    assert "10 minutes" in page
    # Never the address or the safe contact number.
    assert "1 High Street" not in page and "07700 900123" not in page and "NS1 1AA" not in page


async def test_a_hate_crime_case_shows_its_level_strands_and_subcategories(personas):
    from tests.test_referrals import hate_body, hate_conference

    await hate_conference(personas)
    made = await referral(personas, accept=True, body=hate_body())
    meeting = await publish(personas, await meeting_of(made))
    risk = (await preparation.content(await reload(meeting)))["cases"][0]["risk"]
    assert risk["level"] == "high"
    assert set(risk["strands"]) == {"Religion or belief: Anti-Muslim", "Race"} or len(risk["strands"]) == 2
    assert any("Anti-Muslim" in strand for strand in risk["strands"]) and risk["incident_kind"] == "crime"


@pytest.mark.parametrize("who", NOT_OFFICERS)
async def test_the_page_and_the_pack_are_404_for_everyone_but_the_chair_and_coordinator(app, client, personas, who):
    world = await published_meeting(personas)
    answer = await client.get(f"/api/v1/meetings/{world.meeting.id}/chair-pack.pdf", headers=personas[who].bearer)
    assert answer.status_code == 404
    async with make_client(app) as browser:
        browser.cookies.update(await session_cookie_for(personas[who]))
        assert (await browser.get(f"/meetings/{world.meeting.id}/preparation")).status_code == 404
        assert (await browser.get(f"/meetings/{world.meeting.id}/chair-pack.pdf")).status_code == 404


async def test_the_coordinator_chases_an_agency_that_has_not_returned_research(app, client, personas):
    world = await published_meeting(personas)
    await put_research(client, personas, "police", world.meeting, world.case_id)
    async with make_client(app) as coordinator:
        coordinator.cookies.update(await session_cookie_for(personas["coordinator"]))
        page = await coordinator.get(f"/meetings/{world.meeting.id}/preparation")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        assert 'Send a reminder<span class="govuk-visually-hidden"> to Northshire NHS Trust' in page.text
        assert "to Northshire Police</span>" not in page.text  # returned
        url = f"/meetings/{world.meeting.id}/preparation/chase"
        sent = await coordinator.post(url, data={"csrf_token": token, "agency_id": personas["health"].user.agency_id})
        assert sent.status_code == 303
        again = await coordinator.post(url, data={"csrf_token": token, "agency_id": personas["police"].user.agency_id})
        assert again.status_code == 400  # nothing to chase
    told = await Notification.filter(kind="research_chase").values_list("user_id", "meeting_id")
    assert told == [(personas["health"].user.id, world.meeting.id)]
    async with make_client(app) as health:
        health.cookies.update(await session_cookie_for(personas["health"]))
        assert f'href="/meetings/{world.meeting.id}"' in (await health.get("/notifications")).text


# --- the chair's pack ----------------------------------------------------------------------------


async def test_the_pack_before_publication_is_409_with_a_message(client, personas):
    made = await referral(personas, accept=True)
    meeting = await meeting_of(made)
    answer = await client.get(f"/api/v1/meetings/{meeting.id}/chair-pack.pdf", headers=personas["chair"].bearer)
    assert answer.status_code == 409 and "publish" in answer.json()["error"]["message"]


async def test_the_pack_is_marked_stamped_for_its_reader_logged_and_made_again_when_research_changes(client, personas):
    world = await published_meeting(personas, cases=2)
    await put_research(client, personas, "health", world.meeting, world.case_id, summary="CANARYFIRST seen in A&E")
    first = await pack(client, personas, world.meeting)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    pages = text_of(first.content)
    assert all("OFFICIAL-SENSITIVE" in p and "Chair, Northshire Police" in p for p in pages)
    assert all(f"of {len(pages)}" in p for p in pages)
    whole = "".join(pages)
    assert "CANARYFIRST" in whole and "Jane Doe" in whole and "Beth Cole" in whole
    assert "07700 900123" not in whole and "1 High Street" not in whole and "NS1 1AA" not in whole
    assert_only_the_bundled_font(first.content)
    # The coordinator's copy carries the coordinator's footer.
    theirs = await pack(client, personas, world.meeting, "coordinator")
    assert all("Coordinator, Northshire Council" in p for p in text_of(theirs.content))
    logged = await Disclosure.filter(kind="chair_pack", meeting_id=world.meeting.id).values_list("user_id", flat=True)
    assert sorted(logged) == sorted([personas["chair"].user.id, personas["coordinator"].user.id])
    # New research: the stored pack is out of date and laid out again.
    await put_research(client, personas, "police", world.meeting, world.case_id, summary="CANARYSECOND bail conditions")
    again = await pack(client, personas, world.meeting)
    assert again.status_code == 200
    assert "CANARYSECOND" in "".join(text_of(again.content))
    assert await ChairPack.filter(meeting_id=world.meeting.id, status="ready").count() == 1  # only the newest kept


async def test_the_preparation_page_offers_the_pack_and_shows_its_progress_without_javascript(app, personas):
    world = await published_meeting(personas)
    async with make_client(app) as chair:
        chair.cookies.update(await session_cookie_for(personas["chair"]))
        page = await chair.get(f"/meetings/{world.meeting.id}/preparation")
        assert "Prepare the chair&#39;s pack" in page.text or "Prepare the chair's pack" in page.text
        asked = await chair.get(f"/meetings/{world.meeting.id}/chair-pack.pdf")
        assert asked.status_code == 303 and asked.headers["location"].endswith("/preparation#pack")
        await queue.drain()
        for waiting in await ChairPack.filter(meeting_id=world.meeting.id, status="pending"):
            await tasks.render_chair_pack(waiting.id, waiting.job_id)
        ready = await chair.get(f"/meetings/{world.meeting.id}/preparation")
        assert "Download the chair" in ready.text
        pdf = await chair.get(f"/meetings/{world.meeting.id}/chair-pack.pdf")
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


# --- canaries ------------------------------------------------------------------------------------


async def test_each_agencys_research_and_the_victims_views_reach_the_pack_and_no_other_agency(app, client, personas):
    world = await published_meeting(personas)
    meeting, case_id = world.meeting, world.case_id
    canaries = {who: f"CANARYRESEARCH{who.upper()}" for who in AGENCIES}
    for who, canary in canaries.items():
        await put_research(client, personas, who, meeting, case_id, summary=f"{canary} on our records")
    await put_research(
        client,
        personas,
        "idva",
        meeting,
        case_id,
        summary=f"{canaries['idva']} on our records",
        victim_contacted="yes",
        victim_views="CANARYVIEWS wants the perpetrator to leave",
    )
    whole = "".join(text_of((await pack(client, personas, meeting)).content))
    for canary in [*canaries.values(), "CANARYVIEWS"]:
        assert canary in whole
    # Everything an agency can open about this meeting and case, on pages and in the API.
    pages = [
        f"/meetings/{meeting.id}",
        f"/meetings/{meeting.id}/preparation",
        f"/meetings/{meeting.id}/run",
        f"/meetings/{meeting.id}/cases/{case_id}",
        f"/referrals/{world.referral.id}",
        "/notifications",
        "/actions",
        "/",
    ]
    api = [
        f"/api/v1/meetings/{meeting.id}/research-list",
        f"/api/v1/meetings/{meeting.id}/agenda",
        f"/api/v1/meetings/{meeting.id}/cases/{case_id}",
        f"/api/v1/referrals/{world.referral.id}",
        f"/api/v1/meetings/{meeting.id}/chair-pack.pdf",
        "/api/v1/actions",
    ]
    for who in [*AGENCIES, "housing"]:
        # An agency reads back its own research in its own form; nobody else's.
        others = [c for w, c in canaries.items() if w != who] + ([] if who == "idva" else ["CANARYVIEWS"])
        async with make_client(app) as browser:
            browser.cookies.update(await session_cookie_for(personas[who]))
            for url in pages:
                seen = (await browser.get(url)).text
                assert not [c for c in others if c in seen], (who, url)
        for url in api:
            seen = (await client.get(url, headers=personas[who].bearer)).text
            assert not [c for c in others if c in seen], (who, url)
