"""Referral pages: the form, the list and triage queue, one referral, import, person matches."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from starlette.datastructures import FormData, UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Conference
from marac.clock import today
from marac.conference_types import accepted_instruments
from marac.errors import AccessDenied, Conflict, DomainError, NotFound, RuleViolation
from marac.meetings import withdrawal
from marac.referrals import imports, service
from marac.referrals.models import REFERRAL_STATUSES, BreakGlass, Referral
from marac.referrals.schemas import set_path
from marac.validation import parse_day, whole_number
from marac.web.api_referrals import referral_after
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.pages.break_glass import uk_time
from marac.web.templating import render

LABELS = {
    "received_at": "Date received",
    "incident_date": "Incident date",
    "consent.monitoring_only": "Monitoring only",
    "transfer_from": "Transferred from",
    "criteria": "Referral criteria",
    "judgement_reason": "Professional judgement",
    "summary": "Summary",
    "incidents": "Earlier incidents",
    "strands": "Monitored strands",
    "incident_kind": "Crime or incident",
    "risk": "Risk",
    "risk.level": "Risk level",
    "risk.score": "Score",
    "risk.answers": "Checklist answers",
    "consent.victim_aware": "Victim aware",
    "consent.consented": "Consent",
    "consent.reason_if_not": "Reason for sharing without consent",
}
PERPETRATOR_SLOTS = 3
CHILD_SLOTS = 4
YES_NO = {"yes": True, "no": False}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def summary_label(field: str) -> str:
    """What the error summary calls a field: "Victim: postcode", "Perpetrator 2: name"."""
    if field in LABELS:
        return LABELS[field]
    parts = field.split(".")
    if parts[0] in ("perpetrators", "children") and len(parts) > 1 and whole_number(parts[1], 0, 99) is not None:
        who = f"{'Perpetrator' if parts[0] == 'perpetrators' else 'Child'} {int(parts[1]) + 1}"
        return f"{who}: {' '.join(parts[2:]).replace('_', ' ')}".rstrip(": ")
    if parts[0] == "risk" and len(parts) == 3:
        return "Checklist question"
    return f"{parts[0].replace('_', ' ').capitalize()}: {' '.join(parts[1:]).replace('_', ' ')}".rstrip(": ")


CHILD_TEXTS = ("relationship_to_victim", "relationship_to_perpetrator", "school")
ADDRESS_PARTS = ("line1", "line2", "town", "postcode")


def _address(text: Callable[[str], str], prefix: str) -> dict[str, str]:
    """A perpetrator's or child's address inputs; empty (left out) when none was typed."""
    return {part: text(f"{prefix}.{part}") for part in ADDRESS_PARTS if text(f"{prefix}.{part}")}


def form_to_body(form: FormData, conference: Conference) -> dict:
    """The form's dotted field names are the API's field paths, so one validator serves
    both and its errors land on the right inputs. Empty inputs are left out."""

    def text(name: str) -> str:
        return str(form.get(name, "")).strip()

    # Sections always present, so a missing answer is reported on its own input.
    body: dict = {
        "conference": conference.slug,
        "criteria": form.getlist("criteria"),
        "strands": form.getlist("strands"),
        "victim": {},
        "consent": {},
        "risk": {},
    }
    for name in ("received_at", "incident_date", "victim.date_of_birth", "previously_known.date"):
        if text(name):
            set_path(body, name, parse_day(text(name)))
    for name in (
        "judgement_reason",
        "summary",
        "transfer_from",
        "incident_kind",
        "victim.name",
        "victim.gender",
        "victim.language",
        "victim.address.line1",
        "victim.address.line2",
        "victim.address.town",
        "victim.address.postcode",
        "victim.safe_contact.phone",
        "victim.monitoring.ethnicity",
        "victim.monitoring.religion",
        "victim.communication_needs",
        "victim.safe_ways_to_contact",
        "referrer.name",
        "referrer.phone",
        "referrer.email",
        "previously_known.area",
        "consent.reason_if_not",
        "risk.level",
        "risk.score",
    ):
        if text(name):
            set_path(body, name, text(name))
    for name in (
        "victim.interpreter_needed",
        "victim.safe_contact.safe_to_call",
        "victim.safe_contact.safe_to_leave_message",
        "victim.monitoring.racially_minoritised",
        "victim.monitoring.lgbt",
        "victim.monitoring.disabled",
        "consent.victim_aware",
        "consent.consented",
    ):
        if text(name) in YES_NO:
            set_path(body, name, YES_NO[text(name)])
    if text("consent.monitoring_only") == "yes":
        set_path(body, "consent.monitoring_only", True)
    if text("victim.aliases"):
        body["victim"]["aliases"] = _lines(text("victim.aliases"))
    if text("incidents"):
        body["incidents"] = [parse_day(d) for d in _lines(text("incidents"))]
    instrument = _instrument(conference, text("risk.instrument"))
    answers = {q["key"]: text(f"risk.answers.{q['key']}") for q in instrument["questions"]}
    body.setdefault("risk", {})["instrument"] = instrument["id"]
    if any(answers.values()):
        body["risk"]["answers"] = {k: v for k, v in answers.items() if v}
    body["perpetrators"] = [
        {
            k: v
            for k, v in {
                "name": text(f"perpetrators.{i}.name"),
                "aliases": _lines(text(f"perpetrators.{i}.aliases")),
                "date_of_birth": parse_day(text(f"perpetrators.{i}.date_of_birth"))
                if text(f"perpetrators.{i}.date_of_birth")
                else None,
                "relationship": text(f"perpetrators.{i}.relationship"),
                "address": _address(text, f"perpetrators.{i}.address"),
            }.items()
            if v
        }
        for i in range(PERPETRATOR_SLOTS)
    ]
    body["perpetrators"] = [p for p in body["perpetrators"] if p]
    body["children"] = [
        {
            k: v
            for k, v in {
                "name": text(f"children.{i}.name"),
                "date_of_birth": parse_day(text(f"children.{i}.date_of_birth"))
                if text(f"children.{i}.date_of_birth")
                else None,
                **{key: text(f"children.{i}.{key}") for key in CHILD_TEXTS},
                "address": _address(text, f"children.{i}.address"),
            }.items()
            if v
        }
        for i in range(CHILD_SLOTS)
    ]
    body["children"] = [c for c in body["children"] if c]
    return body


def _instrument(conference: Conference, chosen: str | None) -> dict:
    """The checklist the form shows: the one chosen (police DASH, say) if the conference accepts
    it, else the type's first."""
    accepted = accepted_instruments(conference.type_settings)
    return accepted.get(chosen or "") or next(iter(accepted.values()))


