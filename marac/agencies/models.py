"""Directory tables: agencies, users, conferences, memberships, and sign-in state."""

from __future__ import annotations

from typing import Any

from tortoise import fields
from tortoise.models import Model

from marac.i18n import lazy_gettext
from marac.ids import new_id, new_token
from marac.sealed import SealedModel, SealedText

AGENCY_KINDS = (
    "police",
    "probation",
    "childrens_social_care",
    "adult_social_care",
    "health",
    "mental_health",
    "housing",
    "idva",
    "victim_service",
    "education",
    "substance_misuse",
    "fire",
    "voluntary",
    "local_authority",
    "other",
)
# What each kind is called on pages and in documents, in the reader's language.
AGENCY_KIND_LABELS: dict[str, Any] = {
    "police": lazy_gettext("Police"),
    "probation": lazy_gettext("Probation"),
    "childrens_social_care": lazy_gettext("Children's social care"),
    "adult_social_care": lazy_gettext("Adult social care"),
    "health": lazy_gettext("Health"),
    "mental_health": lazy_gettext("Mental health"),
    "housing": lazy_gettext("Housing"),
    "idva": lazy_gettext("IDVA service"),
    "victim_service": lazy_gettext("Victim service"),
    "education": lazy_gettext("Education"),
    "substance_misuse": lazy_gettext("Substance misuse"),
    "fire": lazy_gettext("Fire and rescue"),
    "voluntary": lazy_gettext("Voluntary sector"),
    "local_authority": lazy_gettext("Local authority"),
    "other": lazy_gettext("Other"),
}
ROLES = ("admin", "coordinator", "chair", "member", "auditor")
# The roles a user may hold in one conference, beside their own (User.role): the case-handling
# roles, and a deputy chair, who may do everything the chair does (docs/domain.md#roles).
CONFERENCE_ROLES = ("coordinator", "chair", "deputy_chair", "member")
TIERS = ("full", "actions_only")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NATIONS = ("england_wales", "scotland", "northern_ireland")


class Agency(Model):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    name = fields.CharField(max_length=200, unique=True)
    kind = fields.CharField(max_length=40)
    # The language of this agency's documents (research lists, minutes): a code of marac.i18n.LANGUAGES.
    language = fields.CharField(max_length=8, default="en", db_default="en")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "agency"
        ordering = ["name"]


class Conference(Model):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    name = fields.CharField(max_length=200)
    slug = fields.CharField(max_length=64, unique=True)
    type = fields.CharField(max_length=64)
    weekday = fields.CharField(max_length=10)
    start_time = fields.CharField(max_length=5)
    first_date = fields.DateField()
    # A copy of the conference type taken at creation: editing agendas/*.toml later
    # must never rewrite how an existing conference runs.
    type_settings: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    # Whose bank holidays count for cut-offs, and whether a meeting that falls on one
    # moves to the next working day.
    nation = fields.CharField(max_length=20, default="england_wales")
    move_on_bank_holiday = fields.BooleanField(default=True)
    venue = fields.CharField(max_length=200, null=True)
    # The unguessable part of the public iCalendar feed's address (dates only, no cases).
    calendar_token = fields.CharField(max_length=64, default=new_token, unique=True)
    # Quarterly figures (docs/domain.md#quarterly-figures): cases per 10,000 adult women need the area's adult female
    # population (unknown until someone sets it); the repeat rate is compared with a benchmark
    # in percent (32: the national actual).
    adult_female_population = fields.IntField(null=True)
    repeat_rate_benchmark = fields.IntField(default=32, db_default=32)  # db_default: existing rows get it too
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conference"
        ordering = ["name"]


class Membership(Model):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="memberships", on_delete=fields.CASCADE
    )
    conference_id: str
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="memberships", on_delete=fields.RESTRICT
    )
    agency_id: str
    tier = fields.CharField(max_length=16)
    # The agency that receives the conference's referrals as they arrive (the IDVA service, a
    # hate crime advocacy service): its staff see each one in full, to reach the victim first.
    receives_referrals = fields.BooleanField(default=False, db_default=False)

    class Meta:
        table = "membership"
        unique_together = (("conference", "agency"),)


class User(SealedModel):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="users", on_delete=fields.RESTRICT
    )
    agency_id: str
    role = fields.CharField(max_length=16)
    password_hash = fields.CharField(max_length=200, null=True)
    # The TOTP seed, sealed with the data keys like the case fields: a copy of the database
    # alone cannot mint codes (tests/test_credentials.py).
    totp_secret: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    totp_confirmed = fields.BooleanField(default=False)
    # The last TOTP time step accepted, so a code cannot be replayed within its window.
    totp_last_step = fields.BigIntField(default=0)
    # Second-factor tries (sign-in, step-up, break-glass) since the last one that passed; a
    # password success never resets it. At auth.MAX_SECOND_FACTOR_FAILURES the account locks.
    second_factor_failures = fields.IntField(default=0, db_default=0)
    locked_at = fields.DatetimeField(null=True)
    active = fields.BooleanField(default=True)
    # Demo accounts may skip the second factor, and only while MARAC_ENV=demo.
    demo = fields.BooleanField(default=False)
    # The language of this user's pages and e-mails, once they have chosen one (web/language.py);
    # None: the browser's Accept-Language decides.
    language = fields.CharField(max_length=8, null=True)
    # A one-time set-up link (hash only) lets a new or reset user choose their password.
    setup_token_hash = fields.CharField(max_length=64, null=True, unique=True)
    setup_expires_at = fields.DatetimeField(null=True)
    conferences: fields.ManyToManyRelation[Conference] = fields.ManyToManyField(
        "marac.Conference", related_name="users", through="user_conference"
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "user"
        ordering = ["name"]


class ConferenceRole(Model):
    # A user's role in one conference of theirs where it is not their own role (User.role): chair of
    # one MARAC, a member in another. No row: their own role there. Removed with the conference
    # or the user; meaningful only while the user is given the conference (user_conference).
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="conference_roles", on_delete=fields.CASCADE
    )
    user_id: str
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="user_roles", on_delete=fields.CASCADE
    )
    conference_id: str
    role = fields.CharField(max_length=16)

    class Meta:
        table = "conference_role"
        unique_together = (("user", "conference"),)


class Session(Model):
    # sha256 of the random cookie value: a stolen database copy cannot sign anyone in.
    id = fields.CharField(max_length=64, primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="sessions", on_delete=fields.CASCADE
    )
    user_id: str
    mfa_passed = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    # When both factors were last given (sign-in, or a step-up): sensitive actions want it recent.
    stepped_up_at = fields.DatetimeField(null=True)

    class Meta:
        table = "session"


class ApiToken(Model):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="tokens", on_delete=fields.CASCADE
    )
    user_id: str
    token_hash = fields.CharField(max_length=64, unique=True)
    label = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)
    last_used_at = fields.DatetimeField(null=True)
    # Refused from then on (auth.token_holder); set at creation, 90 days unless asked otherwise.
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_token"
        ordering = ["-created_at"]


class LoginFailure(Model):
    # Failed sign-in attempts, kept for the throttle window only.

    id = fields.BigIntField(primary_key=True)
    # A keyed hash of the e-mail as typed: throttles unknown addresses too, stores no address.
    account_key = fields.CharField(max_length=64, db_index=True)
    ip = fields.CharField(max_length=64, db_index=True)
    at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "login_failure"
