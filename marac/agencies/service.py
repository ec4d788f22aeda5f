"""Managing the directory: agencies, conferences with their member agencies, and users.

Every change is audited in the same transaction. Only an admin changes the directory: each
service checks it (access.require_manage_directory), so no door can skip it; the command
line acts with no viewer.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypedDict, TypeVar, cast

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from marac import clock, i18n, notices, settings
from marac.agencies import access, auth, queries
from marac.agencies.access import CASE_ROLES, Viewer
from marac.agencies.models import (
    AGENCY_KINDS,
    CONFERENCE_ROLES,
    NATIONS,
    ROLES,
    TIERS,
    WEEKDAYS,
    Agency,
    Conference,
    ConferenceRole,
    Membership,
    User,
)
from marac.audit.service import record
from marac.conference_types import TIME_RE, conference_types, instruments
from marac.errors import Conflict, NotFound, RuleViolation
from marac.i18n import babel_locale, gettext, lazy_gettext
from marac.i18n import gettext as _
from marac.notify import outbox
from marac.validation import is_slug

EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
SETUP_LINK_LIFETIME = timedelta(hours=72)


class Actor(TypedDict):
    user_id: str | None
    agency_id: str | None


def _actor(viewer: Viewer | None) -> Actor:
    return {"user_id": viewer.user_id if viewer else None, "agency_id": viewer.agency_id if viewer else None}


def _text(value: str, field: str, label: str, message: str, limit: int = 200) -> str:
    """`message` says what to enter, with %(num)d for the limit: "Enter full name (up to 200 characters)"."""
    value = (value or "").strip()
    if not value or len(value) > limit:
        raise RuleViolation(f"{label} is required", {field: message % {"num": limit}})
    return value


# --- agencies ------------------------------------------------------------------------


async def create_agency(viewer: Viewer | None, name: str, kind: str, language: str = i18n.DEFAULT) -> Agency:
    access.require_manage_directory(viewer)
    name = _text(name, "name", "Agency name", gettext("Enter agency name (up to %(num)d characters)"))
    if kind not in AGENCY_KINDS:
        raise RuleViolation("Unknown agency kind", {"kind": f"Choose one of: {', '.join(AGENCY_KINDS)}"})
    _language(language)
    if await Agency.filter(name=name).exists():
        raise Conflict(f"An agency called {name!r} already exists", {"name": "An agency with this name already exists"})
    async with in_transaction() as conn:
        agency = await Agency.create(name=name, kind=kind, language=language, using_db=conn)
        await record("agency.create", object_type="agency", object_id=agency.id, conn=conn, **_actor(viewer))
    return agency


def _language(language: str) -> None:
    if language not in i18n.LANGUAGES:
        names = ", ".join(name for name, _tag, _locale in i18n.LANGUAGES.values())
        raise RuleViolation(
            i18n.gettext("Unknown document language"),
            {"language": i18n.gettext("Choose the language of the agency's documents: %(names)s") % {"names": names}},
        )


async def set_agency_language(viewer: Viewer | None, agency: Agency, language: str) -> Agency:
    """The language of the agency's documents (research lists, minutes: README, "Languages"), from the
    next one rendered; audited with the language before and after (`agency.language.<before>.<after>`)."""
    access.require_manage_directory(viewer)
    _language(language)
    if agency.language == language:
        return agency
    before = agency.language
    async with in_transaction() as conn:
        await Agency.filter(id=agency.id).using_db(conn).update(language=language)
        await record(
            f"agency.language.{before}.{language}",
            object_type="agency",
            object_id=agency.id,
            conn=conn,
            **_actor(viewer),
        )
    agency.language = language
    return agency


async def agency_named(name: str) -> Agency:
    """The CLI's lookup: an agency given by name is created (kind other) if missing."""
    agency = await Agency.get_or_none(name=name.strip())
    return agency or await create_agency(None, name, "other")


# --- conferences ---------------------------------------------------------------------


@dataclass(frozen=True)
class MemberSpec:
    agency_id: str
    tier: str
    # Its staff see every referral of the conference as it arrives (access.referral_filter).
    receives_referrals: bool = False


