"""Quarterly figures (docs/domain.md#quarterly-figures): counted right, suppressed in every export, read only by the
conference's coordinator (exact) and chair (suppressed).

The generated data set is random but seeded. Each generated case is written to the database
the way the service stores it (sealed victim section and dates of birth) and, beside it,
described in plain Python: what the test expects is counted from those descriptions, never
with the production query.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import pytest
from pypdf import PdfReader

from marac.actions.models import Action, ActionUpdate
from marac.agencies import service as directory
from marac.agencies.models import Agency, Conference, User
from marac.audit.models import AuditEvent, Disclosure
from marac.jobs import tasks
from marac.jobs.models import Job
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Person, Referral, ReferralPerson
from marac.reports import export
from marac.reports.figures import Quarter, quarterly
from marac.reports.models import ReportDocument
from tests.conftest import CONFERENCE, csrf_token, session_cookie_for
from tests.flows import run_jobs
from tests.pdfs import assert_only_the_bundled_font

TODAY = date(2026, 12, 1)
Q2, Q3 = Quarter(2026, 2), Quarter(2026, 3)
HATE = "riverside-hc"
EVIL = '=HYPERLINK("http://evil.example")'


@dataclass
class Case:
    # What the generator meant, in plain terms: the expected figures are counted from these.
    meeting_date: date
    counts: bool  # listed in a case section of a published/held meeting, not deferred
    repeat: bool
    agency_kind: str
    children: int
    male: bool
    minoritised: bool
    lgbt: bool
    disabled: bool
    victim_age: int
    perpetrator_ages: list[int | None]
    strands: list[str] = field(default_factory=list)
    incident_kind: str | None = None
    actions: list[tuple[str, str]] = field(default_factory=list)  # (agency name, outcome)


def born(age: int, on: date, rng: random.Random) -> date:
    """A date of birth giving exactly `age` on `on` (birthday 1 to 300 days before it)."""
    return date(on.year - age, on.month, min(on.day, 28)) - timedelta(days=rng.randint(1, 300))


class World:
    """Years of cases written as rows, not through tests/builders.py: the figures are checked
    against histories the services only reach as time passes (actions completed at chosen past
    moments, perpetrators already anonymised by retention, meetings held quarters ago)."""

    def __init__(self, conference: Conference, agencies: dict[str, Agency], user: User) -> None:
        self.conference, self.agencies, self.user = conference, agencies, user
        self.cases: list[Case] = []
        self.meetings: dict[date, Meeting] = {}

    async def meeting(self, day: date, status: str = "held") -> Meeting:
        if day not in self.meetings:
            self.meetings[day] = await Meeting.create(
                conference=self.conference, slot_date=day, date=day, cut_off=day - timedelta(days=7), status=status
            )
        return self.meetings[day]

    async def person(self, name: str) -> Person:
        return await Person.create(conference=self.conference, names=[name])

    async def add(
        self,
        case: Case,
        rng: random.Random,
        *,
        received: date | None = None,
        section: str | None = None,
        state: str = "listed",
        outcome: str | None = None,
        status: str = "held",
        monitoring_only: bool = False,
    ) -> Referral:
        received = received or case.meeting_date - timedelta(days=rng.randint(8, 60))
        agency = next(a for a in self.agencies.values() if a.kind == case.agency_kind)
        victim_person = await self.person(f"Victim {len(self.cases)}")
        victim = {
            "name": "Someone",
            "gender": "male" if case.male else rng.choice(["female", "non_binary", None]),
            "monitoring": {
                "racially_minoritised": case.minoritised or rng.choice([False, None]),
                "lgbt": case.lgbt or rng.choice([False, None]),
                "disabled": case.disabled or None,
            },
        }
        referral = await Referral.create(
            conference=self.conference,
            referring_agency=agency,
            referrer=self.user,
            received_at=received,
            criteria_met=["visible_high_risk"],
            victim=victim,
            victim_person=victim_person,
            summary="Generated case",
            strands=case.strands,
            incident_kind=case.incident_kind,
            is_repeat=case.repeat,
            monitoring_only=monitoring_only,
            status="monitoring_only" if monitoring_only else "heard",
        )
        await ReferralPerson.create(
            referral=referral,
            person=victim_person,
            role="victim",
            name="Someone",
            date_of_birth=born(case.victim_age, received, rng),
        )
        for n, age in enumerate(case.perpetrator_ages):
            person = await self.person(f"Perpetrator {len(self.cases)} {n}")
            # Some perpetrators anonymised by retention: only the age band is left.
            anonymised = age is not None and rng.random() < 0.3
            await ReferralPerson.create(
                referral=referral,
                person=person,
                role="perpetrator",
                position=n,
                name="" if anonymised else "P",
                date_of_birth=None if anonymised or age is None else born(age, received, rng),
                age_band=(
                    ("under 16" if age < 16 else "16-17" if age < 18 else "18-24" if age < 25 else "25-34")
                    if anonymised
                    else None
                ),
            )
        for n in range(case.children):
            await ReferralPerson.create(
                referral=referral,
                person=await self.person(f"Child {n}"),
                role="child",
                position=n,
                name="C",
                date_of_birth=born(rng.randint(0, 15), received, rng),
            )
        if not monitoring_only:
            meeting = await self.meeting(case.meeting_date, status)
            item = await AgendaItem.create(
                meeting=meeting,
                referral=referral,
                number=len(self.cases) + 1,
                section=section or ("repeat_cases" if case.repeat else "new_cases"),
                state=state,
                outcome=outcome,
            )
            for agency_name, result in case.actions:
                await self.action(meeting, item, self.agencies[agency_name], result, rng)
        self.cases.append(case)
        return referral

    async def action(self, meeting: Meeting, item: AgendaItem, agency: Agency, result: str, rng: random.Random) -> None:
        due = meeting.date + timedelta(days=14)
        status = {
            "on_time": "done",
            "late": "done",
            "not_possible": "not_possible_changed_circumstances",
            "not_done": "not_done_by_agency",
            "open": rng.choice(["open", "in_progress"]),
        }[result]
        action = await Action.create(
            item=item,
            meeting=meeting,
            conference=self.conference,
            owner_agency=agency,
            description="Generated action",
            due_date=due,
            status=status,
            created_by=self.user.id,
        )
        if status == "done":
            # Late: done on a later UK day; 23:30 UTC on the due date is already the next day in summer.
            day = (
                due - timedelta(days=rng.randint(0, 5))
                if result == "on_time"
                else due + timedelta(days=rng.randint(0, 9))
            )
            at = (
                datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC)
                if result == "on_time" or day != due
                else datetime(due.year, due.month, due.day, 23, 30, tzinfo=UTC)
            )
            update = await ActionUpdate.create(
                action=action, status="done", text="", version=2, user_id=self.user.id, agency_id=agency.id
            )
            await ActionUpdate.filter(id=update.id).update(at=at)


KINDS = ["police", "idva", "health", "local_authority", "childrens_social_care"]


def random_case(rng: random.Random, day: date, agencies: list[str], strands: list[str] | None = None) -> Case:
    return Case(
        meeting_date=day,
        counts=True,
        repeat=rng.random() < 0.3,
        agency_kind=rng.choice(KINDS),
        children=rng.choice([0, 0, 1, 2, 3]),
        male=rng.random() < 0.1,
        minoritised=rng.random() < 0.2,
        lgbt=rng.random() < 0.1,
        disabled=rng.random() < 0.15,
        victim_age=rng.choice([15, 16, 17, 18, 19, 25, 34, 47]),
        perpetrator_ages=[rng.choice([14, 16, 17, 18, 22, 40, None]) for _ in range(rng.choice([0, 1, 1, 2]))],
        strands=strands or [],
        incident_kind=rng.choice(["crime", "incident", None]) if strands is not None else None,
        actions=[
            (rng.choice(agencies), rng.choice(["on_time", "late", "not_possible", "not_done", "open"]))
            for _ in range(rng.randint(0, 3))
        ],
    )


async def generate(personas, seed: int = 8) -> World:
    rng = random.Random(seed)
    conference = await Conference.get(slug=CONFERENCE)
    await Conference.filter(id=conference.id).update(adult_female_population=123_456, repeat_rate_benchmark=30)
    conference = await Conference.get(id=conference.id)
    agencies = {a.name: a for a in await Agency.all()}
    world = World(conference, agencies, personas["coordinator"].user)
    names = sorted(agencies)
    days = [date(2026, 4, 7) + timedelta(days=14 * n) for n in range(13)]  # Q2 and Q3, fortnightly
    for day in days:
        for _ in range(rng.randint(0, 9)):
            await world.add(random_case(rng, day, names), rng)
    # What must not count: overflow, deferred, lapsed reviews, unpublished and cancelled meetings.
    day = days[3]
    await world.add(Case(day, False, True, "police", 2, True, True, True, True, 16, [15]), rng, state="overflow")
    await world.add(Case(day, False, True, "police", 2, True, True, True, True, 16, [15]), rng, outcome="deferred")
    await world.add(
        Case(day, False, True, "police", 2, True, True, True, True, 16, [15]), rng, section="lapsed_reviews"
    )
    await world.add(
        Case(date(2026, 9, 24), False, True, "police", 1, True, True, True, True, 16, [15]), rng, status="scheduled"
    )
    await world.add(
        Case(date(2026, 9, 25), False, True, "police", 1, True, True, True, True, 16, [15]), rng, status="cancelled"
    )
    # Heard at the meeting after the one that deferred it: counts once, there.
    await world.add(Case(days[4], True, False, "idva", 0, False, False, False, False, 30, []), rng, outcome="heard")
    return world


def expected(world: World, quarter: Quarter, population: int | None = 123_456) -> dict:
    """The figures counted from the generator's own descriptions."""
    heard = [c for c in world.cases if c.counts and quarter.start <= c.meeting_date <= quarter.end]
    kinds = Counter(c.agency_kind for c in heard)
    repeats = sum(c.repeat for c in heard)
    actions: dict[str, Counter] = defaultdict(Counter)
    for case in heard:
        for agency, outcome in case.actions:
            actions[agency][outcome] += 1
    return {
        "heard": len(heard),
        "repeat": repeats,
        "repeat_rate": round(100 * repeats / len(heard), 1),
        "children": sum(c.children for c in heard),
        "police_referrals": kinds["police"],
        "partner_referrals": len(heard) - kinds["police"],
        "victims_racially_minoritised": sum(c.minoritised for c in heard),
        "victims_lgbt": sum(c.lgbt for c in heard),
        "victims_disabled": sum(c.disabled for c in heard),
        "victims_male": sum(c.male for c in heard),
        "victims_aged_16_17": sum(c.victim_age in (16, 17) for c in heard),
        "cases_perpetrator_17_or_under": sum(any(a is not None and a <= 17 for a in c.perpetrator_ages) for c in heard),
        "per_10000_adult_women": round(len(heard) * 4 * 10_000 / population, 1) if population else None,
        "kinds": kinds,
        "per_meeting": Counter(c.meeting_date.isoformat() for c in heard),
        "actions": {
            agency: {k: counts[k] for k in ("on_time", "late", "not_possible", "not_done", "open")}
            for agency, counts in actions.items()
        },
    }


