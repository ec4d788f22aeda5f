"""Who may see what: the only place that decides it.

A caller becomes a Viewer once per request; every query for records a caller might not
be entitled to goes through a filter from here. Deny by default: a role or record this
module does not know about gets nothing. A record outside the filter is reported exactly
like a missing one (NotFound), so outsiders learn nothing from the answer.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, cast

from tortoise.expressions import Q

from marac.agencies.models import Conference, ConferenceRole, Membership, User
from marac.errors import AccessDenied, NotFound
from marac.validation import is_slug

if TYPE_CHECKING:
    from marac.referrals.models import BreakGlass, Referral


class Can(StrEnum):
    """What a role may do, named once: the handlers declare these (@page(Can.X), @api(Can.X))
    and the checks below read the same table. Which records a caller may then see is the
    filters' business, further down. A user may hold another role in each conference: a
    record's check asks for the capability in the conference the record belongs to
    (Viewer.can_in); the handlers' gate asks whether the caller holds it anywhere."""

    MANAGE_DIRECTORY = "directory:manage"  # agencies, conferences, memberships, users
    REFER = "referrals:create"  # make, import, list and read one's referrals
    READ_REFERRALS = "referrals:read_all"  # every referral of the conference, before any agenda
    TRIAGE_REFERRALS = "referrals:triage"  # accept, reject, review possible matches
    TRANSFER_CASES = "referrals:transfer"  # send a heard case to another area's MARAC, with its package
    BREAK_GLASS = "break_glass:use"
    REVIEW_BREAK_GLASS = "break_glass:review"
    READ_AGENDA = "agenda:read"  # the full agenda: names and summaries
    MANAGE_MEETINGS = "meetings:manage"  # schedule, build and publish agendas, circulate minutes
    RESEARCH = "agenda:research"  # the research list and one's agency's research
    RUN_MEETING = "meetings:run"  # attendance, case notes and actions on the day
    WORK_ACTIONS = "actions:update"
    MANAGE_ACTIONS = "actions:manage"  # every action of the conference, whoever owns it
    APPROVE_MINUTES = "minutes:approve"
    READ_MINUTES = "minutes:read"
    READ_SUPERSEDED_MINUTES = "minutes:read_superseded"
    READ_REPORTS = "reports:read"
    READ_EXACT_FIGURES = "reports:read_exact"
    PUBLISH_REPORTS = "reports:publish"  # render the steering-group PDF, set the population figures
    RUN_GOVERNANCE = "governance:run"  # retention, legal holds, subject access
    READ_DASHBOARD = "dashboard:read"
    READ_DISCLOSURES = "disclosures:read"
    READ_AUDIT = "audit:read"
    VERIFY_AUDIT = "audit:verify"


_CASE_WORK = {Can.REFER, Can.BREAK_GLASS, Can.RESEARCH, Can.WORK_ACTIONS, Can.READ_MINUTES}
_OFFICER = _CASE_WORK | {Can.READ_REFERRALS, Can.READ_AGENDA, Can.RUN_MEETING, Can.MANAGE_ACTIONS, Can.READ_REPORTS}
_CHAIR = frozenset(_OFFICER | {Can.APPROVE_MINUTES})
# The one table from role to capabilities. A role not here may do nothing. A deputy chair may do
# everything the chair does (docs/domain.md#roles); that role exists only within a conference.
ROLE_CAN: dict[str, frozenset[Can]] = {
    "admin": frozenset({Can.MANAGE_DIRECTORY}),
    "coordinator": frozenset(
        _OFFICER
        | {
            Can.TRIAGE_REFERRALS,
            Can.TRANSFER_CASES,
            Can.REVIEW_BREAK_GLASS,
            Can.MANAGE_MEETINGS,
            Can.READ_EXACT_FIGURES,
            Can.PUBLISH_REPORTS,
            Can.RUN_GOVERNANCE,
            Can.READ_DASHBOARD,
            Can.READ_DISCLOSURES,
            Can.READ_AUDIT,
        }
    ),
    "chair": _CHAIR,
    "deputy_chair": _CHAIR,
    "member": frozenset(_CASE_WORK),
    "auditor": frozenset(
        {Can.READ_MINUTES, Can.READ_SUPERSEDED_MINUTES, Can.READ_DISCLOSURES, Can.READ_AUDIT, Can.VERIFY_AUDIT}
    ),
}
# Roles that hold for the whole service, never per conference: the admin runs the directory and the
# auditor reads the trail, and neither ever handles cases (agencies/service.py refuses them a
# conference role).
GLOBAL_ROLES = ("admin", "auditor")