def body_to_form(body: dict, instrument: dict) -> FormData:
    """A stored referral as the form's inputs (the reverse of form_to_body), for the edit page."""
    pairs: list[tuple[str, str | UploadFile]] = []

    def walk(prefix: str, value: object) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else key, inner)
        elif isinstance(value, bool):
            pairs.append((prefix, "yes" if value else "no"))
        elif value is not None and value != "":
            pairs.append((prefix, str(value)))

    for section in ("victim", "consent", "referrer", "previously_known"):
        walk(section, {k: v for k, v in (body.get(section) or {}).items() if k != "aliases"})
    for name in ("received_at", "incident_date", "judgement_reason", "summary", "transfer_from", "incident_kind"):
        walk(name, body.get(name))
    pairs += [("criteria", c) for c in body.get("criteria", [])] + [("strands", s) for s in body.get("strands", [])]
    pairs.append(("victim.aliases", "\n".join(body["victim"].get("aliases") or [])))
    pairs.append(("incidents", "\n".join(body.get("incidents") or [])))
    if body["consent"].get("monitoring_only"):
        pairs = [(k, v) for k, v in pairs if k != "consent.monitoring_only"] + [("consent.monitoring_only", "yes")]
    risk = body.get("risk") or {}
    pairs += [("risk.instrument", str(risk.get("instrument"))), ("risk.level", risk.get("level") or "")]
    if risk.get("score") is not None:
        pairs.append(("risk.score", str(risk["score"])))
    for question, answer in zip(instrument["questions"], risk.get("answers") or [], strict=False):
        pairs.append((f"risk.answers.{question['key']}", answer))
    for role in ("perpetrators", "children"):
        for index, person in enumerate(body.get(role) or []):
            walk(f"{role}.{index}", {k: v for k, v in person.items() if k != "aliases"})
            pairs.append((f"{role}.{index}.aliases", "\n".join(person.get("aliases") or [])))
    return FormData(pairs)


