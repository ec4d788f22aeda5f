"""Render PDFs in worker processes: WeasyPrint is CPU-bound and holds the GIL, so threads
would stall each other and the event loop (two renders: 7.1 s in threads, 3.2 s in two
processes).

Processes are spawned, not forked (forking a process with a running event loop and
database connections is unsafe), and the whole pool is replaced after RENDERS_PER_POOL
renders because WeasyPrint's memory is not returned to the system. Each has an address-space limit
(settings.render_memory_mb) and each call a time limit (settings.render_timeout_seconds).
Contexts cross a process boundary: plain dicts, lists, str and dates only.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import signal
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import partial
from typing import Any

from marac import metrics, settings
from marac.documents import render as renderer

MAX_WORKERS = os.cpu_count() or 1
# Not ProcessPoolExecutor's max_tasks_per_child: on Python 3.11 a worker retiring while
# calls are queued can leave them waiting for ever (seen here after a few hundred renders).
RENDERS_PER_POOL = 50 * MAX_WORKERS
RENDER_NICENESS = 10  # added to the render processes' niceness: the web process and queries go first

_executor: ProcessPoolExecutor | None = None
_submitted = 0


class RenderTimeout(renderer.RenderError):
    """A render ran past settings.render_timeout_seconds and was stopped."""


def _start(memory_mb: int) -> None:
    # Runs once in each new worker. The limit makes a runaway document fail this process
    # (the job fails and is retried), not the machine.
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # Documents are background work: on busy cores requests come first (docs/benchmarks.md#background-work).
    os.nice(RENDER_NICENESS)
    # Pay the import and font set-up (about 0.5 s) before the first real document.
    renderer.render_pdf("base.html", {"reference": "", "recipient": "", "version": 0}, title="")


def _expire(signum: int, frame: Any) -> None:
    raise RenderTimeout("the render ran out of time")


def _timed(timeout: int, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """In the worker: `function` stopped by SIGALRM after `timeout` seconds."""
    signal.signal(signal.SIGALRM, _expire)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return function(*args, **kwargs)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _pool() -> ProcessPoolExecutor:
    global _executor, _submitted
    _submitted += 1
    if _executor is not None and _submitted > RENDERS_PER_POOL:
        # The old pool finishes what it was given, then its processes exit.
        _executor.shutdown(wait=False)
        _executor = None
    if _executor is None:
        _submitted = 1
        _executor = ProcessPoolExecutor(
            max_workers=MAX_WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(settings.get().render_memory_mb,),
        )
    return _executor


async def run(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """function(*args, **kwargs) in a render process, within the time limit."""
    loop = asyncio.get_running_loop()
    call = partial(_timed, settings.get().render_timeout_seconds, function, *args, **kwargs)
    try:
        with metrics.timed_render(function.__name__):
            return await loop.run_in_executor(_pool(), call)
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this pool is unusable for good. Start a
        # fresh one next time; this job fails and is retried by its caller.
        shutdown(wait=False)
        raise


async def render(template: str, context: dict[str, Any], *, title: str) -> tuple[bytes, int]:
    """render.render_pdf() in a worker process: (PDF bytes, page count)."""
    return await run(renderer.render_pdf, template, context, title=title)


@dataclass(frozen=True)
class Recipient:
    key: str  # the caller's name for this recipient (an agency id), handed back on delivery
    name: str  # printed in the footer
    reference: str
    # Added to the group's context for this recipient alone: laid out with annex_template as
    # the pages after the shared ones (minutes: its restricted notes).
    annex: dict[str, Any] | None = None


async def render_shared(
    template: str,
    groups: Sequence[tuple[dict[str, Any], Sequence[Recipient]]],
    *,
    title: str,
    deliver: Callable[[Recipient, bytes, int], Awaitable[None]],
    annex_template: str | None = None,
    in_parts: bool = False,
) -> None:
    """One document per recipient, each group's recipients sharing a context.

    Every group is laid out once; each recipient's copy is that layout, then its annex laid
    out alone, stamped with its own footer. A group of one is rendered whole. With `in_parts`
    (the minutes: each of the context's `cases` after the first starts a page, render.split), a
    shared layout is laid out in parts, one per render process at most, at once, and joined. Layouts and stamps
    spread over every worker; `deliver` gets each document as it is finished, so a failure
    part-way keeps what was delivered. The caller must group only recipients entitled to
    exactly the same context: a layout is shared as it is.
    """
    if annex_template is None and any(len(rs) > 1 and any(r.annex for r in rs) for _, rs in groups):
        raise ValueError("a recipient has an annex but no annex_template was given")

    def parts(context: dict[str, Any]) -> list[tuple[int, int] | None]:
        # A bilingual document holds its cases twice, the English copy's first not starting a page of
        # its own: render.split() may cut only where a page starts, so it is laid out whole.
        whole = not in_parts or context.get(renderer.BILINGUAL)
        count = 1 if whole else min(MAX_WORKERS, len(context.get("cases") or []))
        return [(n, count) for n in range(count)] if count > 1 else [None]

    async def whole(context: dict[str, Any], recipient: Recipient) -> None:
        own = {**context, **(recipient.annex or {}), "reference": recipient.reference, "recipient": recipient.name}
        await deliver(recipient, *(await run(renderer.render_pdf, template, own, title=title)))

    async def shared(
        context: dict[str, Any],
        recipients: Sequence[Recipient],
        laid: list[asyncio.Task[tuple[bytes, int]]],
        annexes: list[asyncio.Task[tuple[bytes, int]] | None],
        tasks: asyncio.TaskGroup,
    ) -> None:
        pieces = [await part for part in laid]
        annexed = [await annex if annex else None for annex in annexes]
        pages = sum(count for _, count in pieces)
        totals = sorted({pages + (annex[1] if annex else 0) for annex in annexed})
        language = context.get(renderer.LANGUAGE)

        async def joined() -> bytes:
            if len(pieces) == 1:
                return pieces[0][0]
            return (await run(renderer.join, [pdf for pdf, _ in pieces], title=title, language=language))[0]

        layout, *numbered = await asyncio.gather(joined(), *(page_numbers(total, language) for total in totals))
        numbers = dict(zip(totals, numbered, strict=True))
        for recipient, annex in zip(recipients, annexed, strict=True):
            total = pages + (annex[1] if annex else 0)
            tasks.create_task(stamped(context, layout, annex[0] if annex else None, numbers[total], recipient))

    async def stamped(
        context: dict[str, Any], shared: bytes, annex: bytes | None, numbers: bytes, recipient: Recipient
    ) -> None:
        await deliver(
            recipient,
            *(
                await run(
                    renderer.stamp,
                    shared,
                    annex=annex,
                    numbers=numbers,
                    reference=recipient.reference,
                    recipient=recipient.name,
                    version=context["version"],
                    title=title,
                    language=context.get(renderer.LANGUAGE),
                )
            ),
        )

    sharing = [(context, recipients) for context, recipients in groups if len(recipients) > 1]
    sharing.sort(key=lambda group: -len(group[1]))
    async with asyncio.TaskGroup() as tasks:
        # The pool takes work first come, first served, so the longest waits go in first and no
        # process idles at the end: the shared layouts (the largest groups' first, in parts), their
        # annexes, then the documents of one; each group's stamps as soon as its layout is joined.
        laid = [
            [
                tasks.create_task(run(renderer.layout, template, context, title=title, part=part))
                for part in parts(context)
            ]
            for context, _ in sharing
        ]
        annexes = [
            [
                tasks.create_task(run(renderer.layout, annex_template, {**context, **r.annex}, title=title))
                if annex_template and r.annex
                else None
                for r in recipients
            ]
            for context, recipients in sharing
        ]
        for context, recipients in groups:
            if len(recipients) == 1:
                tasks.create_task(whole(context, recipients[0]))
        for (context, recipients), group_laid, group_annexes in zip(sharing, laid, annexes, strict=True):
            tasks.create_task(shared(context, recipients, group_laid, group_annexes, tasks))


_page_numbers: dict[tuple[int, str | None], bytes] = {}


async def page_numbers(pages: int, language: str | None = None) -> bytes:
    """render.page_numbers(), kept per language: it holds nothing but numbers, and costs ~5 ms a page."""
    if (pages, language) not in _page_numbers:
        _page_numbers[pages, language] = await run(renderer.page_numbers, pages, language)
    return _page_numbers[pages, language]


def shutdown(wait: bool = True) -> None:
    global _executor
    executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait, cancel_futures=True)
