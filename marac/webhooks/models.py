from __future__ import annotations

from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

from marac.ids import new_id
from marac.sealed import SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, lower
    from marac.agencies.models import Agency
    from marac.notices.models import Event

DELIVERY_STATUSES = ("pending", "delivered", "failed", "cancelled")


class Webhook(SealedModel):
    # An agency system told of events about records the agency may see (marac/webhooks/delivery.py). The
    # secret signs each delivery, so it is kept sealed (usable for signing, unlike a hash) and shown once.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="webhooks", on_delete=fields.CASCADE
    )
    agency_id: str
    url = fields.CharField(max_length=2000)
    events: list[str] = fields.JSONField(default=list)
    secret: str = SealedText()
    active = fields.BooleanField(default=True)
    # Set when a delivery was given up after its retries (the admins are told), cleared by the next success.
    failing_since = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=32, null=True)  # None: the command line
    created_at = fields.DatetimeField(auto_now_add=True)
    rotated_at = fields.DatetimeField(null=True)

    class Meta:
        table = "webhook"
        ordering = ["created_at"]


class WebhookDelivery(Model):
    # One event for one webhook, kept to be sent and retried and for the delivery log. Never the body: it is
    # made again from the event at each attempt (ids and links only), and signed with the secret of the day.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "marac.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    webhook_id: str
    # Erasing the record an event is about erases the event and what was to be said of it.
    event: fields.ForeignKeyRelation[Event] = fields.ForeignKeyField(
        "marac.Event", related_name="deliveries", on_delete=fields.CASCADE
    )
    event_id: int
    kind = fields.CharField(max_length=32)
    status = fields.CharField(max_length=16, default="pending")  # DELIVERY_STATUSES
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # A sender holds a row until then; one that died mid-send leaves it to the next run.
    claimed_until = fields.DatetimeField(null=True)
    give_up_at = fields.DatetimeField()
    response_code = fields.IntField(null=True)
    # What went wrong at the last attempt, in our words (delivery.py names them): never the receiver's text.
    error = fields.CharField(max_length=64, null=True)
    last_attempt_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_delivery"
        unique_together = (("webhook", "event"),)
        indexes = (("status", "next_attempt_at"), ("webhook_id", "created_at"))