def role_can(role: str | None, capability: Can) -> bool:
    return role is not None and capability in ROLE_CAN.get(role, frozenset())


def roles_that(*capabilities: Can) -> tuple[str, ...]:
    """The roles holding every one of `capabilities` (none named: every role)."""
    return tuple(role for role in ROLE_CAN if all(role_can(role, c) for c in capabilities))


@dataclass(frozen=True)
class Viewer:
    user_id: str
    agency_id: str
    role: str  # the user's own role: their role in each conference not given another
    # Conferences this user was given AND (where they act as a member) whose membership their
    # agency holds: removing an agency from a conference takes effect on the next request.
    conference_ids: frozenset[str] = field(default_factory=frozenset)
    # The role in each of conference_ids where it is not `role` (chair of one, member of another).
    conference_roles: dict[str, str] = field(default_factory=dict, hash=False)
    # Those of conference_ids whose referrals the caller's agency receives (receives_referrals).
    receiving: frozenset[str] = field(default_factory=frozenset)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def role_in(self, conference_id: str | None) -> str | None:
        """The caller's role in a conference (None: not one of theirs)."""
        if conference_id not in self.conference_ids:
            return None
        return self.conference_roles.get(conference_id, self.role)

    @property
    def roles(self) -> frozenset[str]:
        """Every role the caller holds: their own when global or given no conference."""
        if self.role in GLOBAL_ROLES or not self.conference_ids:
            return frozenset({self.role})
        return frozenset(self.role_in(c) or self.role for c in self.conference_ids)

    def can(self, *capabilities: Can) -> bool:
        """Whether one of the caller's roles, somewhere, holds every capability named: what a
        handler's gate asks. A record's check asks can_in its own conference."""
        return any(all(role_can(role, c) for c in capabilities) for role in self.roles)

    def can_in(self, conference_id: str | None, capability: Can) -> bool:
        """Whether the caller's role in this conference holds the capability."""
        return role_can(self.role_in(conference_id), capability)

    def where(self, capability: Can) -> frozenset[str]:
        """The caller's conferences in which their role there holds the capability."""
        return frozenset(c for c in self.conference_ids if self.can_in(c, capability))


async def viewer_for(user: User) -> Viewer:
    # values_list(..., flat=True) gives the column's values; Tortoise's types say tuples.
    assigned = cast("list[str]", await user.conferences.all().values_list("id", flat=True))
    given = dict(await ConferenceRole.filter(user_id=user.id).values_list("conference_id", "role"))
    memberships = await Membership.filter(agency_id=user.agency_id, conference_id__in=list(assigned)).values_list(
        "conference_id", "receives_referrals"
    )
    return viewer_of(
        user,
        assigned,
        [c for c, _ in memberships],
        given,
        [c for c, receives in memberships if receives],
    )


def viewer_of(
    user: User,
    assigned: Iterable[str],
    agency_member_of: Iterable[str],
    conference_roles: Mapping[str, str | None] | None = None,
    receiving: Iterable[str] = (),
) -> Viewer:
    """The caller's entitlements: the conferences given to the user, each with the user's role
    there (`conference_roles`, else their own); where they act as an agency member, only those
    whose membership their agency still holds, so removing an agency from a conference takes
    effect on its next request."""
    roles = {c: r for c, r in (conference_roles or {}).items() if r and r != user.role}
    if user.role in GLOBAL_ROLES:
        roles = {}
    member_of = set(agency_member_of)
    kept = frozenset(c for c in assigned if roles.get(c, user.role) != "member" or c in member_of)
    return Viewer(
        user_id=user.id,
        agency_id=user.agency_id,
        role=user.role,
        conference_ids=kept,
        conference_roles={c: r for c, r in roles.items() if c in kept},
        receiving=frozenset(receiving) & kept & member_of,
    )


async def agency_viewer(agency_id: str) -> Viewer:
    """How the agency's own systems see records (its webhooks): as a member of the agency would, in every
    conference the agency sits on, receiving referrals where it does; never with an officer's role, whoever
    works there."""
    memberships = await Membership.filter(agency_id=agency_id).values_list("conference_id", "receives_referrals")
    return Viewer(
        user_id="",
        agency_id=agency_id,
        role="member",
        conference_ids=frozenset(c for c, _ in memberships),
        receiving=frozenset(c for c, receives in memberships if receives),
    )


