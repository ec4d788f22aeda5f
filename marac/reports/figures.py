"""The quarterly figures of one conference (docs/domain.md#quarterly-figures).

Rules:
- counted per meeting date: a case counts in the quarter of the meeting that heard it,
  whenever its referral was received;
- a case heard: an agenda item listed in a case section (new, repeat, transfer) of a published
  or held meeting dated on or before today, and not deferred there (a deferred case counts
  where it is heard next); repeats included;
- a transfer in: a case heard whose referral came from another area's MARAC (agenda kind transfer); a
  transfer out: a case sent to another area's MARAC, counted by the day it was sent;
- a repeat case: the referral's repeat flag (referrals/service.py: within 12 months of the last
  referral date); the repeat rate is repeats over cases heard, shown against the conference's
  benchmark;
- victims: gender and equality monitoring from the referral's victim section; ages on the
  date the referral was received, from the date of birth or, once retention removed it, the
  age band it kept; children: every child named in a heard case; perpetrators aged 17 or
  under: cases with at least one;
- cases per 10,000 adult women: the quarter's cases annualised (times 4) over the
  conference's adult female population, against the 40 a year SafeLives recommends;
- hate crime: a case counts once under each of its strands and once under each
  sub-category; crime vs incident; monitoring-only reports (never heard, never listed) are
  counted by the date they were received;
- actions agreed at the quarter's meetings, by owner agency: done by the due date (the UK
  date of the update that marked it done), done late, not possible because circumstances
  changed, not done by the agency (never merged), and still open.

Only this conference's rows are read, through indexes: its meetings by (conference, date),
their agenda items by meeting, referrals and their people by id, actions by meeting.
Victim monitoring and dates of birth are sealed, so they are read through model instances
and counted here, never in SQL.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.expressions import Q

from marac.actions.models import Action, ActionUpdate
from marac.agencies.models import AGENCY_KINDS, Agency, Conference
from marac.errors import RuleViolation
from marac.i18n import gettext, lazy_gettext, localised
from marac.meetings.agenda import CASE_SECTIONS
from marac.meetings.models import AgendaItem, Meeting
from marac.referrals.models import Person, Referral, ReferralPerson
from marac.referrals.people import age_band
from marac.validation import FIRST_YEAR, LAST_YEAR

UK = ZoneInfo("Europe/London")
HEARING_STATUSES = ("published", "held")
RECOMMENDED_PER_10000 = 40  # SafeLives: cases a year per 10,000 adult women
UNDER_18_BANDS = ("under 16", "16-17")
QUARTER_RE = re.compile(r"([1-9][0-9]{3})Q([1-4])")
# A quarter as people read it, "July to September 2026" (Quarter.label).
MONTHS = (
    lazy_gettext("January to March %(year)d"),
    lazy_gettext("April to June %(year)d"),
    lazy_gettext("July to September %(year)d"),
    lazy_gettext("October to December %(year)d"),
)


@dataclass(frozen=True, order=True)
class Quarter:
    """A calendar quarter, written 2026Q3 (July to September 2026)."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str | None) -> Quarter:
        found = QUARTER_RE.fullmatch(text or "")
        # 9999Q4 matches, but its end (the next quarter's start) is past what a date can hold.
        if found is None or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
            raise RuleViolation("Bad quarter", {"quarter": gettext("Give a quarter as YYYYQN, for example 2026Q3")})
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, day: date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def start(self) -> date:
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        following = date(self.year + 1, 1, 1) if self.number == 4 else date(self.year, 3 * self.number + 1, 1)
        return following - timedelta(days=1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)

    @property
    def label(self) -> str:
        return str(MONTHS[self.number - 1]) % {"year": self.year}

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"


def _band(person: ReferralPerson, on: date) -> str | None:
    return age_band(person.date_of_birth, on) if person.date_of_birth else person.age_band


