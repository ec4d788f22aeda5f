"""Retention: a case past its conference's period is listed first, anonymised a week later
(unless referred again), its figures unchanged and its personal data gone from every table."""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

from tortoise import connections

from marac import settings
from marac.actions import preparation
from marac.actions.models import Action, ActionUpdate, Note
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference
from marac.audit.models import AuditEvent
from marac.audit.service import verify
from marac.documents.models import Document
from marac.governance import retention
from marac.governance.models import LegalHold, RetentionNotice, RetentionRun
from marac.jobs import tasks
from marac.meetings.models import AgendaItem, ChairPack, Meeting, Research
from marac.referrals.models import Person, Referral, ReferralPerson
from tests.builders import (
    approve_minutes,
    held_meeting_with_markers,
    other_conference_coordinator,
    published_meeting,
    referral,
)
from tests.conftest import CONFERENCE, TABLES, csrf_token, dash_body, session_cookie_for
from tests.flows import page_post
from tests.test_migrations_and_cli import cli

# In case A only (victim Jane Doe, her child Amy, her repeat): none may survive anonymisation.
A_MARKERS = [
    "Jane",
    "Amy",
    "CANARY",
    "Escalating threats",
    "900999",
    "900123",
    "High Street",
    "NS1 1AA",
    "NS11AA",
    "1990-03-14",
    "2018-05-05",
    "ex-partner",
    "REPEATMARKER",
]
LAST_A = date(2026, 11, 10)  # Jane's repeat referral: her last
PAST_A = date(2032, 11, 11)  # six years on, the day after
LISTED = date(2032, 11, 15)


# A sealed value as stored: random letters, in which a short marker ("Amy") turns up now and then by chance.
# The markers are looked for in it opened (opened_rows) instead.
SEALED = re.compile(r"enc1:\d+:[A-Za-z0-9_=-]+")


async def raw_rows() -> str:
    """Every row of every table as the database holds it (no model, no decryption)."""
    conn = connections.get("default")
    parts = []
    for table in TABLES:
        parts += [repr(sorted(row.items())) for row in await conn.execute_query_dict(f'SELECT * FROM "{table}"')]
    return "\n".join(parts)


async def opened_rows() -> str:
    """Every row of every model as the service reads it: sealed fields opened."""
    from tortoise import Tortoise

    parts = []
    for model in Tortoise.apps["marac"].values():
        for row in await model.all():
            parts.append(repr(sorted((name, getattr(row, name, None)) for name in model._meta.db_fields)))
    return "\n".join(parts)


