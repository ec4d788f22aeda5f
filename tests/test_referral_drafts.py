"""Referral drafts: saved part-way, seen by their author alone, unchecked until sent, sealed, and
deleted 30 days after their last save (marac/referrals/drafts.py)."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tortoise import connections

from marac.audit.models import AuditEvent
from marac.clock import now, today
from marac.governance import retention
from marac.i18n import format_date
from marac.referrals.models import Person, PersonKey, Referral, ReferralDraft
from tests.conftest import CONFERENCE, csrf_token, dash_body, session_cookie_for
from tests.test_referrals import JSONISH

DRAFTS = "/api/v1/referral-drafts"


def half_typed() -> dict:
    """A referral an hour into writing: no summary or consent yet, a date of birth mistyped."""
    body = dash_body()
    del body["summary"], body["consent"]
    body["victim"]["date_of_birth"] = "31/02/1990"
    return body


async def save(client, persona, body: dict):
    answer = await client.post(DRAFTS, json=body, headers=persona.bearer)
    assert answer.status_code == 201, answer.text
    return answer.json()


async def test_a_draft_keeps_what_was_typed_unchecked_for_30_days_from_its_last_save(client, personas):
    police = personas["police"].bearer
    made = await save(client, personas["police"], half_typed())
    assert made["body"]["victim"]["date_of_birth"] == "31/02/1990" and "summary" not in made["body"]
    expires = made["expires_at"]
    assert expires[:10] == (now() + timedelta(days=30)).date().isoformat()
    listed = (await client.get(DRAFTS, headers=police)).json()["items"]
    assert [(d["id"], d["victim_name"], d["conference"]) for d in listed] == [(made["id"], "Jane Doe", CONFERENCE)]
    again = half_typed() | {"summary": "Threats after separation."}
    replaced = await client.put(f"{DRAFTS}/{made['id']}", json=again, headers=police)
    assert replaced.status_code == 200 and replaced.json()["body"]["summary"] == "Threats after separation."
    assert replaced.json()["expires_at"] > expires  # its 30 days start again
    # nothing was made of it: no referral, nobody in the person index
    assert await Referral.all().count() == 0 and await Person.all().count() == 0 and await PersonKey.all().count() == 0
    assert [e.action for e in await AuditEvent.filter(object_id=made["id"]).order_by("seq")] == [
        "referral_draft.create",
        "referral_draft.update",
    ]


async def test_only_the_conference_of_a_draft_is_checked(client, personas):
    police = personas["police"].bearer
    missing = await client.post(DRAFTS, json={"victim": {"name": "Jane Doe"}}, headers=police)
    assert missing.status_code == 422 and "conference" in missing.json()["error"]["fields"]
    other = await client.post(DRAFTS, json={"conference": "northshire-hc"}, headers=police)
    assert other.status_code == 422 and "conference" in other.json()["error"]["fields"]
    unknown = await client.post(DRAFTS, json={"conference": CONFERENCE, "colour": "red"}, headers=police)
    assert unknown.status_code == 422 and unknown.json()["error"]["fields"] == {"colour": "Unknown field"}
    # housing's agency is no member of the conference: it may not refer there, nor draft
    housing = await client.post(DRAFTS, json={"conference": CONFERENCE}, headers=personas["housing"].bearer)
    assert housing.status_code == 422
    assert await ReferralDraft.all().count() == 0


async def test_a_draft_is_its_authors_alone_even_for_the_coordinator(client, personas):
    made = await save(client, personas["police"], half_typed())
    url = f"{DRAFTS}/{made['id']}"
    for key in ("coordinator", "chair", "idva", "health", "housing", "admin", "auditor"):
        headers = personas[key].bearer
        assert (await client.get(url, headers=headers)).status_code == 404, key
        assert (await client.put(url, json={"conference": CONFERENCE}, headers=headers)).status_code == 404, key
        assert (await client.delete(url, headers=headers)).status_code == 404, key
        assert (await client.post(f"{url}/submit", headers=headers)).status_code == 404, key
        if key not in ("admin", "auditor"):
            assert (await client.get(DRAFTS, headers=headers)).json()["items"] == [], key
    # the chair works for the author's agency and still does not see it, on the pages either
    for key in ("chair", "coordinator"):
        client.cookies.clear()
        client.cookies.update(await session_cookie_for(personas[key]))
        assert (await client.get(f"/referrals/drafts/{made['id']}")).status_code == 404
        assert "Jane Doe" not in (await client.get("/referrals/drafts")).text
    assert (await ReferralDraft.get(id=made["id"])).body["victim"]["name"] == "Jane Doe"


async def test_a_draft_is_sealed_where_it_is_stored(client, personas):
    made = await save(client, personas["police"], half_typed())
    _, rows = await connections.get("default").execute_query(
        'SELECT "body" FROM "referral_draft" WHERE "id" = ' + ("$1" if _postgres() else "?"), [made["id"]]
    )
    stored = rows[0]["body"]
    assert stored.startswith("enc1") and "Jane" not in stored and "07700" not in stored


def _postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"


async def test_sending_a_draft_checks_every_rule_and_then_the_draft_is_gone(client, personas):
    police = personas["police"].bearer
    made = await save(client, personas["police"], half_typed())
    refused = await client.post(f"{DRAFTS}/{made['id']}/submit", headers=police)
    assert refused.status_code == 422
    assert {"summary", "consent", "victim.date_of_birth"} <= set(refused.json()["error"]["fields"])
    assert await ReferralDraft.exists(id=made["id"]) and await Referral.all().count() == 0
    await client.put(f"{DRAFTS}/{made['id']}", json=dash_body(), headers=police)
    sent = await client.post(f"{DRAFTS}/{made['id']}/submit", headers=police)
    assert sent.status_code == 201, sent.text
    assert sent.json()["status"] == "received" and sent.json()["repeat"]["is_repeat"] is False
    referral = await Referral.get(id=sent.json()["id"])
    assert referral.referrer_id == personas["police"].user.id and referral.summary == dash_body()["summary"]
    assert not await ReferralDraft.exists(id=made["id"])
    assert (await client.get(f"{DRAFTS}/{made['id']}", headers=police)).status_code == 404
    assert await AuditEvent.filter(action="referral_draft.send", object_id=made["id"]).exists()
    assert await AuditEvent.filter(action="referral.create", object_id=referral.id).exists()


async def test_deleting_a_draft(client, personas):
    police = personas["police"].bearer
    made = await save(client, personas["police"], half_typed())
    assert (await client.delete(f"{DRAFTS}/{made['id']}", headers=police)).status_code == 204
    assert await ReferralDraft.all().count() == 0
    assert (await client.delete(f"{DRAFTS}/{made['id']}", headers=police)).status_code == 404
    assert await AuditEvent.filter(action="referral_draft.delete", object_id=made["id"]).exists()


async def test_an_expired_draft_is_never_shown_and_the_retention_run_deletes_it(client, personas):
    police = personas["police"].bearer
    old = await save(client, personas["police"], half_typed())
    kept = await save(client, personas["police"], dash_body())
    await ReferralDraft.filter(id=old["id"]).update(
        saved_at=now() - timedelta(days=31), expires_at=now() - timedelta(days=1)
    )
    assert (await client.get(f"{DRAFTS}/{old['id']}", headers=police)).status_code == 404
    assert (await client.post(f"{DRAFTS}/{old['id']}/submit", headers=police)).status_code == 404
    assert [d["id"] for d in (await client.get(DRAFTS, headers=police)).json()["items"]] == [kept["id"]]
    client.cookies.update(await session_cookie_for(personas["police"]))
    assert (await client.get(f"/referrals/drafts/{old['id']}")).status_code == 404
    (dry,) = await retention.run(today(), dry_run=True, slug=CONFERENCE)
    assert dry.drafts_deleted == 1 and await ReferralDraft.exists(id=old["id"])
    (done,) = await retention.run(today(), slug=CONFERENCE)
    assert done.drafts_deleted == 1
    assert [d.id for d in await ReferralDraft.all()] == [kept["id"]]
    assert await AuditEvent.filter(action="referral_draft.expire", object_id=old["id"]).exists()
    # the one saved today expires 30 days on: a run that day deletes it
    (later,) = await retention.run(today() + timedelta(days=31), slug=CONFERENCE)
    assert later.drafts_deleted == 1 and await ReferralDraft.all().count() == 0


# ---- the pages --------------------------------------------------------------------------------


async def test_the_referrer_saves_the_form_as_a_draft_and_finishes_it_later(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    form_page = f"/referrals/new?conference={CONFERENCE}"
    assert "Save as draft" in (await client.get(form_page)).text
    token = await csrf_token(client, form_page)
    typed = {"csrf_token": token, "victim.name": "Jane Doe", "victim.date_of_birth": "31/02/1990", "action": "draft"}
    saved = await client.post(form_page, data=typed)
    assert saved.status_code == 303, saved.text
    draft = await ReferralDraft.get()
    assert saved.headers["location"] == f"/referrals/drafts/{draft.id}?saved=1"
    page = await client.get(saved.headers["location"])
    assert page.status_code == 200 and "Draft saved" in page.text
    # what was typed, the mistyped date too
    assert 'value="Jane Doe"' in page.text and 'value="31/02/1990"' in page.text
    listed = await client.get("/referrals/drafts")
    assert "Jane Doe" in listed.text and format_date(draft.expires_at, "medium") in listed.text
    # sent as it is: every problem on its field, and the draft kept as it was
    url = f"/referrals/drafts/{draft.id}"
    token = await csrf_token(client, url)
    refused = await client.post(url, data={**typed, "csrf_token": token, "action": "send"})
    assert refused.status_code == 400
    assert 'href="#victim.date_of_birth"' in refused.text and 'href="#summary"' in refused.text
    assert await ReferralDraft.exists(id=draft.id) and await Referral.all().count() == 0
    # finished and sent: the referral is made and the draft is gone
    whole = {
        "csrf_token": token,
        "action": "send",
        "received_at": "02/11/2026",
        "victim.name": "Jane Doe",
        "victim.date_of_birth": "14/03/1990",
        "victim.address.line1": "1 High Street",
        "victim.address.postcode": "NS1 1AA",
        "criteria": "visible_high_risk",
        "risk.instrument": "dash",
        "risk.score": "15",
        "perpetrators.0.name": "John Roe",
        "summary": "Escalating threats after separation.",
        "consent.victim_aware": "yes",
        "consent.consented": "yes",
    }
    sent = await client.post(url, data=whole)
    assert sent.status_code == 303, sent.text
    referral = await Referral.get()
    assert sent.headers["location"] == f"/referrals/{referral.id}?created=1"
    assert await ReferralDraft.all().count() == 0
    assert (await client.get(url)).status_code == 404


async def test_a_draft_saved_again_on_its_page_keeps_the_new_text(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    made = await save(client, personas["police"], half_typed())
    url = f"/referrals/drafts/{made['id']}"
    page = await client.get(url)
    # a draft saved through the API opens on the form: answers, people and dates as typed
    assert 'value="John Roe"' in page.text and 'value="31/02/1990"' in page.text
    token = await csrf_token(client, url)
    again = await client.post(url, data={"csrf_token": token, "action": "draft", "summary": "Now with a summary."})
    assert again.status_code == 303 and again.headers["location"] == f"{url}?saved=1"
    stored = await ReferralDraft.get(id=made["id"])
    assert stored.body["summary"] == "Now with a summary." and "victim" in stored.body


async def test_deleting_a_draft_on_its_page_is_asked_first(client, personas):
    client.cookies.update(await session_cookie_for(personas["police"]))
    made = await save(client, personas["police"], half_typed())
    url = f"/referrals/drafts/{made['id']}"
    token = await csrf_token(client, url)
    asked = await client.post(f"{url}/delete", data={"csrf_token": token})
    assert asked.status_code == 200 and "Delete this draft?" in asked.text
    assert await ReferralDraft.exists(id=made["id"])
    done = await client.post(f"{url}/delete", data={"csrf_token": token, "confirmed": "yes"})
    assert done.status_code == 303 and done.headers["location"] == "/referrals/drafts?deleted=1"
    assert "The draft was deleted" in (await client.get(done.headers["location"])).text
    assert not await ReferralDraft.exists(id=made["id"])


# ---- bad input --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["POST", "PUT", "submit"]),
    noise=st.dictionaries(
        st.sampled_from(["conference", "victim", "risk", "received_at", "children", "consent", "summary", "extra"]),
        JSONISH,
        max_size=3,
    ),
)
async def test_no_draft_body_gets_a_server_error(client, personas, route, noise):
    police = personas["police"].bearer
    # The examples share one database: without this, the 50-draft limit answers 409 part-way.
    await ReferralDraft.filter(author_id=personas["police"].user.id).delete()
    made = await save(client, personas["police"], {"conference": CONFERENCE})
    url = f"{DRAFTS}/{made['id']}"
    if route == "POST":
        answer = await client.post(DRAFTS, json={"conference": CONFERENCE, **noise}, headers=police)
    elif route == "PUT":
        answer = await client.put(url, json={"conference": CONFERENCE, **noise}, headers=police)
    else:
        await ReferralDraft.filter(id=made["id"]).delete()
        kept = await client.post(DRAFTS, json={**dash_body(), **noise}, headers=police)
        assert kept.status_code in (201, 422), kept.text
        answer = await client.post(f"{DRAFTS}/{kept.json().get('id', made['id'])}/submit", headers=police)
        if kept.status_code == 422:
            assert answer.status_code == 404
            return
    assert answer.status_code in (200, 201, 422), answer.text
    if answer.status_code in (200, 201) and route != "submit":
        # what was saved opens on the form, whatever it holds
        client.cookies.update(await session_cookie_for(personas["police"]))
        assert (await client.get(f"/referrals/drafts/{answer.json()['id']}")).status_code == 200
