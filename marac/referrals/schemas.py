"""The referral as sent: the API body, a CSV row or a form all become this one shape.

Unknown fields are refused (422, as /api/v1/openapi.json says). Field paths in errors are dotted
("victim.name", "perpetrators.0.date_of_birth") and name form inputs too.
"""

from __future__ import annotations

import datetime
import re
from datetime import date
from itertools import pairwise
from typing import Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from marac.errors import RuleViolation
from marac.i18n import gettext as _
from marac.validation import fields_of, unstorable

# A list index in a form or CSV path: bounded, so "perpetrators.99999999" makes no list that long.
INDEX_RE = re.compile(r"[0-9]{1,2}")

POSTCODE = r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$"
Text = Field(min_length=1, max_length=200)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Address(Strict):
    line1: str = Field(min_length=1, max_length=200)
    line2: str | None = Field(default=None, max_length=200)
    town: str | None = Field(default=None, max_length=100)
    postcode: str = Field(pattern=POSTCODE, description="A UK postcode, for example SW1A 1AA")


class SafeContact(Strict):
    phone: str = Field(min_length=5, max_length=30, pattern=r"^[0-9 +()-]+$")
    safe_to_call: bool
    safe_to_leave_message: bool


class Monitoring(Strict):
    ethnicity: str | None = Field(default=None, max_length=100)
    racially_minoritised: bool | None = None
    lgbt: bool | None = Field(
        default=None,
        description="Lesbian, gay, bisexual, trans or other minority sexual orientation or gender identity",
    )
    disabled: bool | None = None
    religion: str | None = Field(default=None, max_length=100)


class Victim(Strict):
    name: str = Text
    aliases: list[str] = Field(default_factory=list, max_length=10)
    date_of_birth: date | None = None
    gender: Literal["female", "male", "non_binary", "other", "not_known"] | None = None
    address: Address | None = None
    safe_contact: SafeContact | None = None
    language: str | None = Field(default=None, max_length=50)
    interpreter_needed: bool | None = None
    communication_needs: str | None = Field(
        default=None, max_length=1000, description="Disability or communication needs to know before making contact"
    )
    safe_ways_to_contact: str | None = Field(
        default=None, max_length=1000, description="Safe ways and times to make contact (and ways that are not safe)"
    )
    monitoring: Monitoring | None = None


class Perpetrator(Strict):
    name: str = Text
    aliases: list[str] = Field(default_factory=list, max_length=10)
    date_of_birth: date | None = None
    relationship: str | None = Field(default=None, max_length=100)
    address: Address | None = None


class Child(Strict):
    name: str = Text
    date_of_birth: date | None = None
    relationship_to_victim: str | None = Field(
        default=None, max_length=100, description="For example son, stepdaughter"
    )
    relationship_to_perpetrator: str | None = Field(default=None, max_length=100)
    school: str | None = Field(default=None, max_length=200, description="School or nursery")
    address: Address | None = Field(default=None, description="Only if different from the victim's")


class Referrer(Strict):
    name: str = Text
    phone: str | None = Field(default=None, min_length=5, max_length=30, pattern=r"^[0-9 +()-]+$")
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class PreviousMarac(Strict):
    area: str = Field(min_length=1, max_length=200, description="The MARAC (area) that knew the victim before")
    # datetime.date: a field named `date` would hide the type inside this class
    date: datetime.date | None = Field(default=None, description="When, as far as known")
    repeat: bool | None = Field(
        default=None,
        description="This referral repeats that earlier MARAC case, which the system does not hold (the date is then "
        "needed, within the type's repeat window before the incident date): the coordinator confirms it, and only "
        "then does it count as a repeat",
    )


class Risk(Strict):
    instrument: str = Field(min_length=1, max_length=64)
    score: int | None = Field(default=None, ge=0, le=100)
    level: Literal["low", "medium", "high"] | None = None
    answers: list[str] | dict[str, str] | None = None


class Consent(Strict):
    victim_aware: bool
    consented: bool
    reason_if_not: str | None = Field(default=None, max_length=2000)
    monitoring_only: bool | None = Field(
        default=None,
        description="Without consent: keep the report for monitoring figures only, never shared "
        "(where the conference type allows it); otherwise give reason_if_not",
    )


