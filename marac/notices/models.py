"""In-app notifications: one table that every domain writes to and the notifications page reads."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Notification(Model):
    # Something in the app for one user: a reminder about one action (at most one per action,
    # kind and day), a use of break-glass access that a coordinator must review, an account
    # locked after wrong security codes (own_lock to its holder, account_lock to coordinators),
    # or an account with case access an administrator created or reset in a coordinator's conference.
    id = fields.BigIntField(primary_key=True)
    user = fields.ForeignKeyField("marac.User", related_name="notifications", on_delete=fields.CASCADE)
    action = fields.ForeignKeyField("marac.Action", related_name="notifications", null=True, on_delete=fields.CASCADE)
    break_glass = fields.ForeignKeyField(
        "marac.BreakGlass", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    # account_created | account_reset: whose account, in which conference, with which role.
    about_user = fields.ForeignKeyField(
        "marac.User", related_name="account_notices", null=True, on_delete=fields.CASCADE
    )
    conference = fields.ForeignKeyField(
        "marac.Conference", related_name="notifications", null=True, on_delete=fields.CASCADE
    )
    role = fields.CharField(max_length=16, null=True)
    # minutes_version: a new version of this meeting's minutes is ready for the user's agency.
    meeting = fields.ForeignKeyField("marac.Meeting", related_name="notifications", null=True, on_delete=fields.CASCADE)
    # due_soon | overdue | break_glass | own_lock | account_lock | account_created | account_reset |
    # minutes_version
    kind = fields.CharField(max_length=16)
    day = fields.DateField()
    emailed = fields.BooleanField(default=False)
    read_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "notification"
        unique_together = (("user", "action", "kind", "day"),)
        ordering = ["-created_at"]
