"""What is waiting for each signed-in user: the home page's to-do list and GET /api/v1/todo
(docs/domain.md#the-to-do-list).

Per conference where the user holds a role, by what that role does there:
- the coordinator: referrals to triage (before the next cut-off), possible duplicates and
  possible matches to decide, minutes not yet circulated (late after 3 working days), and the
  research member agencies have not returned for a published agenda;
- the chair or a deputy chair: minutes to approve, the chair's preparation of a published agenda;
- the user's own agency, wherever it is a member agency (whatever the user's role there): research
  due for a published agenda, its actions overdue and due this week, minutes it has not opened
  yet, and where it receives the conference's referrals, those waiting to be heard, whose victims
  it contacts before the meeting.

Counts, dates and links only: nothing here reads a name, a summary or a sealed field, so there is
no read of a case to audit (each page a link opens audits its own reads). Each figure is one
grouped query over all of the user's conferences, on indexed columns: the number of queries is the
same whatever the amount of data (tests/test_todo.py counts them, and asks PostgreSQL's planner).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel import dates
from tortoise.expressions import Q
from tortoise.functions import Count, Max, Min

from marac import i18n
from marac.actions.models import OPEN, Action
from marac.agencies import access
from marac.agencies.access import Can, Viewer
from marac.agencies.models import WEEKDAYS, Conference, Membership
from marac.i18n import gettext, lazy_gettext, ngettext
from marac.meetings.agenda import CASE_SECTIONS
from marac.meetings.models import AgendaItem, Meeting, Research
from marac.minutes.models import MinutesRecipient, MinutesVersion
from marac.minutes.service import circulation_deadline
from marac.referrals.models import MatchSuggestion, Referral

# Referrals still to be heard: an advocate contacts the victim of each before the meeting.
WAITING = ("received", "accepted")
# The action list's own "due this week" (actions/service.py list_actions): today and the 7 days after.
WEEK = timedelta(days=7)
Add = Callable[[str, "Item"], None]  # an item waiting in a conference
ROLE_WORDS = {
    "coordinator": lazy_gettext("Coordinator"),
    "chair": lazy_gettext("Chair"),
    "deputy_chair": lazy_gettext("Deputy chair"),
    "member": lazy_gettext("Member"),
    "admin": lazy_gettext("Administrator"),
    "auditor": lazy_gettext("Auditor"),
}


@dataclass(frozen=True)
class Item:
    kind: str  # what is waiting: one of KINDS
    count: int
    text: str  # "3 referrals to triage"
    hint: str  # what to do, in counts and dates only
    link: str
    deadline: date | None = None
    late: bool = False
    meeting_id: str | None = None


# Every kind an item may be, in the order each conference lists those of the same urgency.
KINDS = (
    "minutes_to_circulate",
    "minutes_to_approve",
    "triage",
    "research_due",
    "research_outstanding",
    "preparation",
    "referrals_to_contact",
    "actions_overdue",
    "actions_due",
    "possible_duplicates",
    "possible_matches",
    "new_minutes",
)


@dataclass(frozen=True)
class ConferenceTodo:
    id: str
    slug: str
    name: str
    role: str
    items: list[Item] = field(default_factory=list)


def day(value: date) -> str:
    """ "Thu 10 Dec" ("Iau 10 Rhag"): how a to-do item names a date, in the reader's language."""
    return dates.format_date(value, "EEE d MMM", locale=i18n.babel_locale())


def weekday(name: str) -> str:
    """A conference's day ("thursday") as the reader's language names it: "Thursday", "Dydd Iau"."""
    return str(dates.get_day_names("wide", locale=i18n.babel_locale())[WEEKDAYS.index(name)])


def _date(value: date | str) -> date:
    # An aggregate over a date column comes back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _urgency(item: Item) -> tuple[bool, date, int]:
    return (not item.late, item.deadline or date.max, KINDS.index(item.kind))