async def figures() -> dict:
    """What the quarterly figures count, read through the models."""
    out: dict = {
        "quarters": Counter(),
        "repeats": 0,
        "strands": Counter(),
        "agency": Counter(),
        "gender": Counter(),
        "minoritised": 0,
        "children": Counter(),
        "perpetrator_bands": Counter(),
        "victim_bands": Counter(),
        "heard": Counter(),
        "actions": Counter(),
    }
    for r in await Referral.all().prefetch_related("people"):
        out["quarters"][(r.received_at.year, (r.received_at.month - 1) // 3 + 1)] += 1
        out["repeats"] += r.is_repeat
        out["strands"].update(r.strands)
        out["agency"][r.referring_agency_id] += 1
        out["gender"][r.victim.get("gender")] += 1
        out["minoritised"] += bool((r.victim.get("monitoring") or {}).get("racially_minoritised"))
        out["children"][r.id] = sum(p.role == "child" for p in r.people)
        for p in r.people:
            band = p.age_band or retention.age_band(p.date_of_birth, r.received_at)
            out["perpetrator_bands" if p.role == "perpetrator" else "victim_bands"][(p.role, band)] += 1
    for item in await AgendaItem.filter(state="listed").prefetch_related("meeting"):
        out["heard"][item.meeting.date] += 1
    for action in await Action.all():
        out["actions"][(action.status, action.due_date, action.owner_agency_id)] += 1
    return out


async def two_cases(client, personas):
    """Case A: Jane Doe, heard at a meeting with notes, actions and rendered documents, then
    referred again (a repeat) on LAST_A. Case B: Mary Major in 2028, the same perpetrator."""
    meeting, _ = await held_meeting_with_markers(personas)
    await approve_minutes(personas, meeting, rendered=True)
    await tasks.render_agendas(meeting.id)
    body = dash_body(received_at=LAST_A.isoformat(), summary="REPEATMARKER further threats")
    body["victim"]["monitoring"] = {"racially_minoritised": True, "ethnicity": "Black British"}
    repeat = await referral(personas, body=body)
    assert repeat.is_repeat
    mary = dash_body(
        received_at="2028-06-01",
        summary="Mary is frightened",
        children=[],
        perpetrators=[{"name": "John Roe", "date_of_birth": "1985-07-01", "relationship": "husband"}],
    )
    mary["victim"] = {
        "name": "Mary Major",
        "date_of_birth": "1970-01-01",
        "gender": "female",
        "address": {"line1": "9 Low Road", "town": "Northshire", "postcode": "NS9 9ZZ"},
    }
    b = await referral(personas, body=mary, today=date(2028, 6, 1))
    return meeting, repeat, b


async def test_a_case_is_listed_then_anonymised_a_week_later_with_figures_and_audit_intact(client, personas):
    meeting, repeat, b = await two_cases(client, personas)
    jane = repeat.victim_person_id
    a_ids = set(await Referral.filter(victim_person_id=jane).values_list("id", flat=True))
    assert len(a_ids) == 2
    documents = await Document.filter(meeting=meeting)
    assert {d.kind for d in documents} == {"agenda", "minutes"}
    files = [settings.get().document_store / d.file_name for d in documents]
    # The chair's pack of that meeting holds the case whole.
    pack = await preparation.lay_out((await preparation.new_pack(meeting)).id)
    assert pack is not None and pack.status == "ready"
    files.append(settings.get().document_store / pack.file_name)
    assert all(f.exists() for f in files)
    before = await figures()

    # Not yet past retention on its last day: nothing to list.
    (outcome,) = await retention.run(PAST_A - timedelta(days=1))
    assert (outcome.listed, outcome.anonymised_cases) == (0, 0)

    # A dry run says what a run would do and changes nothing at all.
    raw = await raw_rows()
    (dry,) = await retention.run(LISTED, dry_run=True)
    assert (dry.listed, dry.anonymised_cases, dry.run_id) == (1, 0, None)
    assert await raw_rows() == raw

    # The run lists Jane's case only; case data untouched.
    (listed,) = await retention.run(LISTED)
    assert (listed.listed, listed.anonymised_cases) == (1, 0)
    assert await RetentionNotice.filter(person_id=jane).exists()
    assert not await RetentionNotice.exclude(person_id=jane).exists()
    assert (await Referral.get(id=repeat.id)).summary.startswith("REPEATMARKER")

    # The report shows the date it will happen; six days on, still nothing happens.
    conference = await Referral.get(id=repeat.id).prefetch_related("conference")
    report = await retention.report(conference.conference, LISTED, LISTED + timedelta(days=1))
    (line,) = report.due
    assert line.anonymise_on == LISTED + timedelta(days=7) and line.listed_on == LISTED
    assert {r["id"] for r in line.referrals} == a_ids and line.last_referral_on == LAST_A
    (waiting,) = await retention.run(LISTED + timedelta(days=6))
    assert waiting.anonymised_cases == 0
    raw = await raw_rows()
    (dry,) = await retention.run(LISTED + timedelta(days=7), dry_run=True)
    assert (dry.anonymised_cases, dry.anonymised_referrals, dry.documents_deleted) == (1, 2, len(documents))
    assert await raw_rows() == raw

    (done,) = await retention.run(LISTED + timedelta(days=7))
    assert (done.anonymised_cases, done.anonymised_referrals, done.documents_deleted) == (1, 2, len(documents))
    assert not await RetentionNotice.all().exists()

    # What the figures count is the same; what identifies Jane, her child or her case is gone
    # from every table, as stored.
    assert await figures() == before
    # Both as stored and as read with the keys (sealed fields opened).
    stored, opened = await raw_rows(), await opened_rows()
    for marker in A_MARKERS:
        assert marker not in SEALED.sub("enc1:...", stored) and marker not in opened, marker
    assert "Mary Major" in opened and "Mary is frightened" in opened  # case B is kept whole
    assert all(not f.exists() for f in files)
    assert not await Document.filter(meeting=meeting).exists()
    assert not await ChairPack.filter(meeting=meeting).exists()
    assert not await Note.filter(item__referral_id__in=list(a_ids)).exists()
    assert not await Research.filter(item__referral_id__in=list(a_ids)).exists()
    assert all(a.description == "" for a in await Action.filter(item__referral_id__in=list(a_ids)))
    assert all(u.text == "" for u in await ActionUpdate.filter(action__item__referral_id__in=list(a_ids)))
    for case in await Referral.filter(id__in=list(a_ids)).prefetch_related("people"):
        assert case.anonymised_at is not None and case.summary == ""
        assert case.victim.get("gender") == "female" and set(case.victim) <= {"gender", "monitoring"}
        assert {p.role for p in case.people} == {"victim", "perpetrator", "child"}
        assert all(p.name == "" and p.date_of_birth is None for p in case.people)
    # The perpetrator is still named in Mary's case: his entry stays, but Jane's referrals no
    # longer point at it, and Jane's own entry is empty and unfindable.
    b_perpetrator = await ReferralPerson.get(referral_id=b.id, role="perpetrator")
    assert not await ReferralPerson.filter(referral_id__in=list(a_ids), person_id=b_perpetrator.person_id).exists()
    assert (await Person.get(id=b_perpetrator.person_id)).names == ["John Roe"]
    assert (await Person.get(id=jane)).names == []
    snapshot = (await Meeting.get(id=meeting.id)).snapshot
    assert "Jane" not in repr(snapshot)

    # Audited with ids and counts only; the chain still verifies.
    runs = await AuditEvent.filter(action="retention.run").values_list("object_id", flat=True)
    assert len(runs) == 4 and await RetentionRun.filter(id__in=list(runs)).count() == 4
    last = await RetentionRun.filter(anonymised_cases=1).get()
    assert (last.anonymised_referrals, last.documents_deleted, last.requested_by) == (2, len(documents), None)
    assert set(await AuditEvent.filter(action="retention.anonymise").values_list("object_id", flat=True)) == a_ids
    assert await AuditEvent.filter(action="retention.document_delete").count() == len(documents)
    assert (await verify()).ok

    # A second run the same day (at-least-once delivery) does nothing more.
    (again,) = await retention.run(LISTED + timedelta(days=7))
    assert (again.listed, again.anonymised_cases) == (0, 0)


async def test_a_new_referral_withdraws_a_listed_case(personas):
    first = await referral(personas)
    (listed,) = await retention.run(date(2032, 11, 4))
    assert listed.listed == 1
    again = await referral(personas, received_at="2032-11-06", today=date(2032, 11, 6))
    assert again.victim_person_id == first.victim_person_id
    (run,) = await retention.run(date(2032, 11, 12))
    assert (run.withdrawn, run.anonymised_cases) == (1, 0)
    assert (await Referral.get(id=first.id)).anonymised_at is None
    assert not await RetentionNotice.all().exists()


async def test_the_coordinator_reads_the_report_without_names(client, personas, monkeypatch):
    from marac.web.pages import governance

    case = await referral(personas)
    await retention.run(date(2032, 11, 4))
    monkeypatch.setattr(governance, "today", lambda: date(2032, 11, 5))
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page = await client.get(f"/conferences/{CONFERENCE}/retention")
    assert page.status_code == 200
    assert "6 years" in page.text and f"/referrals/{case.id}" in page.text and ">2 Nov 2026<" in page.text
    assert ">4 Nov 2032<" in page.text and ">11 Nov 2032<" in page.text  # listed on, anonymised on
    for name in ("Jane", "Doe", "John Roe", "Amy"):
        assert name not in page.text
    assert await AuditEvent.filter(action="retention.report_read", user_id=personas["coordinator"].user.id).exists()
    client.cookies.clear()
    client.cookies.update(await session_cookie_for(personas["chair"]))
    assert (await client.get(f"/conferences/{CONFERENCE}/retention")).status_code == 403


async def test_the_daily_task_and_the_command_line_dry_run(personas):
    await referral(personas)
    await tasks.run("apply_retention", None)  # today: nothing is six years old
    assert await RetentionRun.filter(listed=0, anonymised_cases=0).count() == 1
    code, out = await cli("retention", "run", "--dry-run", env={"MARAC_DATABASE_URL": os.environ["MARAC_DATABASE_URL"]})
    assert code == 0, out
    assert f"{CONFERENCE}: would list 0 cases" in out and "nothing was changed" in out
    assert await RetentionRun.all().count() == 1


async def test_a_legal_hold_keeps_a_due_case_until_it_is_lifted(personas):
    case = await referral(personas)
    conference = await Conference.get(slug=CONFERENCE)
    coordinator = await viewer_for(personas["coordinator"].user)
    (listed,) = await retention.run(date(2032, 11, 4))
    assert listed.listed == 1
    hold = await retention.set_hold(coordinator, conference, referral_id=case.id, reason="DHR 2032/7: keep everything")
    assert hold.person_id == case.victim_person_id

    # Due (listed a week ago and more), but held: the run and the dry run say so and change nothing.
    (dry,) = await retention.run(date(2032, 11, 11), dry_run=True)
    assert (dry.anonymised_cases, dry.held) == (0, 1)
    code, out = await cli("retention", "run", "--dry-run", env={"MARAC_DATABASE_URL": os.environ["MARAC_DATABASE_URL"]})
    assert code == 0 and "1 held by a legal hold" not in out  # today (2026) nothing is due yet
    (held,) = await retention.run(date(2032, 11, 11))
    assert (held.anonymised_cases, held.held) == (0, 1)
    assert (await Referral.get(id=case.id)).anonymised_at is None
    assert await RetentionNotice.filter(person_id=case.victim_person_id).exists()  # still listed
    report = await retention.report(conference, date(2032, 11, 12), date(2032, 11, 13))
    assert [line.held for line in report.due] == [True] and report.next_run_anonymises == []

    # Lifted: the next run anonymises it.
    await retention.lift_hold(coordinator, conference, hold.id)
    (after,) = await retention.run(date(2032, 11, 12))
    assert (after.anonymised_cases, after.held) == (1, 0)
    assert (await Referral.get(id=case.id)).anonymised_at is not None
    # Audited by ids only: the reason is nowhere in the trail.
    events = await AuditEvent.filter(object_type="legal_hold").order_by("seq")
    assert [(e.action, e.object_id) for e in events] == [
        ("retention.hold_set", hold.id),
        ("retention.hold_lift", hold.id),
    ]
    assert "DHR" not in repr([vars(e) for e in await AuditEvent.all()])
    # The reason is sealed as stored.
    assert "DHR" not in await raw_rows() and (await LegalHold.get(id=hold.id)).reason.startswith("DHR")


async def test_a_hold_on_a_person_named_in_a_case_holds_that_case(personas):
    case = await referral(personas)
    perpetrator = await ReferralPerson.get(referral_id=case.id, role="perpetrator")
    conference = await Conference.get(slug=CONFERENCE)
    coordinator = await viewer_for(personas["coordinator"].user)
    await retention.set_hold(
        coordinator, conference, person_id=perpetrator.person_id, reason="Police investigation 4411"
    )
    await retention.run(date(2032, 11, 4))
    (run,) = await retention.run(date(2032, 11, 11))
    assert (run.anonymised_cases, run.held) == (0, 1)


async def test_a_research_list_that_also_lists_a_held_case_is_kept(personas):
    world = await published_meeting(personas, cases=2)
    await tasks.render_agendas(world.meeting.id)
    held_case, other = world.referrals
    conference = await Conference.get(slug=CONFERENCE)
    await retention.set_hold(
        await viewer_for(personas["coordinator"].user), conference, referral_id=held_case.id, reason="DHR"
    )
    await retention.run(date(2032, 11, 4))
    (run,) = await retention.run(date(2032, 11, 11))
    assert (run.anonymised_cases, run.held, run.documents_deleted) == (1, 1, 0)
    assert (await Referral.get(id=other.id)).anonymised_at is not None
    assert (await Referral.get(id=held_case.id)).anonymised_at is None
    assert await Document.filter(kind="agenda", meeting_id=world.meeting.id).exists()


async def test_the_coordinator_sets_and_lifts_a_hold_on_the_retention_page(client, personas, monkeypatch):
    from marac.web.pages import governance

    case = await referral(personas)
    await retention.run(date(2032, 11, 4))
    monkeypatch.setattr(governance, "today", lambda: date(2032, 11, 12))
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    page_url = f"/conferences/{CONFERENCE}/retention"
    refused = await page_post(client, page_url, f"{page_url}/holds", {"referral_id": case.id, "reason": " "})
    assert refused.status_code == 400 and "Say why the case must be kept" in refused.text
    unknown = await page_post(client, page_url, f"{page_url}/holds", {"referral_id": "nosuchreferral", "reason": "DHR"})
    assert unknown.status_code == 400 and "No referral of this conference" in unknown.text
    assert not await LegalHold.all().exists()

    made = await page_post(client, page_url, f"{page_url}/holds", {"referral_id": case.id, "reason": "DHR 2032/7"})
    assert made.status_code == 303
    page = await client.get(page_url)
    assert "Legal hold" in page.text and "DHR 2032/7" in page.text
    assert "1</strong> of them under a legal hold" in page.text
    assert "will anonymise <strong>0</strong>" in page.text
    hold = await LegalHold.get(person_id=case.victim_person_id)

    # Only this conference's coordinator: the chair may not, nor a coordinator elsewhere.
    client.cookies.clear()
    client.cookies.update(await session_cookie_for(personas["chair"]))
    token = await csrf_token(client, "/")
    chair_lift = await client.post(f"{page_url}/holds/{hold.id}/lift", data={"csrf_token": token})
    assert chair_lift.status_code == 403
    other = await other_conference_coordinator()
    client.cookies.clear()
    client.cookies.update(await session_cookie_for(other))
    token = await csrf_token(client, "/")
    assert (await client.post(f"{page_url}/holds/{hold.id}/lift", data={"csrf_token": token})).status_code in (403, 404)
    assert (
        await client.post(f"{page_url}/holds", data={"csrf_token": token, "referral_id": case.id, "reason": "x"})
    ).status_code in (403, 404)
    assert (await LegalHold.get(id=hold.id)).lifted_at is None

    client.cookies.clear()
    client.cookies.update(await session_cookie_for(personas["coordinator"]))
    lifted = await page_post(client, page_url, f"{page_url}/holds/{hold.id}/lift", {})
    assert lifted.status_code == 303
    assert (await LegalHold.get(id=hold.id)).lifted_by == personas["coordinator"].user.id
    assert "No hold stands" in (await client.get(page_url)).text


async def test_the_command_line_dry_run_shows_held_cases(personas, monkeypatch):
    case = await referral(personas, received_at="2019-01-10", today=date(2019, 1, 10))
    conference = await Conference.get(slug=CONFERENCE)
    await RetentionNotice.create(
        conference=conference,
        person_id=case.victim_person_id,
        last_referral_on=date(2019, 1, 10),
        listed_on=date(2025, 1, 1),
    )
    coordinator = await viewer_for(personas["coordinator"].user)
    await retention.set_hold(coordinator, conference, referral_id=case.id, reason="Inquiry")
    code, out = await cli("retention", "run", "--dry-run", env={"MARAC_DATABASE_URL": os.environ["MARAC_DATABASE_URL"]})
    assert code == 0, out
    assert f"{CONFERENCE}: would list 0 cases, withdraw 0, anonymise 0 cases" in out and "1 held by a legal hold" in out


def test_a_type_must_keep_cases_as_long_as_its_repeat_window(tmp_path):
    import shutil

    import pytest

    from marac.conference_types import AGENDAS_DIR, ConferenceTypeError, load_types

    shutil.copytree(AGENDAS_DIR, tmp_path / "agendas")
    path = tmp_path / "agendas" / "domestic-abuse.toml"
    path.write_text(
        path.read_text()
        .replace("retention_years = 6", "retention_years = 1")
        .replace("window_months = 12\nmatch", "window_months = 18\nmatch")
    )
    with pytest.raises(ConferenceTypeError, match="retention_years"):
        load_types(tmp_path / "agendas")
    assert Path(AGENDAS_DIR / "domestic-abuse.toml").read_text().count("retention_years = 6") == 1
