"""Referrals and the person index behind repeat detection.

Personal data lives in these tables only; the audit trail and job payloads carry ids.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model

from marac.audit.service import case_of
from marac.i18n import lazy_gettext
from marac.ids import new_id
from marac.sealed import SealedDate, SealedJSON, SealedModel, SealedText

if TYPE_CHECKING:  # type hints only: the models of other domains, higher or lower
    from marac.agencies.models import Agency, Conference, User
    from marac.meetings.models import Meeting

# heard: listed on a published agenda. Repeats and figures count received, accepted and heard.
# merged: a duplicate the coordinator merged into another referral (merged_into): one case.
# withdrawn: taken back with a reason before it was heard; out of the pool and any unpublished agenda.
REFERRAL_STATUSES = ("received", "accepted", "rejected", "monitoring_only", "heard", "merged", "withdrawn")
# Each status in a sentence, in the reader's language ("This referral is withdrawn").
STATUS_WORDS = {
    "received": lazy_gettext("received"),
    "accepted": lazy_gettext("accepted"),
    "rejected": lazy_gettext("rejected"),
    "monitoring_only": lazy_gettext("monitoring only"),
    "heard": lazy_gettext("heard"),
    "merged": lazy_gettext("merged"),
    "withdrawn": lazy_gettext("withdrawn"),
}
ROLES_IN_REFERRAL = ("victim", "perpetrator", "child")


class Person(SealedModel):
    # One entry of the person index: everything known to identify someone across referrals.
    # The index is per conference: matching never reaches into another MARAC's records.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="people", on_delete=fields.CASCADE
    )
    conference_id: str
    # Sealed: candidates are found through PersonKey, never by reading these in SQL.
    names = SealedJSON(default=list)  # main name first, then aliases, as typed
    date_of_birth = SealedDate(null=True)
    postcode: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "person"


class PersonKey(Model):
    # Blocking keys (phonetic codes, not names): candidates are found by index, never by a scan.
    id = fields.BigIntField(primary_key=True)
    conference_id = fields.CharField(max_length=32)
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="keys", on_delete=fields.CASCADE
    )
    person_id: str
    key = fields.CharField(max_length=64)
    # The version of the person-index key that made `key` (settings.versioned_keys); 0 for
    # keys made before versions, with the key derived from MARAC_SECRET_KEY.
    key_version = fields.IntField(db_default=0)

    class Meta:
        table = "person_key"
        unique_together = (("conference_id", "key", "person"),)  # also the lookup index
        indexes = (("person_id", "key_version"),)  # a person's keys; `marac keys rotate` finds old ones


class MatchSuggestion(Model):
    # A medium-confidence match offered to the coordinator; the decision is remembered so
    # the same pair is never offered again.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="match_suggestions", on_delete=fields.CASCADE
    )
    conference_id: str
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="suggested_as_new", on_delete=fields.CASCADE
    )
    person_id: str
    candidate: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="suggested_as_existing", on_delete=fields.CASCADE
    )
    candidate_id: str
    score = fields.FloatField()
    reasons: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    status = fields.CharField(max_length=16, default="pending")  # pending | same | different
    decided_by = fields.CharField(max_length=32, null=True)
    decided_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "match_suggestion"
        unique_together = (("person", "candidate"),)
        indexes = (("conference_id", "status"),)  # the coordinator's pending matches (/matches, marac/todo.py)


class Referral(SealedModel):
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="referrals", on_delete=fields.RESTRICT
    )
    conference_id: str
    referring_agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="referrals", on_delete=fields.RESTRICT
    )
    referring_agency_id: str
    referrer: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="referrals", on_delete=fields.RESTRICT
    )
    referrer_id: str
    received_at = fields.DateField(db_index=True)
    # The date of the incident behind the referral (never after today; the received date when
    # not given). Repeats and escalation count incident dates (docs/domain.md#repeat-referrals).
    incident_date = fields.DateField(null=True)
    criteria_claimed: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    criteria_met: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    # instrument, score, level, computed_level, answers
    risk: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    judgement_reason: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    victim = SealedJSON(default=dict)  # the victim section as sent (contact, monitoring, ...)
    victim_person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="referrals_as_victim", on_delete=fields.RESTRICT
    )
    victim_person_id: str
    strands: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    incident_kind = fields.CharField(max_length=16, null=True)
    incidents: fields.JSONField[list[Any]] = fields.JSONField(
        default=list
    )  # dates of earlier incidents, for escalation
    incidents_in_window = fields.IntField(default=0)
    summary = SealedText()
    consent: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    transfer_from = fields.CharField(max_length=200, null=True)
    # A transfer in: the date the source MARAC last heard the case (docs/domain.md#transfers).
    transfer_last_heard = fields.DateField(null=True)
    # A transfer out: the area whose MARAC the coordinator sent the case to, and the day
    # (minutes/transfer.py; the package itself is a TransferPackage).
    transferred_out_to = fields.CharField(max_length=200, null=True)
    transferred_out_on = fields.DateField(null=True)
    # The person who made the referral and how to reach them (name, phone, e-mail): sealed,
    # personal contact data. The referring agency and account are referring_agency and referrer.
    referrer_contact = SealedJSON(null=True)
    # "Previously known to MARAC": the area and date the referrer names ({area, date}).
    previously_known: fields.JSONField[dict[str, Any] | None] = fields.JSONField(null=True)
    is_repeat = fields.BooleanField(default=False)
    # A repeat the referrer claims of an earlier MARAC case the system does not hold (previously_known
    # with repeat: true): pending until the coordinator confirms or rejects it; only a confirmed claim
    # makes the referral a repeat (is_repeat). None: nothing claimed.
    repeat_claim = fields.CharField(max_length=16, null=True)  # pending | confirmed | rejected
    repeat_claim_reason: str | None = SealedText(null=True)  # the coordinator's; may name someone
    repeat_claim_decided_by = fields.CharField(max_length=32, null=True)
    repeat_claim_decided_at = fields.DatetimeField(null=True)
    previous_referral: fields.ForeignKeyNullableRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="repeats", null=True, on_delete=fields.SET_NULL
    )
    previous_referral_id: str | None
    # A repeat of an earlier case loaded from a history file (no referral of ours to point at).
    previous_case: fields.ForeignKeyNullableRelation[EarlierCase] = fields.ForeignKeyField(
        "marac.EarlierCase", related_name="repeats", null=True, on_delete=fields.SET_NULL
    )
    previous_case_id: str | None
    # Where the incident happened, for types that match repeats on location (hate crime hotspots):
    # {"postcode": "NS2 2BB"} or {"place": NamedPlace id}. Sealed: a postcode may be someone's home.
    incident_location = SealedJSON(null=True)
    # What a repeat by location is matched on: a keyed digest of the normalised postcode or the
    # named place (referrals.locations), so the column names no address; with the key version
    # that made it. None without a location, and for monitoring-only reports (never matched).
    location_key = fields.CharField(max_length=64, null=True)
    location_key_version = fields.IntField(null=True)
    # The same people with an incident date within the type's duplicate_days of a referral not
    # yet heard: the same incident referred twice, not a repeat. The coordinator merges the two
    # (this one's status becomes merged, merged_into the case it joins) or keeps them apart.
    possible_duplicate_of: fields.ForeignKeyNullableRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="possible_duplicates", null=True, on_delete=fields.SET_NULL
    )
    possible_duplicate_of_id: str | None
    merged_into: fields.ForeignKeyNullableRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="merged", null=True, on_delete=fields.SET_NULL
    )
    merged_into_id: str | None
    kept_apart_reason: str | None = SealedText(null=True)  # may name the people or the incident
    withdrawn_reason: str | None = SealedText(null=True)
    # Monitoring only: a hate incident reported without consent to share. Counted in
    # figures; never on an agenda, research list, minutes or another agency's screen.
    monitoring_only = fields.BooleanField(default=False)
    status = fields.CharField(max_length=16, default="received", db_index=True)
    # expected_meeting: the first meeting whose cut-off the received date meets (what the
    # referrer is told). meeting: the meeting whose agenda lists it; only the agenda builder
    # sets it, and only it decides what is still waiting to be heard.
    expected_meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="expected_referrals", null=True, on_delete=fields.SET_NULL
    )
    expected_meeting_id: str | None
    meeting: fields.ForeignKeyNullableRelation[Meeting] = fields.ForeignKeyField(
        "marac.Meeting", related_name="referrals", null=True, on_delete=fields.SET_NULL
    )
    meeting_id: str | None
    people: fields.ReverseRelation[ReferralPerson]
    merged: fields.ReverseRelation[Referral]
    changes: fields.ReverseRelation[ReferralChange]
    decision_reason: str | None = fields.TextField(null=True)  # Tortoise types text as str, even if null
    decided_by = fields.CharField(max_length=32, null=True)
    decided_at = fields.DatetimeField(null=True)
    # Set when retention anonymised it: the row stays for the figures, the personal data is gone.
    anonymised_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "referral"
        ordering = ["-received_at", "-created_at"]
        # One meeting's work reads only its conference's pending referrals (status first),
        # and repeats read one victim's referrals: neither scans the history.
        indexes = (
            ("conference_id", "status", "received_at"),
            ("victim_person_id", "received_at"),
            # a repeat by location reads the referrals of one place, never the conference's history
            ("conference_id", "location_key"),
            # a case's merged duplicates, possible duplicates and repeats (and SET NULL when one goes)
            ("merged_into_id",),
            ("possible_duplicate_of_id",),
            ("previous_referral_id",),
        )


class NamedPlace(Model):
    # A place the coordinator names for repeats by location (a hate crime hotspot such as "Market
    # Square"): referrers choose it instead of a postcode. Public places, so not sealed. Retired,
    # not deleted: referrals that named it keep it; the form no longer offers it.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="named_places", on_delete=fields.CASCADE
    )
    conference_id: str
    name = fields.CharField(max_length=100)
    created_at = fields.DatetimeField(auto_now_add=True)
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "named_place"
        ordering = ["name"]
        indexes = (("conference_id", "retired_at"),)


class ReferralChange(SealedModel):
    # Every edit and withdrawal of a referral: who, when, which fields, and the referral as it
    # was before (sealed: it holds everything the referral held). Audited as referral.edit or
    # referral.withdraw with the change's id.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="changes", on_delete=fields.CASCADE
    )
    referral_id: str
    kind = fields.CharField(max_length=16)  # edit | withdraw | repeat_confirm | repeat_reject
    changed_by = fields.CharField(max_length=32)
    changed_at = fields.DatetimeField()
    # top-level field names, never values
    changed_fields: fields.JSONField[list[str]] = fields.JSONField(default=list)
    before = SealedJSON(default=dict)
    reason: str | None = SealedText(null=True)  # Tortoise types text as str, even if null

    class Meta:
        table = "referral_change"
        ordering = ["changed_at"]
        indexes = (("referral_id", "changed_at"),)


class ReferralDraft(SealedModel):
    # A referral being written (marac/referrals/drafts.py): what its author typed, as typed (never
    # validated until sent), seen by its author alone. Never in the person index, matching, figures
    # or any list but the author's own; deleted by the retention run once expires_at has passed.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    author: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="referral_drafts", on_delete=fields.CASCADE
    )
    author_id: str
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="referral_drafts", on_delete=fields.CASCADE
    )
    conference_id: str
    body = SealedJSON(default=dict)  # the referral body as typed: names, contact details, the lot
    saved_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()  # 30 days after the last save
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "referral_draft"
        ordering = ["-saved_at"]
        # The author's list, and the retention run's expired drafts of one conference.
        indexes = (("author_id", "expires_at"), ("conference_id", "expires_at"))


class ReferralPerson(SealedModel):
    # Someone named in a referral (victim, perpetrator or child), linked to the person index.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="people", on_delete=fields.CASCADE
    )
    referral_id: str
    person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="appearances", on_delete=fields.RESTRICT
    )
    person_id: str
    role = fields.CharField(max_length=16)
    name = SealedText()
    aliases = SealedJSON(default=list)
    date_of_birth = SealedDate(null=True)
    relationship: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    # Perpetrators: address. Children: relationship to the victim and to the perpetrator,
    # school or nursery, address if different from the victim's. Sealed (contact data).
    details = SealedJSON(null=True)
    position = fields.IntField(default=0)
    # Age at the referral date, kept when retention removes the date of birth (figures count
    # perpetrators aged 17 or under and victims aged 16-17).
    age_band = fields.CharField(max_length=16, null=True)

    class Meta:
        table = "referral_person"
        ordering = ["role", "position"]
        # Every read of a referral's people (case pages, research lists, quarterly figures) is by
        # referral: without this index each one scans every conference's people.
        # A repeat by perpetrator reads the referrals naming one person (referrals.service._matching).
        indexes = (("referral_id", "role"), ("person_id", "role"))


class BreakGlass(SealedModel):
    # Break-glass (README "Break-glass access"): a user outside a case's entitlement, with an urgent safeguarding
    # need, re-authenticated and gave a reason, and reads that one referral for 4 hours. Kept
    # after it ends: every use is reviewed by a coordinator of the case's conference.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "marac.User", related_name="break_glass", on_delete=fields.RESTRICT
    )
    user_id: str
    agency: fields.ForeignKeyRelation[Agency] = fields.ForeignKeyField(
        "marac.Agency", related_name="break_glass", on_delete=fields.RESTRICT
    )
    agency_id: str
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "marac.Referral", related_name="break_glass", on_delete=fields.CASCADE
    )
    referral_id: str
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="break_glass", on_delete=fields.CASCADE
    )
    conference_id: str
    reason = SealedText()  # may name the person or the incident
    started_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    # When access actually stopped: the moment the user or a coordinator ended it, or
    # expires_at for a grant that ran out (whenever that was first noticed).
    ended_at = fields.DatetimeField(null=True)
    end_reason = fields.CharField(max_length=16, null=True)  # ended | revoked | expired
    ended_by = fields.CharField(max_length=32, null=True)
    # Address and safe contact stay masked unless a coordinator approves them for this grant.
    contact_approved_by = fields.CharField(max_length=32, null=True)
    contact_approved_at = fields.DatetimeField(null=True)
    reviewed_by = fields.CharField(max_length=32, null=True)
    reviewed_at = fields.DatetimeField(null=True)
    review_note: str | None = SealedText(null=True)  # Tortoise types text as str, even if null

    class Meta:
        table = "break_glass"
        ordering = ["-started_at"]
        # A read looks up the caller's grants for one referral; the review list reads one
        # conference's unreviewed uses.
        indexes = (("user_id", "referral_id", "ended_at"), ("conference_id", "reviewed_at"))


class HistoryImport(SealedModel):
    # One history file (`marac import history`, the coordinator's history page): earlier cases
    # loaded so repeats work from day one (docs/domain.md#history). The file waits here, sealed,
    # while its job runs (job payloads carry ids only) and is emptied once the job ends. The
    # digest of an imported file refuses the same file twice.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="history_imports", on_delete=fields.CASCADE
    )
    conference_id: str
    digest = fields.CharField(max_length=64)  # SHA-256 of the file as uploaded
    content: str | None = SealedText(null=True)  # Tortoise types text as str, even if null
    status = fields.CharField(max_length=16, default="queued")  # queued | running | done | failed
    message = fields.CharField(max_length=200, null=True)  # why it failed, in a sentence
    progress = fields.IntField(default=0)  # percent
    rows = fields.IntField(default=0)
    added = fields.IntField(default=0)  # earlier cases written
    skipped = fields.IntField(default=0)  # rows naming a case the index already holds
    # Each problem with its place in the file ("Line 3, column heard_on": message); the messages
    # never repeat a value from the file.
    problems: fields.JSONField[list[Any]] = fields.JSONField(default=list)
    requested_by = fields.CharField(max_length=32, null=True)  # None: the command line
    job_id = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "history_import"
        ordering = ["-created_at"]
        indexes = (("conference_id", "digest"),)


class EarlierCase(Model):
    # A case heard before the conference used marac, from a history file: its people are in the
    # person index and it counts for repeats from its heard_on date, but it is never a referral,
    # an agenda item or a figure.
    id = fields.CharField(max_length=32, primary_key=True, default=new_id)
    conference: fields.ForeignKeyRelation[Conference] = fields.ForeignKeyField(
        "marac.Conference", related_name="earlier_cases", on_delete=fields.CASCADE
    )
    conference_id: str
    history_import: fields.ForeignKeyRelation[HistoryImport] = fields.ForeignKeyField(
        "marac.HistoryImport", related_name="cases", on_delete=fields.CASCADE
    )
    history_import_id: str
    victim_person: fields.ForeignKeyRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="earlier_cases_as_victim", on_delete=fields.RESTRICT
    )
    victim_person_id: str
    perpetrator_person: fields.ForeignKeyNullableRelation[Person] = fields.ForeignKeyField(
        "marac.Person", related_name="earlier_cases_as_perpetrator", null=True, on_delete=fields.RESTRICT
    )
    perpetrator_person_id: str | None
    heard_on = fields.DateField()
    line = fields.IntField()  # its line in the file

    class Meta:
        table = "earlier_case"
        # A new referral reads one victim's (or perpetrator's) earlier cases within the window.
        indexes = (("victim_person_id", "heard_on"), ("perpetrator_person_id", "heard_on"))


# The case of an audit event (audit.service.case_of): a referral is its own case; a break-glass grant opens one.
@case_of("referral")
async def _case_of_referral(referral_id: str, conn: BaseDBAsyncClient) -> str | None:
    return referral_id


@case_of("break_glass")
async def _case_of_break_glass(grant_id: str, conn: BaseDBAsyncClient) -> str | None:
    found = await BreakGlass.filter(id=grant_id).using_db(conn).first().values_list("referral_id", flat=True)
    return str(found) if found else None
