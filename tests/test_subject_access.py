"""Subject access: the coordinator exports everything held about one person, as JSON and PDF,
with other people's details marked for redaction review; audited and in the disclosure log."""

from __future__ import annotations

import io
import json

import pypdf

from marac.audit.models import AuditEvent, Disclosure
from marac.meetings.models import AgendaItem
from marac.referrals.models import Referral, ReferralPerson
from tests.conftest import session_cookie_for
from tests.test_minutes import held_meeting


async def signed_in(client, persona) -> None:
    client.cookies.clear()
    client.cookies.update(await session_cookie_for(persona))


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
    meeting, _ = await held_meeting(personas)
    item = await AgendaItem.get(meeting=meeting).prefetch_related("referral")
    jane = item.referral.victim_person_id
    await signed_in(client, personas["coordinator"])
    answer = await client.get(f"/people/{jane}/subject-access.json")
    assert answer.status_code == 200 and answer.headers["content-disposition"].startswith("attachment")
    assert "Jane" not in answer.headers["content-disposition"] and answer.headers["cache-control"] == "no-store"
    data = answer.json()
    assert data["subject"]["names"] == ["Jane Doe"] and data["subject"]["postcode"] == "NS11AA"
    assert data["subject"]["redaction_review"] is False
    (referral,) = data["referrals"]
    assert referral["subject_roles"] == ["victim"] and referral["victim_details"]["redaction_review"] is False
    people = {p["name"]: p for p in referral["people"]}
    assert people["Jane Doe"]["redaction_review"] is False
    assert people["John Roe"]["redaction_review"] is True and people["John Roe"]["redaction_reason"] == "third party: perpetrator"
    assert people["Amy Doe"]["redaction_review"] is True
    assert referral["referrer"] == {"name": "Police", "redaction_review": True, "redaction_reason": "names agency staff"}
    (case,) = referral["cases"]
    notes = {n["text"].split()[0]: n for n in case["notes"]}
    # Every note, whoever may read it, with its visibility; each marked for review.
    assert set(notes) == {"CANARYALL", "CANARYPOLICE", "CANARYIDVA", "CANARYCHAIR"}
    assert notes["CANARYCHAIR"]["visibility"] == "chair_only" and all(n["redaction_review"] for n in notes.values())
    assert sorted(a["description"].split()[0] for a in case["actions"]) == ["CANARYACTCHILDRENS", "CANARYACTHEALTH"]
    assert [m["meeting_id"] for m in data["meetings"]] == [meeting.id]
    assert data["minutes"] == []  # not approved yet
    assert {e["action"] for e in data["audit_events"]} >= {"referral.create", "referral.accept", "note.create", "action.create"}
    assert "Jane Doe" not in json.dumps(marked(data))  # her own details are never marked as someone else's

    # Audited and entered in the disclosure log, as the export of a person.
    event = await AuditEvent.get(action="subject_access.export_json")
    assert (event.object_type, event.object_id, event.user_id) == ("person", jane, personas["coordinator"].user.id)
    disclosure = await Disclosure.get(kind="subject_access")
    assert disclosure.user_id == personas["coordinator"].user.id and disclosure.purpose.startswith("Subject access")
    log = await client.get("/disclosures")
    assert "Subject access export" in log.text


async def test_the_pdf_shows_the_same_with_visible_redaction_marks(client, personas):
    meeting, _ = await held_meeting(personas)
    item = await AgendaItem.get(meeting=meeting).prefetch_related("referral")
    await signed_in(client, personas["coordinator"])
    answer = await client.get(f"/people/{item.referral.victim_person_id}/subject-access.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    reader = pypdf.PdfReader(io.BytesIO(answer.content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = "".join(text.split())
    for expected in ("JaneDoe", "NS11AA", "JohnRoe", "AmyDoe", "CANARYALL", "CANARYCHAIR", "CANARYACTHEALTH", "OFFICIAL-SENSITIVE"):
        assert expected in flat, expected
    assert "REDACTION REVIEW: third party: perpetrator" in text
    assert "REDACTION REVIEW: free text written by an agency" in text
    assert "Jane" not in str(reader.metadata)  # the document properties name nobody
    assert await AuditEvent.filter(action="subject_access.export_pdf").count() == 1
    assert await Disclosure.filter(kind="subject_access").count() == 1


async def test_a_perpetrators_export_marks_the_victims_address_and_contact(client, personas):
    meeting, _ = await held_meeting(personas)
    item = await AgendaItem.get(meeting=meeting)
    john = await ReferralPerson.get(referral_id=item.referral_id, role="perpetrator")
    await signed_in(client, personas["coordinator"])
    data = (await client.get(f"/people/{john.person_id}/subject-access.json")).json()
    (referral,) = data["referrals"]
    assert referral["subject_roles"] == ["perpetrator"]
    victim = referral["victim_details"]
    assert victim["redaction_review"] is True and "safe contact" in victim["redaction_reason"]
    assert victim["safe_contact"]["phone"] == "07700 900999"  # held, so exported, but marked
    assert referral["risk"]["redaction_review"] is True and referral["consent"]["redaction_review"] is True
    assert {p["name"] for p in referral["people"] if not p["redaction_review"]} == {"John Roe"}


async def test_only_the_conferences_coordinator_exports(client, personas):
    meeting, _ = await held_meeting(personas)
    referral = await Referral.get(id=(await AgendaItem.get(meeting=meeting)).referral_id)
    for suffix in ("json", "pdf"):
        url = f"/people/{referral.victim_person_id}/subject-access.{suffix}"
        for persona, status in [("chair", 403), ("police", 403), ("auditor", 403), ("admin", 403)]:
            await signed_in(client, personas[persona])
            assert (await client.get(url)).status_code == status, persona
        await signed_in(client, personas["coordinator"])
        assert (await client.get(f"/people/{'0' * 32}/subject-access.{suffix}")).status_code == 404
    # A coordinator of another conference learns nothing: 404, like a missing person.
    from marac.agencies import service

    await service.create_conference(None, name="Southshire", slug="southshire", type="domestic-abuse", weekday="monday",
                                    start_time="10:00", first_date=referral.received_at, members=[])
    other = await service.add_user(None, email="other@test.example.org", name="Other", agency_id=personas["coordinator"].user.agency_id,
                                   role="coordinator", conference_slugs=["southshire"])
    from tests.conftest import Persona

    await signed_in(client, Persona("other", other.user, "", ""))
    assert (await client.get(f"/people/{referral.victim_person_id}/subject-access.json")).status_code == 404
    assert not await AuditEvent.filter(action__startswith="subject_access").exists()
    assert not await Disclosure.filter(kind="subject_access").exists()
