"""Break-glass access to one case (README "Break-glass access").

Rules (who may, what a grant opens and what stays masked are in agencies/access.py):
- a user of a case-handling role who is not entitled to a referral and has an urgent
  safeguarding need names it by its reference (the referral id), gives a reason, and
  re-enters their password and a fresh authenticator code; a failure grants nothing, is
  audited as denied and counts towards the sign-in throttle of that account and address;
- the step-up comes before the reference is looked up, and an unknown reference answers
  like a reference break glass cannot open (monitoring-only): the form tells nobody which
  cases exist unless they pass the step-up, and then only by opening the case, which is
  audited and reported to the case's coordinators;
- a grant gives read access to that one referral for 4 hours; the start, every read and
  the end (ended by the user, revoked by a coordinator, or expired) are audited with the
  grant's id; an expiry is recorded when a request first finds it, when a coordinator
  opens the review list, or by the worker's sweep every few minutes — access itself
  stops at expires_at whatever the sweep does;
- the coordinators of the case's conference are told at once: a notification in the app
  in the transaction of the grant, and an e-mail (counts and a link, no case details) from
  a background job;
- every use is reviewed by one of those coordinators once it has ended; while it lasts a
  coordinator may approve the address and safe contact for it, or end it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from marac import clock, i18n, notices, settings
from marac.agencies import access, auth, queries
from marac.agencies.access import Viewer, viewer_for
from marac.agencies.models import User
from marac.agencies.service import language_of
from marac.audit.service import record
from marac.errors import AccessDenied, Conflict, NotFound, RuleViolation, Throttled
from marac.i18n import gettext, lazy_gettext
from marac.ids import ID_PATTERN
from marac.notices.models import Notification
from marac.notify import email
from marac.referrals.models import BreakGlass, Referral

log = logging.getLogger("marac.break_glass")

MIN_REASON = 20
MAX_TEXT = 2000
# The same words for a reference that does not exist and one break glass cannot open.
UNKNOWN_CASE = lazy_gettext(
    "No case you can open with break-glass access has this reference. Check it with the person who gave it to you"
)
SUBJECT = lazy_gettext("MARAC: break-glass access to review")


@dataclass(frozen=True)
class Opened:
    referral_id: str
    # None: the caller could already read the case (entitled, or a grant still running).
    grant: BreakGlass | None


def _check_form(reference: str, reason: str, password: str, code: str, needs_code: bool) -> None:
    errors: dict[str, str] = {}
    if not ID_PATTERN.fullmatch(reference):
        errors["reference"] = gettext("Enter the case reference: the 32 letters and numbers that identify the case")
    if len(reason) < MIN_REASON:
        errors["reason"] = gettext("Say why you need this case now, in at least %(num)d characters") % {
            "num": MIN_REASON
        }
    elif len(reason) > MAX_TEXT:
        errors["reason"] = gettext("Use at most %(num)d characters") % {"num": MAX_TEXT}
    if not password:
        errors["password"] = gettext("Enter your password")
    if needs_code and not code:
        errors["code"] = gettext("Enter the 6-digit code from your authenticator app")
    if errors:
        raise RuleViolation(gettext("Check the form"), errors)


async def _audit_denied(user: User) -> None:
    await record(
        "break_glass.start", user_id=user.id, agency_id=user.agency_id, object_type="break_glass", outcome="denied"
    )


async def start(
    viewer: Viewer, user: User, *, reference: str, reason: str, password: str, code: str, ip: str
) -> Opened:
    """Open one case for 4 hours after a step-up (password and a new TOTP code)."""
    if not access.may_break_glass(viewer):
        raise AccessDenied(gettext("Your role does not handle cases"))
    reference, reason, code = reference.strip().lower(), reason.strip(), code.strip()
    needs_code = not auth.skips_mfa(user)
    _check_form(reference, reason, password, code, needs_code)
    # Someone who can already read the case learns nothing here that opening it would not tell them.
    at = clock.now()
    if (
        await Referral.filter(access.referral_filter(viewer), id=reference).exists()
        or await BreakGlass.filter(access.live_break_glass_filter(viewer, at), referral_id=reference).exists()
    ):
        return Opened(referral_id=reference, grant=None)
    try:
        passed = await auth.stepped_up(user, password, code, ip)
    except Throttled:
        await _audit_denied(user)
        raise
    if not passed:
        await _audit_denied(user)
        raise RuleViolation(str(auth.STEP_UP_ERROR), {"password": str(auth.STEP_UP_ERROR)})
    referral = await Referral.filter(access.break_glass_target_filter(), id=reference).first()
    if referral is None:
        await auth.note_failure(user.email, ip)  # probing references counts towards the throttle
        await _audit_denied(user)
        raise RuleViolation(str(UNKNOWN_CASE), {"reference": str(UNKNOWN_CASE)})
    at = clock.now()
    async with in_transaction() as conn:
        grant = await BreakGlass.create(
            user_id=user.id,
            agency_id=user.agency_id,
            referral_id=referral.id,
            conference_id=referral.conference_id,
            reason=reason,
            started_at=at,
            expires_at=at + access.BREAK_GLASS_LIFETIME,
            using_db=conn,
        )
        await record(
            "break_glass.start",
            user_id=user.id,
            agency_id=user.agency_id,
            object_type="break_glass",
            object_id=grant.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
        for coordinator_id in await _coordinators(referral.conference_id):
            await notices.post(coordinator_id, "break_glass", clock.uk_date(at), conn=conn, break_glass_id=grant.id)
    await auth.clear_failures(user.email, ip)
    return Opened(referral_id=referral.id, grant=grant)


async def _coordinators(conference_id: str) -> list[str]:
    return await queries.holding_role("coordinator", [conference_id])


# --- reading under a grant -----------------------------------------------------------


async def live_grant(viewer: Viewer, referral_id: str) -> BreakGlass | None:
    """The caller's grant that opens this referral now, if any. A grant found past its
    expiry on the way is ended (and audited) here."""
    at = clock.now()
    for grant in await BreakGlass.filter(
        user_id=viewer.user_id, referral_id=referral_id, ended_at__isnull=True, expires_at__lte=at
    ):
        await _end(grant, "expired")
    return await BreakGlass.filter(access.live_break_glass_filter(viewer, at), referral_id=referral_id).first()


async def live_grants(viewer: Viewer) -> list[BreakGlass]:
    """The caller's running grants (for their break-glass page)."""
    return await BreakGlass.filter(access.live_break_glass_filter(viewer, clock.now())).order_by("expires_at")