async def test_generated_quarters_match_figures_counted_independently(app, personas):
    world = await generate(personas)
    for quarter in (Q2, Q3):
        want = expected(world, quarter)
        got = await quarterly(world.conference, quarter, TODAY)
        cases = got["cases"]
        for key in (
            "heard",
            "repeat",
            "repeat_rate",
            "children",
            "police_referrals",
            "partner_referrals",
            "victims_racially_minoritised",
            "victims_lgbt",
            "victims_disabled",
            "victims_male",
            "victims_aged_16_17",
            "cases_perpetrator_17_or_under",
            "per_10000_adult_women",
        ):
            assert cases[key] == want[key], (quarter, key)
        assert cases["repeat_rate_benchmark"] == 30 and cases["recommended_per_10000"] == 40
        assert {row["kind"]: row["cases"] for row in got["referrals_by_agency_kind"] if row["cases"]} == dict(
            want["kinds"]
        )
        assert {m["date"]: m["cases"] for m in got["meetings"] if m["cases"]} == dict(want["per_meeting"])
        assert {
            row["agency"]: {k: row[k] for k in ("on_time", "late", "not_possible", "not_done", "open")}
            for row in got["actions"]
        } == want["actions"]
        assert got["actions_total"]["total"] == sum(sum(v.values()) for v in want["actions"].values())
        assert got["hate_crime"] is None
    assert expected(world, Q3)["heard"] > 20  # the data set is big enough to say something


