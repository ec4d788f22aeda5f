"""In-app notifications: one table that every domain writes to and the notifications page reads."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.actions.models import Action
    from marac.agencies.models import Agency, Conference, User
    from marac.meetings.models import Meeting
    from marac.referrals.models import BreakGlass, Referral


class Notification(Model):
    # Something in the app for one user: the notice of an event (marac/alerts/fanout.py), among them a reminder
    # about one action (at most one per action, kind and day), a use of break-glass access that a coordinator
    # must review, an account locked after wrong security codes (own_lock to its holder, account_lock to
    # coordinators), or an account with case access an administrator created or reset in a coordinator's conference.
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="notifications", on_delete=fields.CASCADE
    )
    user_id: str
    action: fields.ForeignKeyNullableRelation[Action] = fields.ForeignKeyField(
        "marac.Action", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    action_id: str | None
    break_glass: fields.ForeignKeyNullableRelation[BreakGlass] = fields.ForeignKeyField(
        "marac.BreakGlass", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    break_glass_id: str | None
    # account_created | account_reset | account_role: whose account, in which conference, with which role.
    about_user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="account_notices", null=True, on_delete=fields.CASCADE
    )
    about_user_id: str | None
    conference: fields.ForeignKeyNullableRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    conference_id: str | None
    role = fields.CharField(max_length=16, null=True)
    # research_chase: the meeting whose research the coordinator asks an agency for; minutes_version: the
    # meeting whose minutes have a new version for the user's agency.
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    meeting_id: str | None
    # The event it tells of (marac/alerts/fanout.py): one notification per user, event and kind.
    event: fields.ForeignKeyNullableRelation[Event] = fields.ForeignKeyField(
        "marac.Event", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    event_id: int | None
    # break_glass | own_lock | account_lock | account_created | account_reset | account_role | research_chase
    # | minutes_version | webhook_failing (to admins: a webhook gave up a delivery), and the kinds of events
    # (marac/alerts/kinds.py: due_soon and overdue are the action reminders)
    kind = fields.CharField(max_length=32)
    day = fields.DateField()
    # An event's notice: False while it waits for its user's daily digest; True once e-mailed, or not to be.
    emailed = fields.BooleanField(default=False)
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification"
        unique_together = (("user", "action", "kind", "day"), ("user", "event", "kind"))
        # The header's unread count on every page.
        indexes = (("user_id", "read_at"),)
        ordering = ["-created_at"]


class NotificationPreference(Model):
    # How one user hears of one kind of notice by e-mail: immediate, daily digest or off (marac/alerts/kinds.py
    # holds the defaults per role and the kinds that cannot be off). No row: the default.
    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="notification_preferences", on_delete=fields.CASCADE
    )
    user_id: str
    kind = fields.CharField(max_length=32)
    mode = fields.CharField(max_length=16)

    class Meta:
        table = "notification_preference"
        unique_together = (("user", "kind"),)


class Event(Model):
    # Something that happened which people (marac/notices/events.py lists who) or agency systems are told about:
    # written by emit() in the transaction of the change itself, so an event exists exactly when its change does,
    # and fanned out later by jobs, each consumer marking its own column. It names records by id and holds small
    # facts (a decision, a due date) in `data`, never a name or case text: whoever is told reads the record
    # through their own access check.
    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=32)
    at = fields.DatetimeField()
    conference: fields.ForeignKeyNullableRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="events", null=True, on_delete=fields.CASCADE
    )
    conference_id: str | None
    # Erasing a record (retention, subject erasure) erases what was said about it.
    referral: fields.ForeignKeyNullableRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="events", null=True, on_delete=fields.CASCADE
    )
    referral_id: str | None
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="events", null=True, on_delete=fields.CASCADE
    )
    meeting_id: str | None
    action: fields.ForeignKeyNullableRelation[Action] = fields.ForeignKeyField(
        "marac.Action", related_name="events", null=True, on_delete=fields.CASCADE
    )
    action_id: str | None
    # The agency the event is for or from: an action's owner, a referral's referrer.
    agency: fields.ForeignKeyNullableRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="events", null=True, on_delete=fields.CASCADE
    )
    agency_id: str | None
    data: dict[str, Any] = fields.JSONField(default=dict)
    # Set by a scheduled run to what makes its event happen once (an action's reminder: kind, action and day), so
    # two runs, or a run repeated the same day, emit it once (marac/actions/reminders.py).
    dedupe_key = fields.CharField(max_length=80, null=True, unique=True)
    notified_at = fields.DatetimeField(null=True)  # fanned out to people (in-app, e-mail)
    hooked_at = fields.DatetimeField(null=True)  # fanned out to agency systems (webhooks)

    class Meta:
        table = "event"
        indexes = (("notified_at", "id"), ("hooked_at", "id"))