async def _conferences_for(caller: Caller) -> list[Conference]:
    ids = [cid for cid in caller.viewer.conference_ids if access.may_refer(caller.viewer, cid)]
    return await Conference.filter(id__in=ids).order_by("name")


@page(Can.REFER)
async def new_referral(request: Request, caller: Caller) -> Response:
    conferences = await _conferences_for(caller)
    slug = request.query_params.get("conference") or (conferences[0].slug if len(conferences) == 1 else None)
    conference = next((c for c in conferences if c.slug == slug), None)
    if conference is None:
        return render(request, "referrals/choose.html", {"conferences": conferences})
    context = {
        "conference": conference,
        "type": conference.type_settings,
        "instrument": _instrument(
            conference,
            str(request.state.form.get("risk.instrument", ""))
            if request.method == "POST"
            else request.query_params.get("instrument"),
        ),
        "instruments": accepted_instruments(conference.type_settings),
        "perpetrator_slots": range(PERPETRATOR_SLOTS),
        "child_slots": range(CHILD_SLOTS),
        "values": request.state.form if request.method == "POST" else FormData(),
    }
    if request.method == "GET":
        return render(request, "referrals/form.html", context)
    try:
        referral = await service.submit(caller.viewer, form_to_body(request.state.form, conference), today())
    except RuleViolation as exc:
        summary = {field: f"{summary_label(field)}: {message}" for field, message in exc.fields.items()}
        return render(
            request, "referrals/form.html", {**context, "errors": exc.fields, "error_summary": summary}, status=400
        )
    return RedirectResponse(f"/referrals/{referral.id}?created=1", status_code=303)


LIST_PAGE = 50
# The top-level inputs of the referral form that may not be left empty (the rest are optional).
REQUIRED_ON_CORRECTION = ("received_at", "summary")


@page(Can.REFER)
async def edit_referral(request: Request, caller: Caller) -> Response:
    """The referral's form, filled in, to correct it (service.edit: the referring agency before
    triage, the coordinator until heard); the same use case as PATCH /api/v1/referrals/{id}."""
    referral_id = request.path_params["referral_id"]
    await service.changeable(caller.viewer, referral_id, "edit")  # 404, 403 or 409 before any form
    referral = await service.get_visible(caller.viewer, referral_id)
    conference = referral.conference
    body = service.body_of(referral)
    chosen = (
        str(request.state.form.get("risk.instrument", "")) if request.method == "POST" else body["risk"]["instrument"]
    )
    instrument = _instrument(conference, chosen)
    context = {
        "conference": conference,
        "type": conference.type_settings,
        "instrument": instrument,
        "instruments": {instrument["id"]: instrument},
        "perpetrator_slots": range(max(PERPETRATOR_SLOTS, len(body["perpetrators"]))),
        "child_slots": range(max(CHILD_SLOTS, len(body["children"]))),
        "values": request.state.form if request.method == "POST" else body_to_form(body, instrument),
        "editing": referral,
    }
    if request.method == "GET":
        return render(request, "referrals/form.html", context)
    try:
        patch = {k: v for k, v in form_to_body(request.state.form, conference).items() if k != "conference"}
        # form_to_body leaves empty inputs out, which in a correction would keep the old value unseen:
        # a required field emptied is sent empty, so it is refused by name like a new referral's.
        for name in REQUIRED_ON_CORRECTION:
            if name in request.state.form and not str(request.state.form[name]).strip():
                patch[name] = ""
        await service.edit(caller.viewer, referral_id, patch, today())
    except (RuleViolation, Conflict, AccessDenied) as exc:
        fields = exc.fields if isinstance(exc, RuleViolation) else {"summary": exc.message}
        summary = {field: f"{summary_label(field)}: {message}" for field, message in fields.items()}
        return render(
            request,
            "referrals/form.html",
            {**context, "errors": fields, "error_summary": summary},
            status=status_of(exc, page=True),
        )
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@page(Can.REFER)
async def list_referrals(request: Request, caller: Caller) -> Response:
    # ?conference= (the dashboard's link) narrows both lists to one of the caller's conferences,
    # ?status= the list of referrals the caller may see; ?after= is the next page (the API's cursor).
    params = request.query_params
    slug = params.get("conference")
    conference = await access.get_conference(caller.viewer, slug) if slug else None
    only = conference.id if conference else None
    status = params.get("status") or None
    queue = await service.triage_queue(caller.viewer, only) if caller.viewer.can(Can.TRIAGE_REFERRALS) else []
    seen = await service.list_visible(
        caller.viewer, only, status, referral_after(params.get("after") or None), LIST_PAGE + 1
    )
    page_of = seen[:LIST_PAGE]
    later = None
    if len(seen) > LIST_PAGE:
        last = page_of[-1]
        later = "/referrals?" + urlencode(
            {k: v for k, v in {"conference": slug, "status": status}.items() if v}
            | {"after": f"{last.received_at.isoformat()}.{last.id}"}
        )
    conferences = await Conference.filter(access.conference_filter(caller.viewer)).order_by("name")
    return render(
        request,
        "referrals/list.html",
        {
            "queue": queue,
            "seen": page_of,
            "later": later,
            "receiving": bool(caller.viewer.receiving),
            "only_conference": conference,
            "filters": {"conference": slug or "", "status": status or ""},
            "conference_options": [("", "Every conference"), *((c.slug, c.name) for c in conferences)],
            "status_options": [("", "Any status"), *((s, s.replace("_", " ").capitalize()) for s in REFERRAL_STATUSES)],
        },
    )