async def _check_members(members: list[MemberSpec]) -> None:
    seen: set[str] = set()
    for index, member in enumerate(members):
        if member.tier not in TIERS:
            raise RuleViolation("Unknown tier", {f"members.{index}.tier": gettext("Choose full or actions_only")})
        if member.agency_id in seen:
            raise RuleViolation(
                "Agency listed twice", {f"members.{index}.agency_id": gettext("This agency is already a member")}
            )
        seen.add(member.agency_id)
    found = set(await Agency.filter(id__in=list(seen)).values_list("id", flat=True))
    for index, member in enumerate(members):
        if member.agency_id not in found:
            raise RuleViolation("Unknown agency", {f"members.{index}.agency_id": gettext("No agency has this id")})


async def create_conference(
    viewer: Viewer | None,
    *,
    name: str,
    slug: str,
    type: str,
    weekday: str,
    start_time: str,
    first_date: date,
    members: list[MemberSpec],
    nation: str = "england_wales",
    move_on_bank_holiday: bool = True,
    venue: str | None = None,
) -> Conference:
    access.require_manage_directory(viewer)
    name = _text(name, "name", "Conference name", gettext("Enter conference name (up to %(num)d characters)"))
    errors: dict[str, str] = {}
    types = conference_types()
    if not is_slug(slug):
        errors["slug"] = gettext("Use 3 to 64 lower-case letters, digits and hyphens")
    if type not in types:
        errors["type"] = gettext("Choose one of: %(choices)s") % {"choices": ", ".join(sorted(types))}
    if weekday not in WEEKDAYS:
        errors["weekday"] = gettext("Choose a day of the week")
    elif WEEKDAYS[first_date.weekday()] != weekday:
        errors["first_date"] = gettext("The first meeting date must be a %(weekday)s") % {
            "weekday": babel_locale().days["format"]["wide"][WEEKDAYS.index(weekday)]
        }
    if not TIME_RE.fullmatch(start_time or ""):
        errors["start_time"] = gettext("Enter a time as HH:MM, for example 10:00")
    if nation not in NATIONS:
        errors["nation"] = f"Choose one of: {', '.join(NATIONS)}"
    if errors:
        raise RuleViolation("The conference details are not valid", errors)
    await _check_members(members)
    if await Conference.filter(slug=slug).exists():
        raise Conflict("A conference with this slug already exists", {"slug": gettext("This slug is taken")})
    async with in_transaction() as conn:
        conference = await Conference.create(
            name=name,
            slug=slug,
            type=type,
            weekday=weekday,
            start_time=start_time,
            first_date=first_date,
            type_settings=frozen_type(type),
            nation=nation,
            move_on_bank_holiday=move_on_bank_holiday,
            venue=(venue or "").strip() or None,
            using_db=conn,
        )
        for member in members:
            await Membership.create(
                conference=conference,
                agency_id=member.agency_id,
                tier=member.tier,
                receives_referrals=member.receives_referrals,
                using_db=conn,
            )
        await record(
            "conference.create",
            object_type="conference",
            object_id=conference.id,
            conference_id=conference.id,
            conn=conn,
            **_actor(viewer),
        )
    return conference


def frozen_type(type: str) -> dict:
    """The type's settings and its risk instrument, as they are today, for a new conference."""
    settings = dict(conference_types()[type])
    settings["instrument_definition"] = instruments()[settings["instrument"]]
    return settings


async def set_membership(viewer: Viewer | None, conference: Conference, member: MemberSpec) -> Membership:
    access.require_manage_directory(viewer)
    await _check_members([member])
    async with in_transaction() as conn:
        membership = await Membership.get_or_none(conference=conference, agency_id=member.agency_id, using_db=conn)
        if membership is None:
            membership = await Membership.create(
                conference=conference,
                agency_id=member.agency_id,
                tier=member.tier,
                receives_referrals=member.receives_referrals,
                using_db=conn,
            )
        else:
            membership.tier = member.tier
            membership.receives_referrals = member.receives_referrals
            await membership.save(using_db=conn, update_fields=["tier", "receives_referrals"])
        await record(
            "membership.set",
            object_type="agency",
            object_id=member.agency_id,
            conference_id=conference.id,
            conn=conn,
            **_actor(viewer),
        )
    return membership


