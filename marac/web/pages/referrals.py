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
from marac.clock import today, uk_date
from marac.conference_types import accepted_instruments, with_type_instruments
from marac.errors import AccessDenied, Conflict, DomainError, NotFound, RuleViolation
from marac.i18n import gettext, lazy_gettext
from marac.jobs import flows
from marac.meetings import withdrawal
from marac.minutes import transfer
from marac.minutes.models import TransferPackage
from marac.referrals import drafts, imports, locations, service
from marac.referrals.models import REFERRAL_STATUSES, BreakGlass, Referral
from marac.referrals.schemas import set_path
from marac.validation import parse_day, whole_number
from marac.web.api_referrals import referral_after
from marac.web.auth import Caller, page
from marac.web.errors import status_of
from marac.web.templating import render

LABELS = {
    "received_at": lazy_gettext("Date received"),
    "incident_date": lazy_gettext("Incident date"),
    "consent.monitoring_only": lazy_gettext("Monitoring only"),
    "transfer_from": lazy_gettext("Transferred from"),
    "transfer_last_heard": lazy_gettext("Date that MARAC last heard the case"),
    "criteria": lazy_gettext("Referral criteria"),
    "judgement_reason": lazy_gettext("Professional judgement"),
    "summary": lazy_gettext("Summary"),
    "incidents": lazy_gettext("Earlier incidents"),
    "strands": lazy_gettext("Monitored strands"),
    "incident_kind": lazy_gettext("Crime or incident"),
    "risk": lazy_gettext("Risk"),
    "risk.level": lazy_gettext("Risk level"),
    "risk.score": lazy_gettext("Score"),
    "risk.answers": lazy_gettext("Checklist answers"),
    "consent.victim_aware": lazy_gettext("Victim aware"),
    "consent.consented": lazy_gettext("Consent"),
    "consent.reason_if_not": lazy_gettext("Reason for sharing without consent"),
    "incident_location": lazy_gettext("Where it happened"),
    "incident_location.postcode": lazy_gettext("Where it happened: postcode"),
    "incident_location.place": lazy_gettext("Where it happened: named place"),
}
# The parts of a field's path the summary names when LABELS has no entry: "Victim: postcode".
SECTION_WORDS = {
    "victim": lazy_gettext("Victim"),
    "referrer": lazy_gettext("Referrer"),
    "previously_known": lazy_gettext("Previously known"),
    "conference": lazy_gettext("Conference"),
    "perpetrators": lazy_gettext("Perpetrators"),
    "children": lazy_gettext("Children"),
}
FIELD_WORDS = {
    "name": lazy_gettext("name"),
    "aliases": lazy_gettext("aliases"),
    "date_of_birth": lazy_gettext("date of birth"),
    "gender": lazy_gettext("gender"),
    "language": lazy_gettext("language"),
    "relationship": lazy_gettext("relationship"),
    "relationship_to_victim": lazy_gettext("relationship to victim"),
    "relationship_to_perpetrator": lazy_gettext("relationship to perpetrator"),
    "school": lazy_gettext("school"),
    "address.line1": lazy_gettext("address line1"),
    "address.line2": lazy_gettext("address line2"),
    "address.town": lazy_gettext("address town"),
    "address.postcode": lazy_gettext("address postcode"),
    "safe_contact.phone": lazy_gettext("safe contact phone"),
    "safe_contact.safe_to_call": lazy_gettext("safe contact safe to call"),
    "safe_contact.safe_to_leave_message": lazy_gettext("safe contact safe to leave message"),
    "interpreter_needed": lazy_gettext("interpreter needed"),
    "communication_needs": lazy_gettext("communication needs"),
    "safe_ways_to_contact": lazy_gettext("safe ways to contact"),
    "phone": lazy_gettext("phone"),
    "email": lazy_gettext("email"),
    "area": lazy_gettext("area"),
    "date": lazy_gettext("date"),
    "repeat": lazy_gettext("repeat"),
    "monitoring.racially_minoritised": lazy_gettext("monitoring racially minoritised"),
    "monitoring.ethnicity": lazy_gettext("monitoring ethnicity"),
    "monitoring.lgbt": lazy_gettext("monitoring lgbt"),
    "monitoring.disabled": lazy_gettext("monitoring disabled"),
    "monitoring.religion": lazy_gettext("monitoring religion"),
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
        number = int(parts[1]) + 1
        label = gettext("Perpetrator %(num)d") if parts[0] == "perpetrators" else gettext("Child %(num)d")
        who = label % {"num": number}
        what = FIELD_WORDS.get(".".join(parts[2:]), " ".join(parts[2:]).replace("_", " "))
        return f"{who}: {what}".rstrip(": ")
    if parts[0] == "risk" and len(parts) == 3:
        return gettext("Checklist question")
    section = SECTION_WORDS.get(parts[0], parts[0].replace("_", " ").capitalize())
    what = FIELD_WORDS.get(".".join(parts[1:]), " ".join(parts[1:]).replace("_", " "))
    return f"{section}: {what}".rstrip(": ")


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
    for name in (
        "received_at",
        "incident_date",
        "victim.date_of_birth",
        "previously_known.date",
        "transfer_last_heard",
    ):
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
        "incident_location.postcode",
        "incident_location.place",
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
    if text("previously_known.repeat") == "yes":
        set_path(body, "previously_known.repeat", True)
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


def _accepted(conference: Conference) -> dict[str, dict]:
    """The instruments a referral to the conference may use: those it was created with and any
    its type has added since (conference_types.with_type_instruments)."""
    return accepted_instruments(with_type_instruments(conference.type, conference.type_settings))


def _instrument(conference: Conference, chosen: str | None) -> dict:
    """The checklist the form shows: the one chosen (police DASH, say) if the conference accepts
    it, else the type's first."""
    accepted = _accepted(conference)
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

    for section in ("victim", "consent", "referrer", "previously_known", "incident_location"):
        walk(section, {k: v for k, v in (body.get(section) or {}).items() if k != "aliases"})
    for name in (
        "received_at",
        "incident_date",
        "judgement_reason",
        "summary",
        "transfer_from",
        "transfer_last_heard",
        "incident_kind",
    ):
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
    answers = risk.get("answers") or []
    if isinstance(answers, dict):  # a draft typed on the form keeps its answers by question
        answers = [answers.get(question["key"]) for question in instrument["questions"]]
    for question, answer in zip(instrument["questions"], answers, strict=False):
        if answer:
            pairs.append((f"risk.answers.{question['key']}", str(answer)))
    for role in ("perpetrators", "children"):
        for index, person in enumerate(body.get(role) or []):
            walk(f"{role}.{index}", {k: v for k, v in person.items() if k != "aliases"})
            pairs.append((f"{role}.{index}.aliases", "\n".join(person.get("aliases") or [])))
    return FormData(pairs)


async def _places(conference: Conference, named: dict | None = None) -> list[tuple[str, str]] | None:
    """The named places the form offers as (id, name), for types that match repeats on location; None
    for other types, whose form asks for no location. `named`: a referral's location, whose place
    stays a choice on its edit form after the coordinator retired it."""
    if not locations.matches_on_location(conference.type_settings):
        return None
    offered = [(p.id, p.name) for p in await locations.places(conference.id)]
    if named and named.get("place") and named["place"] not in dict(offered):
        offered.append((named["place"], gettext("%(place)s (no longer offered)") % {"place": named.get("name")}))
    return offered


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
        "instruments": _accepted(conference),
        "places": await _places(conference),
        "perpetrator_slots": range(PERPETRATOR_SLOTS),
        "child_slots": range(CHILD_SLOTS),
        "values": request.state.form if request.method == "POST" else FormData(),
    }
    if request.method == "GET":
        return render(request, "referrals/form.html", context)
    body = form_to_body(request.state.form, conference)
    try:
        if request.state.form.get("action") == "draft":
            draft = await drafts.save(caller.viewer, body)
            return RedirectResponse(f"/referrals/drafts/{draft.id}?saved=1", status_code=303)
        referral = await service.submit(caller.viewer, body, today())
    except (RuleViolation, Conflict) as exc:
        return _form_again(request, context, exc)
    return RedirectResponse(f"/referrals/{referral.id}?created=1", status_code=303)


