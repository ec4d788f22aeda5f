"""A second, independent check of the JSON API: schemathesis against /api/v1/openapi.json.

Schemathesis generates requests from the published OpenAPI document (valid ones and
deliberately invalid ones) and checks each answer against the document.
Everything runs in-process: schemathesis is synchronous, so it works in a worker thread and
sees the app through a WSGI bridge that hands each request to the ASGI app on the test's
own event loop, which owns the database connections (SQLite and PostgreSQL alike).

Object-level authorization: schemathesis's `object_level_authorization` check infers who
owns what from its own stateful runs (peers listed in a config file, ids taken from
responses) and only flags a peer that receives an equivalent 2xx body; it cannot check our
rule that a record you may not see answers exactly like a missing one. So each
operation naming a record is called with a schemathesis-generated request as every persona
on every seeded record, and compared with the answer for an id that does not exist.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import Any
from urllib.parse import quote

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CHECKS, load_all_checks

from marac.actions import service as actions
from marac.agencies import service as directory
from marac.agencies.access import viewer_for
from marac.jobs import tasks
from marac.jobs.models import Job
from marac.meetings import agenda
from marac.meetings.models import AgendaItem, Meeting
from marac.minutes import service as minutes
from marac.notices import events
from marac.referrals import drafts, locations
from marac.referrals import service as referrals
from marac.referrals.models import Referral
from marac.webhooks import service as webhooks
from marac.webhooks.delivery import fan_out
from tests.conftest import CONFERENCE, dash_body, make_referral

load_all_checks()
# By their documented names: no 500, only documented statuses, content types and bodies,
# invalid input refused, and nothing answered without a valid token.
CONFORMANCE = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
FUZZ_CHECKS = CHECKS.get_by_names([*CONFORMANCE, "negative_data_rejection", "ignored_auth"])
ACCESS_CHECKS = CHECKS.get_by_names(CONFORMANCE)
EXAMPLES = 6  # per operation and generation mode: bounded, so the module stays fast in CI
OTHER_CONFERENCE = "riverside-hc"


class LoopBridge:
    """A WSGI app that hands each request to the ASGI app on the test's event loop.

    Schemathesis calls WSGI apps in-process for every request it sends, including the
    re-sent ones of its checks (without credentials, as another identity): none can reach
    the network, and the app keeps running on the loop that owns the database connections."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop

    async def _send(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes) -> httpx.Response:
        # An unhandled error comes back as the 500 a server would send, for not_a_server_error to report.
        transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            return await client.request(method, url, headers=headers, content=body)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        headers = [(k[5:].replace("_", "-").lower(), v) for k, v in environ.items() if k.startswith("HTTP_")]
        headers += [
            (k.replace("_", "-").lower(), environ[k]) for k in ("CONTENT_TYPE", "CONTENT_LENGTH") if environ.get(k)
        ]
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        path = environ.get("RAW_URI", "").split("?")[0] or quote(environ["PATH_INFO"].encode("latin-1"))
        url = f"{path}?{environ['QUERY_STRING']}" if environ.get("QUERY_STRING") else path
        answer = asyncio.run_coroutine_threadsafe(
            self._send(environ["REQUEST_METHOD"], url, headers, body), self.loop
        ).result(60)
        start_response(f"{answer.status_code} {answer.reason_phrase}", list(answer.headers.multi_items()))
        return [answer.content]


def bounded(examples: int = EXAMPLES) -> settings:
    # Deterministic and bounded: the same requests every run, no example database, no shrinking.
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


# --- the seeded world ---------------------------------------------------------------------------


