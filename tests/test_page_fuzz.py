"""Every page route, sent generated query strings and form fields, never answers 500.

The JSON API is searched by schemathesis from its OpenAPI document
(tests/test_api_schemathesis.py). Pages have no such document, so the fields each handler
reads are taken from its source and its helpers' (`.get("name")`, `["name"]`, `text("name")`), and
hypothesis sends them values of the kinds that once gave 500 (tests/test_malformed_input.py):
digits of other scripts, numbers past any column, long text, newlines, NUL, dates that are
not dates, and well-formed values too, so that requests get past the first check. Each
route is called as the personas the route inventory lets in, on seeded records, a bounded
and deterministic number of times.
"""

from __future__ import annotations

import inspect
import re
from urllib.parse import urlencode

import httpx
from hypothesis import given
from hypothesis import strategies as st

from marac.agencies import auth
from marac.agencies import service as directory
from marac.agencies.models import ApiToken
from marac.web import csrf
from tests.conftest import CONFERENCE, PERSONAS, csrf_token, make_client
from tests.test_api_schemathesis import bounded, seed
from tests.test_route_inventory import EXPECTED

CONFTEST_PERSONAS = {key for key, *_ in PERSONAS}
EXAMPLES = 20  # per route
# Sending these would end the caller's own session, not test what a page does with input.
SKIPPED = {("POST", "/logout")}
PAGE_ROUTES = sorted(k for k in EXPECTED if not k[1].startswith("/api/") and k not in SKIPPED)
GENERIC_FIELDS = ["conference", "version", "next"]
NASTY = [
    "\u00b2",
    "\u0663",
    "\uff11\uff12",
    "9" * 30,
    "-1",
    "0",
    "1e9",
    "NaN",
    "",
    " ",
    "x\n",
    "newline\n",
    "\x00",
    "a" * 300,
    "9999Q4",
    "0001Q1",
    "2026Q3",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "2026-W01-1",
    "20261121",
    "31/12/9999",
    "2026-11-21",
    "21/11/2026",
    "10:00",
    "25:61",
    CONFERENCE,
    CONFERENCE + "\n",
    "open",
    "all",
    "full",
    "yes",
    "1",
    "3",
]
VALUES = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=20),
    st.text(min_size=65, max_size=300),  # past every column
    st.text(alphabet="0123456789\u00b2\u0663-", min_size=1, max_size=40),
    st.integers(-(10**20), 10**20).map(str),
)
# .get("name") and .getlist("name"), ["name"], text("name") and text(f"children.{i}.name")
FIELD_PATTERNS = [
    r'\.get(?:list)?\(\s*"([A-Za-z_][\w.]*)"',
    r'\[\s*"([a-z_][\w.]*)"\s*\]',
    r'text\(\s*f?"([a-z_][\w.{}]*)"',
]


def fields_read_by(handler) -> list[str]:
    """The names a handler reads, and those read by the functions of its module it calls (two deep)."""
    handler = inspect.unwrap(handler)
    module = inspect.getmodule(handler)
    sources, seen, todo = [], set(), [(handler, 0)]
    while todo:
        function, depth = todo.pop()
        if function in seen:
            continue
        seen.add(function)
        source = inspect.getsource(function)
        sources.append(source)
        if depth < 2:
            called = [getattr(module, name, None) for name in re.findall(r"\b(\w+)\(", source)]
            called += [cell.cell_contents for cell in function.__closure__ or ()]  # _meeting_action(_attendance)
            todo += [
                (inspect.unwrap(f), depth + 1)
                for f in called
                if inspect.isfunction(f) and f.__module__ == module.__name__
            ]
    text = "\n".join(sources)
    found = {name.replace("{i}", "0") for pattern in FIELD_PATTERNS for name in re.findall(pattern, text)}
    return sorted(found | set(GENERIC_FIELDS))


def endpoint_of(app, method: str, path: str):
    return next(r.endpoint for r in app.routes if getattr(r, "path", None) == path and method in (r.methods or ()))