def _form_again(request: Request, context: dict, exc: RuleViolation | Conflict) -> Response:
    """The form as typed, with each problem on its field (a conflict above the form)."""
    fields = exc.fields if isinstance(exc, RuleViolation) else {"summary": exc.message}
    summary = {field: f"{summary_label(field)}: {message}" for field, message in fields.items()}
    return render(
        request,
        "referrals/form.html",
        {**context, "errors": fields, "error_summary": summary},
        status=status_of(exc, page=True),
    )


def _displayable(body: dict) -> dict:
    """A draft's body in the shapes the form shows: one saved through the API may hold anything
    (drafts are not checked), and what does not fit an input is left off the form."""

    def strings(value: object) -> list[str]:
        return [str(v) for v in value if isinstance(v, str | int | float)] if isinstance(value, list) else []

    def section(value: object) -> dict:
        found = dict(value) if isinstance(value, dict) else {}
        if "aliases" in found:
            found["aliases"] = strings(found["aliases"])
        return found

    shown = {key: value for key, value in body.items() if not isinstance(value, dict | list)}
    for name in ("victim", "consent", "risk", "referrer", "previously_known"):
        shown[name] = section(body.get(name))
    for name in ("criteria", "strands", "incidents"):
        shown[name] = strings(body.get(name))
    for name in ("perpetrators", "children"):
        listed = body.get(name)
        shown[name] = [section(p) for p in listed if isinstance(p, dict)] if isinstance(listed, list) else []
    return shown