def _detail(
    request: Request, caller: Caller, referral: Referral, status: int = 200, grant: BreakGlass | None = None, **context
) -> Response:
    return render(
        request,
        "referrals/detail.html",
        {
            "referral": referral,
            "instrument": accepted_instruments(referral.conference.type_settings).get(
                str(referral.risk.get("instrument")), referral.conference.type_settings["instrument_definition"]
            ),
            # Break glass reads one case, nothing more: no triage, no links into the conference.
            "may_triage": grant is None
            and caller.viewer.can_in(referral.conference_id, Can.TRIAGE_REFERRALS)
            and referral.status == "received",
            # the referrer before triage, the coordinator until heard (service.changeable)
            "may_withdraw": grant is None
            and (
                referral.status == "received"
                and referral.referrer_id == caller.viewer.user_id
                or caller.viewer.can_in(referral.conference_id, Can.TRIAGE_REFERRALS)
                and referral.status in service.UNHEARD_STATUSES
            ),
            "may_triage_duplicate": grant is None
            and caller.viewer.can_in(referral.conference_id, Can.TRIAGE_REFERRALS)
            and referral.possible_duplicate_of_id is not None
            and not referral.kept_apart_reason
            and referral.status in service.UNHEARD_STATUSES,
            "glass": {
                "id": grant.id,
                "until": uk_time(grant.expires_at),
                "contact_approved": grant.contact_approved_at is not None,
            }
            if grant
            else None,
            **context,
        },
        status=status,
    )


@page(Can.REFER)
async def show_referral(request: Request, caller: Caller) -> Response:
    referral, grant = await service.read_case(caller.viewer, request.path_params["referral_id"])
    return _detail(request, caller, referral, grant=grant)


@page(Can.TRIAGE_REFERRALS)
async def decide(request: Request, caller: Caller) -> Response:
    form = request.state.form
    referral_id = request.path_params["referral_id"]
    try:
        await service.decide(caller.viewer, referral_id, str(form.get("decision", "")), str(form.get("reason", "")))
    except (RuleViolation, Conflict) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        return _detail(
            request,
            caller,
            referral,
            status=status_of(exc, page=True),
            errors=exc.fields or {"decision": exc.message},
            values=form,
        )
    return RedirectResponse("/referrals", status_code=303)