class IncidentLocation(Strict):
    postcode: str | None = Field(default=None, pattern=POSTCODE, description="Where it happened: a UK postcode")
    place: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Or one of the conference's named places (GET /api/v1/conferences/{slug}/places): its id or name",
    )


Criterion = Literal["visible_high_risk", "professional_judgement", "escalation", "repeat"]


class ReferralIn(Strict):
    conference: str = Field(min_length=1, max_length=64)
    received_at: date
    incident_date: date | None = Field(
        default=None, description="The date of the incident behind the referral; the date received if left out"
    )
    criteria: list[Criterion] = Field(min_length=1, max_length=4)
    risk: Risk
    judgement_reason: str | None = Field(default=None, max_length=5000)
    victim: Victim
    perpetrators: list[Perpetrator] = Field(default_factory=list, max_length=10)
    children: list[Child] = Field(default_factory=list, max_length=20)
    strands: list[str] = Field(
        default_factory=list, max_length=20, description='Monitored strands, "strand" or "strand:subcategory"'
    )
    incident_kind: Literal["crime", "incident"] | None = None
    incidents: list[date] = Field(
        default_factory=list, max_length=100, description="Dates of earlier incidents, for the escalation criterion"
    )
    summary: str = Field(min_length=1, max_length=10000)
    consent: Consent
    transfer_from: str | None = Field(
        default=None, max_length=200, description="The MARAC this case is transferred from"
    )
    transfer_last_heard: date | None = Field(
        default=None, description="A transfer in: the date the MARAC it comes from last heard the case"
    )
    referrer: Referrer | None = Field(
        default=None,
        description="The person who made the referral, to be reached about it (the account's agency refers)",
    )
    previously_known: PreviousMarac | None = Field(default=None, description="Previously known to MARAC: area and date")
    incident_location: IncidentLocation | None = Field(
        default=None,
        description="Where the incident happened, a postcode or a named place: only for conference types "
        "that match repeats on location (hate crime hotspots)",
    )


# An edit (PATCH): any field of a referral but its conference, each replacing the referral's own
# (a section such as victim whole); the result is checked as a new referral would be.
_PATCHABLE: dict[str, Any] = {
    name: (Optional[field.annotation], None)  # noqa: UP045 - annotation is a runtime value here
    for name, field in ReferralIn.model_fields.items()
    if name != "conference"
}
ReferralPatch: type[Strict] = create_model("ReferralPatch", __base__=Strict, **_PATCHABLE)


def set_path(body: dict, path: str, value: object) -> None:
    """Put `value` at a dotted path ("victim.address.postcode", "perpetrators.0.name"),
    making the dicts and lists on the way: how a CSV row or a form becomes a body."""
    parts = path.split(".")
    target: dict | list = body
    for part, following in pairwise(parts):
        key: int | str = int(part) if INDEX_RE.fullmatch(part) else part
        if isinstance(target, list) != isinstance(key, int):  # "victim.0", "perpetrators.name", "perpetrators.100"
            raise RuleViolation(_("The referral is not valid"), {path: _("Unknown field")})
        if isinstance(target, list):
            while len(target) <= key:  # type: ignore[operator]  # an int: checked against the list above
                target.append({})
            target = target[key]  # type: ignore[index]  # an int: checked against the list above
        else:
            target = target.setdefault(key, [] if INDEX_RE.fullmatch(following) else {})
    last = parts[-1]
    if isinstance(target, list) and not INDEX_RE.fullmatch(last):
        raise RuleViolation(_("The referral is not valid"), {path: _("Unknown field")})
    # An int index into a list, a str key into a dict: mypy cannot pair the two conditions.
    target[int(last) if isinstance(target, list) else last] = value  # type: ignore[index]  # see above


def parse(payload: object) -> ReferralIn:
    """Validate a decoded body; every problem is reported with its field path."""
    if bad := unstorable(payload):  # a CSV row or a form, as much as an API body
        raise RuleViolation(_("The referral is not valid"), bad)
    try:
        return ReferralIn.model_validate(payload)
    except ValidationError as exc:
        raise RuleViolation(_("The referral is not valid"), fields_of(exc)) from None
