"""Render PDFs in worker processes: WeasyPrint is CPU-bound and holds the GIL, so threads
would stall each other and the event loop (two renders: 7.1 s in threads, 3.2 s in two
processes, see style.md).

Processes are spawned, not forked (forking a process with a running event loop and
database connections is unsafe), and replaced after MAX_TASKS_PER_CHILD renders because
WeasyPrint's memory is not returned to the system. Contexts cross a process boundary:
plain dicts, lists, str and dates only.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from marac.documents import render as renderer

MAX_WORKERS = min(2, os.cpu_count() or 1)
MAX_TASKS_PER_CHILD = 50

_executor: ProcessPoolExecutor | None = None


def _warm() -> None:
    # Runs once in each new worker: pay the import and font set-up (about 0.5 s) before
    # the first real document, not during it.
    from weasyprint import HTML

    HTML(string="<p>.</p>", url_fetcher=renderer.AssetFetcher()).write_pdf()


def _pool() -> ProcessPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ProcessPoolExecutor(
            max_workers=MAX_WORKERS,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=MAX_TASKS_PER_CHILD,
            initializer=_warm,
        )
    return _executor


async def render(template: str, context: dict[str, Any], *, title: str) -> tuple[bytes, int]:
    """render.render_pdf() in a worker process: (PDF bytes, page count)."""
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(_pool(), partial(renderer.render_pdf, template, context, title=title))
    except BrokenProcessPool:
        # A worker died (killed, out of memory): this pool is unusable for good. Start a
        # fresh one next time; this job fails and is retried by its caller.
        shutdown(wait=False)
        raise


def shutdown(wait: bool = True) -> None:
    global _executor
    executor, _executor = _executor, None
    if executor is not None:
        executor.shutdown(wait=wait, cancel_futures=True)
