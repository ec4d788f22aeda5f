"""Referral intake, repeat detection and triage.

Rules (docs/domain.md#referral-criteria, #repeat-referrals, #consent):
- any member of a conference's agencies may refer; the referring agency is the caller's;
- a referral must meet at least one criterion of its conference type (rules.criteria_met);
- a repeat is a further referral about the same victim, perpetrator or location, or several,
  as the type's repeat.match says, within the type's window of the LAST such referral's date,
  not the meeting date;
- without consent the referrer states the reason for sharing anyway, or, where the type
  keeps reports without consent for monitoring only (hate crime), says it is for
  monitoring only: such a report counts in figures and is never shared; one about a
  non-crime hate incident keeps only what the figures need (docs/domain.md#consent);
- the incident date (never in the future) drives repeats and escalation; the same people
  again within the type's duplicate_days of a referral not yet heard is a possible
  duplicate of it, not a repeat (docs/domain.md#duplicates);
- in a domestic-abuse conference both people are 16 or over on the incident date;
- an accepted referral joins the first meeting whose cut-off its received date meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from pydantic import BaseModel
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import About, record, record_each
from marac.clock import now
from marac.conference_types import accepted_instruments, localised, with_type_instruments
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation
from marac.i18n import gettext, ngettext
from marac.ids import ID_PATTERN
from marac.meetings.schedule import meeting_for_referral
from marac.notices.events import emit
from marac.referrals import break_glass, history, locations, people, rules
from marac.referrals.models import (
    REFERRAL_STATUSES,
    STATUS_WORDS,
    BreakGlass,
    EarlierCase,
    MatchSuggestion,
    Person,
    PersonKey,
    Referral,
    ReferralChange,
    ReferralPerson,
)
from marac.referrals.schemas import ReferralIn, parse

MAX_AGE_YEARS = 120
# What a list of referrals reads: nothing sealed (no names, summaries or contact details).
LIST_COLUMNS = (
    "id",
    "conference_id",
    "referring_agency_id",
    "received_at",
    "criteria_met",
    "transfer_from",
    "is_repeat",
    "monitoring_only",
    "status",
    "expected_meeting_id",
    "meeting_id",
    "created_at",
)
# Referrals that count as referrals for repeats: not rejected, not monitoring-only, not merged.
LIVE_STATUSES = ["received", "accepted", "heard"]
# Not yet heard: a further referral of the same incident is a duplicate of one of these.
UNHEARD_STATUSES = ["received", "accepted"]
# The Domestic Abuse Act 2021 definition needs both people aged 16 or over (docs/domain.md#age).
DOMESTIC_ABUSE_MIN_AGE = 16
# What a monitoring-only report of a non-crime hate incident keeps in place of a name.
NOT_RECORDED = "Not recorded (monitoring only)"


@dataclass(frozen=True)
class Checked:
    """A referral that passed every rule, ready to store."""

    body: ReferralIn
    conference: Conference
    risk: rules.RiskResult
    monitoring_only: bool
    # The conference's settings, with the instruments its type now allows (with_type_instruments).
    settings: dict
    # Where the incident happened, as kept: {"postcode": ...} or {"place": NamedPlace id}; None when not given
    # (and for a monitoring-only non-crime incident, which keeps no place).
    location: dict | None = None

    @property
    def incident_date(self) -> date:
        return self.body.incident_date or self.body.received_at

    @property
    def minimal(self) -> bool:
        """A monitoring-only report of a non-crime hate incident: the 2023 code of practice
        keeps what the figures need (strands, dates, area, equality fields), not names or
        dates of birth (docs/domain.md#consent)."""
        return self.monitoring_only and self.body.incident_kind == "incident"


def _age_on(date_of_birth: date, day: date) -> int:
    return day.year - date_of_birth.year - ((day.month, day.day) < (date_of_birth.month, date_of_birth.day))


async def _conference_for(viewer: Viewer, slug: str) -> Conference:
    conference = await Conference.get_or_none(slug=slug)
    if conference is None or not access.may_refer(viewer, conference.id):
        # One answer for "no such conference" and "not yours": outsiders learn nothing.
        raise RuleViolation(
            gettext("Unknown conference"), {"conference": gettext("No conference you belong to has this name")}
        )
    return conference


def _check_dates(body: ReferralIn, today: date, type_settings: dict) -> dict[str, str]:
    errors: dict[str, str] = {}
    incident_date = body.incident_date or body.received_at
    if body.received_at > today:
        errors["received_at"] = gettext("The date received cannot be in the future")
    if body.incident_date and body.incident_date > today:
        errors["incident_date"] = gettext("The incident date cannot be in the future")
    people_dobs = [("victim.date_of_birth", body.victim.date_of_birth)]
    people_dobs += [(f"perpetrators.{i}.date_of_birth", p.date_of_birth) for i, p in enumerate(body.perpetrators)]
    people_dobs += [(f"children.{i}.date_of_birth", c.date_of_birth) for i, c in enumerate(body.children)]
    for field, dob in people_dobs:
        if dob and (dob > today or today.year - dob.year > MAX_AGE_YEARS):
            errors[field] = gettext("Enter a date of birth in the past (and within 120 years)")
    if body.transfer_last_heard and not (body.transfer_from or "").strip():
        errors["transfer_last_heard"] = gettext("Name the MARAC the case is transferred from, or leave this date out")
    elif body.transfer_last_heard and body.transfer_last_heard > today:
        errors["transfer_last_heard"] = gettext("The date the MARAC last heard the case cannot be in the future")
    if body.previously_known and body.previously_known.date and body.previously_known.date > today:
        errors["previously_known.date"] = gettext("The date the victim was known to MARAC cannot be in the future")
    elif body.previously_known and body.previously_known.repeat:
        errors |= _check_repeat_claim(body.previously_known.date, incident_date, type_settings)
    for index, day in enumerate(body.incidents):
        if day > incident_date:
            errors[f"incidents.{index}"] = gettext("An earlier incident cannot be after the incident date")
    if type_settings.get("kind") == "domestic_abuse":
        adults = [("victim.date_of_birth", body.victim.date_of_birth)]
        adults += [(f"perpetrators.{i}.date_of_birth", p.date_of_birth) for i, p in enumerate(body.perpetrators)]
        for field, dob in adults:
            if (
                field not in errors
                and dob
                and dob <= incident_date
                and _age_on(dob, incident_date) < DOMESTIC_ABUSE_MIN_AGE
            ):
                errors[field] = gettext(
                    "Under 16 on the incident date: domestic abuse is between people aged 16 or over. "
                    "Refer a younger person to child safeguarding (children's social care), not to this MARAC"
                )
    return errors


def _check_repeat_claim(earlier: date | None, incident_date: date, type_settings: dict) -> dict[str, str]:
    """A repeat the referrer claims of an earlier case the system does not hold names its date, inside
    the type's repeat window before the incident date. One outside is refused, not kept as "previously
    known" only: the referrer said repeat, and is told why it is not one
    (docs/domain.md#repeats-claimed-by-the-referrer)."""
    window = int(type_settings["repeat"]["window_months"])
    if earlier is None:
        return {"previously_known.date": "Give the date of the earlier MARAC case this referral repeats"}
    if earlier > incident_date:
        return {"previously_known.date": "The earlier MARAC case must be before the incident date"}
    if not rules.within_window(earlier, incident_date, window):
        return {
            "previously_known.date": f"More than {window} months before the incident date: not a repeat (after "
            f"{window} months it is a new case). To record it as previously known only, leave repeat out"
        }
    return {}


def _check_strands(body: ReferralIn, type_settings: dict) -> dict[str, str]:
    strands = {s["key"]: {c["key"] for c in s.get("subcategories", [])} for s in type_settings.get("strands", [])}
    hate_crime = type_settings.get("kind") == "hate_crime"
    errors: dict[str, str] = {}
    if not strands and body.strands:
        errors["strands"] = gettext("%(type)s does not record monitored strands") % {
            "type": localised(type_settings, "name")
        }
    for index, value in enumerate(body.strands):
        strand, _, sub = value.partition(":")
        if strand not in strands:
            errors[f"strands.{index}"] = (
                gettext("Choose one of: %(values)s") % {"values": ", ".join(strands)}
                if strands
                else gettext("Not recorded for this conference")
            )
        elif sub and sub not in strands[strand]:
            errors[f"strands.{index}"] = gettext("%(strand)s sub-categories are: %(values)s") % {
                "strand": strand,
                "values": ", ".join(sorted(strands[strand])) or gettext("none"),
            }
    if hate_crime and not body.strands:
        errors["strands"] = gettext("Choose at least one monitored strand (the victim's or anyone's perception)")
    if hate_crime and body.incident_kind is None:
        errors["incident_kind"] = gettext("Say whether this is a crime or a non-crime hate incident")
    return errors


def _consent(body: ReferralIn, type_settings: dict) -> tuple[bool, dict[str, str]]:
    """(monitoring only?, errors). Without consent the referrer says either why sharing goes
    ahead or that the report is for monitoring only: a blank reason is neither, so a report
    that should be shared is never buried in the figures by an empty box."""
    consent = body.consent
    reason = (consent.reason_if_not or "").strip()
    allowed = bool(type_settings.get("monitoring_only_without_consent"))
    if consent.consented and not consent.victim_aware:
        return False, {"consent.victim_aware": "A victim who consented knows about the referral: answer yes"}
    if consent.monitoring_only and (consent.consented or not allowed):
        why = (
            "With the victim's consent the report is shared: leave monitoring only out"
            if consent.consented
            else f"{type_settings['name']} hears referrals made without consent: give the reason sharing goes ahead"
        )
        return False, {"consent.monitoring_only": why}
    if consent.monitoring_only and reason:
        return False, {
            "consent.monitoring_only": "Either give a reason for sharing without consent or keep the report for "
            "monitoring only, not both"
        }
    if consent.consented or reason:
        return False, {}
    if consent.monitoring_only:
        return True, {}
    if allowed:
        message = (
            "Without the victim's consent, say why sharing goes ahead (for example risk of serious harm), "
            "or say the report is for monitoring only"
        )
    else:
        message = "Without the victim's consent, say why sharing goes ahead (for example risk of serious harm)"
    return False, {"consent.reason_if_not": message}


async def _check_location(body: ReferralIn, conference: Conference) -> tuple[dict | None, dict[str, str]]:
    """(the location to keep, errors): a postcode or a live named place of the conference, and only
    where the type matches repeats on location."""
    given = body.incident_location
    if given is None:
        return None, {}
    settings = conference.type_settings
    if not locations.matches_on_location(settings):
        return None, {
            "incident_location": f"{settings['name']} does not match repeats on location: leave the location out"
        }
    if bool(given.postcode) == bool(given.place):
        return None, {"incident_location": "Give the postcode where it happened or choose a named place, not both"}
    if given.postcode:
        return {"postcode": given.postcode.upper()}, {}
    place = await locations.choose(conference.id, given.place or "")
    if place is None:
        named = [p.name for p in await locations.places(conference.id)]
        choices = f"choose one of: {', '.join(named)}" if named else "it names none yet"
        return None, {"incident_location.place": f"Not a place this conference names ({choices}); or give a postcode"}
    return {"place": place.id, "name": place.name}, {}


async def check(viewer: Viewer, payload: object, today: date) -> Checked:
    """Every rule that needs no person matching; raises RuleViolation naming each bad field."""
    body = payload if isinstance(payload, ReferralIn) else parse(payload)
    conference = await _conference_for(viewer, body.conference)
    settings = with_type_instruments(conference.type, conference.type_settings)
    errors = _check_dates(body, today, settings) | _check_strands(body, settings)
    location, location_errors = await _check_location(body, conference)
    errors |= location_errors
    monitoring_only, consent_errors = _consent(body, settings)
    errors |= consent_errors
    accepted = accepted_instruments(settings)
    if body.risk.instrument not in accepted:
        errors["risk.instrument"] = gettext("%(type)s uses %(instruments)s") % {
            "type": localised(settings, "name"),
            "instruments": gettext(" or ").join(accepted),
        }
    if errors:
        raise RuleViolation(gettext("The referral is not valid"), errors)
    risk = rules.assess_risk(
        accepted[body.risk.instrument],
        score=body.risk.score,
        level=body.risk.level,
        answers=body.risk.answers,
        judgement_reason=body.judgement_reason,
    )
    checked = Checked(
        body=body,
        conference=conference,
        risk=risk,
        monitoring_only=monitoring_only,
        settings=settings,
        location=location,
    )
    # A monitoring-only non-crime incident keeps what the figures need, and no place.
    return replace(checked, location=None) if checked.minimal else checked


def incident_day(referral: Referral) -> date:
    """The incident date; referrals from before incident dates were recorded have their received date."""
    return referral.incident_date or referral.received_at


@dataclass(frozen=True)
class Subject:
    """What a referral is matched on: its victim's and perpetrators' index entries and its location."""

    victim_id: str
    perpetrator_ids: frozenset[str]
    location: dict | None

    @staticmethod
    def of(referral: Referral) -> Subject:
        """A stored referral's (its people prefetched)."""
        return Subject(
            referral.victim_person_id,
            frozenset(p.person_id for p in referral.people if p.role == "perpetrator"),
            referral.incident_location,
        )


async def _matching(
    conference_id: str,
    on: set[str],
    subject: Subject,
    statuses: list[str],
    exclude: Sequence[str | None] = (),
    conn: BaseDBAsyncClient | None = None,
    *,
    received_by: date | None = None,
    limit: int | None = None,
) -> list[Referral]:
    """The conference's referrals with each of `on` (victim, perpetrator, location) the same as the
    subject's (received by `received_by`), newest first, at most `limit`. A perpetrator is the same
    when one of them is; a referral that names none, or no location, matches nothing on it (unknown
    is not the same)."""
    query = Referral.filter(conference_id=conference_id, status__in=statuses).using_db(conn)
    if received_by is not None:
        query = query.filter(received_at__lte=received_by)
    if "victim" in on:
        query = query.filter(victim_person_id=subject.victim_id)
    if "perpetrator" in on:
        if not subject.perpetrator_ids:
            return []
        named = await (
            ReferralPerson.filter(role="perpetrator", person_id__in=sorted(subject.perpetrator_ids))
            .using_db(conn)
            .values_list("referral_id", flat=True)
        )
        query = query.filter(id__in=sorted({str(r) for r in named}))
    if "location" in on:
        keys = locations.probe_keys(subject.location)
        if not keys:
            return []
        query = query.filter(location_key__in=keys)
    left_out = [r for r in exclude if r]
    if left_out:
        query = query.exclude(id__in=left_out)
    query = query.order_by("-received_at", "-created_at")
    # a hotspot may hold many referrals: a repeat needs only the last one
    return await (query.limit(limit) if limit else query)


async def _previous_referrals(
    conference_id: str, victim_id: str, before: date, exclude: Sequence[str | None] = ()
) -> list[Referral]:
    """The victim's referrals received by `before` (the new incident's date), newest first: their
    incidents count for escalation."""
    about = Subject(victim_id, frozenset(), None)
    return await _matching(conference_id, {"victim"}, about, LIVE_STATUSES, exclude, received_by=before)


async def _duplicate_of(
    conference_id: str,
    subject: Subject,
    incident: date,
    type_settings: dict,
    exclude: str | None,
    conn: BaseDBAsyncClient | None = None,
) -> Referral | None:
    """A referral not yet heard about the same victim, and the same perpetrator and location where
    repeat.match names them, whose incident date is within the type's duplicate_days of this one:
    the same incident referred twice (docs/domain.md#duplicates)."""
    days = int(type_settings.get("duplicate_days", 7))
    on = {"victim"} | set(type_settings["repeat"]["match"])
    for earlier in await _matching(conference_id, on, subject, UNHEARD_STATUSES, [exclude], conn):  # newest first
        if abs((incident_day(earlier) - incident).days) <= days:
            return earlier
    return None


def _repeat_among(candidates: list[Referral], incident: date, type_settings: dict) -> Referral | None:
    """The last of the matching referrals received by the incident date, if the incident falls within
    the type's window of it: the window runs from the LAST referral (docs/domain.md#repeat-referrals)."""
    window = int(type_settings["repeat"]["window_months"])
    earlier = [r for r in candidates if r.received_at <= incident]  # newest first
    if earlier and rules.within_window(earlier[0].received_at, incident, window):
        return earlier[0]
    return None


async def _repeat_of(
    conference_id: str,
    subject: Subject,
    incident: date,
    type_settings: dict,
    exclude: Sequence[str | None],
    conn: BaseDBAsyncClient | None = None,
) -> Referral | None:
    """The referral this one repeats: the same of everything repeat.match names."""
    on = set(type_settings["repeat"]["match"])
    last = await _matching(conference_id, on, subject, LIVE_STATUSES, exclude, conn, received_by=incident, limit=1)
    return _repeat_among(last, incident, type_settings)


def _incidents_in_window(
    incident_days: list[date], previous: list[Referral], incident: date, type_settings: dict
) -> int:
    """This incident, the earlier ones the referrer lists, and the incidents of earlier referrals
    about the same victim, counted once per day, inside the escalation window before this
    incident. A referral's received date is not an incident."""
    escalation = type_settings.get("criteria", {}).get("escalation")
    months = int(escalation["window_months"]) if escalation else 12
    days = {incident} | {d for d in incident_days if rules.within_window(d, incident, months)}
    days |= {incident_day(r) for r in previous if rules.within_window(incident_day(r), incident, months)}
    return len(days)


CHILD_DETAILS = ("relationship_to_victim", "relationship_to_perpetrator", "school", "address")


def _details(person: BaseModel, keys: tuple[str, ...]) -> dict | None:
    """What ReferralPerson.details keeps of a perpetrator or child beyond name and date of birth."""
    kept = {key: value for key, value in person.model_dump(mode="json", include=set(keys)).items() if value}
    return kept or None


def _minimal_victim(body: ReferralIn) -> dict:
    """What a monitoring-only non-crime incident keeps of the victim: equality fields and area."""
    victim = body.victim
    kept: dict = {
        "gender": victim.gender,
        "monitoring": victim.monitoring.model_dump(mode="json") if victim.monitoring else None,
    }
    if victim.address:
        # The postcode's outward code (district) is the area the figures need; never the address.
        kept["area"] = victim.address.postcode.upper().replace(" ", "")[:-3]
    return kept


@dataclass(frozen=True)
class _Assessed:
    """The people resolved in the index and what the referral's history makes of it."""

    victim: Person
    rows: list[tuple[str, int, Person, str, list[str], date | None, str | None, dict | None]]
    duplicate_of: Referral | None
    repeat_of: Referral | None
    incidents: int
    met: list[str]
    earlier_case: EarlierCase | None = None  # a repeat of a case loaded from a history file


async def _assess(
    checked: Checked,
    conn: BaseDBAsyncClient,
    *,
    reuse: dict[tuple[str, int], str] | None = None,
    itself: str | None = None,
) -> _Assessed:
    """Resolve the people (or `reuse` their index entries, by role and position, when an edit left
    them as they were), then find a duplicate, a repeat and the incidents, and the criteria met.
    `itself`: an edited referral, left out of its own history."""
    body, conference = checked.body, checked.conference
    settings = checked.settings
    incident = checked.incident_date
    minimal = checked.minimal
    postcode = body.victim.address.postcode if body.victim.address and not minimal else None
    index = not checked.monitoring_only

    async def resolve(
        role: str, position: int, name: str, aliases: list[str], dob: date | None, code: str | None
    ) -> Person:
        if reuse is not None:
            return await Person.get(id=reuse[(role, position)], using_db=conn)
        if minimal:
            name, aliases, dob, code = NOT_RECORDED, [], None, None
        resolved = await people.resolve(conference.id, people.person_facts(name, aliases, dob, code), conn, index=index)
        await people.suggest(conference.id, resolved, conn)
        return resolved.person

    victim = await resolve("victim", 0, body.victim.name, body.victim.aliases, body.victim.date_of_birth, postcode)
    rows: list[tuple[str, int, Person, str, list[str], date | None, str | None, dict | None]] = [
        ("victim", 0, victim, body.victim.name, body.victim.aliases, body.victim.date_of_birth, None, None)
    ]
    for i, p in enumerate(body.perpetrators):
        person = await resolve("perpetrator", i, p.name, p.aliases, p.date_of_birth, None)
        rows.append(
            ("perpetrator", i, person, p.name, p.aliases, p.date_of_birth, p.relationship, _details(p, ("address",)))
        )
    for i, c in enumerate(body.children):
        person = await resolve("child", i, c.name, [], c.date_of_birth, postcode)
        rows.append(("child", i, person, c.name, [], c.date_of_birth, None, _details(c, CHILD_DETAILS)))
    subject = Subject(victim.id, frozenset(row[2].id for row in rows if row[0] == "perpetrator"), checked.location)
    duplicate_of = repeat_of = None
    if index:  # a monitoring-only report is never matched: neither a duplicate nor a repeat
        duplicate_of = await _duplicate_of(conference.id, subject, incident, settings, itself, conn)
    # A duplicate is the same incident again: neither a repeat of it nor a second incident.
    excluded = [duplicate_of.id if duplicate_of else None, itself]
    previous = await _previous_referrals(conference.id, victim.id, incident, excluded)
    earlier = None
    if index:
        repeat_of = await _repeat_of(conference.id, subject, incident, settings, excluded, conn)
        if repeat_of is None:
            earlier = await history.earlier_case_of(
                conference.id, victim.id, subject.perpetrator_ids, incident, settings, conn
            )
    incidents = _incidents_in_window(body.incidents, previous, incident, settings)
    met = rules.criteria_met(
        settings,
        checked.risk,
        claimed=list(body.criteria),
        judgement_reason=body.judgement_reason,
        incidents_in_window=incidents,
        # A repeat the referrer claims lets the referral in as one until the coordinator decides.
        is_repeat=repeat_of is not None or earlier is not None or claims_repeat(checked),
    )
    return _Assessed(victim, rows, duplicate_of, repeat_of, incidents, met, earlier)


def claims_repeat(checked: Checked) -> bool:
    """Whether the referrer claims a repeat of an earlier case the system does not hold."""
    known = checked.body.previously_known
    return bool(known and known.repeat) and not checked.monitoring_only


def _fields(checked: Checked, assessed: _Assessed) -> dict:
    """The referral's stored fields from what was sent and what intake found."""
    body, minimal = checked.body, checked.minimal
    return {
        "received_at": body.received_at,
        "incident_date": checked.incident_date,
        "criteria_claimed": list(body.criteria),
        "criteria_met": assessed.met,
        "risk": {
            "instrument": checked.risk.instrument,
            "score": checked.risk.score,
            "level": checked.risk.level,
            "computed_level": checked.risk.computed_level,
            "answers": checked.risk.answers,
        },
        "judgement_reason": None if minimal else body.judgement_reason,
        "victim": _minimal_victim(body) if minimal else body.victim.model_dump(mode="json"),
        "victim_person": assessed.victim,
        "strands": list(body.strands),
        "incident_kind": body.incident_kind,
        "incidents": [d.isoformat() for d in body.incidents],
        "incidents_in_window": assessed.incidents,
        "summary": "" if minimal else body.summary,
        "consent": body.consent.model_dump(mode="json"),
        "transfer_from": body.transfer_from,
        "transfer_last_heard": body.transfer_last_heard,
        "referrer_contact": None if minimal or not body.referrer else body.referrer.model_dump(mode="json"),
        "previously_known": None
        if minimal or not body.previously_known
        # "repeat" is kept only when claimed: previously known alone keeps its {area, date}
        else body.previously_known.model_dump(
            mode="json", exclude=None if body.previously_known.repeat else {"repeat"}
        ),
        "is_repeat": assessed.repeat_of is not None or assessed.earlier_case is not None,
        "previous_referral": assessed.repeat_of,
        "previous_case": assessed.earlier_case,
        # a claim waits for the coordinator (edit keeps a decision while previously_known stays)
        "repeat_claim": "pending" if claims_repeat(checked) and not minimal else None,
        "repeat_claim_reason": None,
        "repeat_claim_decided_by": None,
        "repeat_claim_decided_at": None,
        "possible_duplicate_of": assessed.duplicate_of,
        "monitoring_only": checked.monitoring_only,
        "incident_location": checked.location,
        # a monitoring-only report is never matched, so it keeps no key to be found by
        **dict(zip(("location_key", "location_key_version"), _location_key(checked), strict=True)),
    }


def _location_key(checked: Checked) -> tuple[str | None, int | None]:
    made = None if checked.monitoring_only else locations.key_of(checked.location)
    return made if made else (None, None)


async def _write_people(referral: Referral, checked: Checked, assessed: _Assessed, conn: BaseDBAsyncClient) -> None:
    minimal, incident = checked.minimal, checked.incident_date
    for role, position, person, name, aliases, dob, relationship, details in assessed.rows:
        await ReferralPerson.create(
            referral=referral,
            person=person,
            role=role,
            position=position,
            name=NOT_RECORDED if minimal else name,
            aliases=[] if minimal else list(aliases),
            date_of_birth=None if minimal else dob,
            # the figures count ages (victims 16-17, perpetrators 17 or under): the band stays
            age_band=people.age_band(dob, incident) if minimal else None,
            relationship=None if minimal else relationship,
            details=None if minimal else details,
            using_db=conn,
        )


async def submit(viewer: Viewer, payload: object, today: date) -> Referral:
    checked = await check(viewer, payload, today)
    conference = checked.conference
    async with in_transaction() as conn:
        assessed = await _assess(checked, conn)
        meeting = None if checked.monitoring_only else await meeting_for_referral(conference, checked.body.received_at)
        referral = await Referral.create(
            conference=conference,
            referring_agency_id=viewer.agency_id,
            referrer_id=viewer.user_id,
            status="monitoring_only" if checked.monitoring_only else "received",
            expected_meeting=meeting,
            using_db=conn,
            **_fields(checked, assessed),
        )
        await _write_people(referral, checked, assessed, conn)
        await record(
            "referral.create",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=conference.id,
            conn=conn,
        )
        if not referral.monitoring_only:  # seen by its own agency alone: nobody else is told
            await _emit("referral.received", referral, conn)
            await _tell_found(referral, None, None, conn)
    return referral


async def _emit(kind: str, referral: Referral, conn: BaseDBAsyncClient, decision: str | None = None) -> None:
    # The agency an event about a referral is from: its referrer's (told of the decision).
    data: dict[str, Any] = {"decision": decision} if decision else {}
    await emit(
        kind,
        conference_id=referral.conference_id,
        referral_id=referral.id,
        agency_id=referral.referring_agency_id,
        conn=conn,
        **data,
    )


async def _tell_found(
    referral: Referral, repeat_was: str | None, duplicate_was: str | None, conn: BaseDBAsyncClient
) -> None:
    """The coordinator is told of a repeat or a possible duplicate intake has just found (docs/notifications.md)."""
    if referral.previous_referral_id and referral.previous_referral_id != repeat_was:
        await _emit("referral.repeat", referral, conn)
    if referral.possible_duplicate_of_id and referral.possible_duplicate_of_id != duplicate_was:
        await _emit("referral.duplicate", referral, conn)


async def submit_many(viewer: Viewer, rows: Sequence[tuple[int, object]], today: date) -> list[Referral]:
    """A bulk import: every row is checked first; one bad row and nothing is imported.
    Errors are keyed "N:field", N being the row's number in the file."""
    errors: dict[str, str] = {}
    for number, payload in rows:
        try:
            await check(viewer, payload, today)
        except RuleViolation as exc:
            for field, message in exc.fields.items():
                errors[f"{number}:{field}"] = message
    if errors:
        rows_bad = len({k.split(":")[0] for k in errors})
        raise RuleViolation(
            ngettext(
                "%(num)d row is not valid; nothing was imported",
                "%(num)d rows are not valid; nothing was imported",
                rows_bad,
            )
            % {"num": rows_bad},
            errors,
        )
    created = []
    async with in_transaction():
        for _, payload in rows:
            created.append(await submit(viewer, payload, today))
    return created


# --- reading -------------------------------------------------------------------------

_CASE_RELATIONS = (
    "people",
    "referring_agency",
    "conference",
    "meeting",
    "expected_meeting",
    "merged__referring_agency",
    "changes",
    "previous_case",
)


async def _visible(viewer: Viewer, referral_id: str, *relations: str) -> Referral | None:
    """A referral the caller may see, or None. An id can come from a form or a query string: one that
    new_id() could not have made names no referral, and never reaches the database."""
    if not ID_PATTERN.fullmatch(referral_id):
        return None
    return await Referral.filter(access.referral_filter(viewer), id=referral_id).prefetch_related(*relations).first()


async def read_case(viewer: Viewer, referral_id: str) -> tuple[Referral, BreakGlass | None]:
    """One referral as the caller may see it, and the break-glass grant it was opened
    under (None when the caller is entitled to it). Every read is audited; a read under
    break glass also as `break_glass.read` with the grant's id, and with the victim's
    address and safe contact masked unless a coordinator approved them."""
    referral = await _visible(viewer, referral_id, *_CASE_RELATIONS)
    if referral is not None:
        await record(
            "referral.read",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=referral.conference_id,
        )
        return referral, None
    grant = await break_glass.live_grant(viewer, referral_id)
    if grant is not None:
        referral = (
            await Referral.filter(access.break_glass_target_filter(), id=referral_id)
            .prefetch_related(*_CASE_RELATIONS)
            .first()
        )
    if grant is None or referral is None:
        raise NotFound("Referral not found")
    access.mask_for_break_glass(referral, grant)
    async with in_transaction() as conn:
        await record(
            "referral.read",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
        await record(
            "break_glass.read",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="break_glass",
            object_id=grant.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
    return referral, grant


async def get_visible(viewer: Viewer, referral_id: str) -> Referral:
    """One referral as the caller may see it (see read_case); 404 for anyone else."""
    referral, _grant = await read_case(viewer, referral_id)
    return referral


# --- triage --------------------------------------------------------------------------


async def decide(viewer: Viewer, referral_id: str, decision: str, reason: str | None) -> Referral:
    """The coordinator accepts (the referral joins the first meeting whose cut-off it
    meets) or rejects with a reason. Decided once; the referrer sees the outcome."""
    referral = await _visible(viewer, referral_id, "conference")
    if referral is None:
        raise NotFound("Referral not found")
    access.require_triage(viewer, referral.conference_id)
    reason = (reason or "").strip() or None
    if decision not in ("accept", "reject"):
        raise RuleViolation(gettext("Unknown decision"), {"decision": gettext("Choose accept or reject")})
    if decision == "reject" and not reason:
        raise RuleViolation(
            gettext("A rejection needs a reason"),
            {"reason": gettext("Say why the referral is rejected; the referrer will see it")},
        )
    if referral.status != "received":
        raise Conflict(
            gettext("This referral was already decided (%(status)s)") % {"status": STATUS_WORDS[referral.status]}
        )
    referral.status = "accepted" if decision == "accept" else "rejected"
    referral.decision_reason = reason
    referral.decided_by = viewer.user_id
    referral.decided_at = now()
    if decision == "accept":
        # The meeting may have been published or cancelled since intake: look again.
        referral.expected_meeting = await meeting_for_referral(referral.conference, referral.received_at)
    async with in_transaction() as conn:
        await referral.save(using_db=conn)
        await record(
            f"referral.{decision}",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
        await _emit("referral.decided", referral, conn, decision=referral.status)
    return referral


# --- editing and withdrawal ------------------------------------------------------------

# What the sender of a referral may change: every field but the conference.
EDITABLE = tuple(name for name in ReferralIn.model_fields if name != "conference")
PEOPLE_FIELDS = ("victim", "perpetrators", "children")


def body_of(referral: Referral) -> dict:
    """The referral as a request body again (what an edit starts from and history keeps)."""
    named = sorted(referral.people, key=lambda p: p.position)

    def person(p: ReferralPerson, *extra: str) -> dict:
        out: dict = {"name": p.name, "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None}
        out |= {key: getattr(p, key) for key in extra}
        return out | dict(p.details or {})

    risk: dict = {"instrument": referral.risk.get("instrument")}
    if referral.risk.get("answers"):
        risk["answers"] = referral.risk["answers"]
    elif referral.risk.get("score") is not None:
        risk["score"] = referral.risk["score"]
    if referral.risk.get("level"):
        risk["level"] = referral.risk["level"]
    return {
        "conference": referral.conference.slug,
        "received_at": referral.received_at.isoformat(),
        "incident_date": incident_day(referral).isoformat(),
        "criteria": list(referral.criteria_claimed),
        "risk": risk,
        "judgement_reason": referral.judgement_reason,
        "victim": dict(referral.victim),
        "perpetrators": [person(p, "aliases", "relationship") for p in named if p.role == "perpetrator"],
        "children": [person(p) for p in named if p.role == "child"],
        "strands": list(referral.strands),
        "incident_kind": referral.incident_kind,
        "incidents": list(referral.incidents),
        "summary": referral.summary,
        "consent": dict(referral.consent),
        "transfer_from": referral.transfer_from,
        "transfer_last_heard": referral.transfer_last_heard.isoformat() if referral.transfer_last_heard else None,
        "referrer": referral.referrer_contact,
        "previously_known": referral.previously_known,
        # as sent: the place's id (its name is kept beside it for reading)
        "incident_location": {k: v for k, v in referral.incident_location.items() if k != "name"}
        if referral.incident_location
        else None,
    }


async def changeable(viewer: Viewer, referral_id: str, what: str) -> Referral:
    """A referral the caller may change: its referrer (the user who made it) before triage, the
    conference's coordinator until it is heard. 404 when the caller cannot see it, 403 when
    they may not, 409 when it is past changing."""
    referral = await _visible(viewer, referral_id, "conference", "people")
    if referral is None:
        raise NotFound("Referral not found")
    coordinator = viewer.can_in(referral.conference_id, access.Can.TRIAGE_REFERRALS)
    referrer = referral.referrer_id == viewer.user_id and access.may_refer(viewer, referral.conference_id)
    if not coordinator and not referrer:
        raise AccessDenied(f"Only the referrer or the coordinator may {what} a referral")
    allowed = UNHEARD_STATUSES if coordinator else ["received"]
    if referral.status not in allowed:
        raise Conflict(
            (
                gettext("This referral is %(status)s: it can no longer be changed")
                if coordinator
                else gettext("This referral is %(status)s: after triage, ask the coordinator")
            )
            % {"status": STATUS_WORDS[referral.status]}
        )
    return referral


async def _history(
    referral: Referral, viewer: Viewer, kind: str, fields: list[str], reason: str | None, conn: BaseDBAsyncClient
) -> ReferralChange:
    change = await ReferralChange.create(
        referral=referral,
        kind=kind,
        changed_by=viewer.user_id,
        changed_at=now(),
        changed_fields=fields,
        before=body_of(referral),
        reason=reason,
        using_db=conn,
    )
    await record(
        f"referral.{kind}",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="referral",
        object_id=referral.id,
        conference_id=referral.conference_id,
        conn=conn,
    )
    return change


def _changed(before: dict, checked: Checked, stored_risk: dict) -> list[str]:
    """The fields an edit changes, compared as the validator reads them (a form sends dates and
    answers in other shapes than the stored body has them)."""
    try:
        old = parse(before).model_dump(mode="json")
    except RuleViolation:  # stored before a rule it now breaks: every field sent counts as changed
        old = before
    new = checked.body.model_dump(mode="json")
    changed = [name for name in EDITABLE if name != "risk" and old.get(name) != new.get(name)]
    risk = checked.risk
    now_risk = {"instrument": risk.instrument, "score": risk.score, "level": risk.level, "answers": risk.answers}
    if {key: stored_risk.get(key) for key in now_risk} != now_risk:
        changed.append("risk")
    return sorted(changed)


async def edit(viewer: Viewer, referral_id: str, patch: dict, today: date) -> Referral:
    """Change a referral: the fields sent replace the referral's own (sections whole) and every
    rule is checked again as for a new referral. An edit of the people re-runs matching; every
    edit re-runs repeat, duplicate and escalation detection. The referral as it was is kept."""
    referral = await changeable(viewer, referral_id, "edit")
    unknown = sorted(set(patch) - set(EDITABLE))
    if unknown:
        raise RuleViolation(
            gettext("The change is not valid"), {name: gettext("Cannot be changed") for name in unknown}
        )
    before = body_of(referral)
    checked = await check(viewer, {**before, **patch}, today)
    if checked.monitoring_only != referral.monitoring_only:
        raise RuleViolation(
            gettext("Monitoring only cannot change"),
            {"consent": gettext("A referral kept for monitoring only, or shared, stays so: make a new referral")},
        )
    changed = _changed(before, checked, referral.risk)
    if not changed:
        return referral  # nothing to keep: the referral is as it was
    people_changed = any(name in changed for name in PEOPLE_FIELDS)
    reuse = None if people_changed else {(p.role, p.position): p.person_id for p in referral.people}
    claim = {name: getattr(referral, name) for name in CLAIM_FIELDS}
    repeat_was, duplicate_was = referral.previous_referral_id, referral.possible_duplicate_of_id
    async with in_transaction() as conn:
        await _history(referral, viewer, "edit", changed, None, conn)
        assessed = await _assess(checked, conn, reuse=reuse, itself=referral.id)
        for name, value in _fields(checked, assessed).items():
            setattr(referral, name, value)
        if "previously_known" not in changed:  # the same claim: the coordinator's decision stands
            for name, value in claim.items():
                setattr(referral, name, value)
        found = assessed.repeat_of is not None or assessed.earlier_case is not None
        referral.is_repeat = found or referral.repeat_claim == "confirmed"
        if referral.repeat_claim == "rejected" and not found:
            referral.criteria_met = _without_repeat(referral.criteria_met)
        await referral.save(using_db=conn)
        await ReferralPerson.filter(referral=referral).using_db(conn).delete()
        await _write_people(referral, checked, assessed, conn)
        if not referral.monitoring_only:
            await _tell_found(referral, repeat_was, duplicate_was, conn)
    return referral


def _without_repeat(criteria: list) -> list:
    return [criterion for criterion in criteria if criterion != "repeat"]


CLAIM_FIELDS = ("repeat_claim", "repeat_claim_reason", "repeat_claim_decided_by", "repeat_claim_decided_at")


async def decide_repeat_claim(viewer: Viewer, referral_id: str, confirm: bool | None, reason: str | None) -> Referral:
    """The coordinator confirms or rejects (with a reason) a repeat the referrer claims of an earlier
    MARAC case the system does not hold, until the referral is heard. Confirmed, it is a repeat: its
    agenda kind and the quarterly repeat rate count it. Kept in the referral's history and audited."""
    referral = await _triaged(viewer, referral_id)
    if confirm is None:
        raise RuleViolation(
            gettext("Confirm or reject the claim"), {"confirm": gettext("Say whether this is a repeat of that case")}
        )
    reason = (reason or "").strip() or None
    if not confirm and not reason:
        raise RuleViolation(
            gettext("Rejecting a repeat claim needs a reason"),
            {"reason": gettext("Say why this is not a repeat of that case; the referrer will see it")},
        )
    if referral.repeat_claim != "pending":
        raise Conflict(gettext("No repeat claim of this referral waits for a decision"))
    if referral.status not in UNHEARD_STATUSES:
        raise Conflict(
            gettext("This referral is %(status)s: its claim can no longer be decided")
            % {"status": STATUS_WORDS[referral.status]}
        )
    kind = "repeat_confirm" if confirm else "repeat_reject"
    async with in_transaction() as conn:
        await _history(referral, viewer, kind, ["criteria_met", "is_repeat", "repeat_claim"], reason, conn)
        if not confirm and referral.previous_referral_id is None:
            # the claim was what met the repeat criterion; the coordinator may now reject the referral too
            referral.criteria_met = _without_repeat(referral.criteria_met)
        referral.repeat_claim = "confirmed" if confirm else "rejected"
        referral.repeat_claim_reason, referral.repeat_claim_decided_by = reason, viewer.user_id
        referral.repeat_claim_decided_at = now()
        referral.is_repeat = confirm or referral.previous_referral_id is not None
        await referral.save(using_db=conn)
    return referral


async def withdraw(viewer: Viewer, referral_id: str, reason: str | None, conn: BaseDBAsyncClient) -> Referral:
    """Withdraw with a reason before the referral is heard: it leaves the pool (status withdrawn;
    marac.meetings.withdrawal also takes it off any unpublished agenda). Kept and audited."""
    referral = await changeable(viewer, referral_id, "withdraw")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            gettext("Withdrawing needs a reason"), {"reason": gettext("Say why the referral is withdrawn")}
        )
    await _history(referral, viewer, "withdraw", ["status"], reason, conn)
    referral.status, referral.withdrawn_reason, referral.expected_meeting_id = "withdrawn", reason, None
    await referral.save(using_db=conn)
    return referral


async def changes(viewer: Viewer, referral_id: str) -> list[ReferralChange]:
    """A referral's history of changes, for whoever may see the referral."""
    if await _visible(viewer, referral_id) is None:
        raise NotFound("Referral not found")
    return await ReferralChange.filter(referral_id=referral_id).order_by("changed_at")


# --- duplicates ----------------------------------------------------------------------


async def _triaged(viewer: Viewer, referral_id: str, field: str | None = None) -> Referral:
    """A referral the coordinator may triage; 404 (or 422 on `field`) when the caller cannot see it."""
    referral = await _visible(viewer, referral_id, "conference", "people")
    if referral is None:
        if field:
            raise RuleViolation(gettext("Unknown referral"), {field: gettext("No referral you can see has this id")})
        raise NotFound("Referral not found")
    access.require_triage(viewer, referral.conference_id)
    return referral


async def merge(viewer: Viewer, referral_id: str, into_id: str) -> Referral:
    """The coordinator makes a duplicate one case with the referral it duplicates: the duplicate
    is `merged` into the other, whose case it joins with its referrer (both linked, counted
    once in figures, never a second agenda item). Both must be waiting to be heard."""
    referral = await _triaged(viewer, referral_id)
    if into_id == referral_id:
        raise RuleViolation(
            gettext("A referral cannot be merged into itself"), {"into": gettext("Choose the other referral")}
        )
    into = await _triaged(viewer, into_id, field="into")
    if into.conference_id != referral.conference_id:
        raise RuleViolation(
            gettext("Not the same conference"), {"into": gettext("Merge only referrals to the same conference")}
        )
    for one in (referral, into):
        if one.status not in UNHEARD_STATUSES:
            raise Conflict(
                gettext("Only referrals waiting to be heard are merged; one is %(status)s")
                % {"status": STATUS_WORDS[one.status]}
            )
    async with in_transaction() as conn:
        referral.status, referral.merged_into_id = "merged", into.id
        referral.expected_meeting_id = None
        referral.decided_by, referral.decided_at = viewer.user_id, now()
        await referral.save(using_db=conn)
        # Later referrals that pointed at the duplicate now point at the case it joined.
        await Referral.filter(previous_referral_id=referral.id).using_db(conn).update(previous_referral_id=into.id)
        await (
            Referral.filter(possible_duplicate_of_id=referral.id)
            .using_db(conn)
            .update(possible_duplicate_of_id=into.id)
        )
        for event, object_id in (("referral.merge", referral.id), ("referral.merged_into", into.id)):
            await record(
                event,
                user_id=viewer.user_id,
                agency_id=viewer.agency_id,
                object_type="referral",
                object_id=object_id,
                conference_id=referral.conference_id,
                conn=conn,
            )
    return referral


async def keep_apart(viewer: Viewer, referral_id: str, reason: str | None) -> Referral:
    """The coordinator decides a possible duplicate is a separate incident, with a reason: it
    stays its own case, and is then checked as a repeat of the referral it resembled."""
    referral = await _triaged(viewer, referral_id)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(
            gettext("Keeping apart needs a reason"), {"reason": gettext("Say why these are separate incidents")}
        )
    if referral.possible_duplicate_of_id is None or referral.status not in UNHEARD_STATUSES:
        raise Conflict(gettext("This referral is not a possible duplicate waiting to be heard"))
    if referral.kept_apart_reason:
        raise Conflict(gettext("This referral was already kept apart"))
    referral.kept_apart_reason = reason
    async with in_transaction() as conn:
        await referral.save(using_db=conn, update_fields=["kept_apart_reason"])
        await record(
            "referral.keep_apart",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
    await _recheck_repeats(await referral.victim_person)
    return await Referral.get(id=referral.id)


@dataclass(frozen=True)
class After:
    """Where a page of referrals ended: the last one's received date and id (newest first)."""

    received_at: date
    id: str


async def list_visible(
    viewer: Viewer,
    conference_id: str | None = None,
    status: str | None = None,
    after: After | None = None,
    limit: int = 50,
) -> list[Referral]:
    """The referrals the caller may see (access.referral_filter: their own agency's, and every one
    of the conferences they coordinate or chair or whose referrals their agency receives), newest
    first, narrowed to one of their conferences and one status. Ids, dates, statuses and agencies:
    the list reads no personal data; opening one (read_case) is audited."""
    if status is not None and status not in REFERRAL_STATUSES:
        raise RuleViolation(
            gettext("Unknown status"),
            {"status": gettext("Choose one of: %(values)s") % {"values": ", ".join(REFERRAL_STATUSES)}},
        )
    query = Referral.filter(access.referral_filter(viewer))
    if conference_id is not None:
        query = query.filter(conference_id=conference_id)
    if status is not None:
        query = query.filter(status=status)
    if after is not None:
        query = query.filter(Q(received_at__lt=after.received_at) | Q(received_at=after.received_at, id__lt=after.id))
    return (
        await query.order_by("-received_at", "-id")
        .limit(limit)
        .prefetch_related("conference", "referring_agency")
        .only(*LIST_COLUMNS)
    )


async def triage_queue(viewer: Viewer, conference_id: str | None = None) -> list[Referral]:
    """The referrals waiting for the caller's triage, oldest first. The queue names each victim,
    so showing it is a read of each referral, audited like opening one."""
    access.require(viewer, access.Can.TRIAGE_REFERRALS)
    query = Referral.filter(
        access.referral_filter(viewer),
        status="received",
        conference_id__in=list(viewer.where(access.Can.TRIAGE_REFERRALS)),
    )
    if conference_id:
        query = query.filter(conference_id=conference_id)
    queue = await query.prefetch_related("conference", "referring_agency", "previous_referral").order_by(
        "received_at", "created_at"
    )
    await record_each(
        "referral.read",
        [About("referral", referral.id, referral.conference_id) for referral in queue],
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
    )
    return queue


# --- person matches ------------------------------------------------------------------


async def pending_matches(viewer: Viewer) -> list[MatchSuggestion]:
    return (
        await MatchSuggestion.filter(access.match_filter(viewer), status="pending")
        .prefetch_related("person", "candidate")
        .order_by("created_at")
    )


async def decide_match(viewer: Viewer, suggestion_id: str, same: bool) -> MatchSuggestion:
    """The coordinator says whether two index entries are one person. 'Same' merges the
    newer entry into the existing one and re-checks the repeats of its referrals;
    either answer is remembered, so the pair is never offered again."""
    suggestion = (
        await MatchSuggestion.filter(access.match_filter(viewer), id=suggestion_id)
        .prefetch_related("person", "candidate")
        .first()
    )
    if suggestion is None:
        raise NotFound("Suggestion not found")
    if suggestion.status != "pending":
        raise Conflict(gettext("This suggestion was already decided"))
    suggestion.status, suggestion.decided_by, suggestion.decided_at = (
        ("same" if same else "different"),
        viewer.user_id,
        now(),
    )
    async with in_transaction() as conn:
        await suggestion.save(using_db=conn)
        if same:
            await _merge(suggestion.person, suggestion.candidate, conn)
        await record(
            f"person_match.{suggestion.status}",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="match_suggestion",
            object_id=suggestion.id,
            conference_id=suggestion.conference_id,
            conn=conn,
        )
    if same:
        await _recheck_repeats(suggestion.candidate)
    return suggestion


async def _merge(newer: Person, existing: Person, conn) -> None:
    # The newer entry stays (keyless, unfindable) so the remembered decision keeps both ends.
    people.merge_facts(existing, people.facts_of(newer))
    await existing.save(using_db=conn)
    await ReferralPerson.filter(person=newer).using_db(conn).update(person_id=existing.id)
    await Referral.filter(victim_person=newer).using_db(conn).update(victim_person_id=existing.id)
    await EarlierCase.filter(victim_person=newer).using_db(conn).update(victim_person_id=existing.id)
    await EarlierCase.filter(perpetrator_person=newer).using_db(conn).update(perpetrator_person_id=existing.id)
    # Other open suggestions about the merged entry now concern the surviving one.
    await (
        MatchSuggestion.filter(person=newer, status="pending")
        .exclude(candidate=existing)
        .using_db(conn)
        .update(person_id=existing.id)
    )
    await MatchSuggestion.filter(candidate=newer).exclude(status="same").using_db(conn).update(candidate_id=existing.id)
    await PersonKey.filter(person=newer).using_db(conn).delete()
    await people.store_keys(existing, conn)


async def _recheck_repeats(person: Person) -> None:
    """After a merge or a duplicate kept apart, a referral naming this person (as victim or
    perpetrator) may have become a repeat, or repeat another referral."""
    named = await ReferralPerson.filter(person_id=person.id).values_list("referral_id", flat=True)
    for referral in await Referral.filter(
        Q(victim_person_id=person.id) | Q(id__in=sorted({str(r) for r in named})), status__in=LIVE_STATUSES
    ).prefetch_related("people", "conference"):
        # A possible duplicate is no repeat of what it duplicates, unless the coordinator kept them apart.
        excluded = None if referral.kept_apart_reason else referral.possible_duplicate_of_id
        settings = referral.conference.type_settings
        on = set(settings["repeat"]["match"])
        found = await _matching(
            referral.conference_id, on, Subject.of(referral), LIVE_STATUSES, [referral.id, excluded]
        )
        earlier = [p for p in found if (p.received_at, p.created_at) < (referral.received_at, referral.created_at)]
        repeat_of = _repeat_among(earlier, incident_day(referral), settings)
        case = None
        if repeat_of is None and referral.victim_person_id:
            case = await history.earlier_case_of(
                referral.conference_id,
                referral.victim_person_id,
                Subject.of(referral).perpetrator_ids,
                incident_day(referral),
                settings,
            )
        links = (repeat_of.id if repeat_of else None, case.id if case else None)
        if links != (referral.previous_referral_id, referral.previous_case_id):
            await Referral.filter(id=referral.id).update(
                is_repeat=repeat_of is not None or case is not None or referral.repeat_claim == "confirmed",
                previous_referral_id=links[0],
                previous_case_id=links[1],
            )
