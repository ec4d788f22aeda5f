"""Personal data never reaches logs, Redis, job arguments or the audit, disclosure and
notification tables.

The main flows run end to end with every piece of personal data marked by a canary (names,
aliases, address, phone, date of birth, summary, notes, actions, research, register,
decision reasons, AOB, failed requests echoing it, a 404 and a 500), while every log record
of every logger is captured at DEBUG. Then the logs, every Redis key and value (arq job
payloads decoded), the `job` table and the audit_event, disclosure and notification rows are
scanned: no canary may appear. The scanner is shown to find a canary put in each place.
PDF rendering runs in separate processes, whose own logging this test does not see.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from pypdf import PdfReader
from redis.asyncio import Redis
from starlette.routing import Route
from tortoise import connections

from marac import settings
from marac.jobs.models import Job
from tests.conftest import make_client, session_cookie_for
from tests.flows import REDIS_URL, meeting_cycle, page_post, queue_mode, referral_body

# Loggers that may not exist yet when the capture starts: created now, so their level is set.
KNOWN_LOGGERS = [
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "arq",
    "arq.worker",
    "arq.jobs",
    "arq.connections",
    "tortoise",
    "tortoise.db_client",
    "aiosqlite",
    "asyncpg",
    "httpx",
    "httpcore",
    "python_multipart",
    "multipart",
    "weasyprint",
    "starlette",
    "marac",
    "marac.web",
    "marac.jobs",
    "marac.reminders",
    "marac.notify",
]
STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class Capture(logging.Handler):
    """Every record, as text: the message with its arguments, exception and any extra fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("httpx", "httpcore")):
            return  # the test's own HTTP client, which logs the URLs it asks for; the app sends no HTTP
        try:
            message = record.getMessage()
        except Exception:  # a bad format string still carries its arguments
            message = f"{record.msg!r} {record.args!r}"
        parts = [record.name, message]
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            parts.append(record.stack_info)
        parts += [f"{k}={v!r}" for k, v in vars(record).items() if k not in STANDARD_RECORD_FIELDS]
        self.lines.append(" ".join(parts))


@contextmanager
def all_logs() -> Iterator[Capture]:
    """Capture every logger at DEBUG through the root handler (and on non-propagating loggers)."""
    capture = Capture()
    for name in KNOWN_LOGGERS:
        logging.getLogger(name)
    loggers = [logging.getLogger()] + [
        logger for logger in logging.root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(lg, lg.level, lg.disabled) for lg in loggers]
    attached = [lg for lg in loggers if not lg.propagate]
    logging.disable(logging.NOTSET)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
        lg.disabled = False
    logging.getLogger().addHandler(capture)
    for lg in attached:
        lg.addHandler(capture)
    try:
        yield capture
    finally:
        logging.getLogger().removeHandler(capture)
        for lg in attached:
            lg.removeHandler(capture)
        for lg, level, disabled in saved:
            lg.setLevel(level)
            lg.disabled = disabled


# --- the scanner -------------------------------------------------------------------------------


