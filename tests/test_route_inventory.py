"""Every route of the app, called as every persona, answers as the access table says.

A new route without an entry here fails the first test: access is decided on purpose,
never by omission. Unsafe page requests carry a valid CSRF token and an empty form, so
a permitted role reaches the handler's validation (400) or its redirect (303).
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from starlette.routing import Mount, Route

from marac.agencies import auth
from marac.agencies import service as directory
from marac.agencies.access import viewer_for
from marac.agencies.models import Conference
from marac.jobs.models import Job
from marac.referrals import drafts
from tests.conftest import CONFERENCE, Persona, csrf_token, make_client, make_referral, session_cookie_for

PERSONAS = ["anonymous", "admin", "coordinator", "chair", "police", "idva", "health", "childrens", "housing", "auditor"]
SIGNED_IN = PERSONAS[1:]


def everyone(status: int, anonymous: int | None = None) -> dict[str, int]:
    table = {p: status for p in SIGNED_IN}
    table["anonymous"] = status if anonymous is None else anonymous
    return table


def only(allowed: dict[str, int], others: int = 403, anonymous: int = 401) -> dict[str, int]:
    table = {p: allowed.get(p, others) for p in SIGNED_IN}
    table["anonymous"] = anonymous
    return table


PAGE_LOGIN = 303  # a page asked for without a session redirects to /login
MEMBERS_OF_CONFERENCE = {
    p: 200 for p in ["admin", "coordinator", "chair", "police", "idva", "health", "childrens", "auditor"]
}

CASE_ROLES = ["coordinator", "chair", "police", "idva", "health", "childrens", "housing"]
OFFICERS = {"coordinator": 200, "chair": 200}
NOT_LIVE = {"coordinator": 409, "chair": 409}
REFERRAL_READERS = {"coordinator": 200, "chair": 200, "police": 200}  # the conference's officers, and the referrer
# A role that may not call an API endpoint still gets 404, not 403, for a record it may not
# see: housing never learns the conference's meetings exist, nor anyone but the officers and
# the referrer the referral, nor admins and auditors an action.
MEETING_HIDDEN = {"housing": 404}
REFERRAL_HIDDEN = {p: 404 for p in ["idva", "health", "childrens", "housing", "admin", "auditor"]}
DRAFT_HIDDEN = {p: 404 for p in CASE_ROLES}  # a draft is its author's alone

EXPECTED: dict[tuple[str, str], dict[str, int]] = {
    # sign-in pages (public); a signed-in user opening /login goes home
    ("GET", "/login"): {**everyone(303), "anonymous": 200},
    ("POST", "/login"): everyone(400),
    ("GET", "/login/mfa"): everyone(303),
    ("POST", "/login/mfa"): everyone(303),
    ("GET", "/mfa/enrol"): everyone(303),
    ("POST", "/mfa/enrol"): everyone(303),
    ("POST", "/logout"): everyone(303, anonymous=PAGE_LOGIN),
    ("GET", "/step-up"): everyone(200, anonymous=PAGE_LOGIN),
    ("POST", "/step-up"): everyone(400, anonymous=PAGE_LOGIN),
    ("GET", "/setup/{token}"): everyone(404),
    ("POST", "/setup/{token}"): everyone(404),
    # own account
    ("GET", "/"): everyone(200, anonymous=PAGE_LOGIN),
    ("GET", "/account"): everyone(200, anonymous=PAGE_LOGIN),
    # the coordinator's dashboard
    ("GET", "/dashboard"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/account/tokens"): everyone(400, anonymous=PAGE_LOGIN),
    ("POST", "/account/tokens/{token_id}/revoke"): everyone(303, anonymous=PAGE_LOGIN),
    ("POST", "/account/password"): everyone(400, anonymous=PAGE_LOGIN),
    ("POST", "/account/notifications"): only({p: 303 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/account/language"): everyone(400, anonymous=PAGE_LOGIN),
    # directory pages: admin only
    ("GET", "/admin/agencies"): only({"admin": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/agencies"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/agencies/{agency_id}/language"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("GET", "/admin/conferences"): only({"admin": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/conferences"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/admin/conferences/{slug}"): only({"admin": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/conferences/{slug}/members"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/conferences/{slug}/members/{agency_id}/remove"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("GET", "/admin/users"): only({"admin": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/users"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/admin/users/{user_id}"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/users/{user_id}/conferences"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/users/{user_id}/disable"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/users/{user_id}/reset"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    # webhooks to agency systems: admin only (the webhook id under test does not exist; anyone else gets 404
    # for a webhook, real or not)
    ("GET", "/admin/webhooks"): only({"admin": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/webhooks"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/admin/webhooks/{webhook_id}"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/webhooks/{webhook_id}/rotate"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/webhooks/{webhook_id}/disable"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/webhooks/{webhook_id}/enable"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/webhooks/{webhook_id}/delete"): only({"admin": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/api/v1/webhooks"): only({"admin": 422}),
    ("GET", "/api/v1/webhooks"): only({"admin": 200}),
    ("GET", "/api/v1/webhooks/{webhook_id}"): only({"admin": 404}, others=404),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): only({"admin": 422}, others=404),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): only({"admin": 404}, others=404),
    ("POST", "/api/v1/webhooks/{webhook_id}/rotate"): only({"admin": 404}, others=404),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): only({"admin": 404}, others=404),
    # API: directory
    ("GET", "/api/v1/agencies"): everyone(200, anonymous=401),
    ("POST", "/api/v1/agencies"): only({"admin": 422}),
    ("PATCH", "/api/v1/agencies/{agency_id}"): only({"admin": 422}),
    ("GET", "/api/v1/conferences"): everyone(200, anonymous=401),
    ("POST", "/api/v1/conferences"): only({"admin": 422}),
    ("GET", "/api/v1/conferences/{slug}"): only(MEMBERS_OF_CONFERENCE, others=404),
    ("GET", "/api/v1/users"): only({"admin": 200}),
    ("POST", "/api/v1/users"): only({"admin": 422}),
    # an empty body: conferences are required; anyone else sees only their own account (the id under test: none)
    ("PATCH", "/api/v1/users/{user_id}"): only({"admin": 422}, others=404),
    # API: audit and jobs
    ("GET", "/api/v1/audit"): only({"auditor": 200, "coordinator": 200}),
    ("GET", "/api/v1/audit/verify"): only({"auditor": 200}),
    ("GET", "/api/v1/jobs/{job_id}"): only({"coordinator": 200}, others=404),
    # the caller's own to-do list (empty for a role that handles no cases)
    ("GET", "/api/v1/todo"): everyone(200, anonymous=401),
    # referrals: police made the referral under test
    ("GET", "/referrals"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/referrals/new"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/new"): only({**{p: 400 for p in CASE_ROLES}, "housing": 200}, anonymous=PAGE_LOGIN),
    ("GET", "/referrals/import"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/import"): only({p: 400 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/referrals/{referral_id}"): only(
        {**{p: 404 for p in CASE_ROLES}, **REFERRAL_READERS}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/referrals/{referral_id}/decision"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/{referral_id}/merge"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    # the referring agency (police) before triage and the coordinator: an empty form is the form again
    ("GET", "/referrals/{referral_id}/edit"): only(
        {**{p: 404 for p in CASE_ROLES}, "coordinator": 200, "police": 200, "chair": 403}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/referrals/{referral_id}/edit"): only(
        {**{p: 404 for p in CASE_ROLES}, "coordinator": 400, "police": 400, "chair": 403}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/referrals/{referral_id}/withdraw"): only(
        {**{p: 404 for p in CASE_ROLES}, "coordinator": 400, "police": 400, "chair": 403}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/referrals/{referral_id}/keep-apart"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    # transfers out: the conference's coordinator alone; the package exists for no one here (not transferred)
    ("POST", "/referrals/{referral_id}/transfer"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/referrals/{referral_id}/transfer-package.pdf"): everyone(404, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/{referral_id}/repeat-claim"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    # drafts: police wrote the draft under test; nobody else learns it exists, the coordinator included.
    # Sent as an empty form it is the form again; deleting it is asked first.
    ("GET", "/referrals/drafts"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/referrals/drafts/{draft_id}"): only({**DRAFT_HIDDEN, "police": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/drafts/{draft_id}"): only({**DRAFT_HIDDEN, "police": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/referrals/drafts/{draft_id}/delete"): only({**DRAFT_HIDDEN, "police": 200}, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/referral-drafts"): only({p: 200 for p in CASE_ROLES}),
    ("POST", "/api/v1/referral-drafts"): only({p: 422 for p in CASE_ROLES}),
    ("GET", "/api/v1/referral-drafts/{draft_id}"): only({"police": 200}, others=404),
    ("PUT", "/api/v1/referral-drafts/{draft_id}"): only({"police": 422}, others=404),
    ("DELETE", "/api/v1/referral-drafts/{draft_id}"): only({"police": 204}, others=404),
    ("POST", "/api/v1/referral-drafts/{draft_id}/submit"): only({"police": 422}, others=404),
    # the places a conference names for repeats by location: the coordinator's; every referrer reads them
    ("GET", "/conferences/{slug}/places"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/places"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/places/{place_id}/retire"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/conferences/{slug}/places"): only({**{p: 200 for p in CASE_ROLES}, "housing": 404}),
    ("POST", "/api/v1/conferences/{slug}/places"): only({"coordinator": 422, "housing": 404}),
    ("DELETE", "/api/v1/conferences/{slug}/places/{place_id}"): only({"coordinator": 404, "housing": 404}),
    ("GET", "/matches"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/matches/{suggestion_id}"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/api/v1/referrals"): only({p: 422 for p in CASE_ROLES}),
    ("GET", "/api/v1/referrals"): only({p: 200 for p in CASE_ROLES}),
    ("GET", "/api/v1/referrals/{referral_id}"): only(REFERRAL_READERS, others=404),
    ("POST", "/api/v1/referrals/{referral_id}/decision"): only({"coordinator": 422, **REFERRAL_HIDDEN}),
    ("POST", "/api/v1/referrals/{referral_id}/merge"): only({"coordinator": 422, **REFERRAL_HIDDEN}),
    # an empty body changes nothing and is no error; the chair sees the referral and may not change it
    ("PATCH", "/api/v1/referrals/{referral_id}"): only(
        {"coordinator": 200, "police": 200, "chair": 403, **REFERRAL_HIDDEN}
    ),
    ("POST", "/api/v1/referrals/{referral_id}/withdraw"): only(
        {"coordinator": 422, "police": 422, "chair": 403, **REFERRAL_HIDDEN}
    ),
    ("POST", "/api/v1/referrals/{referral_id}/keep-apart"): only({"coordinator": 422, **REFERRAL_HIDDEN}),
    ("POST", "/api/v1/referrals/{referral_id}/transfer-out"): only({"coordinator": 422, **REFERRAL_HIDDEN}),
    ("GET", "/api/v1/referrals/{referral_id}/transfer-package.pdf"): everyone(404, anonymous=401),
    ("POST", "/api/v1/referrals/{referral_id}/repeat-claim"): only({"coordinator": 422, **REFERRAL_HIDDEN}),
    # meetings: the meeting of the referral under test, scheduled (not yet published)
    ("GET", "/api/v1/conferences/{slug}/meetings"): only(MEMBERS_OF_CONFERENCE, others=404),
    ("GET", "/api/v1/meetings/{meeting_id}/agenda"): only({"coordinator": 200, "chair": 200, **MEETING_HIDDEN}),
    ("POST", "/api/v1/meetings/{meeting_id}/agenda/publish"): only({"coordinator": 200, **MEETING_HIDDEN}),
    ("GET", "/api/v1/meetings/{meeting_id}/research-list"): only({p: 404 for p in CASE_ROLES}),  # not published yet
    ("GET", "/api/v1/meetings/{meeting_id}/agenda.pdf"): only({p: 404 for p in CASE_ROLES}),
    ("PUT", "/api/v1/meetings/{meeting_id}/cases/{case_id}/research"): only({p: 422 for p in CASE_ROLES}),
    ("GET", "/calendar/{token}.ics"): everyone(404),
    ("GET", "/conferences/{slug}"): only(MEMBERS_OF_CONFERENCE, others=404, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/meetings"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}"): only(MEMBERS_OF_CONFERENCE, others=404, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/agenda.pdf"): only({p: 404 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/publish"): only({"coordinator": 303}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/move"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cancel"): only({"coordinator": 303}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cases"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/reorder"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/defer"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/research"): only(
        {p: 404 for p in CASE_ROLES}, anonymous=PAGE_LOGIN
    ),
    # the chair's preparation: the conference's chair and coordinator only (everyone else 404, as for
    # no meeting); the meeting under test is not published yet, so there is nothing to prepare (409)
    ("GET", "/meetings/{meeting_id}/preparation"): only(NOT_LIVE, others=404, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/chair-pack.pdf"): only(NOT_LIVE, others=404, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/preparation/chase"): only({"coordinator": 409}, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/meetings/{meeting_id}/chair-pack.pdf"): only(NOT_LIVE, others=404),
    # running the meeting: the meeting under test is not published yet, so changes are 409
    ("GET", "/meetings/{meeting_id}/run"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/cases/{case_id}"): only({"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/attendance"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/confidentiality"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/reviews/{action_id}"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/close"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/notes"): only(
        {"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/actions"): only(
        {"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN
    ),
    ("POST", "/meetings/{meeting_id}/cases/{case_id}/decision"): only(
        {"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN
    ),
    # asking first, changing notes and actions, reopening (the note, action and case do not exist)
    ("GET", "/meetings/{meeting_id}/close"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/reopen"): only({"chair": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/reopen"): only({"chair": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/publish"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/cancel"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    **{
        (method, f"/meetings/{{meeting_id}}/cases/{{case_id}}/{kind}/{{{kind[:-1]}_id}}/{step}"): only(
            {"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN
        )
        for method in ("GET", "POST")
        for kind in ("notes", "actions")
        for step in ("edit", "delete")
    },
    ("GET", "/api/v1/meetings/{meeting_id}/cases/{case_id}"): only(
        {"coordinator": 404, "chair": 404, **MEETING_HIDDEN}
    ),
    ("PATCH", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}"): only({**NOT_LIVE, **MEETING_HIDDEN}),
    ("DELETE", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}"): only({**NOT_LIVE, **MEETING_HIDDEN}),
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/decision"): only(
        {"coordinator": 422, "chair": 422, **MEETING_HIDDEN}
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/close"): only({**NOT_LIVE, **MEETING_HIDDEN}),
    ("POST", "/api/v1/meetings/{meeting_id}/reopen"): only({"chair": 422, **MEETING_HIDDEN}),
    ("DELETE", "/api/v1/actions/{action_id}"): only({p: 404 for p in SIGNED_IN}),
    ("PUT", "/api/v1/meetings/{meeting_id}/attendance"): only({**NOT_LIVE, **MEETING_HIDDEN}),
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes"): only(
        {"coordinator": 422, "chair": 422, **MEETING_HIDDEN}
    ),
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/actions"): only(
        {"coordinator": 422, "chair": 422, **MEETING_HIDDEN}
    ),
    # actions between meetings (the action id under test does not exist)
    ("GET", "/actions"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/actions/{action_id}"): only({p: 404 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/actions/{action_id}/update"): only({p: 404 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/actions"): only({p: 200 for p in CASE_ROLES}),
    ("PATCH", "/api/v1/actions/{action_id}"): only({p: 404 for p in SIGNED_IN}),
    ("POST", "/meetings/{meeting_id}/aob"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    # minutes: the meeting under test is not held, so nothing is approved or rendered
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/approve"): only({"chair": 409, **MEETING_HIDDEN}),
    ("POST", "/api/v1/meetings/{meeting_id}/minutes/render"): only({"coordinator": 409, **MEETING_HIDDEN}),
    ("GET", "/api/v1/meetings/{meeting_id}/minutes.pdf"): only({**{p: 404 for p in CASE_ROLES}, "auditor": 404}),
    ("GET", "/api/v1/meetings/{meeting_id}/minutes/preview.pdf"): only({**NOT_LIVE, **MEETING_HIDDEN}),
    ("GET", "/meetings/{meeting_id}/minutes"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/circulation"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/minutes/preview"): only({"coordinator": 303, "chair": 303}, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/minutes/preview.pdf"): only(NOT_LIVE, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/minutes/approve"): only({"chair": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/minutes/approve"): only({"chair": 409}, anonymous=PAGE_LOGIN),
    ("POST", "/meetings/{meeting_id}/minutes/render"): only({"coordinator": 409}, anonymous=PAGE_LOGIN),
    ("GET", "/meetings/{meeting_id}/minutes.pdf"): only(
        {**{p: 404 for p in CASE_ROLES}, "auditor": 404}, anonymous=PAGE_LOGIN
    ),
    ("GET", "/notifications"): everyone(200, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/notifications"): only({p: 200 for p in CASE_ROLES}),
    ("GET", "/api/v1/notifications/preferences"): only({p: 200 for p in CASE_ROLES}),
    ("PUT", "/api/v1/notifications/preferences"): only({p: 200 for p in CASE_ROLES}),
    ("GET", "/disclosures"): only({"coordinator": 200, "auditor": 200}, anonymous=PAGE_LOGIN),
    ("GET", "/audit"): only({"coordinator": 200, "auditor": 200}, anonymous=PAGE_LOGIN),
    ("GET", "/jobs/{job_id}"): only({"coordinator": 200}, others=404, anonymous=PAGE_LOGIN),
    # break glass: the grant id under test does not exist; admins and auditors never handle cases
    ("GET", "/break-glass"): only({p: 200 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/break-glass"): only({p: 400 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("POST", "/break-glass/{grant_id}/end"): only({p: 404 for p in CASE_ROLES}, anonymous=PAGE_LOGIN),
    ("GET", "/break-glass/reviews"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/break-glass/reviews/{grant_id}/contact"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/break-glass/reviews/{grant_id}/end"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/break-glass/reviews/{grant_id}/review"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    # information governance: the conference's coordinator only
    ("GET", "/conferences/{slug}/retention"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/retention/holds"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/retention/holds/{hold_id}/lift"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    # earlier cases (history files): the conference's coordinator only; anyone else learns nothing (404)
    ("GET", "/conferences/{slug}/history"): only({"coordinator": 200}, others=404, anonymous=PAGE_LOGIN),
    ("POST", "/conferences/{slug}/history"): only({"coordinator": 400}, others=404, anonymous=PAGE_LOGIN),
    ("GET", "/conferences/{slug}/history/{import_id}"): only({}, others=404, anonymous=PAGE_LOGIN),
    ("GET", "/people/{person_id}/subject-access"): only({"coordinator": 200}, anonymous=PAGE_LOGIN),
    ("POST", "/people/{person_id}/subject-access"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    # quarterly reports: the conference's coordinator (exact) and chair (suppressed); the
    # API without ?conference=&quarter= is 422, the settings form without a conference 404
    ("GET", "/reports"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("GET", "/reports/quarterly.csv"): only(OFFICERS, anonymous=PAGE_LOGIN),
    ("POST", "/reports/render"): only({"coordinator": 400}, anonymous=PAGE_LOGIN),
    ("POST", "/reports/settings"): only({"coordinator": 404}, anonymous=PAGE_LOGIN),
    ("GET", "/reports/documents/{document_id}.pdf"): only({"coordinator": 404, "chair": 404}, anonymous=PAGE_LOGIN),
    ("POST", "/admin/conferences/{slug}/report-settings"): only({"admin": 400}, anonymous=PAGE_LOGIN),
    ("GET", "/api/v1/reports/quarterly"): only({"coordinator": 422, "chair": 422}),
    # service
    ("GET", "/api/v1/openapi.json"): everyone(200),
    ("GET", "/healthz"): everyone(200),
    ("GET", "/readyz"): everyone(200),
    ("GET", "/favicon.ico"): everyone(200),
    ("GET", "/metrics"): everyone(404),  # without MARAC_METRICS_TOKEN's bearer token (tests/test_metrics.py)
}


# Two more personas, each answered as the persona they resemble unless DIFFERENT says otherwise:
# - advocate: staff of an agency (kind idva) that receives the conference's referrals
#   (membership.receives_referrals): every referral of the conference, in full, like its officers;
# - dual: chairs another conference (northshire-hc) and sits in this one as a member, for health's
#   agency: in this conference's records they get what health gets, never what a chair gets. Where
#   a chair's capability lets them past the handler's gate, the record's check answers 404 or 403.
MIXED = {"advocate": "idva", "dual": "health"}
DIFFERENT: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/referrals/{referral_id}"): {"advocate": 200},
    ("GET", "/api/v1/referrals/{referral_id}"): {"advocate": 200},
    # The advocate sees the referral, so a refused decision is 403, not 404.
    ("POST", "/api/v1/referrals/{referral_id}/decision"): {"advocate": 403},
    # Likewise for changing it: only the referrer and the coordinator correct, withdraw or merge.
    ("GET", "/referrals/{referral_id}/edit"): {"advocate": 403},
    ("POST", "/referrals/{referral_id}/edit"): {"advocate": 403},
    ("POST", "/referrals/{referral_id}/withdraw"): {"advocate": 403},
    ("PATCH", "/api/v1/referrals/{referral_id}"): {"advocate": 403},
    ("POST", "/api/v1/referrals/{referral_id}/withdraw"): {"advocate": 403},
    ("POST", "/api/v1/referrals/{referral_id}/merge"): {"advocate": 403},
    ("POST", "/api/v1/referrals/{referral_id}/keep-apart"): {"advocate": 403},
    ("POST", "/api/v1/referrals/{referral_id}/transfer-out"): {"advocate": 403},
    ("POST", "/api/v1/referrals/{referral_id}/repeat-claim"): {"advocate": 403},
    # Dual, past the gate as a chair elsewhere: this conference's meeting is not theirs to run (404) ...
    **{
        route: {"dual": 404}
        for route in [
            ("GET", "/api/v1/meetings/{meeting_id}/agenda"),
            ("POST", "/api/v1/meetings/{meeting_id}/minutes/approve"),
            ("PUT", "/api/v1/meetings/{meeting_id}/attendance"),
            ("GET", "/meetings/{meeting_id}/run"),
            ("GET", "/meetings/{meeting_id}/cases/{case_id}"),
            ("POST", "/meetings/{meeting_id}/aob"),
            ("POST", "/meetings/{meeting_id}/attendance"),
            ("POST", "/meetings/{meeting_id}/confidentiality"),
            ("POST", "/meetings/{meeting_id}/close"),
            ("POST", "/meetings/{meeting_id}/reviews/{action_id}"),
            ("POST", "/meetings/{meeting_id}/cases/{case_id}/notes"),
            ("POST", "/meetings/{meeting_id}/cases/{case_id}/actions"),
            ("POST", "/meetings/{meeting_id}/cases/{case_id}/decision"),
            ("POST", "/meetings/{meeting_id}/minutes/approve"),
            ("GET", "/meetings/{meeting_id}/minutes/approve"),
            ("GET", "/meetings/{meeting_id}/minutes"),
            ("GET", "/meetings/{meeting_id}/circulation"),
            ("GET", "/meetings/{meeting_id}/minutes/preview"),
            ("GET", "/meetings/{meeting_id}/minutes/preview.pdf"),
            ("GET", "/api/v1/meetings/{meeting_id}/minutes/preview.pdf"),
            ("GET", "/reports/documents/{document_id}.pdf"),
            ("GET", "/meetings/{meeting_id}/close"),
            ("GET", "/meetings/{meeting_id}/reopen"),
            ("POST", "/meetings/{meeting_id}/reopen"),
            ("GET", "/api/v1/meetings/{meeting_id}/cases/{case_id}"),
            ("PATCH", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}"),
            ("DELETE", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes/{note_id}"),
            ("POST", "/api/v1/meetings/{meeting_id}/close"),
            *[
                (method, f"/meetings/{{meeting_id}}/cases/{{case_id}}/{kind}/{{{kind[:-1]}_id}}/{step}")
                for method in ("GET", "POST")
                for kind in ("notes", "actions")
                for step in ("edit", "delete")
            ],
        ]
    },
    # ... an empty body is refused before the meeting is looked at (422; a whole one gets 404:
    # tests/test_conference_roles.py), as are the report's missing conference and quarter ...
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/notes"): {"dual": 422},
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/actions"): {"dual": 422},
    ("POST", "/api/v1/meetings/{meeting_id}/cases/{case_id}/decision"): {"dual": 422},
    ("POST", "/api/v1/meetings/{meeting_id}/reopen"): {"dual": 422},
    ("GET", "/api/v1/reports/quarterly"): {"dual": 422},
    # ... and the reports pages show the conference they chair; with two conferences to refer to,
    # the referral form asks which first (as for housing, with none).
    ("GET", "/reports"): {"dual": 200},
    ("GET", "/reports/quarterly.csv"): {"dual": 200},
    ("POST", "/referrals/new"): {"dual": 200},
}
for _key, _table in EXPECTED.items():
    for _persona, _like in MIXED.items():
        _table[_persona] = DIFFERENT.get(_key, {}).get(_persona, _table[_like])
PERSONAS += list(MIXED)
SIGNED_IN = PERSONAS[1:]
OTHER_CONFERENCE = "northshire-hc"


@pytest.fixture
async def everyone_here(personas):
    """The conftest personas, and the advocate and the dual-role user (MIXED)."""
    conference = await Conference.get(slug=CONFERENCE)
    advocacy = await directory.create_agency(None, "Northshire Advocacy Service", "idva")
    await directory.set_membership(None, conference, directory.MemberSpec(advocacy.id, "full", receives_referrals=True))
    await directory.create_conference(
        None,
        name="Northshire HC MARAC",
        slug=OTHER_CONFERENCE,
        type="hate-crime",
        weekday="thursday",
        start_time="14:00",
        first_date=date(2026, 1, 8),
        members=[],
    )
    made = {
        "advocate": await directory.add_user(
            None,
            email="advocate@test.example.org",
            name="Advocate",
            agency_id=advocacy.id,
            role="member",
            conference_slugs=[CONFERENCE],
        ),
        "dual": await directory.add_user(
            None,
            email="dual@test.example.org",
            name="Dual",
            agency_id=personas["health"].user.agency_id,
            role="chair",
            conference_slugs=[CONFERENCE, OTHER_CONFERENCE],
            conference_roles={CONFERENCE: "member"},
        ),
    }
    found = dict(personas)
    for key, created in made.items():
        _, raw = await auth.create_token(created.user, "tests")
        found[key] = Persona(key=key, user=created.user, totp_secret="", token=raw)
    return found


def app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.routes:
        if isinstance(route, Mount):
            continue  # /static: files only
        assert isinstance(route, Route)
        for method in route.methods or set():
            if method != "HEAD":
                found.add((method, route.path))
    return found


def test_every_route_has_an_access_entry(app):
    missing = app_routes(app) - set(EXPECTED)
    stale = set(EXPECTED) - app_routes(app)
    assert not missing, f"routes with no entry in the access table: {sorted(missing)}"
    assert not stale, f"entries for routes that no longer exist: {sorted(stale)}"
    for key, table in EXPECTED.items():
        assert set(table) == set(PERSONAS), f"{key} does not say what every persona gets"


@pytest.mark.parametrize("method,path", sorted(EXPECTED))
async def test_route_answers_each_persona_as_the_table_says(app, everyone_here, method, path):
    personas = everyone_here
    job = await Job.create(name="purge_expired_sessions", requested_by=personas["coordinator"].user.id)
    referral = await make_referral(personas["police"])
    draft = await drafts.save(await viewer_for(personas["police"].user), {"conference": CONFERENCE})
    values = {
        "draft_id": draft.id,
        "referral_id": referral.id,
        "meeting_id": referral.expected_meeting_id,
        "case_id": "0" * 32,
        "action_id": "0" * 32,
        "note_id": "0" * 32,
        "suggestion_id": "0" * 32,
        "slug": CONFERENCE,
        "token": "not-a-real-setup-token",
        "token_id": "0" * 32,
        "agency_id": "0" * 32,  # not a member: removing it is a 404 for the admin
        "user_id": "0" * 32,
        "job_id": job.id,
        "grant_id": "0" * 32,
        "person_id": referral.victim_person_id,
        "document_id": "0" * 32,
        "hold_id": "0" * 32,
        "import_id": "0" * 32,
        "place_id": "0" * 32,
        "webhook_id": "0" * 32,
    }
    url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
    got: dict[str, int] = {}
    for number, persona in enumerate(PERSONAS):
        # One address each: ten empty sign-in forms from one address would trip the throttle.
        async with make_client(app, ip=f"10.0.0.{number + 1}") as client:
            headers: dict[str, str] = {}
            if persona != "anonymous":
                if path.startswith("/api/"):
                    headers = personas[persona].bearer
                else:
                    client.cookies.update(await session_cookie_for(personas[persona]))
            if method == "GET":
                answer = await client.get(url, headers=headers)
            elif path.startswith("/api/"):
                answer = await client.request(method, url, headers=headers, json={})
            else:
                form_page = "/" if persona != "anonymous" else "/login"
                token = await csrf_token(client, form_page)
                answer = await client.request(method, url, headers=headers, data={"csrf_token": token})
            got[persona] = answer.status_code
    assert got == EXPECTED[(method, path)]


UNSAFE_PAGES = sorted(k for k in EXPECTED if k[0] != "GET" and not k[1].startswith("/api/"))


@pytest.mark.parametrize("method,path", UNSAFE_PAGES)
async def test_every_form_refuses_a_missing_csrf_token(app, personas, method, path):
    url = re.sub(r"{(\w+)}", lambda m: {"slug": CONFERENCE}.get(m.group(1), "0" * 32), path)
    # Someone the route lets in, so the refusal comes from the missing token, not the role.
    allowed = next(p for p in SIGNED_IN if EXPECTED[(method, path)][p] != 403)
    async with make_client(app) as client:
        client.cookies.update(await session_cookie_for(personas[allowed]))
        answer = await client.request(method, url, data={"name": "x"})
        assert answer.status_code == 403
        assert "This form has expired" in answer.text
