"""Referral intake, repeat detection and triage.

Rules (docs/domain.md#referral-criteria, #repeat-referrals, #consent):
- any member of a conference's agencies may refer; the referring agency is the caller's;
- a referral must meet at least one criterion of its conference type (rules.criteria_met);
- a repeat is a further referral about the same victim (and perpetrator, where the type
  says so) within the type's window of the LAST referral date, not the meeting date;
- without consent the reason for sharing anyway is mandatory; where the type keeps
  reports without consent for monitoring only (hate crime), such a report counts in
  figures and is never shared;
- an accepted referral joins the first meeting whose cut-off its received date meets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.clock import now
from marac.errors import Conflict, NotFound, RuleViolation
from marac.meetings.schedule import meeting_for_referral
from marac.referrals import break_glass, people, rules
from marac.referrals.models import (
    REFERRAL_STATUSES,
    BreakGlass,
    MatchSuggestion,
    Person,
    PersonKey,
    Referral,
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
# Referrals that count as referrals for repeats: not rejected, not monitoring-only.
LIVE_STATUSES = ["received", "accepted", "heard"]


@dataclass(frozen=True)
class Checked:
    """A referral that passed every rule, ready to store."""

    body: ReferralIn
    conference: Conference
    risk: rules.RiskResult
    monitoring_only: bool


async def _conference_for(viewer: Viewer, slug: str) -> Conference:
    conference = await Conference.get_or_none(slug=slug)
    if conference is None or not access.may_refer(viewer, conference.id):
        # One answer for "no such conference" and "not yours": outsiders learn nothing.
        raise RuleViolation("Unknown conference", {"conference": "No conference you belong to has this name"})
    return conference


def _check_dates(body: ReferralIn, today: date) -> dict[str, str]:
    errors: dict[str, str] = {}
    if body.received_at > today:
        errors["received_at"] = "The date received cannot be in the future"
    people_dobs = [("victim.date_of_birth", body.victim.date_of_birth)]
    people_dobs += [(f"perpetrators.{i}.date_of_birth", p.date_of_birth) for i, p in enumerate(body.perpetrators)]
    people_dobs += [(f"children.{i}.date_of_birth", c.date_of_birth) for i, c in enumerate(body.children)]
    for field, dob in people_dobs:
        if dob and (dob > today or today.year - dob.year > MAX_AGE_YEARS):
            errors[field] = "Enter a date of birth in the past (and within 120 years)"
    for index, day in enumerate(body.incidents):
        if day > body.received_at:
            errors[f"incidents.{index}"] = "An earlier incident cannot be after the date received"
    return errors


def _check_strands(body: ReferralIn, type_settings: dict) -> dict[str, str]:
    strands = {s["key"]: {c["key"] for c in s.get("subcategories", [])} for s in type_settings.get("strands", [])}
    hate_crime = type_settings.get("kind") == "hate_crime"
    errors: dict[str, str] = {}
    if not strands and body.strands:
        errors["strands"] = f"{type_settings['name']} does not record monitored strands"
    for index, value in enumerate(body.strands):
        strand, _, sub = value.partition(":")
        if strand not in strands:
            errors[f"strands.{index}"] = (
                f"Choose one of: {', '.join(strands)}" if strands else "Not recorded for this conference"
            )
        elif sub and sub not in strands[strand]:
            errors[f"strands.{index}"] = f"{strand} sub-categories are: {', '.join(sorted(strands[strand])) or 'none'}"
    if hate_crime and not body.strands:
        errors["strands"] = "Choose at least one monitored strand (the victim's or anyone's perception)"
    if hate_crime and body.incident_kind is None:
        errors["incident_kind"] = "Say whether this is a crime or a non-crime hate incident"
    return errors


def _consent(body: ReferralIn, type_settings: dict) -> tuple[bool, dict[str, str]]:
    """(monitoring only?, errors)."""
    consent = body.consent
    if consent.consented and not consent.victim_aware:
        return False, {"consent.victim_aware": "A victim who consented knows about the referral: answer yes"}
    if consent.consented or (consent.reason_if_not or "").strip():
        return False, {}
    if type_settings.get("monitoring_only_without_consent"):
        return True, {}
    return False, {
        "consent.reason_if_not": (
            "Without the victim's consent, say why sharing goes ahead (for example risk of serious harm)"
        )
    }


async def check(viewer: Viewer, payload: object, today: date) -> Checked:
    """Every rule that needs no person matching; raises RuleViolation naming each bad field."""
    body = payload if isinstance(payload, ReferralIn) else parse(payload)
    conference = await _conference_for(viewer, body.conference)
    settings = conference.type_settings
    errors = _check_dates(body, today) | _check_strands(body, settings)
    monitoring_only, consent_errors = _consent(body, settings)
    errors |= consent_errors
    if body.risk.instrument != settings["instrument"]:
        errors["risk.instrument"] = f"{settings['name']} uses the {settings['instrument']} instrument"
    if errors:
        raise RuleViolation("The referral is not valid", errors)
    risk = rules.assess_risk(
        settings["instrument_definition"],
        score=body.risk.score,
        level=body.risk.level,
        answers=body.risk.answers,
        judgement_reason=body.judgement_reason,
    )
    return Checked(body=body, conference=conference, risk=risk, monitoring_only=monitoring_only)


async def _previous_referrals(
    conference_id: str, victim: Person, before: date, exclude: str | None = None
) -> list[Referral]:
    query = (
        Referral.filter(
            conference_id=conference_id,
            victim_person=victim,
            received_at__lte=before,
            status__in=LIVE_STATUSES,
        )
        .prefetch_related("people")
        .order_by("-received_at", "-created_at")
    )
    if exclude:
        query = query.exclude(id=exclude)
    return await query


def _repeat_of(
    previous: list[Referral], perpetrator_ids: set[str], received: date, type_settings: dict
) -> Referral | None:
    """The last referral that makes this one a repeat, or None."""
    window = int(type_settings["repeat"]["window_months"])
    needs_perpetrator = "perpetrator" in type_settings["repeat"]["match"]
    for earlier in previous:  # newest first: the window runs from the LAST referral
        if not rules.within_window(earlier.received_at, received, window):
            return None
        if not needs_perpetrator or perpetrator_ids & {p.person_id for p in earlier.people if p.role == "perpetrator"}:
            return earlier
    return None


def _incidents_in_window(
    incident_days: list[date], previous: list[Referral], received: date, type_settings: dict
) -> int:
    """This incident, the earlier ones the referrer lists, and earlier referrals about the
    same victim, counted once per day, inside the escalation window."""
    escalation = type_settings.get("criteria", {}).get("escalation")
    months = int(escalation["window_months"]) if escalation else 12
    days = {received} | {d for d in incident_days if rules.within_window(d, received, months)}
    days |= {r.received_at for r in previous if rules.within_window(r.received_at, received, months)}
    return len(days)


async def submit(viewer: Viewer, payload: object, today: date) -> Referral:
    checked = await check(viewer, payload, today)
    body, conference = checked.body, checked.conference
    postcode = body.victim.address.postcode if body.victim.address else None
    async with in_transaction() as conn:
        index = not checked.monitoring_only

        async def resolve(facts):
            return await people.resolve(conference.id, facts, conn, index=index)

        victim = await resolve(
            people.person_facts(body.victim.name, body.victim.aliases, body.victim.date_of_birth, postcode)
        )
        perpetrators = [
            await resolve(people.person_facts(p.name, p.aliases, p.date_of_birth, None)) for p in body.perpetrators
        ]
        children = [await resolve(people.person_facts(c.name, [], c.date_of_birth, postcode)) for c in body.children]
        previous = await _previous_referrals(conference.id, victim.person, body.received_at)
        repeat_of = _repeat_of(
            previous, {p.person.id for p in perpetrators}, body.received_at, conference.type_settings
        )
        incidents = _incidents_in_window(body.incidents, previous, body.received_at, conference.type_settings)
        met = rules.criteria_met(
            conference.type_settings,
            checked.risk,
            claimed=list(body.criteria),
            judgement_reason=body.judgement_reason,
            incidents_in_window=incidents,
            is_repeat=repeat_of is not None,
        )
        meeting = None if checked.monitoring_only else await meeting_for_referral(conference, body.received_at)
        referral = await Referral.create(
            conference=conference,
            referring_agency_id=viewer.agency_id,
            referrer_id=viewer.user_id,
            received_at=body.received_at,
            criteria_claimed=list(body.criteria),
            criteria_met=met,
            risk={
                "instrument": checked.risk.instrument,
                "score": checked.risk.score,
                "level": checked.risk.level,
                "computed_level": checked.risk.computed_level,
                "answers": checked.risk.answers,
            },
            judgement_reason=body.judgement_reason,
            victim=body.victim.model_dump(mode="json"),
            victim_person=victim.person,
            strands=list(body.strands),
            incident_kind=body.incident_kind,
            incidents=[d.isoformat() for d in body.incidents],
            incidents_in_window=incidents,
            summary=body.summary,
            consent=body.consent.model_dump(mode="json"),
            transfer_from=body.transfer_from,
            is_repeat=repeat_of is not None,
            previous_referral=repeat_of,
            monitoring_only=checked.monitoring_only,
            status="monitoring_only" if checked.monitoring_only else "received",
            expected_meeting=meeting,
            using_db=conn,
        )
        rows: list[tuple[str, int, Any, str, list[str], date | None, str | None]] = [
            ("victim", 0, victim, body.victim.name, body.victim.aliases, body.victim.date_of_birth, None)
        ]
        rows += [
            ("perpetrator", i, r, p.name, p.aliases, p.date_of_birth, p.relationship)
            for i, (r, p) in enumerate(zip(perpetrators, body.perpetrators, strict=True))
        ]
        rows += [
            ("child", i, r, c.name, [], c.date_of_birth, None)
            for i, (r, c) in enumerate(zip(children, body.children, strict=True))
        ]
        for role, position, resolved, name, aliases, dob, relationship in rows:
            await ReferralPerson.create(
                referral=referral,
                person=resolved.person,
                role=role,
                position=position,
                name=name,
                aliases=list(aliases),
                date_of_birth=dob,
                relationship=relationship,
                using_db=conn,
            )
            await people.suggest(conference.id, resolved, conn)
        await record(
            "referral.create",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral",
            object_id=referral.id,
            conference_id=conference.id,
            conn=conn,
        )
    return referral


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
        raise RuleViolation(
            f"{len({k.split(':')[0] for k in errors})} rows are not valid; nothing was imported", errors
        )
    created = []
    async with in_transaction():
        for _, payload in rows:
            created.append(await submit(viewer, payload, today))
    return created


# --- reading -------------------------------------------------------------------------

_CASE_RELATIONS = ("people", "referring_agency", "conference", "meeting", "expected_meeting")


async def read_case(viewer: Viewer, referral_id: str) -> tuple[Referral, BreakGlass | None]:
    """One referral as the caller may see it, and the break-glass grant it was opened
    under (None when the caller is entitled to it). Every read is audited; a read under
    break glass also as `break_glass.read` with the grant's id, and with the victim's
    address and safe contact masked unless a coordinator approved them."""
    referral = (
        await Referral.filter(access.referral_filter(viewer), id=referral_id).prefetch_related(*_CASE_RELATIONS).first()
    )
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
    referral = (
        await Referral.filter(access.referral_filter(viewer), id=referral_id).prefetch_related("conference").first()
    )
    if referral is None:
        raise NotFound("Referral not found")
    access.require_triage(viewer, referral.conference_id)
    reason = (reason or "").strip() or None
    if decision not in ("accept", "reject"):
        raise RuleViolation("Unknown decision", {"decision": "Choose accept or reject"})
    if decision == "reject" and not reason:
        raise RuleViolation(
            "A rejection needs a reason", {"reason": "Say why the referral is rejected; the referrer will see it"}
        )
    if referral.status != "received":
        raise Conflict(f"This referral was already decided ({referral.status})")
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
    return referral


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
        raise RuleViolation("Unknown status", {"status": f"Choose one of: {', '.join(REFERRAL_STATUSES)}"})
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
    access.require(viewer, access.Can.TRIAGE_REFERRALS)
    query = Referral.filter(
        access.referral_filter(viewer),
        status="received",
        conference_id__in=list(viewer.where(access.Can.TRIAGE_REFERRALS)),
    )
    if conference_id:
        query = query.filter(conference_id=conference_id)
    return await query.prefetch_related("conference", "referring_agency", "previous_referral").order_by(
        "received_at", "created_at"
    )


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
        raise Conflict("This suggestion was already decided")
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
    """After a merge, a referral about this victim may have become a repeat."""
    for referral in await Referral.filter(victim_person=person, status__in=LIVE_STATUSES).prefetch_related(
        "people", "conference"
    ):
        previous = await _previous_referrals(referral.conference_id, person, referral.received_at, exclude=referral.id)
        previous = [p for p in previous if (p.received_at, p.created_at) < (referral.received_at, referral.created_at)]
        perpetrators = {p.person_id for p in referral.people if p.role == "perpetrator"}
        repeat_of = _repeat_of(previous, perpetrators, referral.received_at, referral.conference.type_settings)
        if (repeat_of.id if repeat_of else None) != referral.previous_referral_id:
            await Referral.filter(id=referral.id).update(
                is_repeat=repeat_of is not None, previous_referral_id=repeat_of.id if repeat_of else None
            )