async def for_viewer(viewer: Viewer, today: date) -> list[ConferenceTodo]:
    """The caller's conferences by name, each with what is waiting there for them, most urgent
    first (late, then by deadline). A conference is listed even with nothing waiting; admins and
    auditors hold no case role in any, so they get none."""
    roles = {c: r for c in viewer.conference_ids if (r := viewer.role_in(c)) in access.CASE_ROLES}
    if not roles:
        return []
    conferences = await Conference.filter(id__in=list(roles)).order_by("name").values("id", "slug", "name", "nation")
    members: dict[str, set[str]] = defaultdict(set)
    for conference_id, agency_id in await Membership.filter(conference_id__in=list(roles)).values_list(
        "conference_id", "agency_id"
    ):
        members[conference_id].add(agency_id)
    # The agency's work goes to its people in the conferences it sits on (access.member_tier).
    ours = {c for c in roles if viewer.agency_id in members[c]}
    coordinated = viewer.where(Can.TRIAGE_REFERRALS)
    managed = viewer.where(Can.MANAGE_MEETINGS)
    chaired = viewer.where(Can.APPROVE_MINUTES)
    slugs = {c["id"]: c["slug"] for c in conferences}
    found: dict[str, list[Item]] = defaultdict(list)

    def add(conference_id: str, item: Item) -> None:
        found[conference_id].append(item)

    published = await _published(ours | managed | chaired, today)
    await _research(viewer, published, ours, managed, chaired, members, add)
    await _triage(viewer, coordinated, slugs, today, add)
    await _minutes(managed, chaired, {c["id"]: c["nation"] for c in conferences}, today, add)
    await _actions(viewer, ours, slugs, today, add)
    await _new_minutes(viewer, ours, add)
    await _to_contact(viewer, viewer.receiving & ours, slugs, today, add)
    return [
        ConferenceTodo(
            id=c["id"],
            slug=c["slug"],
            name=c["name"],
            role=roles[c["id"]],
            items=sorted(found[c["id"]], key=_urgency),
        )
        for c in conferences
    ]


def role_word(role: str) -> str:
    return str(ROLE_WORDS.get(role, role))


# --- published agendas: research and the chair's preparation ------------------------------------


async def _published(conference_ids: Iterable[str], today: date) -> list[dict[str, Any]]:
    """Meetings still to sit whose agenda is published (their research list is out), by date."""
    wanted = sorted(set(conference_ids))
    if not wanted:
        return []
    return (
        await Meeting.filter(conference_id__in=wanted, status="published", date__gte=today)
        .order_by("date")
        .values("id", "conference_id", "date")
    )