@page(Can.REFER)
async def list_drafts(request: Request, caller: Caller) -> Response:
    """Your drafts: the caller's own, each with the day it expires."""
    found = await drafts.list_own(caller.viewer)
    return render(
        request,
        "referrals/drafts.html",
        {
            "drafts": [
                {
                    "id": d.id,
                    "victim": drafts.victim_name(d),
                    "conference": d.conference.name,
                    "saved": d.saved_at,
                    "expires": uk_date(d.expires_at),
                }
                for d in found
            ],
            "deleted": request.query_params.get("deleted") == "1",
        },
    )


@page(Can.REFER)
async def draft(request: Request, caller: Caller) -> Response:
    """A draft on the referral form, filled in as it was saved: saved again (action=draft), or sent
    (every rule checked; the draft goes once the referral is made). 404 for anyone but its author."""
    draft_id = request.path_params["draft_id"]
    found = await drafts.get_own(caller.viewer, draft_id)
    conference = found.conference
    body = _displayable(found.body)
    posted = request.method == "POST"
    form = request.state.form if posted else body_to_form(body, _instrument(conference, body["risk"].get("instrument")))
    chosen = str(form.get("risk.instrument", "")) or None
    if not posted and request.query_params.get("instrument"):
        chosen = request.query_params.get("instrument")
    context = {
        "conference": conference,
        "type": conference.type_settings,
        "instrument": _instrument(conference, chosen),
        "instruments": accepted_instruments(conference.type_settings),
        "perpetrator_slots": range(max(PERPETRATOR_SLOTS, len(body["perpetrators"]))),
        "child_slots": range(max(CHILD_SLOTS, len(body["children"]))),
        "values": form,
        "draft": {"id": found.id, "expires": uk_date(found.expires_at)},
        "saved": request.query_params.get("saved") == "1",
    }
    if not posted:
        return render(request, "referrals/form.html", context)
    typed = form_to_body(form, conference)
    try:
        if form.get("action") == "draft":
            await drafts.save(caller.viewer, typed, draft_id)
            return RedirectResponse(f"/referrals/drafts/{draft_id}?saved=1", status_code=303)
        referral = await drafts.send(caller.viewer, draft_id, today(), typed)
    except (RuleViolation, Conflict) as exc:
        return _form_again(request, {**context, "saved": False}, exc)
    return RedirectResponse(f"/referrals/{referral.id}?created=1", status_code=303)