async def remove_membership(viewer: Viewer | None, conference: Conference, agency_id: str) -> None:
    access.require_manage_directory(viewer)
    async with in_transaction() as conn:
        removed = await Membership.filter(conference=conference, agency_id=agency_id).using_db(conn).delete()
        if not removed:
            raise NotFound(gettext("That agency is not a member of this conference"))
        await record(
            "membership.remove",
            object_type="agency",
            object_id=agency_id,
            conference_id=conference.id,
            conn=conn,
            **_actor(viewer),
        )


# --- users ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NewUser:
    user: User
    # The one-time link's token, for whoever may see it: the CLI (the server's operator), or
    # an administrator on a development or demo machine only. None otherwise.
    setup_token: str | None
    # The address the link was e-mailed to, when an administrator made the account.
    link_sent_to: str | None = None


@dataclass(frozen=True)
class Reset:
    setup_token: str | None  # as NewUser.setup_token
    link_sent_to: str | None


SETUP_SUBJECT = lazy_gettext("MARAC: choose your password")
NOTICE_SUBJECT = lazy_gettext("MARAC: an account with case access was created, reset or given a new role")


def setup_url(token: str) -> str:
    return f"{settings.get().base_url}/setup/{token}"


def _setup_body(token: str, reset: bool) -> str:
    # The link and nothing else: no name, agency, conference or case (an e-mail leaves our control).
    first = (
        _("The sign-in of your MARAC account was reset by an administrator.")
        if reset
        else _("An administrator has made you a MARAC account.")
    )
    hours = {"num": SETUP_LINK_LIFETIME // timedelta(hours=1)}
    return "\n".join(
        [
            first,
            "",
            _("Choose your password here within %(num)d hours (the link works once):") % hours,
            setup_url(token),
            "",
            _("You will then set up a second factor (an authenticator app)."),
            _("If you did not expect this message, tell your MARAC coordinator and do not use the link."),
        ]
    )


def _notice_body(kind: str) -> str:
    done = {
        "account_reset": _(
            "An administrator has reset the sign-in of an account with access to the cases of your conference."
        ),
        "account_role": _(
            "An administrator has given an account a new role with access to the cases of your conference."
        ),
    }.get(kind) or _("An administrator has created an account with access to the cases of your conference.")
    return "\n".join(
        [
            done,
            "",
            _("Sign in to see whose: %(link)s") % {"link": f"{settings.get().base_url}/notifications"},
            _("If you did not expect it, tell your administrator and your information governance lead."),
            "",
            _("This message holds no case details on purpose. Please do not reply to it."),
        ]
    )


async def language_of(user_id: str, conn: BaseDBAsyncClient | None = None) -> str | None:
    """The language of a user's e-mails: their own setting, else their agency's document language (a
    new account has no setting yet), English if neither."""
    found = await User.filter(id=user_id).using_db(conn).values("language", "agency__language")
    return (found[0]["language"] or found[0]["agency__language"]) if found else None


async def _granted(
    viewer: Viewer | None,
    user: User,
    token: str | None,
    conferences: list[Conference],
    reset: bool,
    conn: BaseDBAsyncClient,
    roles: dict[str, str] | None = None,
) -> tuple[str | None, str | None]:
    """What follows making an account or resetting its sign-in, in the same transaction;
    returns (the set-up token for the caller to show, the address it was e-mailed to).

    The role is audited per conference the account works in (ids and its role there, `roles`
    by conference id where it is not the user's own). The CLI
    (no viewer) is the server's operator: it gets the token and nothing is sent. An
    administrator never gets it, so they cannot sign in as anyone else: the link goes to the
    user's own address through the outbox, and when the account handles cases, each of its
    conferences' coordinators is told (docs/security.md)."""
    roles = roles or {}
    conference_ids: list[str | None] = [c.id for c in conferences]
    for conference_id in conference_ids or [None]:
        await record(
            f"user.role.{roles.get(conference_id or '', user.role)}",
            object_type="user",
            object_id=user.id,
            conference_id=conference_id,
            conn=conn,
            **_actor(viewer),
        )
    if viewer is None:
        return token, None
    if user.role in CASE_ROLES:
        await _tell_coordinators(user, conferences, "account_reset" if reset else "account_created", conn, roles)
    if token is None:
        return None, None
    expires = user.setup_expires_at
    assert expires is not None  # set with the token (add_user, reset_sign_in)
    await outbox.cancel(user.id, "setup_link", conn)  # an earlier link no longer works
    with i18n.use(await language_of(user.id, conn)):
        subject, body = str(SETUP_SUBJECT), _setup_body(token, reset)
    await outbox.put(user.id, "setup_link", subject, body, expires, conn)
    return (token if settings.get().shows_setup_links else None), user.email


async def _tell_coordinators(
    user: User, conferences: list[Conference], kind: str, conn: BaseDBAsyncClient, roles: dict[str, str]
) -> None:
    """In the app: whose account, which role, which conference. By e-mail: what happened and a link."""
    told: set[str] = set()
    for conference in conferences:
        # Ordered by id: PostgreSQL wants DISTINCT's ORDER BY in its select list (the model orders by name).
        coordinators = await queries.holding_role("coordinator", [conference.id], conn)
        for coordinator_id in [c for c in coordinators if c != user.id]:
            await notices.post(
                coordinator_id,
                kind,
                clock.today(),
                conn=conn,
                about_user_id=user.id,
                conference_id=conference.id,
                role=roles.get(conference.id, user.role),
            )
            told.add(coordinator_id)
    for coordinator_id in sorted(told):
        with i18n.use(await language_of(coordinator_id, conn)):
            subject, body = str(NOTICE_SUBJECT), _notice_body(kind)
        await outbox.put(coordinator_id, "account_notice", subject, body, clock.now() + SETUP_LINK_LIFETIME, conn)


async def add_user(
    viewer: Viewer | None,
    *,
    email: str,
    name: str,
    agency_id: str,
    role: str,
    conference_slugs: list[str],
    conference_roles: dict[str, str] | None = None,
    password: str | None = None,
    demo: bool = False,
) -> NewUser:
    """Without a password the user gets a one-time set-up link (72 hours) to choose their own.

    `conference_roles`: by slug, a role in that conference alone (chair of one, member of another,
    a deputy chair); every other conference given gets the user's own `role`."""
    access.require_manage_directory(viewer)
    email = auth.normalise_email(email or "")
    errors: dict[str, str] = {}
    if not EMAIL_RE.fullmatch(email) or len(email) > 254:
        errors["email"] = gettext("Enter an e-mail address like name@example.org")
    if role not in ROLES:
        errors["role"] = gettext("Choose one of: %(choices)s") % {"choices": ", ".join(ROLES)}
    if errors:
        raise RuleViolation("The user details are not valid", errors)
    name = _text(name, "name", "Full name", gettext("Enter full name (up to %(num)d characters)"))
    agency = await Agency.get_or_none(id=agency_id)
    if agency is None:
        raise RuleViolation("Unknown agency", {"agency_id": gettext("No agency has this id")})
    conferences, by_id = await _placed(agency, role, conference_slugs, conference_roles or {})
    password_hash = auth.hash_password(password, (email, name)) if password else None
    setup_token = None if password else secrets.token_urlsafe(32)
    if await User.filter(email=email).exists():
        raise Conflict(
            "A user with this e-mail already exists", {"email": gettext("This e-mail address is already in use")}
        )
    try:
        async with in_transaction() as conn:
            user = await User.create(
                email=email,
                name=name,
                agency=agency,
                role=role,
                password_hash=password_hash,
                demo=demo,
                using_db=conn,
                setup_token_hash=auth.sha256(setup_token) if setup_token else None,
                setup_expires_at=clock.now() + SETUP_LINK_LIFETIME if setup_token else None,
            )
            if conferences:
                await user.conferences.add(*conferences, using_db=conn)
            for conference_id, its_role in by_id.items():
                await ConferenceRole.create(user=user, conference_id=conference_id, role=its_role, using_db=conn)
            await record("user.create", object_type="user", object_id=user.id, conn=conn, **_actor(viewer))
            shown, sent_to = await _granted(viewer, user, setup_token, list(conferences), False, conn, by_id)
    except IntegrityError as exc:  # a concurrent request took the address between check and insert
        raise Conflict(
            "A user with this e-mail already exists", {"email": gettext("This e-mail address is already in use")}
        ) from exc
    return NewUser(user=user, setup_token=shown, link_sent_to=sent_to)


async def _placed(
    agency: Agency,
    role: str,
    slugs: list[str],
    given: dict[str, str],
    changed: Callable[[str, str], bool] = lambda conference_id, its_role: True,
) -> tuple[list[Conference], dict[str, str]]:
    """The conferences a user of `agency` with their own `role` is given by slug, and the roles given
    in some of them alone by conference id (where they differ from `role`), checked: every slug a
    conference, none twice, the roles as _conference_roles wants, and a member's role only where the
    agency is a member (a member acts for their agency). `changed(conference_id, role there)` says
    which placements to hold to that last rule: all of a new account's; only what a change of
    someone's conferences adds or alters, so one their agency has since left does not block others."""
    again = [index for index, slug in enumerate(slugs) if slug in slugs[:index]]
    if again:
        raise RuleViolation(
            "Conference given twice",
            {
                f"conferences.{again[0]}": gettext("%(conference)s is given more than once: give each conference once")
                % {"conference": slugs[again[0]]}
            },
        )
    # A value no slug can be names nothing: the ORM refuses one longer than the column.
    conferences = await Conference.filter(slug__in=[s for s in slugs if is_slug(s)])
    missing = set(slugs) - {c.slug for c in conferences}
    if missing:
        raise RuleViolation(
            "Unknown conference",
            {
                "conferences": gettext("No conference called %(conferences)s")
                % {"conferences": ", ".join(sorted(missing))}
            },
        )
    roles = _conference_roles(role, slugs, given)
    by_id = {c.id: roles[c.slug] for c in conferences if c.slug in roles}
    checked = [c for c in conferences if by_id.get(c.id, role) == "member" and changed(c.id, "member")]
    if checked:
        member_of = set(await Membership.filter(agency=agency).values_list("conference_id", flat=True))
        outside = [c.slug for c in checked if c.id not in member_of]
        if outside:
            raise RuleViolation(
                "Agency is not a member",
                {
                    "conferences": gettext("%(agency)s is not a member of %(conferences)s")
                    % {"agency": agency.name, "conferences": ", ".join(outside)}
                },
            )
    return list(conferences), by_id


def _conference_roles(role: str, slugs: list[str], given: dict[str, str]) -> dict[str, str]:
    """The roles given by conference slug that differ from the user's own, checked: each one a
    case-handling role or a deputy chair, for a conference the user is given, and none at all for
    an admin or auditor, who never handle cases."""
    errors: dict[str, str] = {}
    for slug, its_role in given.items():
        field = f"conferences.{slugs.index(slug)}.role" if slug in slugs else "conferences"
        if role in access.GLOBAL_ROLES:
            errors[field] = (
                gettext("An admin holds no role in a conference: give the conference alone")
                if role == "admin"
                else gettext("An auditor holds no role in a conference: give the conference alone")
            )
        elif its_role not in CONFERENCE_ROLES:
            errors[field] = gettext("Choose one of: %(choices)s") % {"choices": ", ".join(CONFERENCE_ROLES)}
        elif slug not in slugs:
            errors[field] = gettext(
                "A role was given for %(conference)s, which is not among the user's conferences"
            ) % {"conference": slug}
    if errors:
        raise RuleViolation("The user's conference roles are not valid", errors)
    return {slug: its_role for slug, its_role in given.items() if its_role != role}


async def set_conferences(
    viewer: Viewer | None, user: User, conference_slugs: list[str], conference_roles: dict[str, str] | None = None
) -> User:
    """Gives a user exactly these conferences, with their own role in each unless `conference_roles` gives
    another there (as add_user): adding them to a conference, taking them out of one, or changing their
    role in one. Checked as a new account is; a conference's last coordinator is never taken away (someone
    must triage its referrals and run its meetings: docs/domain.md#roles). Each conference whose role
    changes is audited with the role before and after (`user.conference_role.<before>.<after>`, `none` for
    not given), and where the user now handles cases its coordinators are told as of a new account.
    Entitlements are read afresh on every request, so the change holds from the user's next one."""
    access.require_manage_directory(viewer)
    agency = await Agency.get(id=user.agency_id)
    before = await _roles_of(user)
    given = conference_roles or {}
    conferences, by_id = await _placed(
        agency,
        user.role,
        conference_slugs,
        given,
        # Only what this change adds or alters is held to the membership rule (see _placed).
        changed=lambda conference_id, its_role: before.get(conference_id) != its_role,
    )
    after = {c.id: by_id.get(c.id, user.role) for c in conferences}
    moved = {c: (before.get(c), after.get(c)) for c in sorted(before.keys() | after.keys())}
    moved = {c: roles for c, roles in moved.items() if roles[0] != roles[1]}
    if not moved:
        return user
    async with in_transaction() as conn:
        losing = [c for c, (was, now) in moved.items() if was == "coordinator"]
        if losing and user.active:
            # Locked: two administrators each taking away one of a conference's two coordinators at
            # once must not leave it with none.
            for conference in await Conference.filter(id__in=losing).select_for_update().using_db(conn):
                others = set(await queries.holding_role("coordinator", [conference.id], conn)) - {user.id}
                if not others:
                    raise Conflict(
                        "A conference's last coordinator cannot be taken away",
                        {
                            "conferences": gettext(
                                "%(name)s is the only coordinator of %(conference)s: "
                                "make someone else its coordinator first"
                            )
                            % {"name": user.name, "conference": conference.name}
                        },
                    )
        gone = [c for c, (_, now) in moved.items() if now is None]
        if gone:
            await user.conferences.remove(*await Conference.filter(id__in=gone).using_db(conn), using_db=conn)
        added = [c for c in conferences if before.get(c.id) is None]
        if added:
            await user.conferences.add(*added, using_db=conn)
        await ConferenceRole.filter(user_id=user.id).using_db(conn).delete()
        for conference_id, its_role in by_id.items():
            await ConferenceRole.create(user=user, conference_id=conference_id, role=its_role, using_db=conn)
        for conference_id, (was, now) in moved.items():
            await record(
                f"user.conference_role.{was or 'none'}.{now or 'none'}",
                object_type="user",
                object_id=user.id,
                conference_id=conference_id,
                conn=conn,
                **_actor(viewer),
            )
        told = [c for c in conferences if c.id in moved and after[c.id] in CASE_ROLES]
        if viewer is not None and told:
            await _tell_coordinators(user, told, "account_role", conn, after)
    return user


async def _roles_of(user: User) -> dict[str, str]:
    """The user's role in each conference given them, by conference id."""
    given = cast("list[str]", await user.conferences.all().values_list("id", flat=True))
    roles = dict(await ConferenceRole.filter(user_id=user.id).values_list("conference_id", "role"))
    return {c: roles.get(c, user.role) for c in given}


async def disable(viewer: Viewer | None, user: User) -> None:
    """A disabled user is out on their next request: sessions and tokens end with the flag."""
    access.require_manage_directory(viewer)
    user.active = False
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=["active"])
        await auth.revoke_all(user, conn)
        await record("user.disable", object_type="user", object_id=user.id, conn=conn, **_actor(viewer))