def require(viewer: Viewer, capability: Can) -> None:
    if not viewer.can(capability):
        raise AccessDenied()


# --- directory -----------------------------------------------------------------------


def conference_filter(viewer: Viewer) -> Q:
    """Admins manage every conference; everyone else sees the conferences they belong to."""
    if viewer.is_admin:
        return Q()
    return Q(id__in=list(viewer.conference_ids))


async def get_conference(viewer: Viewer, slug: str) -> Conference:
    # A value no slug can be names nothing: the ORM refuses one longer than the column.
    if not is_slug(slug):
        raise NotFound("Conference not found")
    conference = await Conference.filter(conference_filter(viewer), slug=slug).first()
    if conference is None:
        raise NotFound("Conference not found")
    return conference


def require_manage_directory(viewer: Viewer | None) -> None:
    """Creating agencies, conferences, memberships and users is the admin's (None: the
    command line, run by whoever operates the server)."""
    if viewer is not None and not viewer.can(Can.MANAGE_DIRECTORY):
        raise AccessDenied("Only an admin manages agencies, conferences and users")


def user_filter(viewer: Viewer) -> Q:
    """Admins manage every account; anyone else sees only their own."""
    if viewer.is_admin:
        return Q()
    return Q(id=viewer.user_id)


async def get_user(viewer: Viewer, user_id: str) -> User:
    user = await User.filter(user_filter(viewer), id=user_id).first()
    if user is None:
        raise NotFound("User not found")
    return user


def audit_filter(viewer: Viewer) -> Q:
    """Auditors read the whole trail; a coordinator reads the events of the conferences they coordinate."""
    if not viewer.can(Can.READ_AUDIT):
        raise AccessDenied("Only auditors and coordinators may read the audit trail")
    if viewer.role == "auditor":
        return Q()
    return Q(conference_id__in=list(viewer.where(Can.READ_AUDIT)))


# --- referrals (case data) -------------------------------------------------------------

CASE_ROLES = roles_that(Can.REFER)  # the roles that handle case data at all


def may_refer(viewer: Viewer, conference_id: str) -> bool:
    """Any member of a conference's agencies may refer (an admin or auditor never handles cases)."""
    return viewer.can_in(conference_id, Can.REFER)


def reads_all_referrals_in(viewer: Viewer) -> frozenset[str]:
    """The conferences of which the caller sees every referral (monitoring-only reports aside):
    where their role there is an officer's (coordinator, chair, deputy chair), and where their
    agency receives the conference's referrals (docs/domain.md#receiving-agencies)."""
    return viewer.where(Can.READ_REFERRALS) | (viewer.receiving & viewer.where(Can.REFER))


def referral_filter(viewer: Viewer) -> Q:
    """Who sees a referral before it reaches an agenda, decided by the caller's role in the
    referral's conference:
    - the coordinator, chair and deputy chair: every referral of the conference, except
      monitoring-only reports, which stay with the agency that made them;
    - a member of the agency that receives the conference's referrals (the IDVA service, a hate
      crime advocacy service): the same, in full, safe contact included, from the moment each
      arrives, so it can reach the victim before the meeting; every read is audited (read_case);
    - any other member agency: the referrals it made (and their outcome), nothing else;
    - admins and auditors: none (they run the directory and read the audit trail)."""
    own = Q(conference_id__in=list(viewer.where(Can.REFER)), referring_agency_id=viewer.agency_id)
    every = list(reads_all_referrals_in(viewer))
    if not every:
        return own
    return Q(conference_id__in=every, monitoring_only=False) | own


def sees_referral(viewer: Viewer, conference_id: str, referring_agency_id: str, monitoring_only: bool) -> bool:
    """referral_filter for one referral already read: whom a notice about it may reach (marac/alerts).
    The same rule, so tests/test_notifications.py compares the two for every persona."""
    if viewer.can_in(conference_id, Can.REFER) and referring_agency_id == viewer.agency_id:
        return True
    return not monitoring_only and conference_id in reads_all_referrals_in(viewer)


