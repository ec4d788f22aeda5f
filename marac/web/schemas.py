"""Request and response bodies of the JSON API (version 1, /api/v1/openapi.json).

Requests forbid unknown fields (→ 422: a misspelt field is an error, never silently dropped).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from marac.agencies.models import AGENCY_KINDS, CONFERENCE_ROLES, ROLES, TIERS, WEEKDAYS
from marac.i18n import LANGUAGES

AgencyKind = Literal[AGENCY_KINDS]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
Role = Literal[ROLES]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
ConferenceRole = Literal[CONFERENCE_ROLES]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
Tier = Literal[TIERS]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
Weekday = Literal[WEEKDAYS]  # type: ignore[valid-type]  # pydantic reads a Literal of the domain's tuple; mypy cannot
LANGUAGE_CODES = tuple(LANGUAGES)
Language = Literal[LANGUAGE_CODES]  # type: ignore[valid-type]  # pydantic reads a Literal of the codes; mypy cannot


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AgencyIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: AgencyKind
    language: Language = Field("en", description="The language of the agency's documents")


class AgencyLanguageIn(Strict):
    language: Language = Field(description="The language of the agency's documents (research lists, minutes)")


class AgencyOut(BaseModel):
    id: str
    name: str
    kind: str
    language: str


class AgencyList(BaseModel):
    items: list[AgencyOut]
    next: str | None = None


class WebhookIn(Strict):
    agency_id: str = Field(min_length=1, max_length=32)
    url: str = Field(min_length=1, max_length=2000)
    events: list[str] = Field(min_length=1, max_length=20)


class WebhookPatch(Strict):
    active: bool


class WebhookSecret(BaseModel):
    id: str
    secret: str  # shown once: kept sealed, never given again


class WebhookOut(BaseModel):
    id: str
    agency_id: str
    url: str
    events: list[str]
    active: bool
    failing_since: datetime | None
    created_at: datetime
    rotated_at: datetime | None


class WebhookList(BaseModel):
    items: list[WebhookOut]
    next: str | None = None


class WebhookDeliveryOut(BaseModel):
    id: str  # the body's id
    event: str
    event_at: datetime
    status: str  # pending | delivered | failed | cancelled
    attempts: int
    response_code: int | None
    error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None  # while pending
    delivered_at: datetime | None
    created_at: datetime


class WebhookDeliveryList(BaseModel):
    items: list[WebhookDeliveryOut]
    next: str | None = None


class MemberIn(Strict):
    agency_id: str = Field(min_length=1, max_length=32)
    tier: Tier
    receives_referrals: bool = Field(
        default=False,
        description=(
            "The agency (an IDVA service, a hate crime advocacy service) whose members see every referral of the "
            "conference in full, safe contact included, from the moment it arrives, to reach the victim first"
        ),
    )


class ConferenceIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    slug: str = Field(min_length=3, max_length=64)
    type: str = Field(min_length=1, max_length=64)
    weekday: Weekday
    start_time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    first_date: date
    members: list[MemberIn] = Field(default_factory=list, max_length=200)
    nation: Literal["england_wales", "scotland", "northern_ireland"] = Field(
        default="england_wales", description="Whose bank holidays count for cut-offs"
    )
    move_on_bank_holiday: bool = Field(
        default=True, description="A meeting on a bank holiday moves to the next working day"
    )
    venue: str | None = Field(default=None, max_length=200)


class MemberOut(BaseModel):
    agency_id: str
    name: str
    tier: str
    receives_referrals: bool


class ConferenceOut(BaseModel):
    id: str
    name: str
    slug: str
    type: str
    weekday: str
    start_time: str
    first_date: date
    members: list[MemberOut]
    nation: str
    move_on_bank_holiday: bool
    venue: str | None


class ConferenceList(BaseModel):
    items: list[ConferenceOut]
    next: str | None = None


class ConferenceRoleItem(Strict):
    slug: str = Field(min_length=1, max_length=64)
    role: ConferenceRole = Field(description="The user's role in this conference alone")


class UserIn(Strict):
    email: str = Field(min_length=3, max_length=254)
    name: str = Field(min_length=1, max_length=200)
    agency_id: str = Field(min_length=1, max_length=32)
    role: Role
    conferences: list[str | ConferenceRoleItem] = Field(
        default_factory=list,
        max_length=100,
        description="Each a slug (the user's own role there) or {slug, role} for a role in that conference alone",
    )


class UserConferencesIn(Strict):
    conferences: list[str | ConferenceRoleItem] = Field(
        max_length=100,
        description=(
            "Every conference the user is to be given, in the form of POST /api/v1/users: each a slug (the user's own"
            " role there) or {slug, role}. A conference left out is taken away; an item whose role differs changes it"
        ),
    )


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    agency_id: str
    role: str
    active: bool
    conferences: list[str | ConferenceRoleItem] = Field(
        description="Each a slug (the user's own role there) or {slug, role} where their role there differs"
    )
    setup_link_sent_to: str | None = Field(
        default=None,
        description=("Where the new user's one-time set-up link (72 hours) was e-mailed: their own address"),
    )
    setup_url: str | None = Field(
        default=None,
        description=(
            "The set-up link itself, only on a development or demo server (MARAC_ENV); elsewhere always null: "
            "an administrator never receives another person's link"
        ),
    )


class UserList(BaseModel):
    items: list[UserOut]
    next: str | None = None


class AuditEventOut(BaseModel):
    seq: int
    at: datetime
    user_id: str | None
    agency_id: str | None
    action: str
    object_type: str | None
    object_id: str | None
    conference_id: str | None
    outcome: str
    request_id: str | None


class AuditList(BaseModel):
    items: list[AuditEventOut]
    next: str | None


class AuditVerifyOut(BaseModel):
    ok: bool
    checked: int
    first_bad_seq: int | None


class JobOut(BaseModel):
    id: str
    status: str
    progress: int
    error: str | None = None
