"""JSON API, version 1: thin handlers over the domain services."""

from __future__ import annotations

import re
from datetime import date

from starlette.requests import Request
from starlette.routing import Route

from marac import validation
from marac.agencies import access, service
from marac.agencies.access import Can, Viewer
from marac.agencies.models import Agency, Conference, Membership, User
from marac.audit.service import record, verify
from marac.errors import NotFound, RuleViolation
from marac.ids import ID_PATTERN
from marac.jobs import flows
from marac.meetings import trail
from marac.web import schemas
from marac.web.auth import Caller, api
from marac.web.openapi import DATE, query

PAGE_SIZE = 100
CURSOR_RE = re.compile(r"[0-9]{1,18}")  # an event's seq, or a position in a list: a 64-bit integer


def agency_out(agency: Agency) -> schemas.AgencyOut:
    return schemas.AgencyOut(id=agency.id, name=agency.name, kind=agency.kind, language=agency.language)


async def conference_out(conference: Conference) -> schemas.ConferenceOut:
    members = await Membership.filter(conference=conference).prefetch_related("agency").order_by("agency__name")
    return schemas.ConferenceOut(
        id=conference.id,
        name=conference.name,
        slug=conference.slug,
        type=conference.type,
        weekday=conference.weekday,
        start_time=conference.start_time,
        first_date=conference.first_date,
        nation=conference.nation,
        move_on_bank_holiday=conference.move_on_bank_holiday,
        venue=conference.venue,
        members=[
            schemas.MemberOut(
                agency_id=m.agency_id, name=m.agency.name, tier=m.tier, receives_referrals=m.receives_referrals
            )
            for m in members
        ],
    )


def cursor_of(request: Request) -> int:
    """Where a page of a directory list begins: the `next` of the page before."""
    cursor = request.query_params.get("cursor", "0")
    if not CURSOR_RE.fullmatch(cursor):
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    return int(cursor)


PAGE_CURSOR = query(
    "cursor", {"type": "string", "pattern": f"^{CURSOR_RE.pattern}$"}, "The next value of the previous page"
)


async def user_out(
    user: User,
    created: service.NewUser | None = None,
    conferences: list[str | schemas.ConferenceRoleItem] | None = None,
) -> schemas.UserOut:
    if conferences is None:
        conferences = (await conferences_of([user.id]))[user.id]
    return schemas.UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        agency_id=user.agency_id,
        role=user.role,
        active=user.active,
        conferences=conferences,
        setup_link_sent_to=created.link_sent_to if created else None,
        # The service hands a token to an administrator only on a development or demo server.
        setup_url=service.setup_url(created.setup_token) if created and created.setup_token else None,
    )


async def conferences_of(user_ids: list[str]) -> dict[str, list[str | schemas.ConferenceRoleItem]]:
    return as_written(await service.conferences_of(user_ids))


def as_written(found: dict[str, dict[str, str | None]]) -> dict[str, list[str | schemas.ConferenceRoleItem]]:
    """As the API writes them: a slug, or {slug, role} where the role there is not the user's own."""
    return {
        user_id: [schemas.ConferenceRoleItem(slug=slug, role=role) if role else slug for slug, role in given.items()]
        for user_id, given in found.items()
    }


# --- directory -----------------------------------------------------------------------


@api(Can.MANAGE_DIRECTORY, body=schemas.AgencyIn, response=schemas.AgencyOut, status=201)
async def create_agency(request: Request, caller: Caller, body: schemas.AgencyIn) -> schemas.AgencyOut:
    """Add a partner agency to the directory."""
    return agency_out(await service.create_agency(caller.viewer, body.name, body.kind, body.language))


@api(Can.MANAGE_DIRECTORY, body=schemas.AgencyLanguageIn, response=schemas.AgencyOut)
async def set_agency_language(request: Request, caller: Caller, body: schemas.AgencyLanguageIn) -> schemas.AgencyOut:
    """Set the language of an agency's documents (research lists and minutes rendered from now on): en or cy."""
    agency = await Agency.get_or_none(id=request.path_params["agency_id"])
    if agency is None:
        raise NotFound("No such agency")
    return agency_out(await service.set_agency_language(caller.viewer, agency, body.language))