def require_triage(viewer: Viewer, conference_id: str) -> None:
    """Accepting and rejecting is the coordinator's job."""
    if not viewer.can_in(conference_id, Can.TRIAGE_REFERRALS):
        raise AccessDenied("Only the conference's coordinator triages referrals")


def may_transfer(viewer: Viewer, conference_id: str) -> bool:
    """Sending a case to another area's MARAC, and its transfer package (the referral in full, the minutes
    extracts, the open actions), are the conference coordinator's alone (docs/domain.md#transfers)."""
    return viewer.can_in(conference_id, Can.TRANSFER_CASES)


def require_history(viewer: Viewer, conference_id: str) -> None:
    """Loading a conference's earlier cases (referrals.history) is its coordinator's, who receives
    its referrals; anyone else is told the page does not exist, so learns nothing of the imports."""
    if not viewer.can_in(conference_id, Can.TRIAGE_REFERRALS):
        raise NotFound("Page not found")


def require_manage_places(viewer: Viewer, conference_id: str) -> None:
    """The places a conference names for repeats by location are the coordinator's, who triages
    the referrals they match (referrals.locations)."""
    if not viewer.can_in(conference_id, Can.TRIAGE_REFERRALS):
        raise AccessDenied("Only the conference's coordinator names its places")


# --- break-glass (README "Break-glass access") -------------------------------------------

BREAK_GLASS_LIFETIME = timedelta(hours=4)
MASKED = "Masked: break-glass access"


def may_break_glass(viewer: Viewer) -> bool:
    """Who may ask for urgent access to a case they are not entitled to: the case-handling
    roles of partner agencies (member, chair, coordinator), whether or not their agency sits
    on the case's conference. Admins and auditors run the directory and read the trail;
    they never handle cases, so they never need one."""
    return viewer.can(Can.BREAK_GLASS)


def break_glass_target_filter() -> Q:
    """What break glass can open: any referral except a monitoring-only report, which was
    made without consent to share and is never shared with anyone (docs/domain.md#consent)."""
    return Q(monitoring_only=False)


def live_break_glass_filter(viewer: Viewer, at: datetime) -> Q:
    """The grants that give this viewer read access now: their own, not ended, not expired,
    made for their current agency, and only while their role may break glass. Checked on
    every request, so ending a grant, its expiry, a role change or a move to another agency
    takes effect on the next one."""
    if not may_break_glass(viewer):
        return Q(id__in=[])
    return Q(user_id=viewer.user_id, agency_id=viewer.agency_id, ended_at__isnull=True, expires_at__gt=at)


def mask_for_break_glass(referral: Referral, grant: BreakGlass) -> None:
    """A break-glass reader sees the case without the victim's address and safe contact,
    unless a coordinator approved contact details for this grant: those are what lead
    someone to the victim. The grant is for this one case, so which earlier referral it repeats
    is withheld too (whether it is a repeat is not). Changes the loaded instance only; the
    caller must never save it."""
    referral.previous_referral_id = None
    if grant.contact_approved_at is not None:
        return
    victim = dict(referral.victim)
    if victim.get("address"):
        victim["address"] = {key: MASKED for key in victim["address"]}
    if victim.get("safe_contact"):
        victim["safe_contact"] = {"phone": MASKED, "safe_to_call": None, "safe_to_leave_message": None}
    if victim.get("safe_ways_to_contact"):
        victim["safe_ways_to_contact"] = MASKED
    referral.victim = victim
    # Where it happened may be the victim's home.
    if (referral.incident_location or {}).get("postcode"):
        referral.incident_location = {"postcode": MASKED}
    # A child's address (where it differs from the victim's) leads to the victim as surely.
    for person in referral.people:
        if person.role == "child" and (person.details or {}).get("address"):
            person.details = {**person.details, "address": {key: MASKED for key in person.details["address"]}}


def break_glass_review_filter(viewer: Viewer) -> Q:
    """Break-glass uses are reviewed by the coordinators of the case's conference."""
    if not viewer.can(Can.REVIEW_BREAK_GLASS):
        raise AccessDenied("Only a conference's coordinator reviews break-glass access")
    return Q(conference_id__in=list(viewer.where(Can.REVIEW_BREAK_GLASS)))


# --- meetings ------------------------------------------------------------------------------


def meeting_filter(viewer: Viewer) -> Q:
    """Meeting dates are not case data: anyone belonging to the conference (an admin: all)."""
    if viewer.is_admin:
        return Q()
    return Q(conference_id__in=list(viewer.conference_ids))