async def _research(
    viewer: Viewer,
    published: list[dict[str, Any]],
    ours: set[str],
    managed: frozenset[str],
    chaired: frozenset[str],
    members: dict[str, set[str]],
    add: Add,
) -> None:
    if not published:
        return
    ids = [m["id"] for m in published]
    # The cases of each agenda as its research list has them (agenda.research_list), and each agency's returns.
    cases = dict(
        await AgendaItem.filter(meeting_id__in=ids, state="listed", section__in=list(CASE_SECTIONS))
        .annotate(n=Count("id"))
        .group_by("meeting_id")
        .values_list("meeting_id", "n")
    )
    returned: dict[str, dict[str, int]] = defaultdict(dict)
    for meeting_id, agency_id, n in (
        await Research.filter(item__meeting_id__in=ids, item__state="listed", item__section__in=list(CASE_SECTIONS))
        .annotate(n=Count("id"))
        .group_by("item__meeting_id", "agency_id")
        .values_list("item__meeting_id", "agency_id", "n")
    ):
        returned[meeting_id][agency_id] = n
    for meeting in published:
        conference_id, meeting_id, sits = meeting["conference_id"], meeting["id"], meeting["date"]
        listed = cases.get(meeting_id, 0)
        if not listed:
            continue
        done = returned[meeting_id]
        if conference_id in ours and (left := listed - done.get(viewer.agency_id, 0)) > 0:
            add(
                conference_id,
                Item(
                    "research_due",
                    left,
                    ngettext("Research for %(num)d case due %(day)s", "Research for %(num)d cases due %(day)s", left)
                    % {"num": left, "day": day(sits)},
                    gettext("Your agency has returned %(done)d of %(listed)d")
                    % {"done": done.get(viewer.agency_id, 0), "listed": listed},
                    f"/meetings/{meeting_id}",
                    deadline=sits,
                    meeting_id=meeting_id,
                ),
            )
        if conference_id in managed:
            owed = {a: listed - done.get(a, 0) for a in members[conference_id] if done.get(a, 0) < listed}
            if owed:
                total = sum(owed.values())
                add(
                    conference_id,
                    Item(
                        "research_outstanding",
                        total,
                        ngettext(
                            "%(num)d research return outstanding for %(day)s",
                            "%(num)d research returns outstanding for %(day)s",
                            total,
                        )
                        % {"num": total, "day": day(sits)},
                        ngettext(
                            "From %(num)d agency: the chair's preparation names them",
                            "From %(num)d agencies: the chair's preparation names them",
                            len(owed),
                        )
                        % {"num": len(owed)},
                        f"/meetings/{meeting_id}/preparation#research",
                        deadline=sits,
                        meeting_id=meeting_id,
                    ),
                )
        if conference_id in chaired:
            add(
                conference_id,
                Item(
                    "preparation",
                    listed,
                    gettext("Chair's preparation for %(day)s") % {"day": day(sits)},
                    ngettext("%(num)d case on the agenda", "%(num)d cases on the agenda", listed) % {"num": listed},
                    f"/meetings/{meeting_id}/preparation",
                    deadline=sits,
                    meeting_id=meeting_id,
                ),
            )


# --- the coordinator's referrals -------------------------------------------------------------------


async def _triage(viewer: Viewer, coordinated: frozenset[str], slugs: dict[str, str], today: date, add: Add) -> None:
    if not coordinated:
        return
    wanted = sorted(coordinated)
    # Triage before the next cut-off: an accepted referral received by it goes on that meeting's agenda.
    cut_offs = {
        c: _date(d)
        for c, d in await Meeting.filter(
            conference_id__in=wanted, status="scheduled", date__gte=today, cut_off__gte=today
        )
        .annotate(first=Min("cut_off"))
        .group_by("conference_id")
        .values_list("conference_id", "first")
    }
    seen = Referral.filter(access.referral_filter(viewer), conference_id__in=wanted)
    for conference_id, n in (
        await seen.filter(status="received")
        .annotate(n=Count("id"))
        .group_by("conference_id")
        .values_list("conference_id", "n")
    ):
        add(
            conference_id,
            Item(
                "triage",
                n,
                ngettext("%(num)d referral to triage", "%(num)d referrals to triage", n) % {"num": n},
                gettext("Accept or reject each before the cut-off"),
                f"/referrals?{urlencode({'conference': slugs[conference_id]})}",
                deadline=cut_offs.get(conference_id),
            ),
        )
    duplicates = seen.filter(
        status__in=list(WAITING), possible_duplicate_of_id__isnull=False, kept_apart_reason__isnull=True
    )
    for conference_id, n in (
        await duplicates.annotate(n=Count("id")).group_by("conference_id").values_list("conference_id", "n")
    ):
        add(
            conference_id,
            Item(
                "possible_duplicates",
                n,
                ngettext("%(num)d possible duplicate", "%(num)d possible duplicates", n) % {"num": n},
                gettext("Merge each into the case it repeats, or keep it apart with a reason"),
                f"/referrals?{urlencode({'conference': slugs[conference_id]})}",
            ),
        )
    for conference_id, n in (
        await MatchSuggestion.filter(access.match_filter(viewer), status="pending")
        .annotate(n=Count("id"))
        .group_by("conference_id")
        .values_list("conference_id", "n")
    ):
        add(
            conference_id,
            Item(
                "possible_matches",
                n,
                ngettext("%(num)d possible match", "%(num)d possible matches", n) % {"num": n},
                gettext("Say whether each pair in the person index is one person"),
                "/matches",
            ),
        )