@page(Can.REFER)
async def delete_draft(request: Request, caller: Caller) -> Response:
    """Deleting a draft is asked first, on a page of its own: what was typed cannot be brought back."""
    draft_id = request.path_params["draft_id"]
    found = await drafts.get_own(caller.viewer, draft_id)  # 404 before anything is asked
    if request.state.form.get("confirmed") != "yes":
        name = drafts.victim_name(found)
        return render(
            request,
            "meetings/confirm.html",
            {
                "title": gettext("Delete this draft?"),
                "detail": (
                    gettext(
                        "The draft referral about %(name)s to %(conference)s and everything typed in it will be "
                        "deleted. This cannot be undone."
                    )
                    if name
                    else gettext(
                        "The draft referral to %(conference)s and everything typed in it will be deleted. "
                        "This cannot be undone."
                    )
                )
                % {"name": name, "conference": found.conference.name},
                "button": gettext("Yes, delete the draft"),
                "warning": True,
                "hidden": {"confirmed": "yes"},
                "action": f"/referrals/drafts/{draft_id}/delete",
                "back": f"/referrals/drafts/{draft_id}",
            },
        )
    await drafts.delete(caller.viewer, draft_id)
    return RedirectResponse("/referrals/drafts?deleted=1", status_code=303)


LIST_PAGE = 50
STATUS_WORDS = {
    "received": lazy_gettext("Received"),
    "accepted": lazy_gettext("Accepted"),
    "rejected": lazy_gettext("Rejected"),
    "monitoring_only": lazy_gettext("Monitoring only"),
    "heard": lazy_gettext("Heard"),
    "merged": lazy_gettext("Merged"),
    "withdrawn": lazy_gettext("Withdrawn"),
}
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
        "places": await _places(conference, referral.incident_location),
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
            "conference_options": [("", gettext("Every conference")), *((c.slug, c.name) for c in conferences)],
            "status_options": [("", gettext("Any status")), *((s, str(STATUS_WORDS[s])) for s in REFERRAL_STATUSES)],
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
            "instrument": _accepted(referral.conference).get(
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
            "may_decide_claim": grant is None
            and caller.viewer.can_in(referral.conference_id, Can.TRIAGE_REFERRALS)
            and referral.repeat_claim == "pending"
            and referral.status in service.UNHEARD_STATUSES,
            "may_triage_duplicate": grant is None
            and caller.viewer.can_in(referral.conference_id, Can.TRIAGE_REFERRALS)
            and referral.possible_duplicate_of_id is not None
            and not referral.kept_apart_reason
            and referral.status in service.UNHEARD_STATUSES,
            # the conference's coordinator: transfer a heard case out, and download its package
            "may_transfer": grant is None and access.may_transfer(caller.viewer, referral.conference_id),
            "glass": {
                "id": grant.id,
                "until": grant.expires_at,
                "contact_approved": grant.contact_approved_at is not None,
            }
            if grant
            else None,
            **context,
        },
        status=status,
    )


async def _package_state(caller: Caller, referral: Referral, grant: BreakGlass | None) -> TransferPackage | None:
    """The case's transfer package, for its coordinator's page (never under break glass)."""
    return None if grant is not None else await transfer.shown_package(caller.viewer, referral)


@page(Can.REFER)
async def show_referral(request: Request, caller: Caller) -> Response:
    referral, grant = await service.read_case(caller.viewer, request.path_params["referral_id"])
    return _detail(request, caller, referral, grant=grant, package=await _package_state(caller, referral, grant))


@page(Can.TRANSFER_CASES)
async def transfer_out(request: Request, caller: Caller) -> Response:
    """The coordinator sends a heard case to another area's MARAC; the package is laid out by a job."""
    form = request.state.form
    referral_id = request.path_params["referral_id"]
    try:
        await flows.transfer_out(caller.viewer, referral_id, str(form.get("area", "")), str(form.get("recipient", "")))
    except (RuleViolation, Conflict, AccessDenied) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        return _detail(
            request,
            caller,
            referral,
            status=status_of(exc, page=True),
            errors=exc.fields or {"area": exc.message},
            values=form,
            package=await _package_state(caller, referral, None),
        )
    return RedirectResponse(f"/referrals/{referral_id}?transferred=1#transfer", status_code=303)


