"""Directory pages for admins: agencies, conferences with their members, users."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac import i18n, validation
from marac.agencies import access, service
from marac.agencies.access import Can
from marac.agencies.models import (
    AGENCY_KIND_LABELS,
    AGENCY_KINDS,
    CONFERENCE_ROLES,
    ROLES,
    WEEKDAYS,
    Agency,
    Conference,
    Membership,
    User,
)
from marac.conference_types import conference_types
from marac.errors import DomainError, NotFound
from marac.i18n import babel_locale, lazy_gettext, localised
from marac.i18n import gettext as _
from marac.jobs import flows
from marac.notify import email
from marac.reports import service as reports
from marac.web.auth import Caller, page
from marac.web.templating import render

# Each role as people read it, in the user pages (the codes are ROLES and CONFERENCE_ROLES).
ROLE_NAMES = {
    "admin": lazy_gettext("Admin"),
    "coordinator": lazy_gettext("Coordinator"),
    "chair": lazy_gettext("Chair"),
    "deputy_chair": lazy_gettext("Deputy chair"),
    "member": lazy_gettext("Member"),
    "auditor": lazy_gettext("Auditor"),
}


def _weekday_names() -> dict[str, str]:
    """Monday to Sunday in the page's language, from the CLDR (WEEKDAYS starts on Monday, as Babel does)."""
    wide = babel_locale().days["format"]["wide"]
    return {day: str(wide[number]) for number, day in enumerate(WEEKDAYS)}


def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in request.state.form.items() if k != "csrf_token"}


# --- agencies ------------------------------------------------------------------------


def _start(request: Request) -> int:
    """Where the page of a list begins: ?start=, or the start a row's form carried; 0 if unreadable."""
    form = getattr(request.state, "form", None) or {}
    given = request.query_params.get("start") or str(form.get("start", "") or "")
    return validation.whole_number(given or "0", 0, 10**9) or 0


def _pages(start: int, next_start: int | None) -> dict[str, int | None]:
    """The pagination links' starts (macros.html, pagination)."""
    size = service.DIRECTORY_PAGE
    return {"start": start, "previous_start": max(0, start - size) if start else None, "next_start": next_start}


async def _agency_options() -> list[tuple[str, str]]:
    return [(id_, name) for id_, name in await Agency.all().order_by("name").values_list("id", "name")]


async def _conference_choices() -> list[Conference]:
    # Names and slugs only: each conference also holds its whole type file, and a national directory has 300.
    return await Conference.all().order_by("name").only("id", "slug", "name")