# --- minutes: the chair's approval and the coordinator's circulation ------------------------------


async def _minutes(
    managed: frozenset[str], chaired: frozenset[str], nations: dict[str, str], today: date, add: Add
) -> None:
    """The rule of minutes.service.uncirculated (none approved, none sent, or an agency without its
    copy), read for held meetings that need something only, not the conference's whole history."""
    wanted = sorted(managed | chaired)
    if not wanted:
        return
    waiting: dict[str, tuple[str, date, str]] = {}  # meeting id: (conference id, date, what is missing)
    for meeting_id, conference_id, sat in await Meeting.filter(
        conference_id__in=wanted, status="held", minutes_version=0
    ).values_list("id", "conference_id", "date"):
        waiting[meeting_id] = (conference_id, sat, "approval")
    if managed:
        theirs = sorted(managed)
        # An approved version some agency has not been sent yet, or none has (not requested).
        for meeting_id, conference_id, sat in (
            await MinutesRecipient.filter(
                minutes__status="approved",
                notified_at__isnull=True,
                minutes__meeting__status="held",
                minutes__meeting__conference_id__in=theirs,
            )
            .distinct()
            .values_list("minutes__meeting_id", "minutes__meeting__conference_id", "minutes__meeting__date")
        ):
            waiting[meeting_id] = (conference_id, _date(sat), "copies")
        for meeting_id, conference_id, sat in await MinutesVersion.filter(
            status="approved",
            meeting__status="held",
            meeting__conference_id__in=theirs,
            recipients__id__isnull=True,
        ).values_list("meeting_id", "meeting__conference_id", "meeting__date"):
            waiting[meeting_id] = (conference_id, _date(sat), "request")
    hints = {
        "approval": gettext("The chair has not approved them yet"),
        "copies": gettext("Some agencies have not been sent their copy"),
        "request": gettext("Approved: request the agencies' copies"),
    }
    for meeting_id, (conference_id, sat, missing) in sorted(waiting.items(), key=lambda m: m[1][1]):
        deadline = circulation_deadline(sat, nations[conference_id])
        late = today > deadline
        if conference_id in chaired and missing == "approval":
            add(
                conference_id,
                Item(
                    "minutes_to_approve",
                    1,
                    (
                        gettext("Minutes of %(day)s to approve (late)")
                        if late
                        else gettext("Minutes of %(day)s to approve")
                    )
                    % {"day": day(sat)},
                    gettext("To circulate within 3 working days of the meeting"),
                    f"/meetings/{meeting_id}/minutes",
                    deadline=deadline,
                    late=late,
                    meeting_id=meeting_id,
                ),
            )
        if conference_id in managed:
            add(
                conference_id,
                Item(
                    "minutes_to_circulate",
                    1,
                    (
                        gettext("Minutes of %(day)s not circulated (late)")
                        if late
                        else gettext("Minutes of %(day)s not circulated")
                    )
                    % {"day": day(sat)},
                    hints[missing],
                    f"/meetings/{meeting_id}/circulation",
                    deadline=deadline,
                    late=late,
                    meeting_id=meeting_id,
                ),
            )


# --- the user's agency: actions, minutes, referrals to contact ----------------------------------------


