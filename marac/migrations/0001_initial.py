import functools
from json import dumps, loads

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from marac.ids import new_id, new_token


class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name="Agency",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("name", fields.CharField(unique=True, max_length=200)),
                ("kind", fields.CharField(max_length=40)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "agency", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AuditEvent",
            fields=[
                ("seq", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("user_id", fields.CharField(null=True, db_index=True, max_length=32)),
                ("agency_id", fields.CharField(null=True, max_length=32)),
                ("action", fields.CharField(max_length=64)),
                ("object_type", fields.CharField(null=True, max_length=64)),
                ("object_id", fields.CharField(null=True, db_index=True, max_length=64)),
                ("conference_id", fields.CharField(null=True, db_index=True, max_length=32)),
                ("outcome", fields.CharField(max_length=16)),
                ("request_id", fields.CharField(null=True, max_length=64)),
                ("prev_hash", fields.CharField(max_length=64)),
                ("hash", fields.CharField(max_length=64)),
            ],
            options={"table": "audit_event", "app": "marac", "pk_attr": "seq"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Conference",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("name", fields.CharField(max_length=200)),
                ("slug", fields.CharField(unique=True, max_length=64)),
                ("type", fields.CharField(max_length=64)),
                ("weekday", fields.CharField(max_length=10)),
                ("start_time", fields.CharField(max_length=5)),
                ("first_date", fields.DateField()),
                (
                    "type_settings",
                    fields.JSONField(
                        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("nation", fields.CharField(default="england_wales", max_length=20)),
                ("move_on_bank_holiday", fields.BooleanField(default=True)),
                ("venue", fields.CharField(null=True, max_length=200)),
                ("calendar_token", fields.CharField(default=new_token, unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "conference", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Job",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("name", fields.CharField(max_length=64)),
                ("status", fields.CharField(default="queued", max_length=16)),
                ("progress", fields.IntField(default=0)),
                ("error", fields.CharField(null=True, max_length=500)),
                ("requested_by", fields.CharField(null=True, max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "job", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LoginFailure",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("account_key", fields.CharField(db_index=True, max_length=64)),
                ("ip", fields.CharField(db_index=True, max_length=64)),
                ("at", fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "login_failure", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Meeting",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="meetings",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("slot_date", fields.DateField(null=True)),
                ("date", fields.DateField(db_index=True)),
                ("cut_off", fields.DateField()),
                ("kind", fields.CharField(default="scheduled", max_length=16)),
                ("status", fields.CharField(default="scheduled", max_length=16)),
                ("venue", fields.CharField(null=True, max_length=200)),
                ("published_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "snapshot",
                    fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads),
                ),
                ("confidentiality_read_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("confidentiality_read_by", fields.CharField(null=True, max_length=32)),
                ("held_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("any_other_business", fields.TextField(default="", unique=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "meeting",
                "app": "marac",
                "unique_together": (("conference", "slot_date"),),
                "indexes": [Index(fields=["conference_id", "date"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Attendance",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="attendance",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=16)),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="attendance",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("information_sent", fields.BooleanField(null=True)),
                ("information_sent_on", fields.DateField(null=True)),
                ("confidentiality_signed", fields.BooleanField(null=True)),
            ],
            options={"table": "attendance", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Document",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("kind", fields.CharField(max_length=16)),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="documents",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="documents",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("version", fields.IntField()),
                ("reference", fields.CharField(max_length=64)),
                ("file_name", fields.CharField(max_length=64)),
                ("sha256", fields.CharField(max_length=64)),
                ("size", fields.IntField()),
                ("pages", fields.IntField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("superseded_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "document",
                "app": "marac",
                "unique_together": (("kind", "meeting", "agency", "version"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Membership",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="memberships",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("tier", fields.CharField(max_length=16)),
            ],
            options={
                "table": "membership",
                "app": "marac",
                "unique_together": (("conference", "agency"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MinutesVersion",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="minutes",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("version", fields.IntField()),
                ("status", fields.CharField(default="approved", max_length=16)),
                ("content", fields.JSONField(encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads)),
                ("correction_reason", fields.TextField(null=True, unique=False)),
                ("approved_by", fields.CharField(max_length=32)),
                ("approved_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "minutes_version",
                "app": "marac",
                "unique_together": (("meeting", "version"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MinutesRecipient",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "minutes",
                    fields.ForeignKeyField(
                        "marac.MinutesVersion",
                        source_field="minutes_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="recipients",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="minutes_received",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("tier", fields.CharField(max_length=16)),
                ("status", fields.CharField(default="pending", max_length=16)),
                ("attempts", fields.IntField(default=0)),
                (
                    "document",
                    fields.ForeignKeyField(
                        "marac.Document",
                        source_field="document_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="recipients",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("notified_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("first_downloaded_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("downloads", fields.IntField(default=0)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "minutes_recipient",
                "app": "marac",
                "unique_together": (("minutes", "agency"),),
                "indexes": [Index(fields=["status", "created_at"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Person",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="people",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "names",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("date_of_birth", fields.DateField(null=True)),
                ("postcode", fields.CharField(null=True, max_length=10)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "person", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MatchSuggestion",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="match_suggestions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "marac.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="suggested_as_new",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "candidate",
                    fields.ForeignKeyField(
                        "marac.Person",
                        source_field="candidate_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="suggested_as_existing",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("score", fields.FloatField()),
                (
                    "reasons",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("status", fields.CharField(default="pending", max_length=16)),
                ("decided_by", fields.CharField(null=True, max_length=32)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "match_suggestion",
                "app": "marac",
                "unique_together": (("person", "candidate"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="PersonKey",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("conference_id", fields.CharField(max_length=32)),
                (
                    "person",
                    fields.ForeignKeyField(
                        "marac.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="keys",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("key", fields.CharField(max_length=64)),
            ],
            options={
                "table": "person_key",
                "app": "marac",
                "unique_together": (("conference_id", "key", "person"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="User",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                ("email", fields.CharField(unique=True, max_length=254)),
                ("name", fields.CharField(max_length=200)),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="users",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("role", fields.CharField(max_length=16)),
                ("password_hash", fields.CharField(null=True, max_length=200)),
                ("totp_secret", fields.CharField(null=True, max_length=64)),
                ("totp_confirmed", fields.BooleanField(default=False)),
                ("totp_last_step", fields.BigIntField(default=0)),
                ("active", fields.BooleanField(default=True)),
                ("demo", fields.BooleanField(default=False)),
                ("setup_token_hash", fields.CharField(null=True, unique=True, max_length=64)),
                ("setup_expires_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                (
                    "conferences",
                    fields.ManyToManyField(
                        "marac.Conference",
                        unique=True,
                        db_constraint=True,
                        through="user_conference",
                        forward_key="conference_id",
                        backward_key="user_id",
                        related_name="users",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "user", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ApiToken",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="tokens",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("token_hash", fields.CharField(unique=True, max_length=64)),
                ("label", fields.CharField(max_length=100)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("last_used_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("revoked_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={"table": "api_token", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Referral",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="referrals",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "referring_agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="referring_agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="referrals",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "referrer",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="referrer_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="referrals",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("received_at", fields.DateField(db_index=True)),
                (
                    "criteria_claimed",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "criteria_met",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "risk",
                    fields.JSONField(
                        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("judgement_reason", fields.TextField(null=True, unique=False)),
                (
                    "victim",
                    fields.JSONField(
                        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                (
                    "victim_person",
                    fields.ForeignKeyField(
                        "marac.Person",
                        source_field="victim_person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="referrals_as_victim",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "strands",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("incident_kind", fields.CharField(null=True, max_length=16)),
                (
                    "incidents",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("incidents_in_window", fields.IntField(default=0)),
                ("summary", fields.TextField(unique=False)),
                (
                    "consent",
                    fields.JSONField(
                        default=dict, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("transfer_from", fields.CharField(null=True, max_length=200)),
                ("is_repeat", fields.BooleanField(default=False)),
                (
                    "previous_referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="previous_referral_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="repeats",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("monitoring_only", fields.BooleanField(default=False)),
                ("status", fields.CharField(default="received", db_index=True, max_length=16)),
                (
                    "expected_meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="expected_meeting_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="expected_referrals",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="referrals",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("decision_reason", fields.TextField(null=True, unique=False)),
                ("decided_by", fields.CharField(null=True, max_length=32)),
                ("decided_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "referral",
                "app": "marac",
                "indexes": [
                    Index(fields=["conference_id", "status", "received_at"]),
                    Index(fields=["victim_person_id", "received_at"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="AgendaItem",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="referral_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="agenda_items",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("number", fields.IntField()),
                ("section", fields.CharField(max_length=32)),
                ("position", fields.IntField(default=0)),
                ("state", fields.CharField(default="listed", max_length=16)),
                ("reason", fields.CharField(null=True, max_length=500)),
                ("added_manually", fields.BooleanField(default=False)),
                ("started_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("ended_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("outcome", fields.CharField(null=True, max_length=16)),
                ("outcome_reason", fields.CharField(null=True, max_length=500)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "agenda_item",
                "app": "marac",
                "unique_together": (("meeting", "referral"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Action",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "item",
                    fields.ForeignKeyField(
                        "marac.AgendaItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="actions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="actions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "conference",
                    fields.ForeignKeyField(
                        "marac.Conference",
                        source_field="conference_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="actions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                (
                    "owner_agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="owner_agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="actions",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("description", fields.TextField(unique=False)),
                ("due_date", fields.DateField()),
                ("status", fields.CharField(default="open", max_length=40)),
                ("version", fields.IntField(default=1)),
                ("created_by", fields.CharField(max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={
                "table": "action",
                "app": "marac",
                "indexes": [
                    Index(fields=["owner_agency_id", "status", "due_date"]),
                    Index(fields=["conference_id", "status", "due_date"]),
                ],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ActionReview",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "action",
                    fields.ForeignKeyField(
                        "marac.Action",
                        source_field="action_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="reviews",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "meeting",
                    fields.ForeignKeyField(
                        "marac.Meeting",
                        source_field="meeting_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="action_reviews",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("outcome", fields.CharField(max_length=40)),
                ("note", fields.TextField(default="", unique=False)),
                ("user_id", fields.CharField(max_length=32)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "action_review",
                "app": "marac",
                "unique_together": (("action", "meeting"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ActionUpdate",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "action",
                    fields.ForeignKeyField(
                        "marac.Action",
                        source_field="action_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="updates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("status", fields.CharField(max_length=40)),
                ("text", fields.TextField(default="", unique=False)),
                ("version", fields.IntField()),
                ("user_id", fields.CharField(max_length=32)),
                ("agency_id", fields.CharField(max_length=32)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "action_update", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Note",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "item",
                    fields.ForeignKeyField(
                        "marac.AgendaItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notes",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("stage", fields.CharField(default="discussion", max_length=32)),
                ("text", fields.TextField(unique=False)),
                ("visibility", fields.CharField(max_length=16)),
                (
                    "agencies",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("author_id", fields.CharField(max_length=32)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "note", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Notification",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notifications",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "action",
                    fields.ForeignKeyField(
                        "marac.Action",
                        source_field="action_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="notifications",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("kind", fields.CharField(max_length=16)),
                ("day", fields.DateField()),
                ("emailed", fields.BooleanField(default=False)),
                ("read_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "notification",
                "app": "marac",
                "unique_together": (("user", "action", "kind", "day"),),
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="ReferralPerson",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "referral",
                    fields.ForeignKeyField(
                        "marac.Referral",
                        source_field="referral_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="people",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "person",
                    fields.ForeignKeyField(
                        "marac.Person",
                        source_field="person_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="appearances",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("role", fields.CharField(max_length=16)),
                ("name", fields.CharField(max_length=200)),
                (
                    "aliases",
                    fields.JSONField(
                        default=list, encoder=functools.partial(dumps, separators=(",", ":")), decoder=loads
                    ),
                ),
                ("date_of_birth", fields.DateField(null=True)),
                ("relationship", fields.CharField(null=True, max_length=100)),
                ("position", fields.IntField(default=0)),
            ],
            options={"table": "referral_person", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Research",
            fields=[
                ("id", fields.CharField(primary_key=True, default=new_id, unique=True, db_index=True, max_length=32)),
                (
                    "item",
                    fields.ForeignKeyField(
                        "marac.AgendaItem",
                        source_field="item_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="research",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "agency",
                    fields.ForeignKeyField(
                        "marac.Agency",
                        source_field="agency_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="research",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("known", fields.BooleanField()),
                ("summary", fields.TextField(default="", unique=False)),
                ("updated_by", fields.CharField(max_length=32)),
                ("updated_at", fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={"table": "research", "app": "marac", "unique_together": (("item", "agency"),), "pk_attr": "id"},
            bases=["Model"],
        ),
        ops.CreateModel(
            name="Session",
            fields=[
                ("id", fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                (
                    "user",
                    fields.ForeignKeyField(
                        "marac.User",
                        source_field="user_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="sessions",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("mfa_passed", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("last_seen_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "session", "app": "marac", "pk_attr": "id"},
            bases=["Model"],
        ),
    ]