# --- ending ----------------------------------------------------------------------------


async def _end(grant: BreakGlass, reason: str, by: User | None = None) -> bool:
    """Stop a grant once; the end is audited in the same transaction. An expiry is dated at
    expires_at (when access stopped) and recorded against the grant's holder."""
    ended_at = grant.expires_at if reason == "expired" else clock.now()
    actor_id, agency_id = (by.id, by.agency_id) if by else (grant.user_id, grant.agency_id)
    async with in_transaction() as conn:
        # Conditional: of two requests noticing the same expiry, one records it.
        changed = (
            await BreakGlass.filter(id=grant.id, ended_at__isnull=True)
            .using_db(conn)
            .update(ended_at=ended_at, end_reason=reason, ended_by=by.id if by else None)
        )
        if changed:
            await record(
                "break_glass.end",
                user_id=actor_id,
                agency_id=agency_id,
                object_type="break_glass",
                object_id=grant.id,
                conference_id=grant.conference_id,
                conn=conn,
            )
    return bool(changed)


async def end_own(viewer: Viewer, user: User, grant_id: str) -> None:
    """The holder ends their access early. Ending an ended grant changes nothing."""
    grant = await BreakGlass.filter(id=grant_id, user_id=viewer.user_id).first()
    if grant is None:
        raise NotFound(gettext("Break-glass access not found"))
    await _end(grant, "ended", by=user)


async def end_expired() -> int:
    """The sweep: record the end of every grant past its expiry that no request has noticed."""
    ended = 0
    for grant in await BreakGlass.filter(ended_at__isnull=True, expires_at__lte=clock.now()):
        ended += await _end(grant, "expired")
    return ended


# --- review by the coordinator ---------------------------------------------------------


async def _reviewable(viewer: Viewer, grant_id: str) -> BreakGlass:
    grant = await BreakGlass.filter(access.break_glass_review_filter(viewer), id=grant_id).first()
    if grant is None:
        raise NotFound(gettext("Break-glass access not found"))
    if grant.user_id == viewer.user_id:
        raise AccessDenied(gettext("Another coordinator must review your own break-glass access"))
    return grant


def _is_live(grant: BreakGlass, at: datetime) -> bool:
    return grant.ended_at is None and grant.expires_at > at


