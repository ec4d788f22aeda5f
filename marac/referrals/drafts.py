"""Referral drafts: a referral saved part-way and finished (or deleted) later by its author.

Rules (README, "Referrals and the person index"):
- a draft is its author's alone: anyone else, the conference's coordinator included, is told it
  does not exist (404);
- it holds what was typed, valid or not: nothing is checked but the conference (one the author
  may refer to) until it is sent, when every rule of a new referral applies (service.submit);
- it is sealed (names and contact details) and expires DRAFT_DAYS after its last save: an
  expired draft is never shown, and the retention run deletes it (governance/retention.py);
- it is never in the person index, matching, figures or any list but its author's own;
- saving, sending and deleting are audited (ids only), like other referral writes.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import record
from marac.clock import now
from marac.errors import Conflict, NotFound, RuleViolation
from marac.i18n import gettext as _
from marac.ids import ID_PATTERN
from marac.referrals import service
from marac.referrals.models import Referral, ReferralDraft
from marac.validation import unstorable

DRAFT_DAYS = 30
# Enough for a referrer's unfinished work; a bound keeps "Your drafts" one short page.
MAX_DRAFTS = 50


def _jsonable(value: Any) -> Any:
    """A body as JSON stores it: a date a form typed correctly becomes its ISO text."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


async def _conference(viewer: Viewer, body: dict[str, Any]) -> Conference:
    slug = body.get("conference")
    conference = await Conference.get_or_none(slug=slug) if isinstance(slug, str) and slug else None
    if conference is None or not access.may_refer(viewer, conference.id):
        # One answer for "no such conference" and "not yours", as for a referral.
        raise RuleViolation(_("Unknown conference"), {"conference": _("No conference you belong to has this name")})
    return conference


async def list_own(viewer: Viewer) -> list[ReferralDraft]:
    """The caller's drafts that have not expired, last saved first."""
    return (
        await ReferralDraft.filter(author_id=viewer.user_id, expires_at__gt=now())
        .prefetch_related("conference")
        .order_by("-saved_at")
    )


async def get_own(viewer: Viewer, draft_id: str) -> ReferralDraft:
    """One of the caller's drafts that has not expired; 404 for any other, as for none."""
    draft = None
    if ID_PATTERN.fullmatch(draft_id):
        draft = (
            await ReferralDraft.filter(id=draft_id, author_id=viewer.user_id, expires_at__gt=now())
            .prefetch_related("conference")
            .first()
        )
    if draft is None:
        raise NotFound("Draft not found")
    return draft


async def save(viewer: Viewer, body: dict[str, Any], draft_id: str | None = None) -> ReferralDraft:
    """Keep `body` (the referral as typed) as a new draft, or in place of a draft's own; its 30 days
    start again. Only the conference is checked."""
    draft = await get_own(viewer, draft_id) if draft_id else None
    if bad := unstorable(body):
        raise RuleViolation(_("The draft is not valid"), bad)
    conference = await _conference(viewer, body)
    kept = await ReferralDraft.filter(author_id=viewer.user_id, expires_at__gt=now()).count()
    if draft is None and kept >= MAX_DRAFTS:
        raise Conflict(_("You have %(num)d drafts: send or delete one first") % {"num": MAX_DRAFTS})
    at = now()
    async with in_transaction() as conn:
        if draft is None:
            draft = await ReferralDraft.create(
                author_id=viewer.user_id,
                conference=conference,
                body=_jsonable(body),
                saved_at=at,
                expires_at=at + timedelta(days=DRAFT_DAYS),
                using_db=conn,
            )
            action = "referral_draft.create"
        else:
            draft.conference = conference
            draft.body, draft.saved_at, draft.expires_at = _jsonable(body), at, at + timedelta(days=DRAFT_DAYS)
            await draft.save(using_db=conn)
            action = "referral_draft.update"
        await record(
            action,
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral_draft",
            object_id=draft.id,
            conference_id=conference.id,
            conn=conn,
        )
    return draft


async def delete(viewer: Viewer, draft_id: str) -> None:
    draft = await get_own(viewer, draft_id)
    async with in_transaction() as conn:
        await ReferralDraft.filter(id=draft.id).using_db(conn).delete()
        await record(
            "referral_draft.delete",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral_draft",
            object_id=draft.id,
            conference_id=draft.conference_id,
            conn=conn,
        )


async def send(viewer: Viewer, draft_id: str, today: date, body: object | None = None) -> Referral:
    """Send a draft as a referral: `body` (what the form holds now) or else the draft's own goes
    through every rule of a new referral (RuleViolation names each bad field, and the draft stays
    as it was); once sent, the draft is gone."""
    draft = await get_own(viewer, draft_id)
    async with in_transaction() as conn:
        referral = await service.submit(viewer, draft.body if body is None else body, today)
        await ReferralDraft.filter(id=draft.id).using_db(conn).delete()
        await record(
            "referral_draft.send",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="referral_draft",
            object_id=draft.id,
            conference_id=referral.conference_id,
            conn=conn,
        )
    return referral


def victim_name(draft: ReferralDraft) -> str | None:
    """The name typed for the victim, to tell the author's drafts apart (None if none yet)."""
    victim = draft.body.get("victim") if isinstance(draft.body, dict) else None
    name = victim.get("name") if isinstance(victim, dict) else None
    return (name.strip() or None) if isinstance(name, str) else None


async def purge_expired(conference_id: str, at: datetime, *, dry_run: bool = False) -> int:
    """Delete the conference's drafts that expired by `at` (the retention run); how many."""
    expired = await ReferralDraft.filter(conference_id=conference_id, expires_at__lte=at).values_list("id", flat=True)
    if dry_run or not expired:
        return len(expired)
    async with in_transaction() as conn:
        await ReferralDraft.filter(id__in=list(expired)).using_db(conn).delete()
        for draft_id in expired:
            await record(
                "referral_draft.expire",
                object_type="referral_draft",
                object_id=str(draft_id),
                conference_id=conference_id,
                conn=conn,
            )
    return len(expired)