def allowed_personas(method: str, path: str, access: dict) -> list[str]:
    table = EXPECTED[(method, path)]
    # The conftest personas (the route inventory's own, MIXED, are not seeded here).
    signed_in = [p for p, status in table.items() if p in CONFTEST_PERSONAS and status != 403]
    return signed_in + (["anonymous"] if access["kind"] == "public" else [])


def drawn_examples(personas: list[str], names: list[str]) -> list[tuple[str, dict[str, str]]]:
    """Who sends which form fields. hypothesis draws synchronously; the requests are sent afterwards,
    on the test's loop."""
    drawn: list[tuple[str, dict[str, str]]] = []

    @bounded(EXAMPLES)
    @given(
        who=st.sampled_from(personas),
        fields=st.dictionaries(st.sampled_from(names), VALUES, min_size=1, max_size=4),
    )
    def draw(who: str, fields: dict[str, str]) -> None:
        drawn.append((who, fields))

    draw()
    return drawn


async def bindings(world: dict, personas) -> dict[str, str]:
    token = await ApiToken.filter(user_id=personas["police"].user.id).first()
    # Someone no persona is: a generated form may disable or reset them.
    bystander = await directory.add_user(
        None,
        email="bystander@test.example.org",
        name="Bystander",
        agency_id=personas["police"].user.agency_id,
        role="member",
        conference_slugs=[CONFERENCE],
        password="a long enough password 1",
    )
    return {
        "meeting_id": world["held"].id,
        "case_id": world["held_case"],
        "action_id": world["actions"]["police"],
        "note_id": world["notes"]["live"],
        "referral_id": world["referrals"]["police"],
        "draft_id": world["drafts"]["police-read"],
        "slug": CONFERENCE,
        "job_id": world["job"],
        "user_id": bystander.user.id,
        "agency_id": personas["police"].user.agency_id,
        "token_id": token.id if token else "0" * 32,
        "token": "a" * 43,
        "grant_id": "0" * 32,
        "person_id": "0" * 32,
        "suggestion_id": "0" * 32,
        "document_id": "0" * 32,
        "hold_id": "0" * 32,
        "import_id": "0" * 32,
        "webhook_id": world["webhook"],
        "place_id": world["place"],
    }


async def signed_in_client(app, persona) -> tuple[httpx.AsyncClient, str]:
    """A client with a session whose step-up is fresh, so that forms are handled, and its CSRF token."""
    client = make_client(app, ip="10.9.0.1")
    if persona is None:
        return client, await csrf_token(client, "/login")
    raw = await auth.start_session(persona.user, mfa_passed=True)
    session, _ = await auth.session_user(raw)
    await auth.mark_stepped_up(session)
    client.cookies.update({csrf.SESSION: raw})
    return client, await csrf_token(client, "/account")


async def test_generated_query_strings_and_forms_never_get_a_500_on_any_page(app, personas):
    """One seeded world for every route (seeding it per route would cost more than the search)."""
    world = await seed(personas)
    values = await bindings(world, personas)
    clients = {key: await signed_in_client(app, personas.get(key)) for key in [*personas, "anonymous"]}
    failures: list[str] = []
    try:
        for method, path in PAGE_ROUTES:
            endpoint = endpoint_of(app, method, path)
            access = getattr(endpoint, "access", {"kind": "public"})  # /healthz, /readyz
            names = fields_read_by(endpoint)
            url = re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
            for who, fields in drawn_examples(allowed_personas(method, path, access), names):
                client, token = clients[who]
                try:
                    if method == "GET":
                        answer = await client.get(f"{url}?{urlencode(fields)}")
                    else:
                        answer = await client.request(method, url, data={**fields, "csrf_token": token})
                except Exception as exc:
                    failures.append(f"{method} {path} as {who} with {fields!r}: {type(exc).__name__}")
                    continue
                if answer.status_code >= 500:
                    failures.append(f"{method} {path} as {who} with {fields!r}: {answer.status_code}")
    finally:
        for client, _ in clients.values():
            await client.aclose()
    assert not failures, "\n".join(failures)