async def test_a_case_counts_in_the_quarter_of_the_meeting_that_heard_it(app, personas):
    conference = await Conference.get(slug=CONFERENCE)
    world = World(conference, {a.name: a for a in await Agency.all()}, personas["coordinator"].user)
    rng = random.Random(1)
    base = dict(
        repeat=False,
        agency_kind="police",
        children=0,
        male=False,
        minoritised=False,
        lgbt=False,
        disabled=False,
        victim_age=30,
        perpetrator_ages=[],
    )
    await world.add(
        Case(date(2026, 7, 1), True, **base), rng, received=date(2026, 6, 10)
    )  # received in Q2, heard 1 July
    await world.add(Case(date(2026, 6, 30), True, **base), rng, received=date(2026, 6, 1))
    await world.add(Case(date(2026, 9, 30), True, **base), rng, received=date(2026, 9, 1))
    await world.add(Case(date(2026, 10, 1), True, **base), rng, received=date(2026, 9, 15))
    q2, q3 = await quarterly(conference, Q2, TODAY), await quarterly(conference, Q3, TODAY)
    assert [m["date"] for m in q2["meetings"]] == ["2026-06-30"]
    assert [m["date"] for m in q3["meetings"]] == ["2026-07-01", "2026-09-30"]
    assert q3["cases"]["heard"] == 2
    # A meeting later than today has not heard anything yet, published or not.
    assert (await quarterly(conference, Q3, date(2026, 9, 29)))["cases"]["heard"] == 1
    assert Quarter.parse("2026Q4").start == date(2026, 10, 1) and Quarter.parse("2026Q1").end == date(2026, 3, 31)


