"""Worlds for tests, built one way: plain async functions (in the manner of GOV.UK Notify's
tests/app/db.py) that call the domain services the pages and the API call, so every world a
test starts from is one people could reach. Each acts as the persona whose job it is: an
agency refers, the coordinator triages, publishes and closes, the chair runs the meeting and
approves the minutes.

    world = await published_meeting(personas, cases=2)
    await action(personas, world.meeting, world.case_id, owner="health")
    held = await held_meeting(personas)
    meeting, minutes = await held_meeting_with_minutes(personas, rendered=True)

A test that needs a state the services cannot reach writes its rows itself, and says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyotp

from marac.actions import service as actions
from marac.actions.models import Action, Note
from marac.agencies import service as directory
from marac.agencies.access import Viewer, viewer_for
from marac.agencies.models import Agency, Conference, User
from marac.jobs import queue, tasks
from marac.meetings import agenda, schedule
from marac.meetings.models import AgendaItem, Meeting
from marac.minutes import service as minutes
from marac.minutes.models import MinutesVersion
from marac.referrals import service as referrals
from marac.referrals.models import Referral
from tests.conftest import CONFERENCE, Persona, _password_hash, dash_body

TODAY = date(2026, 11, 21)  # the day referrals are submitted on (conftest's make_referral uses it too)
ACTION = "Health to share GP records of injuries with the IDVA by Friday"

# Victims for the second and later cases of a meeting: other people, so no case is a repeat of another.
OTHER_VICTIMS = [
    ("Beth Cole", "1981-02-02"),
    ("Cara Dunn", "1982-03-03"),
    ("Dina Ellis", "1983-04-04"),
    ("Eve Fox", "1984-05-05"),
    ("Faye Gray", "1985-06-06"),
    ("Gina Hart", "1986-07-07"),
    ("Hana Ives", "1987-08-08"),
    ("Iris Jones", "1988-09-09"),
    ("Jade Kerr", "1989-10-10"),
    ("Kate Lowe", "1990-11-11"),
    ("Lily Moss", "1991-12-12"),
]


@dataclass
class World:
    """A meeting and its cases: `referrals[n]` is listed as agenda item `case_ids[n]`."""

    meeting: Meeting
    referrals: list[Referral]
    case_ids: list[str]

    @property
    def referral(self) -> Referral:
        return self.referrals[0]

    @property
    def case_id(self) -> str:
        return self.case_ids[0]


async def as_(personas: dict[str, Persona], key: str) -> Viewer:
    """What the services see when `key` signs in."""
    return await viewer_for(personas[key].user)


async def reload(meeting: Meeting | str) -> Meeting:
    """The meeting as the database now holds it, with its conference (as the services expect it)."""
    return await Meeting.get(id=getattr(meeting, "id", meeting)).prefetch_related("conference")


async def meeting_of(referral_: Referral) -> Meeting:
    """The meeting a referral is expected at."""
    return await reload(referral_.expected_meeting_id)


async def scheduled_meeting(on: date = date(2026, 11, 24), conference: str = CONFERENCE) -> Meeting:
    """The conference's meeting in the slot of `on` (a day of its cadence), as the schedule makes it."""
    found = await Conference.get(slug=conference)
    await schedule.ensure_meetings(found, on, 1)
    return await reload(await Meeting.get(conference=found, slot_date=on))


async def next_meeting(meeting: Meeting) -> Meeting:
    """The conference's next meeting after this one."""
    later = Meeting.filter(conference_id=meeting.conference_id, date__gt=meeting.date)
    return await reload(await later.order_by("date").first())


def other_victim(n: int, **overrides) -> dict:
    """A referral body for the `n`th other victim (n from 1), otherwise dash_body's."""
    name, born = OTHER_VICTIMS[n - 1]
    victim = {**dash_body()["victim"], "name": name, "date_of_birth": born}
    return dash_body(
        victim=victim, perpetrators=[{"name": f"Perp {name}", "date_of_birth": "1980-01-01"}], children=[], **overrides
    )


async def referral(
    personas: dict[str, Persona],
    *,
    by: str = "police",
    accept: bool = False,
    body: dict | None = None,
    today: date = TODAY,
    **overrides,
) -> Referral:
    """A referral submitted by `by` (dash_body with `overrides`, or `body`); accepted by the coordinator if asked."""
    made = await referrals.submit(await as_(personas, by), body or dash_body(**overrides), today)
    if accept:
        await referrals.decide(await as_(personas, "coordinator"), made.id, "accept", None)
    return await Referral.get(id=made.id)


async def publish(personas: dict[str, Persona], meeting: Meeting) -> Meeting:
    """The coordinator publishes the agenda (the research lists are not rendered: tests that need
    them run tasks.render_agendas)."""
    await agenda.publish(await as_(personas, "coordinator"), await reload(meeting))
    return await reload(meeting)


async def published_meeting(personas: dict[str, Persona], cases: int = 1, *, bodies: list[dict] | None = None) -> World:
    """A published meeting with `cases` accepted referrals on it: the first is dash_body's Jane Doe,
    the others other victims; or one case per body in `bodies`."""
    bodies = bodies or [dash_body()] + [other_victim(n) for n in range(1, cases)]
    made = [await referral(personas, accept=True, body=body) for body in bodies]
    meeting = await publish(personas, await meeting_of(made[0]))
    items = {i.referral_id: i.id for i in await AgendaItem.filter(meeting=meeting)}
    return World(meeting=meeting, referrals=made, case_ids=[items[r.id] for r in made])