async def _agencies(request: Request, status: int = 200, **context) -> Response:
    start = _start(request)
    agencies, next_start = await service.agencies_page(start, service.DIRECTORY_PAGE)
    return render(
        request,
        "admin/agencies.html",
        {
            "agencies": agencies,
            **_pages(start, next_start),
            "kind_options": [(k, str(AGENCY_KIND_LABELS[k])) for k in AGENCY_KINDS],
            "kind_labels": AGENCY_KIND_LABELS,
            # Each language by its own name, as language choices are offered.
            "language_options": [(code, name) for code, (name, _tag, _locale) in i18n.LANGUAGES.items()],
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY)
async def agencies(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _agencies(request)
    values = _form(request)
    try:
        await service.create_agency(
            caller.viewer, values.get("name", ""), values.get("kind", ""), values.get("language", i18n.DEFAULT)
        )
    except DomainError as exc:
        return await _agencies(request, status=400, errors=exc.fields or {"name": exc.message}, values=values)
    return RedirectResponse("/admin/agencies", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def agency_language(request: Request, caller: Caller) -> Response:
    """The language of one agency's documents, changed from its row of the agencies page."""
    agency = await Agency.get_or_none(id=request.path_params["agency_id"])
    if agency is None:
        raise NotFound("No such agency")
    try:
        await service.set_agency_language(caller.viewer, agency, str(request.state.form.get("language", "")))
    except DomainError as exc:
        field = f"language-{agency.id}"
        return await _agencies(request, status=400, errors={field: (exc.fields or {}).get("language", exc.message)})
    return RedirectResponse(f"/admin/agencies?start={_start(request)}", status_code=303)


# --- conferences ---------------------------------------------------------------------


async def _conferences(request: Request, status: int = 200, **context) -> Response:
    start = _start(request)
    conferences, next_start = await service.conferences_page(request.state.caller.viewer, start, service.DIRECTORY_PAGE)
    return render(
        request,
        "admin/conferences.html",
        {
            "conferences": conferences,
            **_pages(start, next_start),
            "type_options": [(slug, localised(t, "name")) for slug, t in conference_types().items()],
            "weekday_options": list(_weekday_names().items()),
            "weekday_names": _weekday_names(),
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY)
async def conferences(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _conferences(request)
    values = _form(request)
    try:
        first_date = validation.day(values.get("first_date", ""), "first_date")
        conference = await service.create_conference(
            caller.viewer,
            name=values.get("name", ""),
            slug=values.get("slug", ""),
            type=values.get("type", ""),
            weekday=values.get("weekday", ""),
            start_time=values.get("start_time", ""),
            first_date=first_date,
            members=[],
        )
    except DomainError as exc:
        return await _conferences(request, status=400, errors=exc.fields or {"name": exc.message}, values=values)
    return RedirectResponse(f"/admin/conferences/{conference.slug}", status_code=303)


async def _conference(request: Request, conference: Conference, status: int = 200, **context) -> Response:
    members = await Membership.filter(conference=conference).prefetch_related("agency").order_by("agency__name")
    return render(
        request,
        "admin/conference.html",
        {
            "conference": conference,
            "members": members,
            "settings_values": {
                "adult_female_population": str(conference.adult_female_population or ""),
                "repeat_rate_benchmark": str(conference.repeat_rate_benchmark),
            },
            "agency_options": await _agency_options(),
            "tier_options": [("full", _("Full minutes")), ("actions_only", _("Own actions only"))],
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY)
async def conference(request: Request, caller: Caller) -> Response:
    found = await access.get_conference(caller.viewer, request.path_params["slug"])
    return await _conference(request, found)


@page(Can.MANAGE_DIRECTORY, step_up="/admin/conferences/{slug}")
async def set_member(request: Request, caller: Caller) -> Response:
    found = await access.get_conference(caller.viewer, request.path_params["slug"])
    values = _form(request)
    try:
        await service.set_membership(
            caller.viewer,
            found,
            service.MemberSpec(
                values.get("agency_id", ""), values.get("tier", ""), values.get("receives_referrals") == "yes"
            ),
        )
    except DomainError as exc:
        fields = {k.split(".")[-1]: v for k, v in exc.fields.items()} or {"agency_id": exc.message}
        return await _conference(request, found, status=400, errors=fields, values=values)
    return RedirectResponse(f"/admin/conferences/{found.slug}", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def remove_member(request: Request, caller: Caller) -> Response:
    found = await access.get_conference(caller.viewer, request.path_params["slug"])
    await service.remove_membership(caller.viewer, found, request.path_params["agency_id"])
    return RedirectResponse(f"/admin/conferences/{found.slug}", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def report_settings(request: Request, caller: Caller) -> Response:
    found = await access.get_conference(caller.viewer, request.path_params["slug"])
    values = _form(request)
    try:
        await reports.update_settings(
            caller.viewer, found, values.get("adult_female_population", ""), values.get("repeat_rate_benchmark", "")
        )
    except DomainError as exc:
        return await _conference(request, found, status=400, errors=exc.fields, settings_values=values)
    return RedirectResponse(f"/admin/conferences/{found.slug}", status_code=303)


# --- users ---------------------------------------------------------------------------


async def _users(request: Request, status: int = 200, **context) -> Response:
    start = _start(request)
    users, conferences_of, next_start = await service.users_page(
        request.state.caller.viewer, start, service.DIRECTORY_PAGE
    )
    return render(
        request,
        "admin/users.html",
        {
            "users": users,
            **_pages(start, next_start),
            "agency_options": await _agency_options(),
            "conferences": await _conference_choices(),
            # By user: {slug: the role there where it is not their own}.
            "conferences_of": conferences_of,
            # No role is chosen for the administrator: one left as it was would make an admin.
            "role_options": [("", _("Choose a role")), *[(r, ROLE_NAMES[r]) for r in ROLES]],
            "conference_role_options": [(r, ROLE_NAMES[r]) for r in CONFERENCE_ROLES],
            "role_names": ROLE_NAMES,
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY, step_up="/admin/users")
async def users(request: Request, caller: Caller) -> Response:
    if request.method == "GET":
        return await _users(request)
    values = _form(request)
    slugs = [str(s) for s in request.state.form.getlist("conferences")]
    try:
        created = await flows.add_user(
            caller.viewer,
            email=values.get("email", ""),
            name=values.get("name", ""),
            agency_id=values.get("agency_id", ""),
            role=values.get("role", ""),
            conference_slugs=slugs,
            conference_roles={s: values[f"role.{s}"] for s in slugs if values.get(f"role.{s}")},
        )
    except DomainError as exc:
        # A conference's role is reported beside the conferences it was chosen with.
        fields = {("conferences" if k.startswith("conferences.") else k): v for k, v in exc.fields.items()}
        return await _users(request, status=400, errors=fields or {"email": exc.message}, values=values)
    return await _users(request, **_link_sent(created.user, created.link_sent_to, created.setup_token))


async def _user(request: Request, user: User, status: int = 200, **context) -> Response:
    given = (await service.conferences_of([user.id]))[user.id]
    await user.fetch_related("agency")
    return render(
        request,
        "admin/user.html",
        {
            "person": user,
            "conferences": await _conference_choices(),
            # What the form shows: the conferences given and each role there, or what was sent back.
            "chosen": {slug: role or "" for slug, role in given.items()},
            "conference_role_options": [(r, ROLE_NAMES[r]) for r in CONFERENCE_ROLES],
            "role_names": ROLE_NAMES,
            "saved": _("Conferences and roles saved") if request.query_params.get("saved") == "1" else None,
            **context,
        },
        status=status,
    )


@page(Can.MANAGE_DIRECTORY)
async def user_page(request: Request, caller: Caller) -> Response:
    return await _user(request, await access.get_user(caller.viewer, request.path_params["user_id"]))


@page(Can.MANAGE_DIRECTORY, step_up="/admin/users/{user_id}")
async def user_conferences(request: Request, caller: Caller) -> Response:
    user = await access.get_user(caller.viewer, request.path_params["user_id"])
    values = _form(request)
    slugs = [str(s) for s in request.state.form.getlist("conferences")]
    roles = {s: values[f"role.{s}"] for s in slugs if values.get(f"role.{s}")}
    try:
        await flows.set_user_conferences(caller.viewer, user, slugs, roles)
    except DomainError as exc:
        # A conference's role is reported beside the conferences it was chosen with.
        fields = {("conferences" if k.startswith("conferences.") else k): v for k, v in exc.fields.items()}
        return await _user(
            request,
            user,
            status=400,
            errors=fields or {"conferences": exc.message},
            chosen={s: roles.get(s, "") for s in slugs},
        )
    return RedirectResponse(f"/admin/users/{user.id}?saved=1", status_code=303)


@page(Can.MANAGE_DIRECTORY)
async def disable_user(request: Request, caller: Caller) -> Response:
    await service.disable(caller.viewer, await access.get_user(caller.viewer, request.path_params["user_id"]))
    return RedirectResponse("/admin/users", status_code=303)


@page(Can.MANAGE_DIRECTORY, step_up="/admin/users")
async def reset_user(request: Request, caller: Caller) -> Response:
    user = await access.get_user(caller.viewer, request.path_params["user_id"])
    reset = await flows.reset_sign_in(caller.viewer, user)
    return await _users(request, **_link_sent(user, reset.link_sent_to, reset.setup_token))


def _link_sent(user: User, sent_to: str | None, token: str | None) -> dict:
    """ "Sent to <address>"; the link itself only when the service gave it (a development or demo server)."""
    return {
        "setup_for": user,
        "setup_sent_to": sent_to,
        "setup_url": service.setup_url(token) if token else None,
        "email_configured": email.configured(),
    }


routes = [
    Route("/admin/agencies", agencies, methods=["GET", "POST"]),
    Route("/admin/agencies/{agency_id}/language", agency_language, methods=["POST"]),
    Route("/admin/conferences", conferences, methods=["GET", "POST"]),
    Route("/admin/conferences/{slug}", conference, methods=["GET"]),
    Route("/admin/conferences/{slug}/members", set_member, methods=["POST"]),
    Route("/admin/conferences/{slug}/members/{agency_id}/remove", remove_member, methods=["POST"]),
    Route("/admin/conferences/{slug}/report-settings", report_settings, methods=["POST"]),
    Route("/admin/users", users, methods=["GET", "POST"]),
    Route("/admin/users/{user_id}", user_page, methods=["GET"]),
    Route("/admin/users/{user_id}/conferences", user_conferences, methods=["POST"]),
    Route("/admin/users/{user_id}/disable", disable_user, methods=["POST"]),
    Route("/admin/users/{user_id}/reset", reset_user, methods=["POST"]),
]