@page()
async def transfer_package(request: Request, caller: Caller) -> Response:
    """The transfer package for the coordinator; while it is being laid out, back to the referral's page."""
    referral_id = request.path_params["referral_id"]
    found = await flows.transfer_package(caller.viewer, referral_id)
    if isinstance(found, bytes):
        return Response(
            found,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="transfer-package.pdf"'},
        )
    return RedirectResponse(f"/referrals/{referral_id}?preparing=1#transfer", status_code=303)


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


@page(Can.TRIAGE_REFERRALS)
async def decide_repeat_claim(request: Request, caller: Caller) -> Response:
    """The coordinator confirms or rejects the repeat the referrer claims (service.decide_repeat_claim,
    as POST /api/v1/referrals/{id}/repeat-claim)."""
    referral_id = request.path_params["referral_id"]
    form = request.state.form
    decision = str(form.get("claim_decision", ""))
    confirm = {"confirm": True, "reject": False}.get(decision)
    try:
        await service.decide_repeat_claim(caller.viewer, referral_id, confirm, str(form.get("claim_reason", "")))
    except (RuleViolation, Conflict) as exc:
        referral = await service.get_visible(caller.viewer, referral_id)
        fields = {"confirm": "claim_decision", "reason": "claim_reason"}
        errors = {fields.get(k, k): v for k, v in exc.fields.items()} or {"claim_decision": exc.message}
        return _detail(request, caller, referral, status=status_of(exc, page=True), errors=errors, values=form)
    return RedirectResponse(f"/referrals/{referral_id}#repeat-claim", status_code=303)


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
            request,
            "referrals/import.html",
            {**context, "errors": {"file": gettext("Choose a CSV or JSON file")}},
            status=400,
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


# The reasons names.py gives for a possible match (stored in English with the suggestion), as read.
MATCH_REASONS = {
    "names identical": lazy_gettext("names identical"),
    "surname differs": lazy_gettext("surname differs"),
    "given names differ": lazy_gettext("given names differ"),
    "middle name on one side only": lazy_gettext("middle name on one side only"),
    "middle names differ": lazy_gettext("middle names differ"),
    "middle names agree": lazy_gettext("middle names agree"),
    "name order swapped": lazy_gettext("name order swapped"),
    "matched on an alias": lazy_gettext("matched on an alias"),
    "same postcode": lazy_gettext("same postcode"),
    "different postcode (not counted against)": lazy_gettext("different postcode (not counted against)"),
    "no usable name": lazy_gettext("no usable name"),
    "same date of birth": lazy_gettext("same date of birth"),
    "date of birth day/month swapped": lazy_gettext("date of birth day/month swapped"),
    "date of birth: same year, day or month differs": lazy_gettext("date of birth: same year, day or month differs"),
    "date of birth: same year, one may be a first-of-January placeholder": lazy_gettext(
        "date of birth: same year, one may be a first-of-January placeholder"
    ),
    "date of birth missing on one or both sides": lazy_gettext("date of birth missing on one or both sides"),
    "date of birth differs": lazy_gettext("date of birth differs"),
    "surname identical": lazy_gettext("surname identical"),
    "surname spelling variant": lazy_gettext("surname spelling variant"),
    "surname sounds alike": lazy_gettext("surname sounds alike"),
    "surname spelt similarly (possible typo)": lazy_gettext("surname spelt similarly (possible typo)"),
    "surname initial matches": lazy_gettext("surname initial matches"),
    "surname missing on one side": lazy_gettext("surname missing on one side"),
    "surname differs (possible change of name)": lazy_gettext("surname differs (possible change of name)"),
    "given name identical": lazy_gettext("given name identical"),
    "given name spelling variant": lazy_gettext("given name spelling variant"),
    "given name is a known short form": lazy_gettext("given name is a known short form"),
    "given name sounds alike": lazy_gettext("given name sounds alike"),
    "given name spelt similarly (possible typo)": lazy_gettext("given name spelt similarly (possible typo)"),
    "given name initial matches": lazy_gettext("given name initial matches"),
    "given name missing on one side": lazy_gettext("given name missing on one side"),
    "given name matches a middle name": lazy_gettext("given name matches a middle name"),
}
MATCH_DONE = {
    "same": lazy_gettext("Linked as the same person: their referrals now count together"),
    "different": lazy_gettext("Kept apart as different people"),
}