async def hate_conference(personas) -> Conference:
    police = personas["police"].user.agency_id
    conference = await directory.create_conference(
        None,
        name="Riverside hate crime MARAC",
        slug=HATE,
        type="hate-crime",
        weekday="thursday",
        start_time="14:00",
        first_date=date(2026, 1, 8),
        members=[directory.MemberSpec(police, "full")],
    )
    await personas["coordinator"].user.conferences.add(conference)
    return conference


async def test_hate_crime_case_counts_under_each_of_its_strands(app, personas):
    conference = await hate_conference(personas)
    world = World(conference, {a.name: a for a in await Agency.all()}, personas["coordinator"].user)
    rng = random.Random(2)
    day = date(2026, 8, 6)
    base = dict(
        repeat=False,
        agency_kind="police",
        children=0,
        male=False,
        minoritised=False,
        lgbt=False,
        disabled=False,
        victim_age=30,
        perpetrator_ages=[],
    )
    await world.add(
        Case(
            day,
            True,
            **base,
            strands=["race:anti_black", "race:anti_asian", "religion:anti_muslim"],
            incident_kind="crime",
        ),
        rng,
    )
    await world.add(Case(day, True, **base, strands=["race", "race:anti_black"], incident_kind="incident"), rng)
    await world.add(Case(day, True, **base, strands=["disability:learning", "transgender"]), rng)
    # Monitoring only: counted by the date received, never heard, never on an agenda.
    await world.add(
        Case(day, False, **base, strands=["sexual_orientation", "race"], incident_kind="crime"),
        rng,
        received=date(2026, 7, 20),
        monitoring_only=True,
    )
    figures = await quarterly(conference, Q3, TODAY)
    strands = {row["strand"]: row["cases"] for row in figures["hate_crime"]["strands"]}
    assert strands == {
        "race": 2,
        "religion": 1,
        "disability": 1,
        "sexual_orientation": 0,
        "transgender": 1,
        "sex_gender": 0,
        "age": 0,
        "alternative_subculture": 0,
    }
    subs = {row["subcategory"]: row["cases"] for row in figures["hate_crime"]["subcategories"] if row["cases"]}
    assert subs == {"anti_black": 2, "anti_asian": 1, "anti_muslim": 1, "learning": 1}
    assert figures["hate_crime"]["crime_or_incident"] == {"crime": 1, "incident": 1, "not_recorded": 1}
    monitoring = figures["hate_crime"]["monitoring_only"]
    assert monitoring["reports"] == 1 and monitoring["crime_or_incident"]["crime"] == 1
    assert {r["strand"]: r["cases"] for r in monitoring["strands"] if r["cases"]} == {
        "race": 1,
        "sexual_orientation": 1,
    }
    assert figures["cases"]["heard"] == 3
    assert await AgendaItem.filter(meeting__conference=conference).count() == 3