async def note(
    personas: dict[str, Persona],
    meeting: Meeting,
    case_id: str,
    text: str,
    visibility: str = "all",
    agencies: tuple[str, ...] = (),
) -> Note:
    """A note the chair records on a case; `agencies` are persona keys (for a restricted note)."""
    ids = [personas[key].user.agency_id for key in agencies]
    return await actions.add_note(await as_(personas, "chair"), meeting, case_id, text, visibility, ids)


async def action(
    personas: dict[str, Persona],
    meeting: Meeting,
    case_id: str,
    description: str = ACTION,
    owner: str = "health",
    due: date | None = None,
    status: str = "open",
) -> Action:
    """An action the chair agrees on a case, owned by persona `owner`'s agency (due by the type's
    default); if `status` is not open, the owner then updates it to that status, with a note."""
    made = await actions.add_action(
        await as_(personas, "chair"), meeting, case_id, description, personas[owner].user.agency_id, due
    )
    if status != "open":
        await actions.update_action(await as_(personas, owner), made.id, made.version, status, f"Now {status}")
    return await Action.get(id=made.id)


async def close(personas: dict[str, Persona], world: World) -> World:
    """The chair marks every case heard and the coordinator closes the meeting."""
    chair = await as_(personas, "chair")
    for case_id in world.case_ids:
        await actions.decide_case(chair, world.meeting, case_id, "heard", "")
    await actions.close_meeting(await as_(personas, "coordinator"), world.meeting)
    world.meeting = await reload(world.meeting)
    return world


async def held_meeting(personas: dict[str, Persona], cases: int = 1) -> World:
    """A meeting published, each case heard, closed: ready for its minutes."""
    return await close(personas, await published_meeting(personas, cases))


async def approve_minutes(personas: dict[str, Persona], meeting: Meeting, rendered: bool = False) -> MinutesVersion:
    """The chair approves the minutes; if `rendered`, the coordinator asks for them and each
    recipient's PDF is rendered (the render task itself, as a worker would run it)."""
    version = await minutes.approve(await as_(personas, "chair"), await reload(meeting))
    if rendered:
        await minutes.request_render(await as_(personas, "coordinator"), await reload(meeting))
        await queue.drain()
        await tasks.render_minutes(version.id)
    return await MinutesVersion.get(id=version.id)


async def held_meeting_with_minutes(
    personas: dict[str, Persona], cases: int = 1, rendered: bool = False
) -> tuple[World, MinutesVersion]:
    """A held meeting with its minutes approved (and rendered for every recipient, if asked)."""
    world = await held_meeting(personas, cases)
    return world, await approve_minutes(personas, world.meeting, rendered)


async def held_meeting_with_markers(personas: dict[str, Persona]) -> tuple[Meeting, dict[str, str]]:
    """A held meeting whose notes, actions and sensitive fields each carry a unique marker.
    Returns the meeting and marker → who may see it ('all-full', an agency key, 'full+<agency>'
    or 'nobody')."""
    body = dash_body()
    body["victim"]["safe_contact"]["phone"] = "07700 900999"  # CANARY-PHONE, must never be minuted
    body["victim"]["address"]["line1"] = "CANARYREFUGE Lane"
    world = await published_meeting(personas, bodies=[body])
    meeting, case_id = world.meeting, world.case_id
    markers: dict[str, str] = {"CANARYREFUGE": "nobody", "900999": "nobody"}
    await note(personas, meeting, case_id, "CANARYALL shared with everyone", "all")
    markers["CANARYALL"] = "all-full"
    await note(personas, meeting, case_id, "CANARYPOLICE for police only", "restricted", ("police",))
    markers["CANARYPOLICE"] = "police"
    await note(personas, meeting, case_id, "CANARYIDVA for the advocate only", "restricted", ("idva",))
    markers["CANARYIDVA"] = "idva"
    await note(personas, meeting, case_id, "CANARYCHAIR never minuted", "chair_only")
    markers["CANARYCHAIR"] = "nobody"
    for owner in ("health", "childrens"):
        marker = f"CANARYACT{owner.upper()}"
        await action(personas, meeting, case_id, f"{marker} to be done by Friday", owner)
        markers[marker] = f"full+{owner}"
    world = await close(personas, world)
    return world.meeting, markers


async def other_conference_coordinator() -> Persona:
    """The coordinator of another conference (Southshire), with a member agency of ours, ready
    to sign in: someone who coordinates, but not this conference."""
    agency = await Agency.get(name="Riverside Housing Association")
    await directory.create_conference(
        None,
        name="Southshire DA MARAC",
        slug="southshire-da",
        type="domestic-abuse",
        weekday="monday",
        start_time="10:00",
        first_date=date(2026, 1, 5),
        members=[directory.MemberSpec(agency.id, "full")],
    )
    created = await directory.add_user(
        None,
        email="south@test.example.org",
        name="South",
        agency_id=agency.id,
        role="coordinator",
        conference_slugs=["southshire-da"],
    )
    secret = pyotp.random_base32()
    user = created.user
    user.password_hash, user.totp_secret, user.totp_confirmed = _password_hash(), secret, True
    # The seed is sealed: written through the model, not a queryset update.
    await user.save(update_fields=["password_hash", "totp_secret", "totp_confirmed"])
    return Persona(key="south", user=await User.get(id=user.id), totp_secret=secret, token="")