def _decoded(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace")
    try:  # arq job payloads and results are JSON (our serializer): read them as data too
        return text + "\n" + json.dumps(json.loads(raw), ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return text


async def redis_dump(url: str) -> list[str]:
    """Every key and value of the configured Redis database, whatever the type."""
    redis = Redis.from_url(url)
    found: list[str] = []
    try:
        async for key in redis.scan_iter(count=500):
            kind = (await redis.type(key)).decode()
            values: list[bytes] = []
            if kind == "string":
                values = [await redis.get(key) or b""]
            elif kind == "hash":
                values = [part for pair in (await redis.hgetall(key)).items() for part in pair]
            elif kind == "list":
                values = await redis.lrange(key, 0, -1)
            elif kind == "set":
                values = list(await redis.smembers(key))
            elif kind == "zset":
                values = [member for member, _ in await redis.zrange(key, 0, -1, withscores=True)]
            elif kind == "stream":
                values = [
                    json.dumps(
                        [
                            (i.decode(), {k.decode(): v.decode() for k, v in f.items()})
                            for i, f in await redis.xrange(key)
                        ]
                    ).encode()
                ]
            found.append(f"key {key.decode('utf-8', 'replace')}")
            found += [f"{key!r}: {_decoded(v)}" for v in values]
    finally:
        await redis.aclose()
    return found


async def table_rows(table: str) -> list[str]:
    rows = await connections.get("default").execute_query_dict(f'SELECT * FROM "{table}"')
    return [f"{table}: {row!r}" for row in rows]


async def places(capture: Capture) -> dict[str, list[str]]:
    found = {"logs": list(capture.lines)}
    for url in {REDIS_URL, settings.get().redis_url} - {None, ""}:
        found[f"redis {url.rsplit('@', 1)[-1]}"] = await redis_dump(url)
    found["job table"] = await table_rows("job")
    for table in ("audit_event", "disclosure", "notification"):
        found[table] = await table_rows(table)
    return found


def leaks(found: dict[str, list[str]], canaries: list[str]) -> list[str]:
    hits = []
    for where, lines in found.items():
        for line in lines:
            squeezed = line.lower().replace(" ", "")
            hits += [f"{where}: {c!r} in {line[:300]!r}" for c in canaries if c.lower().replace(" ", "") in squeezed]
    return hits


# --- the canaries --------------------------------------------------------------------------------


class Canaries:
    def __init__(self) -> None:
        self.tag = "Cnry" + secrets.token_hex(4)
        self.fields: dict[str, str] = {}
        digits = "".join(secrets.choice("0123456789") for _ in range(6))
        self.phone = f"07700 {digits}"
        self.postcode = "QZ" + secrets.choice("123456789") + " " + secrets.choice("123456789") + "XJ"
        self.dob = "1913-02-17"

    def __call__(self, field: str) -> str:
        # Words a person would type, with the canary in the middle: "Jane Cnry1a2b3c4d victim_name Doe".
        self.fields[field] = f"{self.tag}{field.replace('_', '')}"
        return f"Jane {self.fields[field]} Doe"

    def all(self) -> list[str]:
        # The tag alone catches any field, even cut short; the phone without spaces catches a
        # normalised number, and the date of birth in both forms a log might write it.
        return [self.tag, self.phone, self.phone.replace(" ", ""), self.postcode, self.dob, "17/02/1913"]


async def boom(request):
    raise RuntimeError(f"cannot process {request.query_params.get('q')}")


async def test_no_personal_data_in_logs_redis_jobs_or_audit(app, client, personas):
    mark = Canaries()
    async with queue_mode(REDIS_URL):
        with all_logs() as capture:
            async with make_client(app) as chair_page, make_client(app) as police_page:
                chair_page.cookies.update(await session_cookie_for(personas["chair"]))
                police_page.cookies.update(await session_cookie_for(personas["police"]))
                # One Welsh-language agency: its research list and minutes are in Welsh, the others' in English.
                welsh = await client.patch(
                    f"/api/v1/agencies/{personas['health'].user.agency_id}",
                    json={"language": "cy"},
                    headers=personas["admin"].bearer,
                )
                assert welsh.status_code == 200
                cycle = await meeting_cycle(
                    client, chair_page, personas, mark, postcode=mark.postcode, phone=mark.phone, dob=mark.dob
                )
                for who, words, others in (("health", "Cofnodion", "Minutes"), ("police", "Minutes", "Cofnodion")):
                    pdf = await client.get(
                        f"/api/v1/meetings/{cycle.meeting_id}/minutes.pdf", headers=personas[who].bearer
                    )
                    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
                    squeezed = "".join(text.split())  # what people wrote, as written, in either language
                    assert words in text and others not in text and mark.fields["note_all"] in squeezed, who
                for who, words in (("health", "Rhestr ymchwil"), ("police", "Research list")):
                    pdf = await client.get(
                        f"/api/v1/meetings/{cycle.meeting_id}/agenda.pdf", headers=personas[who].bearer
                    )
                    assert words in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text(), who

                # Failed requests that echo the canary: the API's 422 and 400, the form's 400.
                bad = referral_body(mark, "not-a-date", postcode=mark.postcode, phone=mark.phone, dob=mark.dob)
                answer = await client.post("/api/v1/referrals", json=bad, headers=personas["police"].bearer)
                assert answer.status_code == 422
                answer = await client.post(
                    "/api/v1/referrals",
                    content=b'{"victim": {"name": "' + mark("broken_json").encode(),
                    headers={**personas["police"].bearer, "Content-Type": "application/json"},
                )
                assert answer.status_code == 400
                answer = await page_post(
                    police_page,
                    "/referrals/new",
                    "/referrals/new",
                    {
                        "victim.name": mark("form_name"),
                        "victim.address.line1": mark("form_address"),
                        "victim.address.postcode": mark.postcode,
                        "victim.safe_contact.phone": mark.phone,
                        "summary": mark("form_summary"),
                        "received_at": "32/13/2026",
                    },
                )
                assert (
                    answer.status_code == 400 and mark.fields["form_name"] in answer.text
                )  # shown back to its author only
                answer = await page_post(
                    police_page,
                    f"/actions/{cycle.action_id}",
                    f"/actions/{cycle.action_id}/update",
                    {"version": "1", "status": "open", "update": mark("stale_update")},
                )
                assert answer.status_code == 412

                # A 404 whose address carries a canary, and a 500 whose exception does.
                assert (
                    await client.get(f"/api/v1/referrals/{mark('path_id')}", headers=personas["police"].bearer)
                ).status_code == 404
                assert (await police_page.get(f"/referrals/{mark('page_path_id')}")).status_code == 404
                app.router.routes.append(Route("/canary-boom", boom))
                try:
                    # As a server would: the error page is sent, the exception is not re-raised to the client.
                    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
                    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
                        answer = await raw.get("/canary-boom", params={"q": mark("exception")})
                finally:
                    app.router.routes.pop()
                assert answer.status_code == 500 and mark.tag not in answer.text

            found = await places(capture)
    assert capture.lines, "nothing was logged: the capture is not working"
    assert any("unhandled RuntimeError" in line for line in capture.lines)  # the 500 was logged, without its data
    assert len(mark.fields) > 25
    assert any(
        line.startswith("tortoise.db_client SELECT") for line in capture.lines
    )  # queries were logged, values withheld
    if REDIS_URL:  # the jobs really went through Redis, and their payloads were read
        assert any(
            "arq:job:" in line or "arq:result:" in line
            for key, lines in found.items()
            if key.startswith("redis")
            for line in lines
        )
    assert not leaks(found, mark.all()), "\n".join(leaks(found, mark.all())[:40])


async def test_the_scanner_finds_a_canary_in_each_place(app, personas):
    from marac.audit.service import record
    from marac.jobs import queue

    tag = "Cnry" + secrets.token_hex(4)
    async with queue_mode(REDIS_URL):
        with all_logs() as capture:
            logging.getLogger("marac.web").debug("deliberate %s", tag)
            logging.getLogger("some.library").debug("deliberate", extra={"who": f"{tag}extra"})
            try:
                raise ValueError(f"{tag}exc")
            except ValueError:
                logging.getLogger("marac.web").exception("failed")
            await Job.create(name="render_minutes", error=f"{tag}job")
            await record("test.canary", object_type="note", object_id=f"{tag}audit"[:32])
            if settings.get().redis_url:
                await queue.enqueue("render_minutes", minutes_id=f"{tag}arg")
            found = await places(capture)
    hits = leaks(found, [tag])
    assert any(h.startswith("logs:") and "deliberate" in h for h in hits)
    assert any("extra" in h for h in hits) and any("exc" in h for h in hits)
    assert any(h.startswith("job table:") for h in hits)
    assert any(h.startswith("audit_event:") for h in hits)
    if REDIS_URL:
        assert any(h.startswith("redis") and f"{tag}arg" in h for h in hits), hits


async def test_database_logs_keep_the_query_and_withhold_its_values(app):
    tag = "Cnry" + secrets.token_hex(4)
    with all_logs() as capture:
        await Job.create(name="render_minutes", error=f"{tag}insert")
        assert not await Job.filter(error=f"{tag}select").exists()
    logged = "\n".join(capture.lines)
    assert 'INSERT INTO "job"' in logged and 'FROM "job"' in logged
    assert "[values withheld]" in logged and tag not in logged