# --- suppression and exports --------------------------------------------------------------------


async def small_world(personas) -> World:
    """Eight cases heard in Q3, three of them repeats, two victims male: some counts above 5, some at 1 to 5."""
    conference = await Conference.get(slug=CONFERENCE)
    await Agency.create(name=EVIL, kind="voluntary")
    world = World(conference, {a.name: a for a in await Agency.all()}, personas["coordinator"].user)
    rng = random.Random(3)
    for n in range(8):
        await world.add(
            Case(
                date(2026, 7, 14),
                True,
                repeat=n < 3,
                agency_kind="police" if n < 6 else "idva",
                children=1,
                male=n < 2,
                minoritised=False,
                lgbt=False,
                disabled=False,
                victim_age=30,
                perpetrator_ages=[40],
                actions=[(EVIL, "open")] if n == 0 else [],
            ),
            rng,
        )
    return world


def assert_suppressed(figures: dict) -> None:
    cases = figures["cases"]
    assert cases["heard"] == 8 and cases["children"] == 8 and cases["police_referrals"] == 6
    assert cases["repeat"] == "≤5" and cases["victims_male"] == "≤5" and cases["partner_referrals"] == "≤5"
    assert cases["victims_lgbt"] == 0  # zero is not suppressed
    assert cases["repeat_rate"] is None  # a rate from a suppressed count would give it back
    assert {r["kind"]: r["cases"] for r in figures["referrals_by_agency_kind"] if r["cases"]} == {
        "police": 6,
        "idva": "≤5",
    }