async def _actions(viewer: Viewer, ours: set[str], slugs: dict[str, str], today: date, add: Add) -> None:
    if not ours:
        return
    open_ = Action.filter(owner_agency_id=viewer.agency_id, conference_id__in=sorted(ours), status__in=list(OPEN))
    kinds = (
        (
            "actions_overdue",
            "overdue",
            Q(due_date__lt=today),
            lambda n: ngettext("%(num)d action overdue", "%(num)d actions overdue", n) % {"num": n},
            gettext("Update each, or say why it cannot be done"),
        ),
        (
            "actions_due",
            "due_this_week",
            Q(due_date__gte=today, due_date__lte=today + WEEK),
            lambda n: ngettext("%(num)d action due this week", "%(num)d actions due this week", n) % {"num": n},
            gettext("Your agency's actions due in the next 7 days"),
        ),
    )
    for kind, which, when, text, hint in kinds:
        for conference_id, n, first in (
            await open_.filter(when)
            .annotate(n=Count("id"), first=Min("due_date"))
            .group_by("conference_id")
            .values_list("conference_id", "n", "first")
        ):
            query = {"status": which, "conference": slugs[conference_id], "agency": viewer.agency_id}
            add(
                conference_id,
                Item(
                    kind,
                    n,
                    text(n),
                    hint,
                    f"/actions?{urlencode(query)}",
                    deadline=_date(first),
                    late=kind == "actions_overdue",
                ),
            )


async def _new_minutes(viewer: Viewer, ours: set[str], add: Add) -> None:
    """Minutes versions sent to the agency that nobody there has opened yet (minutes.service.document_for
    sets first_downloaded_at on the agency's first download)."""
    if not ours:
        return
    unread = (
        await MinutesRecipient.filter(
            agency_id=viewer.agency_id,
            status="done",
            first_downloaded_at__isnull=True,
            minutes__status="approved",
            minutes__meeting__conference_id__in=sorted(ours),
        )
        .annotate(n=Count("id"), newest=Max("minutes__meeting__date"))
        .group_by("minutes__meeting__conference_id")
        .values_list("minutes__meeting__conference_id", "n", "newest")
    )
    if not unread:
        return
    newest = {(c, _date(d)): n for c, n, d in unread}
    # The newest of them is the one to link to: one query for all conferences.
    latest = Q(*(Q(conference_id=c, date=sat) for c, sat in newest), join_type="OR")
    for meeting_id, conference_id, sat in (
        await Meeting.filter(latest, status="held").order_by("date", "id").values_list("id", "conference_id", "date")
    ):
        n = newest.pop((conference_id, sat), 0)
        if not n:
            continue
        add(
            conference_id,
            Item(
                "new_minutes",
                n,
                ngettext(
                    "New minutes of %(day)s",
                    "%(num)d new minutes versions, the newest of %(day)s",
                    n,
                )
                % {"num": n, "day": day(sat)},
                gettext("Your agency has not opened them yet"),
                f"/meetings/{meeting_id}",
                meeting_id=meeting_id,
            ),
        )


async def _to_contact(viewer: Viewer, receiving: Iterable[str], slugs: dict[str, str], today: date, add: Add) -> None:
    """The agency receiving the conference's referrals (docs/domain.md#receiving-agencies) contacts each
    victim before the meeting: by the conference's next meeting, the soonest any of them is heard."""
    wanted = sorted(receiving)
    if not wanted:
        return
    waiting = (
        await Referral.filter(
            access.referral_filter(viewer), conference_id__in=wanted, status__in=list(WAITING), monitoring_only=False
        )
        .annotate(n=Count("id"))
        .group_by("conference_id")
        .values_list("conference_id", "n")
    )
    if not waiting:
        return
    sits = {
        c: _date(d)
        for c, d in await Meeting.filter(
            conference_id__in=wanted, status__in=["scheduled", "published"], date__gte=today
        )
        .annotate(first=Min("date"))
        .group_by("conference_id")
        .values_list("conference_id", "first")
    }
    for conference_id, n in waiting:
        add(
            conference_id,
            Item(
                "referrals_to_contact",
                n,
                ngettext("%(num)d new referral to contact", "%(num)d new referrals to contact", n) % {"num": n},
                gettext("Reach each victim before the meeting that hears the referral"),
                f"/referrals?{urlencode({'conference': slugs[conference_id]})}",
                deadline=sits.get(conference_id),
            ),
        )
