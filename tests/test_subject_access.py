"""Subject access: the coordinator exports everything held about one person, as JSON and PDF,
with other people's details marked for redaction review; audited and in the disclosure log."""

from __future__ import annotations

import io
import json

import pyotp
import pypdf

from marac.agencies.models import User
from marac.audit.models import AuditEvent, Disclosure
from marac.meetings.models import AgendaItem
from marac.referrals.models import Referral, ReferralPerson
from tests.builders import held_meeting_with_markers
from tests.conftest import csrf_token, session_cookie_for
from tests.pdfs import assert_only_the_bundled_font


async def signed_in(client, persona) -> None:
    client.cookies.clear()
    client.cookies.update(await session_cookie_for(persona))


async def export(client, persona, person_id: str, fmt: str, *, password: str | None = None, code: str | None = None):
    """The export form, with the step-up: the password and a fresh authenticator code."""
    await User.filter(id=persona.user.id).update(totp_last_step=0)  # each code is accepted once
    url = f"/people/{person_id}/subject-access"
    return await client.post(
        url,
        data={
            "format": fmt,
            "password": persona.password if password is None else password,
            "code": pyotp.TOTP(persona.totp_secret).now() if code is None else code,
            "csrf_token": await csrf_token(client, "/account"),
        },
    )


def marked(data, found=None) -> list[dict]:
    """Every part of the export marked for redaction review."""
    found = [] if found is None else found
    if isinstance(data, dict):
        if data.get("redaction_review"):
            found.append(data)
        for value in data.values():
            marked(value, found)
    elif isinstance(data, list):
        for value in data:
            marked(value, found)
    return found