async def test_json_export_suppresses_small_numbers_and_is_audited(app, client, personas):
    await small_world(personas)
    answer = await client.get(
        f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=2026Q3", headers=personas["chair"].bearer
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/json")
    assert_suppressed(answer.json())
    assert "repeat_people" not in answer.json()
    assert await Disclosure.filter(kind="quarterly_report", user_id=personas["chair"].user.id).count() == 1
    assert await AuditEvent.filter(action="report.export_json", user_id=personas["chair"].user.id).count() == 1
    coordinator = await client.get(
        f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=2026Q3", headers=personas["coordinator"].bearer
    )
    assert_suppressed(coordinator.json())  # an export, even the coordinator's


async def test_csv_export_suppresses_and_neutralises_formulas(app, client, personas, client_as):
    world = await small_world(personas)
    for name in ("+SUM(1)", "-2+3", "@cmd", "\tTabbed"):
        agency = await Agency.create(name=name, kind="voluntary")
        meeting = world.meetings[date(2026, 7, 14)]
        item = await AgendaItem.filter(meeting=meeting).first()
        await world.action(meeting, item, agency, "open", random.Random(0))
    headers = {**personas["coordinator"].bearer, "Accept": "text/csv"}
    answer = await client.get(f"/api/v1/reports/quarterly?conference={CONFERENCE}&quarter=2026Q3", headers=headers)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["conference", "quarter", "section", "item", "measure", "value"]
    value = {(r[2], r[3], r[4]): r[5] for r in rows[1:]}
    assert (
        value[("cases", "", "heard")] == "8"
        and value[("cases", "", "repeat")] == "≤5"
        and value[("cases", "", "repeat_rate")] == ""
    )
    items = {r[3] for r in rows[1:] if r[2] == "actions"}
    assert items == {'\'=HYPERLINK("http://evil.example")', "'+SUM(1)", "'-2+3", "'@cmd", "'\tTabbed"}
    assert all(not cell.startswith(export.FORMULA_STARTS) for row in rows for cell in row)
    assert value[("actions", "'+SUM(1)", "open")] == "≤5"
    assert await AuditEvent.filter(action="report.export_csv").count() == 1
    # The same file from the report page, for people who use the screens.
    async with client_as(personas["chair"]) as chair:
        page_csv = await chair.get(f"/reports/quarterly.csv?conference={CONFERENCE}&quarter=2026Q3")
    assert page_csv.status_code == 200 and "≤5" in page_csv.text and "'@cmd" in page_csv.text
    assert export.neutralise("\rx") == "'\rx" and export.neutralise("plain") == "plain"


async def test_pdf_report_suppresses_small_numbers(app, personas):
    await small_world(personas)
    conference = await Conference.get(slug=CONFERENCE)
    job = await Job.create(name="render_quarterly_report", requested_by=personas["coordinator"].user.id)
    await tasks.run("render_quarterly_report", job.id, conference_id=conference.id, quarter="2026Q3")
    await tasks.run("render_quarterly_report", job.id, conference_id=conference.id, quarter="2026Q3")  # delivered twice
    document = await ReportDocument.get(job_id=job.id)
    assert await ReportDocument.all().count() == 1
    from marac.documents import store

    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(store.read(document))).pages)
    text = " ".join(text.split())
    assert (
        "Repeat cases ≤5" in text and "Cases heard (repeats included) 8" in text and "Victims who are male ≤5" in text
    )
    assert "Repeat cases 3" not in text and "Victims who are male 2" not in text
    assert_only_the_bundled_font(store.read(document))  # the charts' SVG text too


@pytest.fixture
def client_as(app):
    from contextlib import asynccontextmanager

    from tests.conftest import make_client

    @asynccontextmanager
    async def signed_in(persona):
        async with make_client(app) as browser:
            browser.cookies.update(await session_cookie_for(persona))
            yield browser

    return signed_in


async def test_exact_numbers_only_on_the_coordinators_screen(app, personas, client_as):
    await small_world(personas)
    url = f"/reports?conference={CONFERENCE}&quarter=2026Q3"
    async with client_as(personas["coordinator"]) as coordinator:
        page = (await coordinator.get(url)).text
    assert '>Repeat cases</th><td class="govuk-table__cell govuk-table__cell--numeric">3</td>' in page
    assert "Repeat victims and perpetrators" in page and "≤5</td>" not in page
    async with client_as(personas["chair"]) as chair:
        page = (await chair.get(url)).text
    assert '>Repeat cases</th><td class="govuk-table__cell govuk-table__cell--numeric">≤5</td>' in page
    assert "Repeat victims and perpetrators" not in page
    assert (
        '<svg class="marac-chart"' in page
        and 'aria-describedby="meetings-table"' in page
        and 'id="meetings-table"' in page
    )
    assert await AuditEvent.filter(action="report.read").count() == 2