async def unreviewed(viewer: Viewer) -> list[BreakGlass]:
    """Uses of break glass on the coordinator's conferences' cases not yet reviewed, newest first."""
    review_filter = access.break_glass_review_filter(viewer)
    await end_expired()  # so the list says "ended" for every grant that has
    return (
        await BreakGlass.filter(review_filter, reviewed_at__isnull=True)
        .prefetch_related("user", "agency", "conference")
        .order_by("-started_at")
    )


async def approve_contact(viewer: Viewer, user: User, grant_id: str) -> None:
    """A coordinator unmasks the address and safe contact for one running grant."""
    grant = await _reviewable(viewer, grant_id)
    at = clock.now()
    if not _is_live(grant, at):
        raise Conflict(gettext("This access has ended: contact details can be approved only while it lasts"))
    async with in_transaction() as conn:
        if (
            await BreakGlass.filter(id=grant.id, contact_approved_at__isnull=True)
            .using_db(conn)
            .update(contact_approved_by=user.id, contact_approved_at=at)
        ):
            await record(
                "break_glass.approve_contact",
                user_id=user.id,
                agency_id=user.agency_id,
                object_type="break_glass",
                object_id=grant.id,
                conference_id=grant.conference_id,
                conn=conn,
            )


async def revoke(viewer: Viewer, user: User, grant_id: str) -> None:
    """A coordinator ends a running grant (for instance to review it now); effective on the holder's next request."""
    await _end(await _reviewable(viewer, grant_id), "revoked", by=user)


async def review(viewer: Viewer, user: User, grant_id: str, note: str) -> None:
    """A coordinator records that they reviewed one ended use, with what they found."""
    grant = await _reviewable(viewer, grant_id)
    note = note.strip()
    if not note or len(note) > MAX_TEXT:
        raise RuleViolation(
            gettext("A review needs a note"),
            {"note": gettext("Say what you checked and found, in at most %(num)d characters") % {"num": MAX_TEXT}},
        )
    if _is_live(grant, clock.now()):
        raise Conflict(
            gettext("This access is still running: end it, or wait until it expires, then review the whole use")
        )
    async with in_transaction() as conn:
        # Claimed with a conditional update: two coordinators reviewing at once record one review.
        if (
            not await BreakGlass.filter(id=grant.id, reviewed_at__isnull=True)
            .using_db(conn)
            .update(reviewed_by=user.id, reviewed_at=clock.now())
        ):
            raise Conflict(gettext("This use was already reviewed"))
        grant.review_note = note
        await grant.save(update_fields=["review_note"], using_db=conn)
        await record(
            "break_glass.review",
            user_id=user.id,
            agency_id=user.agency_id,
            object_type="break_glass",
            object_id=grant.id,
            conference_id=grant.conference_id,
            conn=conn,
        )


# --- e-mail to the coordinators -------------------------------------------------------


async def email_coordinators(grant_id: str) -> int:
    """E-mail each coordinator told about this grant, once: how many uses await their
    review and a link, nothing else (an e-mail leaves our control). Without MARAC_SMTP_URL
    the notification in the app is all."""
    if not email.configured():
        return 0
    sent = 0
    for notification in await Notification.filter(
        break_glass_id=grant_id, kind="break_glass", emailed=False
    ).prefetch_related("user"):
        # Claimed before sending, so a second delivery of the job sends nothing.
        if not await Notification.filter(id=notification.id, emailed=False).update(emailed=True):
            continue
        coordinator = notification.user
        reviewer = await viewer_for(coordinator)
        if not coordinator.active or not reviewer.can(access.Can.REVIEW_BREAK_GLASS):
            continue  # no longer theirs to review
        waiting = await BreakGlass.filter(access.break_glass_review_filter(reviewer), reviewed_at__isnull=True).count()
        with i18n.use(await language_of(coordinator.id)):
            subject, body = str(SUBJECT), _body(waiting)
        try:
            await email.send(coordinator.email, subject, body)
        except OSError:  # smtplib's and ssl's errors; released so a retry sends it
            await Notification.filter(id=notification.id).update(emailed=False)
            log.error("break-glass e-mail failed")
            continue
        sent += 1
    return sent


def _body(waiting: int) -> str:
    return "\n".join(
        [
            gettext("Someone has used break-glass access to a case of your conference."),
            "",
            gettext("Break-glass uses waiting for your review: %(num)s") % {"num": waiting},
            "",
            gettext("Sign in to review them: %(link)s") % {"link": f"{settings.get().base_url}/break-glass/reviews"},
            "",
            gettext("This message holds no case details on purpose. Please do not reply to it."),
        ]
    )