async def seed(personas, documents: bool = False) -> dict[str, Any]:
    """A realistic conference: a held meeting with notes, actions and approved minutes, a live
    published meeting, a pending referral, and a second conference only housing belongs to."""
    coordinator = await viewer_for(personas["coordinator"].user)
    chair = await viewer_for(personas["chair"].user)
    agency = {k: personas[k].user.agency_id for k in personas}

    held_referral = await make_referral(personas["police"])
    await referrals.decide(coordinator, held_referral.id, "accept", None)
    held = await Meeting.get(id=(await Referral.get(id=held_referral.id)).expected_meeting_id).prefetch_related(
        "conference"
    )
    await agenda.publish(coordinator, held)
    held_case = (await AgendaItem.get(referral_id=held_referral.id)).id
    held = await Meeting.get(id=held.id).prefetch_related("conference")
    held_note = await actions.add_note(chair, held, held_case, "Shared with every full member", "all", [])
    await actions.add_note(chair, held, held_case, "For the police only", "restricted", [agency["police"]])
    await actions.add_note(chair, held, held_case, "Chair only, never minuted", "chair_only", [])
    health_action = await actions.add_action(
        chair, held, held_case, "Share GP records with the IDVA", agency["health"], None
    )
    childrens_action = await actions.add_action(chair, held, held_case, "Visit the school", agency["childrens"], None)
    await actions.decide_case(chair, held, held_case, "heard", "")
    await actions.close_meeting(coordinator, held)
    await minutes.approve(chair, await Meeting.get(id=held.id).prefetch_related("conference"))

    idva_body = dash_body()
    idva_body["victim"] = {**idva_body["victim"], "name": "Mary Major", "date_of_birth": "1979-02-02"}
    idva_body["perpetrators"] = [{"name": "Mark Major", "date_of_birth": "1977-09-09"}]
    idva_body["children"] = []
    live_referral = await make_referral(personas["idva"], idva_body)
    await referrals.decide(coordinator, live_referral.id, "accept", None)
    live = await Meeting.get(id=(await Referral.get(id=live_referral.id)).expected_meeting_id).prefetch_related(
        "conference"
    )
    assert live.id != held.id
    await agenda.publish(coordinator, live)
    live_case = (await AgendaItem.get(referral_id=live_referral.id)).id
    live = await Meeting.get(id=live.id).prefetch_related("conference")
    live_action = await actions.add_action(chair, live, live_case, "Refer to the housing team", agency["police"], None)
    live_note = await actions.add_note(chair, live, live_case, "Said at the live meeting", "all", [])

    health_body = dash_body()
    health_body["victim"] = {**health_body["victim"], "name": "Nora North", "date_of_birth": "1991-01-01"}
    health_body["perpetrators"] = [{"name": "Ned North"}]
    pending_referral = await make_referral(personas["health"], health_body)

    if documents:  # the research lists of the live meeting and the minutes of the held one, to download
        await tasks.render_agendas(live.id)
        await tasks.render_minutes((await minutes.request_render(coordinator, held)).id)

    # A second conference that only housing (and the admin) can see, with housing's own referral.
    riverside = await directory.create_conference(
        None,
        name="Riverside hate crime MARAC",
        slug=OTHER_CONFERENCE,
        type="hate-crime",
        weekday="thursday",
        start_time="14:00",
        first_date=date(2026, 1, 8),
        members=[directory.MemberSpec(agency["housing"], "full")],
    )
    await personas["housing"].user.conferences.add(riverside)
    housing_body = dash_body(
        conference=OTHER_CONFERENCE,
        risk={"instrument": "hate-crime", "level": "high"},
        strands=["race:anti_black"],
        incident_kind="crime",
        children=[],
        summary="Repeated racist abuse from a neighbour.",
    )
    housing_referral = await make_referral(personas["housing"], housing_body)

    # Half-typed drafts of police and health, each seen by its author alone: some to read and change,
    # some to delete, some to send (refused: they are not finished), so that one call does not
    # take another's draft away.
    seeded_drafts = {
        f"{key}-{use}": (
            await drafts.save(
                await viewer_for(personas[key].user), {"conference": CONFERENCE, "victim": {"name": f"{key} draft"}}
            )
        ).id
        for use in ("read", "delete", "submit")
        for key in ("police", "health")
    }

    job = await Job.create(name="purge_expired_sessions", requested_by=personas["coordinator"].user.id)
    # The police's case system, told of the referral it made (one delivery in its log).
    webhook = await webhooks.register(
        None, agency["police"], "https://hooks.police.example/marac", ["referral.received"]
    )
    await events.emit("referral.received", conn=None, conference_id=held.conference_id, referral_id=held_referral.id)
    await fan_out()
    doomed = await webhooks.register(None, agency["health"], "https://hooks.health.example/marac", ["minutes.ready"])
    # An account whose conferences the admin may change (PATCH /api/v1/users/{id}); no persona's own.
    user = await directory.add_user(
        None,
        email="bystander.api@test.example.org",
        name="Bystander",
        agency_id=agency["health"],
        role="member",
        conference_slugs=[CONFERENCE],
    )
    place = await locations.add(coordinator, held.conference, "Market Square")
    return {
        "drafts": seeded_drafts,
        "doomed_webhook": doomed.webhook.id,
        "webhook": webhook.webhook.id,
        "user": user.user.id,
        "agency": agency["health"],
        "place": place.id,
        "held": held,
        "held_case": held_case,
        "live": live,
        "live_case": live_case,
        "referrals": {
            "police": held_referral.id,
            "idva": live_referral.id,
            "health": pending_referral.id,
            "housing": housing_referral.id,
        },
        "riverside_meeting": housing_referral.expected_meeting_id,
        "actions": {"health": health_action.id, "childrens": childrens_action.id, "police": live_action.id},
        "notes": {"held": held_note.id, "live": live_note.id},
        "job": job.id,
    }


# --- the checks ----------------------------------------------------------------------------------


