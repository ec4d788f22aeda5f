from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields

from marac.ids import new_id
from marac.sealed import SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import User

OUTBOX_STATUSES = ("pending", "sent", "expired", "cancelled")


class OutboxEmail(SealedModel):
    # An e-mail waiting to go: written in the transaction of the change it tells about, sent by
    # the send_email job (marac/notify/outbox.py), retried until it goes or is no longer worth
    # sending. It goes to the user's own address, read when sending. The body is sealed and
    # erased once the message is sent or given up: a set-up link is a credential.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="outbox", on_delete=fields.CASCADE
    )
    user_id: str
    kind = fields.CharField(max_length=32)  # setup_link | account_notice | own_lock | account_lock
    subject = fields.CharField(max_length=200)
    body: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    status = fields.CharField(max_length=16, default="pending")
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A sender holds a row until then; one that died mid-send leaves it to be tried again.
    claimed_until = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "email_outbox"
        indexes = (("status", "next_attempt_at"), ("user_id", "kind", "status"))