async def change_password(user: User, new: str) -> None:
    """The user's own change, once they have given their current password and a code (a step-up:
    throttled, counted and audited like any other); every other session and token of theirs
    ends with the old password."""
    user.password_hash = auth.hash_password(new, (user.email, user.name))
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=["password_hash"])
        await auth.revoke_all(user, conn)
        await record(
            "user.password_change",
            object_type="user",
            object_id=user.id,
            user_id=user.id,
            agency_id=user.agency_id,
            conn=conn,
        )


async def reset_sign_in(viewer: Viewer | None, user: User) -> Reset:
    """Lost phone or forgotten password: clear both factors, end every session, issue a new
    set-up link (where it goes: _granted)."""
    access.require_manage_directory(viewer)
    setup_token = secrets.token_urlsafe(32)
    user.password_hash = None
    user.totp_secret = None
    user.totp_confirmed = False
    # Someone may hold the old password: the reset is also what lifts a second-factor lock at once.
    user.second_factor_failures = 0
    user.locked_at = None
    user.setup_token_hash = auth.sha256(setup_token)
    user.setup_expires_at = clock.now() + SETUP_LINK_LIFETIME
    async with in_transaction() as conn:
        await user.save(using_db=conn)
        await auth.revoke_all(user, conn)
        await record("user.reset_sign_in", object_type="user", object_id=user.id, conn=conn, **_actor(viewer))
        conferences = await user.conferences.all().using_db(conn)
        roles = dict(await ConferenceRole.filter(user=user).using_db(conn).values_list("conference_id", "role"))
        shown, sent_to = await _granted(viewer, user, setup_token, list(conferences), True, conn, roles)
    return Reset(setup_token=shown, link_sent_to=sent_to)