@page(Can.TRIAGE_REFERRALS)
async def merge(request: Request, caller: Caller) -> Response:
    referral_id = request.path_params["referral_id"]
    try:
        await service.merge(caller.viewer, referral_id, str(request.state.form.get("into", "")))
    except (RuleViolation, Conflict) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        return _detail(
            request, caller, referral, status=status_of(exc, page=True), errors=exc.fields or {"into": exc.message}
        )
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@page(Can.TRIAGE_REFERRALS)
async def keep_apart(request: Request, caller: Caller) -> Response:
    referral_id = request.path_params["referral_id"]
    try:
        await service.keep_apart(caller.viewer, referral_id, str(request.state.form.get("apart_reason", "")))
    except (RuleViolation, Conflict) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        # the form's box is apart_reason: the triage form below has a reason box of its own
        return _detail(
            request,
            caller,
            referral,
            status=status_of(exc, page=True),
            errors={"apart_reason": exc.fields.get("reason", exc.message)},
            values=request.state.form,
        )
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@page(Can.REFER)
async def withdraw(request: Request, caller: Caller) -> Response:
    referral_id = request.path_params["referral_id"]
    try:
        await withdrawal.withdraw_referral(
            caller.viewer, referral_id, str(request.state.form.get("withdraw_reason", ""))
        )
    except (RuleViolation, Conflict, AccessDenied) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        return _detail(
            request,
            caller,
            referral,
            status=status_of(exc, page=True),
            errors={"withdraw_reason": exc.fields.get("reason", exc.message)},
            values=request.state.form,
        )
    return RedirectResponse(f"/referrals/{referral_id}", status_code=303)


@page(Can.REFER)
async def import_referrals(request: Request, caller: Caller) -> Response:
    context = {"columns": [*imports.COLUMNS, "children"], "separator": imports.LIST_SEPARATOR}
    if request.method == "GET":
        return render(request, "referrals/import.html", context)
    upload = request.state.form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return render(
            request, "referrals/import.html", {**context, "errors": {"file": "Choose a CSV or JSON file"}}, status=400
        )
    try:
        created = await imports.import_file(caller.viewer, upload.filename, await upload.read(), today())
    except DomainError as exc:
        # Every problem beside the file field, by line and column; the summary links to it.
        found = imports.problems(exc) if isinstance(exc, RuleViolation) else []
        return render(
            request,
            "referrals/import.html",
            {**context, "errors": {"file": exc.message}, "problems": found},
            status=status_of(exc, page=True),
        )
    return render(request, "referrals/import.html", {**context, "imported": len(created)})


MATCH_DONE = {
    "same": "Linked as the same person: their referrals now count together",
    "different": "Kept apart as different people",
}


@page(Can.TRIAGE_REFERRALS)
async def matches(request: Request, caller: Caller) -> Response:
    return render(
        request,
        "referrals/matches.html",
        {
            "suggestions": await service.pending_matches(caller.viewer),
            "done": MATCH_DONE.get(request.query_params.get("done", "")),
        },
    )


@page(Can.TRIAGE_REFERRALS)
async def decide_match(request: Request, caller: Caller) -> Response:
    """'Same person' is asked first, on a page of its own: linking merges two people's histories,
    which the page cannot undo (tests/test_referrals.py)."""
    form = request.state.form
    suggestion_id = request.path_params["suggestion_id"]
    same = str(form.get("decision")) == "same"
    if same and form.get("confirmed") != "yes":
        if not any(s.id == suggestion_id for s in await service.pending_matches(caller.viewer)):
            raise NotFound("Suggestion not found")
        return render(
            request,
            "meetings/confirm.html",
            {
                "title": "Link these two people as the same person?",
                "detail": "Their referrals will count together for repeats and history from now on. "
                "This cannot be undone from this page.",
                "button": "Yes, they are the same person",
                "hidden": {"decision": "same", "confirmed": "yes"},
                "action": f"/matches/{suggestion_id}",
                "back": "/matches",
            },
        )
    await service.decide_match(caller.viewer, suggestion_id, same)
    return RedirectResponse(f"/matches?done={'same' if same else 'different'}", status_code=303)


routes = [
    Route("/referrals", list_referrals, methods=["GET"]),
    Route("/referrals/new", new_referral, methods=["GET", "POST"]),
    Route("/referrals/import", import_referrals, methods=["GET", "POST"]),
    Route("/referrals/{referral_id}", show_referral, methods=["GET"]),
    Route("/referrals/{referral_id}/decision", decide, methods=["POST"]),
    Route("/referrals/{referral_id}/edit", edit_referral, methods=["GET", "POST"]),
    Route("/referrals/{referral_id}/merge", merge, methods=["POST"]),
    Route("/referrals/{referral_id}/withdraw", withdraw, methods=["POST"]),
    Route("/referrals/{referral_id}/keep-apart", keep_apart, methods=["POST"]),
    Route("/matches", matches, methods=["GET"]),
    Route("/matches/{suggestion_id}", decide_match, methods=["POST"]),
]