def _strand_counts(referrals: list[Referral], strands: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Each referral once under each of its strands and once under each sub-category."""
    by_strand: Counter[str] = Counter()
    by_sub: Counter[tuple[str, str]] = Counter()
    for referral in referrals:
        values = [value.partition(":") for value in referral.strands or []]
        by_strand.update({strand for strand, _, _ in values})
        by_sub.update({(strand, sub) for strand, _, sub in values if sub})
    # Labels in the reader's language (the API reads English): the type file's label_cy beside label.
    strand_rows = [{"strand": s["key"], "label": localised(s), "cases": by_strand[s["key"]]} for s in strands]
    sub_rows = [
        {
            "strand": s["key"],
            "subcategory": c["key"],
            "label": f"{localised(s)}: {localised(c)}",
            "cases": by_sub[(s["key"], c["key"])],
        }
        for s in strands
        for c in s.get("subcategories", [])
    ]
    return strand_rows, sub_rows


def _crime_or_incident(referrals: list[Referral]) -> dict[str, int]:
    kinds = Counter(r.incident_kind for r in referrals)
    return {
        "crime": kinds["crime"],
        "incident": kinds["incident"],
        "not_recorded": len(referrals) - kinds["crime"] - kinds["incident"],
    }


async def _actions(meeting_ids: list[str]) -> tuple[list[dict[str, Any]], dict[str, int]]:
    rows = await Action.filter(meeting_id__in=meeting_ids).values_list("id", "owner_agency_id", "status", "due_date")
    done_ids = [action_id for action_id, _, status, _ in rows if status == "done"]
    done_on: dict[str, date] = {}
    for action_id, at in await ActionUpdate.filter(action_id__in=done_ids, status="done").values_list(
        "action_id", "at"
    ):
        day = at.astimezone(UK).date()
        done_on[action_id] = max(day, done_on.get(action_id, day))  # the last time it was marked done
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for action_id, agency_id, status, due in rows:
        if status == "done":
            outcome = "late" if done_on.get(action_id, due) > due else "on_time"
        else:
            outcome = {"not_possible_changed_circumstances": "not_possible", "not_done_by_agency": "not_done"}.get(
                status, "open"
            )
        counts[agency_id][outcome] += 1
    agencies = {a.id: a for a in await Agency.filter(id__in=list(counts))}
    measures = ("on_time", "late", "not_possible", "not_done", "open")
    by_agency: list[dict[str, Any]] = [
        {
            "agency": agencies[a].name,
            "kind": agencies[a].kind,
            **{m: counts[a][m] for m in measures},
            "total": sum(counts[a].values()),
        }
        for a in sorted(counts, key=lambda a: agencies[a].name)
    ]
    totals = {m: sum(row[m] for row in by_agency) for m in (*measures, "total")}
    return by_agency, totals


async def _repeat_people(referrals: list[Referral], people: list[ReferralPerson]) -> dict[str, list[dict[str, Any]]]:
    """People in more than one case heard in the quarter: the coordinator's "flag and tag" view."""
    victims: dict[str, list[str]] = defaultdict(list)
    for referral in referrals:
        victims[referral.victim_person_id].append(referral.id)
    perpetrators: dict[str, set[str]] = defaultdict(set)
    for person in people:
        if person.role == "perpetrator":
            perpetrators[person.person_id].add(person.referral_id)
    found = {
        "victims": {p: sorted(r) for p, r in victims.items() if len(r) > 1},
        "perpetrators": {p: sorted(r) for p, r in perpetrators.items() if len(r) > 1},
    }
    names = {
        p.id: (p.names or ["(name removed)"])[0]
        for p in await Person.filter(id__in=[*found["victims"], *found["perpetrators"]])
    }
    return {
        role: sorted(
            ({"person_id": p, "name": names.get(p, ""), "cases": len(r), "referral_ids": r} for p, r in rows.items()),
            key=lambda row: (-row["cases"], row["name"]),
        )
        for role, rows in found.items()
    }


async def quarterly(
    conference: Conference, quarter: Quarter, today: date, *, repeat_people: bool = False
) -> dict[str, Any]:
    """The conference's figures for the quarter, exact. Exports go through export.suppress()."""
    last_day = min(quarter.end, today)
    meetings = await Meeting.filter(
        conference_id=conference.id, date__gte=quarter.start, date__lte=last_day, status__in=list(HEARING_STATUSES)
    ).order_by("date")
    items = await AgendaItem.filter(
        Q(outcome__isnull=True) | Q(outcome="heard"),
        meeting_id__in=[m.id for m in meetings],
        state="listed",
        section__in=list(CASE_SECTIONS),
    ).values_list("meeting_id", "referral_id")
    referrals = {r.id: r for r in await Referral.filter(id__in=[rid for _, rid in items])}
    people = await ReferralPerson.filter(referral_id__in=list(referrals))
    kinds = {a.id: a.kind for a in await Agency.filter(id__in={r.referring_agency_id for r in referrals.values()})}
    heard = [referrals[rid] for _, rid in items]

    per_meeting: dict[str, list[Referral]] = defaultdict(list)
    for meeting_id, rid in items:
        per_meeting[meeting_id].append(referrals[rid])
    by_role: dict[tuple[str, str], list[ReferralPerson]] = defaultdict(list)
    for person in people:
        by_role[(person.referral_id, person.role)].append(person)

    def victim_says(referral: Referral, key: str) -> bool:
        return (referral.victim.get("monitoring") or {}).get(key) is True

    def aged(referral: Referral, role: str, bands: tuple[str, ...]) -> bool:
        return any(_band(p, referral.received_at) in bands for p in by_role[(referral.id, role)])

    repeats = sum(r.is_repeat for r in heard)
    population = conference.adult_female_population
    referral_kinds = Counter(kinds[r.referring_agency_id] for r in heard)
    cases = {
        "heard": len(heard),
        "repeat": repeats,
        # Transfers in: heard cases that came from another area's MARAC (kind transfer); transfers out: cases
        # this conference sent to another area's MARAC in the quarter, by the day sent.
        "transfers_in": sum(bool(r.transfer_from) for r in heard),
        "transfers_out": await Referral.filter(
            conference_id=conference.id, transferred_out_on__gte=quarter.start, transferred_out_on__lte=last_day
        ).count(),
        "repeat_rate": round(100 * repeats / len(heard), 1) if heard else None,
        "repeat_rate_benchmark": conference.repeat_rate_benchmark,
        "children": sum(len(by_role[(r.id, "child")]) for r in heard),
        "police_referrals": referral_kinds["police"],
        "partner_referrals": len(heard) - referral_kinds["police"],
        "victims_racially_minoritised": sum(victim_says(r, "racially_minoritised") for r in heard),
        "victims_lgbt": sum(victim_says(r, "lgbt") for r in heard),
        "victims_disabled": sum(victim_says(r, "disabled") for r in heard),
        "victims_male": sum(r.victim.get("gender") == "male" for r in heard),
        "victims_aged_16_17": sum(aged(r, "victim", ("16-17",)) for r in heard),
        "cases_perpetrator_17_or_under": sum(aged(r, "perpetrator", UNDER_18_BANDS) for r in heard),
        "adult_female_population": population,
        "per_10000_adult_women": round(len(heard) * 4 * 10000 / population, 1) if population else None,
        "recommended_per_10000": RECOMMENDED_PER_10000,
    }
    actions, action_totals = await _actions([m.id for m in meetings])
    figures: dict[str, Any] = {
        "conference": {"slug": conference.slug, "name": conference.name, "type": conference.type},
        "quarter": str(quarter),
        "label": quarter.label,
        "from": quarter.start.isoformat(),
        "to": quarter.end.isoformat(),
        "meetings": [
            {
                "date": m.date.isoformat(),
                "cases": len(per_meeting[m.id]),
                "repeat_cases": sum(r.is_repeat for r in per_meeting[m.id]),
            }
            for m in meetings
        ],
        "cases": cases,
        "referrals_by_agency_kind": [{"kind": kind, "cases": referral_kinds[kind]} for kind in AGENCY_KINDS],
        "hate_crime": None,
        "actions": actions,
        "actions_total": action_totals,
    }
    strands = conference.type_settings.get("strands") or []
    if strands:
        # Never heard, so counted by the date received; read by (conference, status, received_at).
        monitoring = await Referral.filter(
            conference_id=conference.id,
            status="monitoring_only",
            received_at__gte=quarter.start,
            received_at__lte=last_day,
        )
        strand_rows, sub_rows = _strand_counts(heard, strands)
        monitoring_strands, _ = _strand_counts(monitoring, strands)
        figures["hate_crime"] = {
            "strands": strand_rows,
            "subcategories": sub_rows,
            "crime_or_incident": _crime_or_incident(heard),
            "monitoring_only": {
                "reports": len(monitoring),
                "strands": monitoring_strands,
                "crime_or_incident": _crime_or_incident(monitoring),
            },
        }
    if repeat_people:
        figures["repeat_people"] = await _repeat_people(heard, people)
    return figures