async def setup_link_user(token: str) -> User:
    """The active user a set-up link belongs to, while the link is unused and in date."""
    user = await User.get_or_none(setup_token_hash=auth.sha256(token or ""), active=True)
    if user is None or user.setup_expires_at is None or user.setup_expires_at < clock.now():
        raise NotFound(_("This set-up link is not valid. Ask your administrator for a new one."))
    return user


async def complete_setup(token: str, password: str) -> User:
    """The user behind a set-up link chooses their password; the link then stops working."""
    user = await setup_link_user(token)
    user.password_hash = auth.hash_password(password, (user.email, user.name))
    user.setup_token_hash = None
    user.setup_expires_at = None
    async with in_transaction() as conn:
        await user.save(using_db=conn, update_fields=["password_hash", "setup_token_hash", "setup_expires_at"])
        await record(
            "user.setup", object_type="user", object_id=user.id, user_id=user.id, agency_id=user.agency_id, conn=conn
        )
    return user


# The directory a page at a time: a national one holds 10,000 users, 1,000 agencies and 300 conferences
# (docs/benchmarks.md, "Every page and API read"). The admin's pages show this many; the API its PAGE_SIZE.
DIRECTORY_PAGE = 50
M = TypeVar("M", bound=Model)


async def _page(query: QuerySet[M], start: int, size: int) -> tuple[list[M], int | None]:
    """`size` rows of `query` from the `start`th, and where the next page starts (None after the last)."""
    found = await query.offset(start).limit(size + 1)
    return found[:size], (start + size if len(found) > size else None)