def roles_by_operation(app) -> dict[str, tuple[str, ...]]:
    """Who may call each operation at all, from the routes' own @api declarations."""
    found = {}
    for route in app.routes:
        access = getattr(getattr(route, "endpoint", None), "access", None)
        if access and access["kind"] == "api":
            for method in route.methods - {"HEAD"}:
                found[f"{method} {route.path}"] = access["roles"]
    return found


def bindings(world: dict[str, Any], operation) -> list[dict[str, str]]:
    """Path values naming real records, for an operation's path parameters."""
    names = {p.name for p in operation.path_parameters}
    if not names:
        return []
    if names == {"slug"}:
        return [{"slug": CONFERENCE}, {"slug": OTHER_CONFERENCE}]
    if names == {"job_id"}:
        return [{"job_id": world["job"]}]
    if names == {"draft_id"}:
        use = (
            "delete"
            if operation.method.upper() == "DELETE"
            else "submit"
            if operation.path.endswith("/submit")
            else "read"
        )
        return [{"draft_id": d} for key, d in world["drafts"].items() if key.endswith(use)]
    if names == {"webhook_id"}:
        # Deleting one leaves nothing for the operations after it: DELETE gets a webhook of its own.
        return [{"webhook_id": world["doomed_webhook" if operation.method.upper() == "DELETE" else "webhook"]}]
    if names == {"user_id"}:
        return [{"user_id": world["user"]}]
    if names == {"agency_id"}:
        return [{"agency_id": world["agency"]}]
    if names == {"referral_id"}:
        return [{"referral_id": r} for r in world["referrals"].values()]
    if names == {"action_id"}:
        return [{"action_id": a} for a in world["actions"].values()]
    if names == {"meeting_id"}:
        return [{"meeting_id": m} for m in (world["held"].id, world["live"].id, world["riverside_meeting"])]
    if names == {"slug", "place_id"}:  # the place, and the place asked of a conference that does not name it
        return [
            {"slug": CONFERENCE, "place_id": world["place"]},
            {"slug": OTHER_CONFERENCE, "place_id": world["place"]},
        ]
    if names == {"meeting_id", "case_id"}:
        return [
            {"meeting_id": world["held"].id, "case_id": world["held_case"]},
            {"meeting_id": world["live"].id, "case_id": world["live_case"]},
        ]
    if names == {"meeting_id", "case_id", "note_id"}:
        return [
            {"meeting_id": world["held"].id, "case_id": world["held_case"], "note_id": world["notes"]["held"]},
            {"meeting_id": world["live"].id, "case_id": world["live_case"], "note_id": world["notes"]["live"]},
        ]
    raise AssertionError(f"no seeded record for {operation.label}: add one to bindings()")


async def in_thread(app, work: Callable[[schemathesis.BaseSchema], list[str]]) -> list[str]:
    """Run synchronous schemathesis work in a thread while this loop serves its requests."""
    bridge = LoopBridge(app, asyncio.get_running_loop())

    def load_and_work() -> list[str]:
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", bridge)
        # Each request carries a persona's real token; the token is never generated (or
        # negated) as if it were input, and ignored_auth still probes without it.
        schema.config.generation.update(with_security_parameters=False)
        return work(schema)

    return await asyncio.to_thread(load_and_work)


async def test_generated_requests_get_documented_answers_and_bad_input_is_refused(app, personas):
    """Valid and invalid requests from the document, as callers whose role may use each
    operation, on random ids and on real records: no 500, only documented statuses and
    bodies, invalid input refused with a 4xx, and no answer without a valid token."""
    world = await seed(personas)
    roles = roles_by_operation(app)

    def work(schema: schemathesis.BaseSchema) -> list[str]:
        failures = []
        for result in schema.get_all_operations():
            operation = result.ok()
            callers = [p for p in personas.values() if p.user.role in roles[operation.label]]
            values = bindings(world, operation)
            modes = [schemathesis.GenerationMode.POSITIVE]
            if operation.body or operation.query or operation.headers:  # something a request can get wrong
                modes.append(schemathesis.GenerationMode.NEGATIVE)
            for mode in modes:
                cases = operation.as_strategy(mode)
                if values:  # half on random ids, half on real records, so that requests get past the lookup
                    cases |= st.sampled_from(values).flatmap(
                        lambda v, m=mode, o=operation: o.as_strategy(m, path_parameters=v)
                    )

                @bounded()
                @given(case=cases, caller=st.sampled_from(callers))
                def run(case, caller) -> None:
                    case.call_and_validate(headers=caller.bearer, checks=FUZZ_CHECKS)

                try:
                    run()
                except (Exception, BaseExceptionGroup) as exc:  # try every operation, report all failures together
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
        return failures

    failures = await in_thread(app, work)
    assert not failures, "\n\n".join(failures)


