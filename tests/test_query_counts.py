"""No page or API read issues more SQL statements when there is more data: no N+1 anywhere.

Every GET route of the route inventory (tests/test_route_inventory.py) is asked, as each kind of
user the access table does not turn away, against the records of the page sweep's world
(tests/test_browser_pages.py) at two sizes: every list three times longer (cases on a meeting,
notes, actions, referrals waiting). A route whose statement count grows with the lists reads
rows one by one. The routes come from the access table, so a new route is counted without anyone
remembering to. Runs on SQLite and PostgreSQL (both runs of scripts/test).
"""

from __future__ import annotations

import logging
import re

from marac.agencies.models import Conference
from marac.clock import today
from marac.jobs import queue
from tests.conftest import CONFERENCE, create_personas, make_client, reset_database
from tests.test_browser_pages import HELD_ONLY, KINDS, OPENED_AS, PUBLISHED_ONLY, QUERY, SERVICE, cookies_of, world
from tests.test_route_inventory import EXPECTED

ROUTES = sorted(path for method, path in EXPECTED if method == "GET" and path not in SERVICE)
TURNED_AWAY = {401, 403, 303}  # by role, before any record is read
SIZES = (1, 3)
# Routes that may answer no one with a 200 here, each with why; any other fails the test.
RENDERED = "a stored document, rendered by a job that runs in process on SQLite but waits for a worker with Redis"
NOT_REACHED: dict[str, str] = {
    "/meetings/{meeting_id}/agenda.pdf": RENDERED,
    "/api/v1/meetings/{meeting_id}/agenda.pdf": RENDERED,
    "/meetings/{meeting_id}/chair-pack.pdf": RENDERED,
    "/api/v1/meetings/{meeting_id}/chair-pack.pdf": RENDERED,
    "/reports/documents/{document_id}.pdf": RENDERED,
}
# The query a route needs beyond the page sweep's.
QUERIES = {
    **QUERY,
    "/meetings/{meeting_id}/minutes/preview.pdf": "?agency_id={agency_id}",
    "/api/v1/meetings/{meeting_id}/minutes/preview.pdf": "?agency_id={agency_id}",
    "/api/v1/reports/quarterly": "?conference={slug}&quarter={quarter}",
}


class Counter(logging.Handler):
    """Counts the statements Tortoise sends (it logs each at DEBUG on tortoise.db_client)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def counts_at(app, size: int) -> dict[tuple[str, str, int], tuple[int, int]]:
    """(route, kind, world) → (status, statements) for every route and kind, on a fresh database."""
    await reset_database()
    personas = await create_personas()
    variants = await world(app, personas, size)
    calendar = (await Conference.get(slug=CONFERENCE)).calendar_token
    quarter = f"{today().year}Q{(today().month - 1) // 3 + 1}"
    await queue.drain()
    logger = logging.getLogger("tortoise.db_client")
    counter = Counter()
    level, propagate = logger.level, logger.propagate
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    found: dict[tuple[str, str, int], tuple[int, int]] = {}
    try:
        for path in ROUTES:
            chosen = [1] if path in PUBLISHED_ONLY else [0] if path in HELD_ONLY else [0, 1]
            kinds = OPENED_AS.get(path) or [k for k in KINDS if EXPECTED[("GET", path)][k] not in TURNED_AWAY]
            for index in chosen:
                values = {**variants[index], "quarter": quarter}
                if path == "/calendar/{token}.ics":
                    values["token"] = calendar
                template = path + QUERIES.get(path, "")
                url = re.sub(r"{(\w+)}", lambda m, v=values: v.get(m.group(1), "0" * 32), template)
                for kind in kinds:
                    async with make_client(app) as client:
                        headers = {}
                        if path.startswith("/api/") and kind != "anonymous":
                            headers = personas[kind].bearer
                        else:
                            client.cookies.update(await cookies_of(kind, personas))
                        await queue.drain()
                        counter.count = 0
                        answer = await client.get(url, headers=headers)
                        found[(path, kind, index)] = (answer.status_code, counter.count)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
        logger.propagate = propagate
    return found


async def test_no_route_reads_more_statements_for_longer_lists(app):
    small, large = [await counts_at(app, size) for size in SIZES]
    grew = [
        f"{path} as {kind} ({'held' if index == 0 else 'published'} meeting): {small[key][1]} statements, "
        f"then {large[key][1]} with lists {SIZES[1]}× as long"
        for key in sorted(small)
        for path, kind, index in [key]
        if small[key][0] == large[key][0] == 200 and large[key][1] > small[key][1]
    ]
    reached = {path for (path, _, _), (status, _) in {**small, **large}.items() if status == 200}
    assert not grew, f"{len(grew)} reads grow with the data (an N+1):\n" + "\n".join(grew)
    unreached = set(ROUTES) - reached - set(NOT_REACHED)
    assert not unreached, f"routes no one reaches with a 200 here: give them records: {sorted(unreached)}"