@page(Can.TRIAGE_REFERRALS)
async def matches(request: Request, caller: Caller) -> Response:
    return render(
        request,
        "referrals/matches.html",
        {
            "suggestions": await service.pending_matches(caller.viewer),
            "reasons": MATCH_REASONS,
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
                "title": gettext("Link these two people as the same person?"),
                "detail": gettext(
                    "Their referrals will count together for repeats and history from now on. "
                    "This cannot be undone from this page."
                ),
                "button": gettext("Yes, they are the same person"),
                "hidden": {"decision": "same", "confirmed": "yes"},
                "action": f"/matches/{suggestion_id}",
                "back": "/matches",
            },
        )
    await service.decide_match(caller.viewer, suggestion_id, same)
    return RedirectResponse(f"/matches?done={'same' if same else 'different'}", status_code=303)


async def _places_page(
    request: Request, caller: Caller, conference: Conference, status: int = 200, **context
) -> Response:
    return render(
        request,
        "referrals/places.html",
        {
            "conference": conference,
            "places": await locations.places(conference.id),
            "matches_on_location": locations.matches_on_location(conference.type_settings),
            **context,
        },
        status=status,
    )


async def _managed(request: Request, caller: Caller) -> Conference:
    conference = await access.get_conference(caller.viewer, request.path_params["slug"])
    access.require_manage_places(caller.viewer, conference.id)
    return conference


@page(Can.TRIAGE_REFERRALS)
async def places(request: Request, caller: Caller) -> Response:
    """The places the conference names for repeats by location; the same use cases as
    /api/v1/conferences/{slug}/places."""
    conference = await _managed(request, caller)
    if request.method == "GET":
        return await _places_page(request, caller, conference, done=request.query_params.get("done") == "1")
    name = str(request.state.form.get("name", ""))
    try:
        await locations.add(caller.viewer, conference, name)
    except RuleViolation as exc:
        return await _places_page(request, caller, conference, 400, errors=exc.fields, values={"name": name})
    return RedirectResponse(f"/conferences/{conference.slug}/places?done=1", status_code=303)


@page(Can.TRIAGE_REFERRALS)
async def retire_place(request: Request, caller: Caller) -> Response:
    conference = await _managed(request, caller)
    await locations.retire(caller.viewer, conference, request.path_params["place_id"])
    return RedirectResponse(f"/conferences/{conference.slug}/places", status_code=303)


routes = [
    Route("/conferences/{slug}/places", places, methods=["GET", "POST"]),
    Route("/conferences/{slug}/places/{place_id}/retire", retire_place, methods=["POST"]),
    Route("/referrals", list_referrals, methods=["GET"]),
    Route("/referrals/new", new_referral, methods=["GET", "POST"]),
    Route("/referrals/import", import_referrals, methods=["GET", "POST"]),
    Route("/referrals/drafts", list_drafts, methods=["GET"]),
    Route("/referrals/drafts/{draft_id}", draft, methods=["GET", "POST"]),
    Route("/referrals/drafts/{draft_id}/delete", delete_draft, methods=["POST"]),
    Route("/referrals/{referral_id}", show_referral, methods=["GET"]),
    Route("/referrals/{referral_id}/decision", decide, methods=["POST"]),
    Route("/referrals/{referral_id}/edit", edit_referral, methods=["GET", "POST"]),
    Route("/referrals/{referral_id}/merge", merge, methods=["POST"]),
    Route("/referrals/{referral_id}/withdraw", withdraw, methods=["POST"]),
    Route("/referrals/{referral_id}/keep-apart", keep_apart, methods=["POST"]),
    Route("/referrals/{referral_id}/transfer", transfer_out, methods=["POST"]),
    Route("/referrals/{referral_id}/transfer-package.pdf", transfer_package, methods=["GET"]),
    Route("/referrals/{referral_id}/repeat-claim", decide_repeat_claim, methods=["POST"]),
    Route("/matches", matches, methods=["GET"]),
    Route("/matches/{suggestion_id}", decide_match, methods=["POST"]),
]
