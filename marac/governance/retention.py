"""Retention: cases with no referral inside their conference's retention period are anonymised.

Rules (docs/domain.md#retention: retention is set per conference, often 6 years):
- a case is one victim in the conference's person index (every referral naming them as the
  victim); it is past retention when the latest of those referrals was received more than
  the type's `retention_years` before today (any referral counts, rejected ones too);
- nothing happens to a case the coordinator has not been shown for a week: a daily run first
  *lists* a case past retention (the retention page shows it from that day, with the date
  it will be anonymised), and only a run NOTICE_DAYS or more later anonymises it, if it is
  still past retention. A referral in between withdraws it. A missed day delays; it never
  lets the job act on a case nobody saw;
- anonymising keeps every row the quarterly figures count, with the facts they count, and
  removes the rest (see _anonymise_referrals for what is kept, field by field). Rows that
  nothing counts and that exist only to hold what was said (notes, research) are deleted;
- a research list (names, dates of birth, addresses) is deleted with its meeting's first
  anonymised case; a minutes PDF once every case it records is anonymised. The frozen
  minutes and agenda in the database are scrubbed of those cases' text at once;
- a legal hold (a review, an inquiry, a court order) on a person stops the anonymising of
  every case they are the victim of or named in, for as long as it stands: the case is still
  listed, shown as held, and anonymised by the first run after the hold is lifted, if it is
  still past retention and its week's notice has run;
- a referral draft (marac/referrals/drafts.py) is deleted once it has expired, 30 days after its
  last save; each deletion is audited as `referral_draft.expire`;
- the audit trail is never touched (it carries ids only); each run is audited as
  `retention.run` pointing at a RetentionRun row with its counts, and each referral
  anonymised and document deleted as an event of its own.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from marac.actions.models import Action, ActionReview, ActionUpdate, Note, Revision
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.clock import UK, now
from marac.documents import store
from marac.documents.models import Document
from marac.errors import NotFound, RuleViolation
from marac.governance.models import LegalHold, RetentionNotice, RetentionRun
from marac.i18n import gettext
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, ChairPack, Meeting, Research
from marac.minutes import service as minutes
from marac.minutes.models import TransferPackage
from marac.referrals import drafts, people
from marac.referrals.models import Person, Referral, ReferralPerson
from marac.referrals.people import age_band

log = logging.getLogger("marac.retention")

NOTICE_DAYS = 7
RUN_AT = time(3, 0)  # UK time: before anyone is at work, after the day's last edits
DEFAULT_YEARS = 6  # the usual period, for a conference created before types carried one
UPCOMING_DAYS = 60  # how far ahead the retention page looks
# Kept on the victim section: the monitoring categories the figures count.
KEPT_VICTIM_KEYS = ("gender", "monitoring")
KEPT_RISK_KEYS = ("instrument", "score", "level", "computed_level")
KEPT_CONSENT_KEYS = ("victim_aware", "consented")


def _shift_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def retention_years(conference: Conference) -> int:
    return int(conference.type_settings.get("retention_years", DEFAULT_YEARS))


@dataclass
class Case:
    person_id: str
    last_referral_on: date
    referral_ids: list[str]  # those not yet anonymised

    def past_retention_from(self, years: int) -> date:
        # Kept for `years` after the last referral; past retention the day after.
        return _shift_years(self.last_referral_on, years) + timedelta(days=1)


async def _cases(conference: Conference) -> dict[str, Case]:
    """Every victim with a referral not yet anonymised, with the date of their latest referral."""
    rows = await Referral.filter(conference_id=conference.id).values_list(
        "id", "victim_person_id", "received_at", "anonymised_at"
    )
    latest: dict[str, date] = {}
    live: dict[str, list[str]] = defaultdict(list)
    for referral_id, person_id, received_at, anonymised_at in rows:
        latest[person_id] = max(latest.get(person_id, received_at), received_at)
        if anonymised_at is None:
            live[person_id].append(referral_id)
    return {pid: Case(pid, latest[pid], ids) for pid, ids in live.items()}


async def due_cases(conference: Conference, today: date) -> dict[str, Case]:
    years = retention_years(conference)
    return {pid: case for pid, case in (await _cases(conference)).items() if case.past_retention_from(years) <= today}


# --- the report the coordinator reads ------------------------------------------------------------


@dataclass(frozen=True)
class ReportLine:
    person_id: str
    referrals: list[dict[str, Any]]  # id, received_at, status: what the coordinator can open
    labels: list[str]  # the agenda labels ("2026-11-17 case 3"), which name nobody
    last_referral_on: date
    past_retention_from: date
    listed_on: date | None
    anonymise_on: date
    held: bool = False  # a legal hold stands: no run anonymises it until the hold is lifted


@dataclass(frozen=True)
class Report:
    retention_years: int
    next_run: date
    due: list[ReportLine]  # past retention: listed (anonymised on the date shown) or listed at the next run
    upcoming: list[ReportLine]  # past retention within UPCOMING_DAYS
    runs: list[RetentionRun] = field(default_factory=list)
    holds: list[LegalHold] = field(default_factory=list)  # standing holds, newest first

    @property
    def next_run_anonymises(self) -> list[ReportLine]:
        return [line for line in self.due if line.anonymise_on <= self.next_run and not line.held]

    @property
    def held(self) -> list[ReportLine]:
        return [line for line in self.due if line.held]

    @property
    def next_run_referrals(self) -> int:
        return sum(len(line.referrals) for line in self.next_run_anonymises)


async def _lines(
    cases: list[Case], years: int, notices: dict[str, RetentionNotice], next_run: date, held: set[str]
) -> list[ReportLine]:
    ids = [rid for case in cases for rid in case.referral_ids]
    referrals = {r.id: r for r in await Referral.filter(id__in=ids)}
    labels: dict[str, list[str]] = defaultdict(list)
    for item in await AgendaItem.filter(referral_id__in=ids).prefetch_related("meeting").order_by("meeting__date"):
        labels[item.referral_id].append(agenda.label(item.meeting, item))
    lines = []
    for case in cases:
        notice = notices.get(case.person_id)
        past = case.past_retention_from(years)
        listed_on = notice.listed_on if notice else None
        # Listed at the first run on or after it is past retention, anonymised NOTICE_DAYS later.
        anonymise_on = (listed_on or max(past, next_run)) + timedelta(days=NOTICE_DAYS)
        own = sorted((referrals[rid] for rid in case.referral_ids), key=lambda r: r.received_at)
        lines.append(
            ReportLine(
                person_id=case.person_id,
                referrals=[{"id": r.id, "received_at": r.received_at, "status": r.status} for r in own],
                labels=[label for r in own for label in labels[r.id]],
                last_referral_on=case.last_referral_on,
                past_retention_from=past,
                listed_on=listed_on,
                anonymise_on=max(anonymise_on, next_run),
                held=case.person_id in held,
            )
        )
    return sorted(lines, key=lambda line: (line.anonymise_on, line.last_referral_on))


async def report(conference: Conference, today: date, next_run: date) -> Report:
    """What the daily job will do in this conference, with dates; reads only. Names nobody:
    cases are shown by referral dates and agenda labels."""
    years = retention_years(conference)
    cases = await _cases(conference)
    notices = {n.person_id: n for n in await RetentionNotice.filter(conference=conference)}
    horizon = today + timedelta(days=UPCOMING_DAYS)
    due = [c for c in cases.values() if c.past_retention_from(years) <= today]
    upcoming = [c for c in cases.values() if today < c.past_retention_from(years) <= horizon]
    runs = await RetentionRun.filter(conference=conference).order_by("-at").limit(10)
    held = await held_cases(conference, [*due, *upcoming])
    return Report(
        retention_years=years,
        next_run=next_run,
        due=await _lines(due, years, notices, next_run, held),
        upcoming=await _lines(upcoming, years, notices, next_run, held),
        runs=runs,
        holds=await LegalHold.filter(conference=conference, lifted_at__isnull=True).order_by("-set_at"),
    )


# --- legal holds ---------------------------------------------------------------------------------

MAX_REASON = 500


async def held_cases(conference: Conference, cases: list[Case]) -> set[str]:
    """The cases (victims' person ids) a standing hold covers: the held person is the victim,
    or is named (a perpetrator, a child) in one of the case's referrals."""
    standing = LegalHold.filter(conference=conference, lifted_at__isnull=True)
    people = set(cast("list[str]", await standing.values_list("person_id", flat=True)))
    if not people or not cases:
        return set()
    held = {case.person_id for case in cases if case.person_id in people}
    by_referral = {rid: case.person_id for case in cases for rid in case.referral_ids}
    named = await ReferralPerson.filter(referral_id__in=list(by_referral), person_id__in=list(people)).values_list(
        "referral_id", flat=True
    )
    return held | {by_referral[rid] for rid in cast("list[str]", named)}


async def set_hold(
    viewer: Viewer, conference: Conference, *, reason: str, person_id: str = "", referral_id: str = ""
) -> LegalHold:
    """Hold a person of the conference's person index, named by their id or as the victim of a
    referral. The reason is required; the audit event carries the hold's id only."""
    access.require_governance(viewer, conference.id)
    reason, person_id, referral_id = reason.strip(), person_id.strip(), referral_id.strip()
    errors = {}
    if not reason:
        errors["reason"] = gettext("Say why the case must be kept (a review, an inquiry, a court order)")
    elif len(reason) > MAX_REASON:
        errors["reason"] = gettext("Keep the reason to %(num)d characters") % {"num": MAX_REASON}
    if referral_id and not person_id:
        victim = await Referral.filter(id=referral_id, conference_id=conference.id).values_list(
            "victim_person_id", flat=True
        )
        person_id = cast("list[str]", victim)[0] if victim else ""
        if not person_id:
            errors["referral_id"] = gettext("No referral of this conference has that reference")
    elif not person_id:
        errors["referral_id"] = gettext("Enter the referral whose victim's case is to be held")
    elif not await Person.filter(id=person_id, conference_id=conference.id).exists():
        errors["person_id"] = gettext("That person is not in this conference's records")
    if errors:
        raise RuleViolation("The hold was not set", errors)
    existing = await LegalHold.filter(conference=conference, person_id=person_id, lifted_at__isnull=True).first()
    if existing:
        return existing
    async with in_transaction() as conn:
        hold = await LegalHold.create(
            conference=conference,
            person_id=person_id,
            reason=reason,
            set_by=viewer.user_id,
            set_at=now(),
            using_db=conn,
        )
        await record(
            "retention.hold_set",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="legal_hold",
            object_id=hold.id,
            conference_id=conference.id,
            conn=conn,
        )
    return hold


async def lift_hold(viewer: Viewer, conference: Conference, hold_id: str) -> LegalHold:
    access.require_governance(viewer, conference.id)
    hold = await LegalHold.filter(id=hold_id, conference=conference, lifted_at__isnull=True).first()
    if hold is None:
        raise NotFound(gettext("No standing hold with that id"))
    async with in_transaction() as conn:
        hold.lifted_by, hold.lifted_at = viewer.user_id, now()
        await hold.save(using_db=conn, update_fields=["lifted_by", "lifted_at"])
        await record(
            "retention.hold_lift",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="legal_hold",
            object_id=hold.id,
            conference_id=conference.id,
            conn=conn,
        )
    return hold


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    conference_id: str
    slug: str
    listed: int = 0
    withdrawn: int = 0
    anonymised_cases: int = 0
    anonymised_referrals: int = 0
    documents_deleted: int = 0
    held: int = 0  # cases due to be anonymised that a legal hold keeps
    drafts_deleted: int = 0  # referral drafts past their 30 days
    run_id: str | None = None  # None for a dry run: it writes nothing


async def run(
    today: date, *, dry_run: bool = False, slug: str | None = None, requested_by: str | None = None
) -> list[Outcome]:
    """The daily job (and `marac retention run [--dry-run]`), conference by conference.
    A dry run reports what a run would do today and changes nothing."""
    conferences = await Conference.filter(**({"slug": slug} if slug else {})).order_by("slug")
    return [await _run_one(conference, today, dry_run=dry_run, requested_by=requested_by) for conference in conferences]


async def _run_one(conference: Conference, today: date, *, dry_run: bool, requested_by: str | None) -> Outcome:
    due = await due_cases(conference, today)
    notices = {n.person_id: n for n in await RetentionNotice.filter(conference=conference)}
    new = [case for pid, case in due.items() if pid not in notices]
    withdrawn = [notice for pid, notice in notices.items() if pid not in due]
    ripe = [
        case
        for pid, case in due.items()
        if pid in notices and notices[pid].listed_on <= today - timedelta(days=NOTICE_DAYS)
    ]
    # Every held case, due or not: a meeting's research list that also lists one is kept with it.
    cases = await _cases(conference)
    held_all = await held_cases(conference, list(cases.values()))
    kept = {rid for pid in held_all for rid in cases[pid].referral_ids}
    held = [case for case in ripe if case.person_id in held_all]
    ripe = [case for case in ripe if case.person_id not in held_all]
    outcome = Outcome(
        conference.id,
        conference.slug,
        listed=len(new),
        withdrawn=len(withdrawn),
        anonymised_cases=len(ripe),
        anonymised_referrals=sum(len(case.referral_ids) for case in ripe),
        held=len(held),
    )
    # Drafts expired by now, or by the start of the day the run is for when that is later (ahead of time).
    expired_by = max(now(), datetime.combine(today, time(0), tzinfo=UK))
    outcome.drafts_deleted = await drafts.purge_expired(conference.id, expired_by, dry_run=dry_run)
    if dry_run:
        outcome.documents_deleted = len(await _documents_to_delete(conference, ripe, kept=kept))
        return outcome
    at = now()
    async with in_transaction() as conn:
        for case in new:
            await RetentionNotice.create(
                conference=conference,
                person_id=case.person_id,
                last_referral_on=case.last_referral_on,
                listed_on=today,
                using_db=conn,
            )
        await RetentionNotice.filter(id__in=[n.id for n in withdrawn]).using_db(conn).delete()
        documents: list[Document] = []
        packs: list[ChairPack] = []
        transfers: list[TransferPackage] = []
        if ripe:
            await _anonymise(conference, ripe, at, conn)
            documents = await _documents_to_delete(conference, ripe, conn, kept=kept)
            await Document.filter(id__in=[d.id for d in documents]).using_db(conn).delete()
            # A chair's pack holds every listed case whole: it goes with any of them.
            packs = (
                await ChairPack.filter(
                    meeting__items__referral_id__in=[rid for case in ripe for rid in case.referral_ids]
                )
                .using_db(conn)
                .distinct()
            )
            await ChairPack.filter(id__in=[p.id for p in packs]).using_db(conn).delete()
            # A transfer package holds its case whole: it goes with it.
            transfers = await TransferPackage.filter(
                referral_id__in=[rid for case in ripe for rid in case.referral_ids]
            ).using_db(conn)
            await TransferPackage.filter(id__in=[t.id for t in transfers]).using_db(conn).delete()
            for document in documents:
                await record(
                    "retention.document_delete",
                    user_id=requested_by,
                    object_type="document",
                    object_id=document.id,
                    conference_id=conference.id,
                    conn=conn,
                )
            await (
                RetentionNotice.filter(conference=conference, person_id__in=[c.person_id for c in ripe])
                .using_db(conn)
                .delete()
            )
        outcome.documents_deleted = len(documents)
        retention_run = await RetentionRun.create(
            conference=conference,
            at=at,
            day=today,
            listed=outcome.listed,
            withdrawn=outcome.withdrawn,
            anonymised_cases=outcome.anonymised_cases,
            anonymised_referrals=outcome.anonymised_referrals,
            documents_deleted=outcome.documents_deleted,
            requested_by=requested_by,
            using_db=conn,
        )
        await record(
            "retention.run",
            user_id=requested_by,
            object_type="retention_run",
            object_id=retention_run.id,
            conference_id=conference.id,
            conn=conn,
        )
    outcome.run_id = retention_run.id
    # Files go once their rows are gone for good; a file left by a crash here is unreadable
    # without its row (the key is bound to the name) and holds no row to find it by.
    for document in documents:
        store.remove_file(document)
    stored_files: list[ChairPack | TransferPackage] = [*packs, *transfers]
    for stored in stored_files:
        if stored.file_name:
            store.path_for(stored).unlink(missing_ok=True)
    log.info(
        "retention.run conference=%s listed=%d withdrawn=%d anonymised=%d documents=%d held=%d drafts=%d",
        conference.id,
        outcome.listed,
        outcome.withdrawn,
        outcome.anonymised_cases,
        outcome.documents_deleted,
        outcome.held,
        outcome.drafts_deleted,
    )
    return outcome


async def _anonymise(conference: Conference, cases: list[Case], at: Any, conn: Any) -> None:
    referral_ids = [rid for case in cases for rid in case.referral_ids]
    await _anonymise_referrals(referral_ids, at, conn)
    await _release_people(conference, referral_ids, conn)
    items = await AgendaItem.filter(referral_id__in=referral_ids).using_db(conn).prefetch_related("meeting")
    item_ids = [item.id for item in items]
    # Kept: the case at its meeting (section, state, outcome). Gone: the reasons typed for it.
    await AgendaItem.filter(id__in=item_ids).using_db(conn).update(reason=None, outcome_reason=None)
    # Nothing counts research or notes; they exist only to hold what agencies said.
    await Research.filter(item_id__in=item_ids).using_db(conn).delete()
    await Note.filter(item_id__in=item_ids).using_db(conn).delete()
    await Revision.filter(item_id__in=item_ids).using_db(conn).delete()  # earlier wordings of notes and actions
    # Kept: every action, its owner, dates and status history (completion figures). Gone: the words.
    actions = await Action.filter(item_id__in=item_ids).using_db(conn)
    for action in actions:
        action.description = ""
        await action.save(using_db=conn, update_fields=["description"])
    action_ids = [a.id for a in actions]
    await ActionUpdate.filter(action_id__in=action_ids).using_db(conn).update(text="")
    await ActionReview.filter(action_id__in=action_ids).using_db(conn).update(note="")
    await _scrub_frozen(conference, items, set(action_ids), conn)
    for referral_id in referral_ids:
        await record(
            "retention.anonymise", object_type="referral", object_id=referral_id, conference_id=conference.id, conn=conn
        )


async def _anonymise_referrals(referral_ids: list[str], at: Any, conn: Any) -> None:
    """Kept on each referral: dates, meeting, conference, referring agency, criteria, risk
    result, strands, crime or incident, repeat flag and link, status, consent yes/no, the
    victim's gender and monitoring categories, transfer, and on each person named the role
    and age band (how many children, perpetrators of 17 or under). Gone: names, aliases,
    dates of birth, address, safe contact, language, relationship, summary, checklist
    answers, incident dates, every reason typed, where the incident happened and its key."""
    for referral in await Referral.filter(id__in=referral_ids).using_db(conn):
        referral.victim = {k: referral.victim[k] for k in KEPT_VICTIM_KEYS if referral.victim.get(k) is not None}
        referral.risk = {k: referral.risk.get(k) for k in KEPT_RISK_KEYS}
        referral.consent = {k: referral.consent.get(k) for k in KEPT_CONSENT_KEYS}
        referral.summary, referral.judgement_reason, referral.decision_reason, referral.incidents = "", None, None, []
        referral.incident_location, referral.location_key, referral.location_key_version = None, None, None
        referral.anonymised_at = at
        await referral.save(using_db=conn)
        for person in await ReferralPerson.filter(referral_id=referral.id).using_db(conn):
            person.age_band = age_band(person.date_of_birth, referral.received_at)
            person.name, person.aliases, person.date_of_birth, person.relationship = "", [], None, None
            await person.save(using_db=conn)


async def _release_people(conference: Conference, referral_ids: list[str], conn: Any) -> None:
    """Cut anonymised referrals from the person index. Someone named only in them is emptied
    (people.forget); someone still in a kept referral (a perpetrator of a newer case) stays,
    and the old referrals point at a blank entry instead, so nothing links them to a name."""
    victims = await Referral.filter(id__in=referral_ids).using_db(conn).values_list("victim_person_id", flat=True)
    named = await ReferralPerson.filter(referral_id__in=referral_ids).using_db(conn).values_list("person_id", flat=True)
    forget: set[str] = set()
    for person_id in set(cast("list[str]", victims)) | set(cast("list[str]", named)):
        kept = (
            await Referral.filter(victim_person_id=person_id, anonymised_at__isnull=True).using_db(conn).exists()
            or await ReferralPerson.filter(person_id=person_id, referral__anonymised_at__isnull=True)
            .using_db(conn)
            .exists()
        )
        if not kept:
            forget.add(person_id)
            continue
        blank = await Person.create(conference=conference, names=[], using_db=conn)
        await (
            Referral.filter(id__in=referral_ids, victim_person_id=person_id)
            .using_db(conn)
            .update(victim_person_id=blank.id)
        )
        await (
            ReferralPerson.filter(referral_id__in=referral_ids, person_id=person_id)
            .using_db(conn)
            .update(person_id=blank.id)
        )
    await people.forget(forget, conn)


async def _scrub_frozen(conference: Conference, items: list[AgendaItem], action_ids: set[str], conn: Any) -> None:
    """The agenda frozen at publication and the approved minutes hold the cases' text too:
    blank it there. Later meetings list these actions as outstanding, so look from the
    first of these meetings on."""
    if not items:
        return
    item_ids = {item.id for item in items}
    since = min(item.meeting.date for item in items)
    for meeting in await Meeting.filter(conference=conference, date__gte=since).using_db(conn):
        if meeting.snapshot and _scrub_snapshot(meeting.snapshot, item_ids, action_ids):
            await meeting.save(using_db=conn, update_fields=["snapshot"])
    for version, cases, reviews in await minutes.recording(conference.id, items, conn):
        for case in cases:
            case["notes"], case["outcome_reason"] = [], ""
            for action in case.get("actions", []):
                action["description"] = ""
        for review in reviews:
            review["description"], review["note"] = "", ""
        version.content.pop("fingerprints", None)  # digests of the text: nothing of it may stay
        await version.save(using_db=conn, update_fields=["content"])


def _scrub_snapshot(snapshot: dict[str, Any], item_ids: set[str], action_ids: set[str]) -> bool:
    changed = False
    for entry in [e for s in snapshot.get("sections", []) for e in s.get("items", [])] + snapshot.get("moved", []):
        if entry.get("case_id") in item_ids:
            entry.update(victim_name=None, summary="", reason=None)
            changed = True
        if entry.get("action_id") in action_ids:
            entry["description"] = ""
            changed = True
    return changed


async def _documents_to_delete(
    conference: Conference, cases: list[Case], conn: Any = None, kept: set[str] | None = None
) -> list[Document]:
    """Research lists of every meeting that listed one of these cases (a pre-meeting working
    list of names, of no use once a case is past retention) and no case under a legal hold
    (`kept`: its referral ids); minutes PDFs of meetings all of whose recorded cases (heard
    there, or reviewed there) are anonymised or about to be."""
    referral_ids = [rid for case in cases for rid in case.referral_ids]
    if not referral_ids:
        return []
    going = set(referral_ids)
    meetings = set(
        await AgendaItem.filter(referral_id__in=referral_ids).using_db(conn).values_list("meeting_id", flat=True)
    )
    if kept:
        held_at = AgendaItem.filter(referral_id__in=list(kept)).using_db(conn)
        meetings -= set(await held_at.values_list("meeting_id", flat=True))
    reviewed_at = set(
        await ActionReview.filter(action__item__referral_id__in=referral_ids)
        .using_db(conn)
        .values_list("meeting_id", flat=True)
    )
    finished = []
    for meeting_id in meetings | reviewed_at:
        recorded = (
            await AgendaItem.filter(meeting_id=meeting_id, state="listed")
            .using_db(conn)
            .values_list("referral_id", "referral__anonymised_at")
        )
        reviewed = (
            await ActionReview.filter(meeting_id=meeting_id)
            .using_db(conn)
            .values_list("action__item__referral_id", "action__item__referral__anonymised_at")
        )
        if all(rid in going or anonymised for rid, anonymised in [*recorded, *reviewed]):
            finished.append(meeting_id)
    return await Document.filter(
        Q(kind="agenda", meeting_id__in=list(meetings)) | Q(kind="minutes", meeting_id__in=finished)
    ).using_db(conn)