def may_see_agenda(viewer: Viewer, conference_id: str) -> bool:
    """The full agenda (names, summaries) is for the conference's chair (and deputies) and coordinator."""
    return viewer.can_in(conference_id, Can.READ_AGENDA)


def require_manage_meeting(viewer: Viewer, conference_id: str) -> None:
    if not viewer.can_in(conference_id, Can.MANAGE_MEETINGS):
        raise AccessDenied("Only the conference's coordinator changes meetings and agendas")


def may_prepare(viewer: Viewer, conference_id: str) -> bool:
    """The chair's preparation page and pack (every agency's research, the victim's views) are for
    the conference's chair, deputy chairs and coordinator: those who see its full agenda."""
    return may_see_agenda(viewer, conference_id)


def prepared_referral_filter(conference_id: str) -> Q:
    """The referrals the preparation reads a victim's history from: what the conference's chair and
    coordinator see of it (referral_filter), a monitoring-only report never."""
    return Q(conference_id=conference_id, monitoring_only=False)


# Agency kinds that advocate for victims (docs/domain.md#the-advocate-sees-referrals): the IDVA
# service, or for hate crime the advocacy or victim service.
ADVOCACY_KINDS = ("idva", "victim_service")


async def records_victim_contact(agency_id: str, conference_id: str) -> bool:
    """Whether an agency's research may carry its contact with the victim and the victim's views:
    the advocacy agency receiving the conference's referrals (docs/domain.md#the-advocate-sees-referrals).
    Decided here alone: a member agency that receives the conference's referrals; in a conference
    where none is marked as receiving them, a member agency of an advocacy kind, or any member agency
    where none is of those kinds (a hate crime advocate is often a voluntary group)."""
    members = await Membership.filter(conference_id=conference_id).values_list(
        "agency_id", "agency__kind", "receives_referrals"
    )
    if agency_id not in {member for member, _, _ in members}:
        return False
    receiving = {member for member, _, receives in members if receives}
    if receiving:
        return agency_id in receiving
    advocates = {member for member, kind, _ in members if kind in ADVOCACY_KINDS}
    return agency_id in advocates or not advocates


async def member_tier(viewer: Viewer, conference_id: str) -> str | None:
    """The tier of the caller's agency in the conference, or None when it is not a member
    (or the caller's role there handles no cases)."""
    if viewer.role_in(conference_id) not in CASE_ROLES:
        return None
    membership = await Membership.get_or_none(conference_id=conference_id, agency_id=viewer.agency_id)
    return membership.tier if membership else None


async def may_see_who_cases_are_about(viewer: Viewer, conference_id: str) -> bool:
    """Whether the victim's name may stand beside a listed case's label (agenda, run page, actions, research):
    for the conference's chair and coordinator, who read the full agenda, and its member agencies, which
    receive the research list with the names. Never documents: they keep labels only."""
    return may_see_agenda(viewer, conference_id) or await member_tier(viewer, conference_id) is not None


# --- actions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionScope:
    every_owner: frozenset[str]  # conferences whose every action the caller lists
    own_agency: frozenset[str]  # conferences where the caller lists their agency's actions only
    agency_id: str


def action_scope(viewer: Viewer) -> ActionScope | None:
    """Actions a caller lists, by their role in each conference: as its chair, deputy chair or
    coordinator, all of the conference's; as a member, the ones their agency owns. Admins and
    auditors: none (None)."""
    if not viewer.can(Can.WORK_ACTIONS):
        return None
    every = viewer.where(Can.MANAGE_ACTIONS)
    return ActionScope(every, viewer.where(Can.WORK_ACTIONS) - every, viewer.agency_id)


async def action_access(viewer: Viewer, conference_id: str, owner_agency_id: str) -> str:
    """'update' (owner agency, chair, deputy chair, coordinator), 'see' (a full-tier member: the
    action is in its minutes) or 'none' (answer 404)."""
    if viewer.role_in(conference_id) not in CASE_ROLES:
        return "none"
    if viewer.can_in(conference_id, Can.MANAGE_ACTIONS) or viewer.agency_id == owner_agency_id:
        return "update"
    return "see" if await member_tier(viewer, conference_id) == "full" else "none"