@api(response=schemas.AgencyList, params=[PAGE_CURSOR])
async def list_agencies(request: Request, caller: Caller) -> schemas.AgencyList:
    """The agencies in the directory by name, PAGE_SIZE a page (names and kinds are not case data)."""
    agencies, next_start = await service.agencies_page(cursor_of(request), PAGE_SIZE)
    return schemas.AgencyList(
        items=[agency_out(a) for a in agencies], next=str(next_start) if next_start is not None else None
    )


@api(Can.MANAGE_DIRECTORY, body=schemas.ConferenceIn, response=schemas.ConferenceOut, status=201)
async def create_conference(request: Request, caller: Caller, body: schemas.ConferenceIn) -> schemas.ConferenceOut:
    """Create a conference of a type defined in agendas/, with its member agencies and their tiers."""
    conference = await service.create_conference(
        caller.viewer,
        name=body.name,
        slug=body.slug,
        type=body.type,
        weekday=body.weekday,
        start_time=body.start_time,
        first_date=body.first_date,
        members=[service.MemberSpec(m.agency_id, m.tier, m.receives_referrals) for m in body.members],
        nation=body.nation,
        move_on_bank_holiday=body.move_on_bank_holiday,
        venue=body.venue,
    )
    return await conference_out(conference)


@api(response=schemas.ConferenceList)
async def list_conferences(request: Request, caller: Caller) -> schemas.ConferenceList:
    """The conferences the caller belongs to (an admin: all)."""
    conferences = await Conference.filter(access.conference_filter(caller.viewer)).order_by("name")
    return schemas.ConferenceList(items=[await conference_out(c) for c in conferences])


@api(response=schemas.ConferenceOut)
async def get_conference(request: Request, caller: Caller) -> schemas.ConferenceOut:
    """One conference the caller belongs to; any other answers 404."""
    return await conference_out(await access.get_conference(caller.viewer, request.path_params["slug"]))


@api(Can.MANAGE_DIRECTORY, body=schemas.UserIn, response=schemas.UserOut, status=201)
async def create_user(request: Request, caller: Caller, body: schemas.UserIn) -> schemas.UserOut:
    """Add a user. Their one-time set-up link is e-mailed to their own address (setup_link_sent_to), never
    given to the caller; a conference's coordinators are told of an account with case access there."""
    created = await flows.add_user(
        caller.viewer,
        email=body.email,
        name=body.name,
        agency_id=body.agency_id,
        role=body.role,
        conference_slugs=[c if isinstance(c, str) else c.slug for c in body.conferences],
        conference_roles={c.slug: c.role for c in body.conferences if not isinstance(c, str)},
    )
    return await user_out(created.user, created)


async def user_seen(viewer: Viewer, params: dict[str, str]) -> None:
    # Anyone but an admin sees only their own account: another's answers 404, as a missing one.
    await access.get_user(viewer, params["user_id"])


@api(
    Can.MANAGE_DIRECTORY,
    record=user_seen,
    body=schemas.UserConferencesIn,
    response=schemas.UserOut,
    errors={409: "The change would leave a conference without a coordinator"},
)
async def set_user_conferences(request: Request, caller: Caller, body: schemas.UserConferencesIn) -> schemas.UserOut:
    """Set the conferences a user works in and their role in each, in the form of POST /api/v1/users: adds them
    to a conference, takes them out of one, or changes their role there. Effective from the user's next request;
    each conference's coordinators are told of a new role with case access there."""
    user = await access.get_user(caller.viewer, request.path_params["user_id"])
    changed = await flows.set_user_conferences(
        caller.viewer,
        user,
        [c if isinstance(c, str) else c.slug for c in body.conferences],
        {c.slug: c.role for c in body.conferences if not isinstance(c, str)},
    )
    return await user_out(changed)


@api(
    Can.MANAGE_DIRECTORY,
    response=schemas.UserList,
    params=[PAGE_CURSOR],
)
async def list_users(request: Request, caller: Caller) -> schemas.UserList:
    """The users in the directory by e-mail address, PAGE_SIZE a page."""
    users, found, next_start = await service.users_page(caller.viewer, cursor_of(request), PAGE_SIZE)
    conferences = as_written(found)
    return schemas.UserList(
        items=[await user_out(u, conferences=conferences[u.id]) for u in users],
        next=str(next_start) if next_start is not None else None,
    )


# --- audit ---------------------------------------------------------------------------

OBJECT_ID_RE = re.compile(r"[!-~]{1,64}")  # printable ASCII, as long as the column