async def users_page(
    viewer: Viewer, start: int, size: int
) -> tuple[list[User], dict[str, dict[str, str | None]], int | None]:
    """The users the caller may see, by e-mail address: (a page of them, each one's conferences as
    conferences_of() gives them, where the next page starts). The admin's users page and GET /api/v1/users."""
    query = User.filter(access.user_filter(viewer)).prefetch_related("agency").order_by("email", "id")
    found, next_start = await _page(query, start, size)
    return found, await conferences_of([u.id for u in found]), next_start


async def agencies_page(start: int, size: int) -> tuple[list[Agency], int | None]:
    """The agencies by name (names and kinds are not case data): the admin's agencies page and
    GET /api/v1/agencies."""
    return await _page(Agency.all().order_by("name", "id"), start, size)


async def conferences_page(viewer: Viewer, start: int, size: int) -> tuple[list[Conference], int | None]:
    """The conferences the caller may see (an admin: every one) by name, for the admin's conferences page."""
    return await _page(Conference.filter(access.conference_filter(viewer)).order_by("name", "id"), start, size)


async def conferences_of(user_ids: Sequence[str]) -> dict[str, dict[str, str | None]]:
    """Each user's conferences by slug, in slug order, with the role there where it is not their own
    (ConferenceRole), else None: two queries for any number of users (tests/test_query_counts.py). The
    users' own list, the admin's user page and the API read it here."""
    pairs = await User.filter(id__in=list(user_ids), conferences__slug__isnull=False).values_list(
        "id", "conferences__slug"
    )
    roles = {
        (str(user_id), str(slug)): str(role)
        for user_id, slug, role in await ConferenceRole.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "conference__slug", "role"
        )
    }
    found: dict[str, dict[str, str | None]] = {str(user_id): {} for user_id in user_ids}
    for user_id, slug in sorted(pairs, key=lambda pair: str(pair[1])):
        found[str(user_id)][str(slug)] = roles.get((str(user_id), str(slug)))
    return found