def may_amend_action(viewer: Viewer, conference_id: str) -> bool:
    """What an action says, who owns it and when it is due are the meeting's decision: the
    conference's chair and coordinator change them, never the owner agency."""
    return viewer.can_in(conference_id, Can.RUN_MEETING)


# --- minutes ------------------------------------------------------------------------------


def require_chair(
    viewer: Viewer, conference_id: str, message: str = "Only the conference's chair approves minutes"
) -> None:
    """Approving minutes (and reopening a closed meeting) is the conference chair's act (or a deputy chair's)."""
    if not viewer.can_in(conference_id, Can.APPROVE_MINUTES):
        raise AccessDenied(message)


def minutes_view(tier_now: str | None, tier_circulated: str) -> str | None:
    """Which view of a meeting's minutes an agency gets, decided again on every download and
    render: never wider than its tier today, so lowering an agency from full to actions-only
    reaches minutes already rendered, and never wider than its tier when the minutes were
    circulated, so raising it later hands out no full minutes of earlier meetings. None: not
    a member any more (404)."""
    if tier_now is None:
        return None
    return "full" if tier_now == tier_circulated == "full" else "actions_only"


def reads_superseded_minutes(viewer: Viewer) -> bool:
    """A superseded version stays downloadable to auditors only; everyone else gets their
    own agency's current version."""
    return viewer.can(Can.READ_SUPERSEDED_MINUTES)


def match_filter(viewer: Viewer) -> Q:
    """Possible matches between people are the coordinator's to review, per conference."""
    if not viewer.can(Can.TRIAGE_REFERRALS):
        raise AccessDenied("Only the conference's coordinator reviews possible matches")
    return Q(conference_id__in=list(viewer.where(Can.TRIAGE_REFERRALS)))


def job_filter(viewer: Viewer) -> Q:
    """A job's status is for whoever asked for it."""
    return Q(requested_by=viewer.user_id)


# --- information governance ----------------------------------------------------------------


def require_governance(viewer: Viewer, conference_id: str) -> None:
    """Retention reports and subject access exports are the conference coordinator's
    (docs/domain.md#subject-access: subject access requests go to the coordinator)."""
    if not viewer.can_in(conference_id, Can.RUN_GOVERNANCE):
        raise AccessDenied("Only the conference's coordinator handles retention and subject access")


def subject_filter(viewer: Viewer) -> Q:
    """People in the person index a caller may export everything about: the coordinator's
    conferences' (the export then holds only referrals referral_filter lets them see)."""
    return Q(conference_id__in=list(viewer.where(Can.RUN_GOVERNANCE)))


# --- quarterly reports (docs/domain.md#quarterly-figures) -------------------------------------


def may_read_reports(viewer: Viewer, conference_id: str) -> bool:
    """A conference's quarterly figures are for its coordinator (who produces them) and its chair
    (who presents them to the steering group). Members receive them as the steering-group PDF
    the coordinator circulates; admins and auditors handle no case data, even counted."""
    return viewer.can_in(conference_id, Can.READ_REPORTS)


async def report_conference(viewer: Viewer, slug: str) -> Conference:
    """A conference whose figures the caller may read; 404 for any other, as for none."""
    if not is_slug(slug):
        raise NotFound("Conference not found")
    conference = await Conference.filter(conference_filter(viewer), slug=slug).first()
    if conference is None or not may_read_reports(viewer, conference.id):
        raise NotFound("Conference not found")
    return conference


def reads_exact_figures(viewer: Viewer, conference_id: str | None) -> bool:
    """Exact small numbers, and who the repeat victims and perpetrators are, only on the screen
    of the conference's coordinator; every export and shared document shows 1 to 5 as "≤5"."""
    return viewer.can_in(conference_id, Can.READ_EXACT_FIGURES)


def require_report_settings(viewer: Viewer, conference_id: str) -> None:
    """The adult female population and repeat-rate benchmark: an admin, or the conference's coordinator."""
    if not (viewer.can(Can.MANAGE_DIRECTORY) or viewer.can_in(conference_id, Can.PUBLISH_REPORTS)):
        raise AccessDenied("Only an administrator or the conference's coordinator sets report figures")


def require_report_render(viewer: Viewer, conference_id: str) -> None:
    """The steering-group PDF is the coordinator's to produce."""
    if not viewer.can_in(conference_id, Can.PUBLISH_REPORTS):
        raise AccessDenied("Only the conference's coordinator produces the quarterly report")