def _matching(value: str, pattern: re.Pattern[str], field: str) -> str:
    # A value no event can hold is a mistake worth naming, not a query (the ORM refuses one
    # longer than its column, PostgreSQL one with a NUL byte).
    if not pattern.fullmatch(value):
        raise RuleViolation("Bad id", {field: "Use an id as the API gives it"})
    return value


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    return validation.day(value, field, "Use a date written YYYY-MM-DD", validation.FILTER_LAST_YEAR)


@api(
    Can.READ_AUDIT,
    response=schemas.AuditList,
    params=[
        query(
            "object_id",
            {"type": "string", "pattern": f"^{OBJECT_ID_RE.pattern}$"},
            "Events about this record",
            empty_is_absent=True,
        ),
        query(
            "case_id",
            {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
            "The whole trail of one case (its case id, or its referral's id): its referral, reads, research, notes,"
            " actions, decisions, and the documents and lists that showed it; nothing about other cases",
            empty_is_absent=True,
        ),
        query(
            "user",
            {"type": "string", "pattern": f"^{ID_PATTERN.pattern}$"},
            "Events by this user id",
            empty_is_absent=True,
        ),
        query("from", DATE, "First day, inclusive", empty_is_absent=True),
        query("to", DATE, "Last day, inclusive", empty_is_absent=True),
        PAGE_CURSOR,
    ],
)
async def list_audit(request: Request, caller: Caller) -> schemas.AuditList:
    """Audit events, oldest first; filter by object_id, case_id, user, from and to (dates, inclusive)."""
    params = request.query_params
    cursor = params.get("cursor", "0")
    if not CURSOR_RE.fullmatch(cursor):
        raise RuleViolation("Bad cursor", {"cursor": "Use the next value of the previous page"})
    events = await trail.read_events(
        caller.viewer,
        case_id=_matching(params["case_id"], ID_PATTERN, "case_id") if params.get("case_id") else None,
        object_id=_matching(params["object_id"], OBJECT_ID_RE, "object_id") if params.get("object_id") else None,
        user_id=_matching(params["user"], ID_PATTERN, "user") if params.get("user") else None,
        start=_day(params.get("from"), "from"),
        end=_day(params.get("to"), "to"),
        after=int(cursor),
        limit=PAGE_SIZE,
    )
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    return schemas.AuditList(
        items=[schemas.AuditEventOut.model_validate(e, from_attributes=True) for e in events],
        next=str(events[-1].seq) if more else None,
    )


@api(Can.VERIFY_AUDIT, response=schemas.AuditVerifyOut)
async def verify_audit(request: Request, caller: Caller) -> schemas.AuditVerifyOut:
    """Recompute the audit chain; names the first event that was edited, removed or moved."""
    result = await verify()
    await record(
        "audit.verify",
        user_id=caller.user.id,
        agency_id=caller.user.agency_id,
        object_type="audit",
        outcome="ok" if result.ok else "failed",
    )
    return schemas.AuditVerifyOut(ok=result.ok, checked=result.checked, first_bad_seq=result.first_bad_seq)


# --- jobs ----------------------------------------------------------------------------


@api(response=schemas.JobOut)
async def get_job(request: Request, caller: Caller) -> schemas.JobOut:
    """The state of a background job the caller asked for."""
    job = await flows.find_job(caller.viewer, request.path_params["job_id"])
    return schemas.JobOut(id=job.id, status=job.status, progress=job.progress, error=job.error)


routes = [
    Route("/api/v1/agencies", create_agency, methods=["POST"]),
    Route("/api/v1/agencies", list_agencies, methods=["GET"]),
    Route("/api/v1/agencies/{agency_id}", set_agency_language, methods=["PATCH"]),
    Route("/api/v1/conferences", create_conference, methods=["POST"]),
    Route("/api/v1/conferences", list_conferences, methods=["GET"]),
    Route("/api/v1/conferences/{slug}", get_conference, methods=["GET"]),
    Route("/api/v1/users", create_user, methods=["POST"]),
    Route("/api/v1/users", list_users, methods=["GET"]),
    Route("/api/v1/users/{user_id}", set_user_conferences, methods=["PATCH"]),
    Route("/api/v1/audit", list_audit, methods=["GET"]),
    Route("/api/v1/audit/verify", verify_audit, methods=["GET"]),
    Route("/api/v1/jobs/{job_id}", get_job, methods=["GET"]),
]