async def test_the_victims_export_holds_everything_and_marks_third_parties(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    item = await AgendaItem.get(meeting=meeting).prefetch_related("referral")
    jane = item.referral.victim_person_id
    await signed_in(client, personas["coordinator"])
    answer = await export(client, personas["coordinator"], jane, "json")
    assert answer.status_code == 200 and answer.headers["content-disposition"].startswith("attachment")
    assert "Jane" not in answer.headers["content-disposition"] and answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["subject"]["names"] == ["Jane Doe"] and data["subject"]["postcode"] == "NS11AA"
    assert data["subject"]["redaction_review"] is False
    (referral,) = data["referrals"]
    assert referral["subject_roles"] == ["victim"] and referral["victim_details"]["redaction_review"] is False
    people = {p["name"]: p for p in referral["people"]}
    assert people["Jane Doe"]["redaction_review"] is False
    assert (
        people["John Roe"]["redaction_review"] is True
        and people["John Roe"]["redaction_reason"] == "third party: perpetrator"
    )
    assert people["Amy Doe"]["redaction_review"] is True
    assert referral["referrer"] == {
        "name": "Police",
        "redaction_review": True,
        "redaction_reason": "names agency staff",
    }
    (case,) = referral["cases"]
    notes = {n["text"].split()[0]: n for n in case["notes"]}
    # Every note, whoever may read it, with its visibility; each marked for review.
    assert set(notes) == {"CANARYALL", "CANARYPOLICE", "CANARYIDVA", "CANARYCHAIR"}
    assert notes["CANARYCHAIR"]["visibility"] == "chair_only" and all(n["redaction_review"] for n in notes.values())
    assert sorted(a["description"].split()[0] for a in case["actions"]) == ["CANARYACTCHILDRENS", "CANARYACTHEALTH"]
    assert [m["meeting_id"] for m in data["meetings"]] == [meeting.id]
    assert data["minutes"] == []  # not approved yet
    assert {e["action"] for e in data["audit_events"]} >= {
        "referral.create",
        "referral.accept",
        "note.create",
        "action.create",
    }
    assert "Jane Doe" not in json.dumps(marked(data))  # her own details are never marked as someone else's

    # Audited and entered in the disclosure log, as the export of a person.
    event = await AuditEvent.get(action="subject_access.export_json")
    assert (event.object_type, event.object_id, event.user_id) == ("person", jane, personas["coordinator"].user.id)
    disclosure = await Disclosure.get(kind="subject_access")
    assert disclosure.user_id == personas["coordinator"].user.id and disclosure.purpose.startswith("Subject access")
    log = await client.get("/disclosures")
    assert "Subject access export" in log.text


async def test_the_pdf_shows_the_same_with_visible_redaction_marks(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    item = await AgendaItem.get(meeting=meeting).prefetch_related("referral")
    await signed_in(client, personas["coordinator"])
    answer = await export(client, personas["coordinator"], item.referral.victim_person_id, "pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(answer.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = "".join(text.split())
    for expected in (
        "JaneDoe",
        "NS11AA",
        "JohnRoe",
        "AmyDoe",
        "CANARYALL",
        "CANARYCHAIR",
        "CANARYACTHEALTH",
        "OFFICIAL-SENSITIVE",
    ):
        assert expected in flat, expected
    assert "REDACTION REVIEW: third party: perpetrator" in text
    assert "REDACTION REVIEW: free text written by an agency" in text
    assert "Jane" not in str(reader.metadata)  # the document properties name nobody
    assert_only_the_bundled_font(answer.content)
    assert await AuditEvent.filter(action="subject_access.export_pdf").count() == 1
    assert await Disclosure.filter(kind="subject_access").count() == 1


async def test_a_perpetrators_export_marks_the_victims_address_and_contact(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    item = await AgendaItem.get(meeting=meeting)
    john = await ReferralPerson.get(referral_id=item.referral_id, role="perpetrator")
    await signed_in(client, personas["coordinator"])
    data = (await export(client, personas["coordinator"], john.person_id, "json")).json()
    (referral,) = data["referrals"]
    assert referral["subject_roles"] == ["perpetrator"]
    victim = referral["victim_details"]
    assert victim["redaction_review"] is True and "safe contact" in victim["redaction_reason"]
    assert victim["safe_contact"]["phone"] == "07700 900999"  # held, so exported, but marked
    assert referral["risk"]["redaction_review"] is True and referral["consent"]["redaction_review"] is True
    assert {p["name"] for p in referral["people"] if not p["redaction_review"]} == {"John Roe"}


async def test_only_the_conferences_coordinator_exports(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    referral = await Referral.get(id=(await AgendaItem.get(meeting=meeting)).referral_id)
    url = f"/people/{referral.victim_person_id}/subject-access"
    for persona, status in [("chair", 403), ("police", 403), ("auditor", 403), ("admin", 403)]:
        await signed_in(client, personas[persona])
        assert (await client.get(url)).status_code == status, persona
        assert (await export(client, personas[persona], referral.victim_person_id, "json")).status_code == status, (
            persona
        )
    await signed_in(client, personas["coordinator"])
    assert (await client.get(f"/people/{'0' * 32}/subject-access")).status_code == 404
    assert (await export(client, personas["coordinator"], "0" * 32, "json")).status_code == 404
    # A coordinator of another conference learns nothing: 404, like a missing person.
    from marac.agencies import service

    await service.create_conference(
        None,
        name="Southshire",
        slug="southshire",
        type="domestic-abuse",
        weekday="monday",
        start_time="10:00",
        first_date=referral.received_at,
        members=[],
    )
    other = await service.add_user(
        None,
        email="other@test.example.org",
        name="Other",
        agency_id=personas["coordinator"].user.agency_id,
        role="coordinator",
        conference_slugs=["southshire"],
    )
    from tests.conftest import Persona

    await signed_in(client, Persona("other", other.user, "", ""))
    assert (await client.get(url)).status_code == 404
    assert not await AuditEvent.filter(action__startswith="subject_access").exists()
    assert not await Disclosure.filter(kind="subject_access").exists()


async def test_every_export_asks_for_the_password_and_a_new_code(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    person_id = (await Referral.get(id=(await AgendaItem.get(meeting=meeting)).referral_id)).victim_person_id
    coordinator = personas["coordinator"]
    await signed_in(client, coordinator)
    form = await client.get(f"/people/{person_id}/subject-access")
    assert form.status_code == 200 and 'type="password"' in form.text and "Jane" not in form.text

    wrong_password = await export(client, coordinator, person_id, "json", password="not my password")
    assert wrong_password.status_code == 400 and "password or security code is not right" in wrong_password.text
    wrong_code = await export(client, coordinator, person_id, "pdf", code="000000")
    assert wrong_code.status_code == 400 and "Jane" not in wrong_code.text
    no_format = await export(client, coordinator, person_id, "xml")
    assert no_format.status_code == 400 and "Choose PDF or JSON" in no_format.text
    # Nothing was released, and each refusal is on the record.
    assert not await Disclosure.filter(kind="subject_access").exists()
    denied = await AuditEvent.filter(action="subject_access.export", outcome="denied").count()
    assert denied == 2

    # The code the last export used is not accepted again.
    code = pyotp.TOTP(coordinator.totp_secret).now()
    assert (await export(client, coordinator, person_id, "json", code=code)).status_code == 200
    replay = await client.post(
        f"/people/{person_id}/subject-access",
        data={
            "format": "json",
            "password": coordinator.password,
            "code": code,
            "csrf_token": await csrf_token(client, "/account"),
        },
    )
    assert replay.status_code == 400
    assert await Disclosure.filter(kind="subject_access").count() == 1


async def test_repeated_failures_are_throttled_like_sign_in(client, personas):
    meeting, _ = await held_meeting_with_markers(personas)
    person_id = (await Referral.get(id=(await AgendaItem.get(meeting=meeting)).referral_id)).victim_person_id
    coordinator = personas["coordinator"]
    await signed_in(client, coordinator)
    statuses = [
        (await export(client, coordinator, person_id, "json", password=f"guess {n}")).status_code for n in range(6)
    ]
    assert statuses[0] == 400 and statuses[-1] == 429
    # Throttled: even the right password and code release nothing now.
    assert (await export(client, coordinator, person_id, "json")).status_code == 429
    assert not await Disclosure.filter(kind="subject_access").exists()