def who_sees(world: dict[str, Any]) -> dict[str, set[str]]:
    """Each seeded record's id → the personas entitled to know it exists (access.py's rules, written out)."""
    conference = {"admin", "coordinator", "chair", "police", "idva", "health", "childrens", "auditor"}
    officers = {"coordinator", "chair"}
    referrals, acts = world["referrals"], world["actions"]
    return {
        CONFERENCE: conference,
        OTHER_CONFERENCE: {"admin", "housing"},
        world["job"]: {"coordinator"},
        referrals["police"]: officers | {"police"},
        referrals["idva"]: officers | {"idva"},
        referrals["health"]: officers | {"health"},
        referrals["housing"]: {"housing"},
        # Meeting dates are not case data: everyone of the conference (an admin: every meeting).
        world["held"].id: conference,
        world["live"].id: conference,
        world["riverside_meeting"]: {"admin", "housing"},
        world["user"]: {"admin"},  # an account: the admin's directory; anyone else sees only their own
        # An agency: the directory lists it to everyone; only an admin changes it (403 for the others).
        world["agency"]: conference | {"housing"},
        # An action: the officers and its owner may update it; other full-tier members see it in their minutes.
        acts["health"]: officers | {"health", "police", "idva"},
        acts["childrens"]: officers | {"childrens", "police", "idva", "health"},
        acts["police"]: officers | {"police", "idva", "health"},
        # A draft: its author alone, not even the coordinator.
        **{draft: {key.split("-")[0]} for key, draft in world["drafts"].items()},
        world["webhook"]: {"admin"},  # the directory's, as the agencies' systems are
        world["doomed_webhook"]: {"admin"},
    }


def record_of(binding: dict[str, str]) -> str:
    """The record whose visibility decides the answer: a case is seen through its meeting."""
    for name in (
        "action_id",
        "referral_id",
        "draft_id",
        "job_id",
        "meeting_id",
        "slug",
        "user_id",
        "webhook_id",
        "agency_id",
    ):
        if name in binding:
            return binding[name]
    raise AssertionError(binding)


def nowhere(binding: dict[str, str]) -> dict[str, str]:
    """The same path naming records that do not exist."""
    return {name: "no-such-conference" if name == "slug" else "0" * 32 for name in binding}


def error_of(response) -> tuple[int, Any]:
    try:
        return response.status_code, response.json().get("error")
    except ValueError:
        return response.status_code, response.content[:100]


async def test_every_persona_gets_404_for_a_record_it_may_not_see(app, personas):
    """Each operation naming a record, called as every persona on every seeded record with a
    schemathesis-generated request: a persona not entitled to the record gets exactly the
    answer a record that does not exist gets, a 404, never a 403 that confirms it exists."""
    world = await seed(personas, documents=True)
    sees = who_sees(world)

    def work(schema: schemathesis.BaseSchema) -> list[str]:
        failures: list[str] = []
        reached: set[str] = set()
        missing: dict[tuple[str, ...], tuple[int, Any]] = {}
        operations = [r.ok() for r in schema.get_all_operations() if r.ok().path_parameters]

        def probe(operation, binding: dict[str, str], entitled: set[str]) -> None:
            """Each persona asks for one real record; one not entitled to it, also for a missing one."""

            @bounded(examples=1)
            @given(case=operation.as_strategy(schemathesis.GenerationMode.POSITIVE, path_parameters=binding))
            def run(case) -> None:
                for key, persona in personas.items():
                    answer = case.call(headers=persona.bearer)
                    case.validate_response(answer, headers=persona.bearer, checks=ACCESS_CHECKS)
                    if key in entitled:
                        reached.update([operation.label] if answer.status_code != 404 else [])
                        continue
                    # The same request for a record that does not exist (asked once per request and persona).
                    same = (operation.label, key, repr(case.query), repr(case.body))
                    if same not in missing:
                        ghost = case.derive()
                        ghost.path_parameters = nowhere(binding)
                        missing[same] = error_of(ghost.call(headers=persona.bearer))
                    expected = missing[same]
                    if error_of(answer) != expected or expected[0] != 404:
                        failures.append(
                            f"{operation.label} {binding} as {key}: {error_of(answer)}, for a missing record {expected}"
                        )

            run()

        for operation in operations:
            for binding in bindings(world, operation):
                entitled = sees[record_of(binding)]
                try:
                    probe(operation, binding, entitled)
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{operation.label} {binding}: {exc}")
        # Real ids, not typos: every operation answered someone entitled with something other than 404.
        failures += [f"{o.label}: no entitled persona got past 404" for o in operations if o.label not in reached]
        return failures

    failures = await in_thread(app, work)
    assert not failures, "\n".join(failures)