async def test_who_may_read_and_bad_input(app, client, personas, client_as):
    await hate_conference(personas)  # the coordinator is in it, the chair is not
    api = "/api/v1/reports/quarterly"
    chair = personas["chair"].bearer
    assert (await client.get(f"{api}?conference={HATE}&quarter=2026Q3", headers=chair)).status_code == 404
    assert (await client.get(f"{api}?conference=no-such&quarter=2026Q3", headers=chair)).status_code == 404
    assert (
        await client.get(f"{api}?conference={HATE}&quarter=2026Q3", headers=personas["coordinator"].bearer)
    ).status_code == 200
    for role in ("police", "admin", "auditor"):
        assert (
            await client.get(f"{api}?conference={CONFERENCE}&quarter=2026Q3", headers=personas[role].bearer)
        ).status_code == 403
    for quarter in ("2026Q5", "2026-07", "", "0999Q1"):
        answer = await client.get(f"{api}?conference={CONFERENCE}&quarter={quarter}", headers=chair)
        assert answer.status_code == 422 and "quarter" in answer.json()["error"]["fields"]
    async with client_as(personas["chair"]) as browser:
        assert (await browser.get(f"/reports?conference={HATE}")).status_code == 404
        assert (await browser.get("/reports?quarter=nope")).status_code == 400
    assert await Disclosure.all().count() == 1  # only the coordinator's one export


async def test_report_settings_by_coordinator_and_admin(app, personas, client_as):
    async with client_as(personas["coordinator"]) as browser:
        token = await csrf_token(browser, "/reports")
        answer = await browser.post(
            "/reports/settings",
            data={
                "csrf_token": token,
                "conference": CONFERENCE,
                "quarter": "2026Q3",
                "adult_female_population": "120,000",
                "repeat_rate_benchmark": "35",
            },
        )
        assert answer.status_code == 303
        bad = await browser.post(
            "/reports/settings",
            data={
                "csrf_token": token,
                "conference": CONFERENCE,
                "adult_female_population": "-4",
                "repeat_rate_benchmark": "101",
            },
        )
        assert bad.status_code == 400 and "Enter a percentage from 0 to 100" in bad.text
    conference = await Conference.get(slug=CONFERENCE)
    assert (conference.adult_female_population, conference.repeat_rate_benchmark) == (120_000, 35)
    async with client_as(personas["admin"]) as browser:
        token = await csrf_token(browser, f"/admin/conferences/{CONFERENCE}")
        answer = await browser.post(
            f"/admin/conferences/{CONFERENCE}/report-settings",
            data={"csrf_token": token, "adult_female_population": "", "repeat_rate_benchmark": "32"},
        )
        assert answer.status_code == 303
    conference = await Conference.get(slug=CONFERENCE)
    assert (conference.adult_female_population, conference.repeat_rate_benchmark) == (None, 32)
    assert await AuditEvent.filter(action="conference.report_settings").count() == 2


async def test_coordinator_produces_the_pdf_through_a_job_the_chair_downloads(app, personas, client_as):
    await small_world(personas)
    async with client_as(personas["coordinator"]) as browser:
        token = await csrf_token(browser, "/reports")
        answer = await browser.post(
            "/reports/render", data={"csrf_token": token, "conference": CONFERENCE, "quarter": "2026Q3"}
        )
        assert answer.status_code == 303 and answer.headers["location"].startswith("/jobs/")
        await run_jobs()  # in-process, or an arq worker when the run has Redis
        job_page = (await browser.get(answer.headers["location"])).text
    document = await ReportDocument.get(conference__slug=CONFERENCE)
    assert f"/reports/documents/{document.id}.pdf" in job_page
    async with client_as(personas["chair"]) as browser:
        pdf = await browser.get(f"/reports/documents/{document.id}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        assert (
            await browser.post(
                "/reports/render",
                data={
                    "csrf_token": await csrf_token(browser, "/reports"),
                    "conference": CONFERENCE,
                    "quarter": "2026Q3",
                },
            )
        ).status_code == 403
    async with client_as(personas["police"]) as browser:
        assert (await browser.get(f"/reports/documents/{document.id}.pdf")).status_code == 403
    assert await Disclosure.filter(kind="quarterly_report", document_id=document.id).count() == 1
    assert await AuditEvent.filter(action="report.download").count() == 1
