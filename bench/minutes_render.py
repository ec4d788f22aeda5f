"""Benchmark: minutes for a 16-case meeting to 20 recipients (docs/benchmarks.md#minutes-rendering).

Measured in one run, on the same content (bench/minutes_data.py: 14 full-tier agencies,
3 of them named in restricted notes, and 6 actions-only agencies):

- marac: what the render_minutes job does (minutes.service.shared_views, then
  documents.pool.render_shared): the pages full-tier agencies share laid out once, each
  agency's restricted notes laid out alone as its annex, every recipient's footer stamped
  onto its copy, spread over every core of a warm render pool. Peak memory is the
  sum of the resident sizes of this process and its render processes, sampled every 10 ms;
- raw WeasyPrint: HTML(string).write_pdf() in this process, one after another, on the same
  HTML marac lays out (the same pages);
- naive: one full render per recipient in the same pool, one after another, as the job did
  before; and the same with every core busy;
- warm Chromium: Debian's chromium kept open through Playwright, printing the 20 documents
  one by one (same HTML, stylesheet inlined).

Targets: marac ≤ Chromium; marac ≤ 1.2 × raw WeasyPrint; naive ≥ 2 × marac; peak ≤ 500 MiB.
Run with bench/run (or directly: python bench/minutes_render.py).
"""

from __future__ import annotations

import asyncio
import io
import os
import platform
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from weasyprint import CSS, HTML

from bench.minutes_data import content, recipients
from marac import settings
from marac.documents import pool, render
from marac.minutes.service import shared_views, view_for

TITLE = "MARAC minutes"
VERSION = 1
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def full_context(frozen: dict[str, Any], agency: dict[str, str]) -> dict[str, Any]:
    return {
        **view_for(frozen, agency["agency_id"], agency["tier"]),
        "version": VERSION,
        "recipient": agency["name"],
        "reference": f"MARAC-MN-20261124-{agency['agency_id'][-2:]}00-0000",
    }


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in task.read_text().split():
                found += [int(child), *descendants(int(child))]
        except OSError:
            pass
    return found


class PeakMemory:
    """The largest sum of resident memory of this process and all its children, while running."""

    def __init__(self) -> None:
        self.peak_kib, self.processes, self._stop = 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            pids = [os.getpid(), *descendants(os.getpid())]
            self.processes = max(self.processes, len(pids))
            self.peak_kib = max(self.peak_kib, sum(rss_kib(pid) for pid in pids))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def warm_pool() -> None:
    # A worker keeps its render processes between jobs: start and warm every one first.
    await asyncio.gather(
        *(
            pool.render("base.html", {"reference": "", "recipient": "", "version": 0}, title="")
            for _ in range(pool.MAX_WORKERS * 2)
        )
    )


def grouped(
    frozen: dict[str, Any], agencies: list[dict[str, str]]
) -> list[tuple[dict[str, Any], list[pool.Recipient]]]:
    names = {a["agency_id"]: a for a in agencies}
    return [
        (
            view,
            [
                pool.Recipient(
                    agency_id, names[agency_id]["name"], full_context(frozen, names[agency_id])["reference"], annex
                )
                for agency_id, annex in members
            ],
        )
        for view, members in shared_views(frozen, VERSION, [(a["agency_id"], a["tier"]) for a in agencies])
    ]


async def marac(frozen: dict[str, Any], agencies: list[dict[str, str]]) -> tuple[float, dict[str, bytes]]:
    documents: dict[str, bytes] = {}

    async def deliver(recipient: pool.Recipient, pdf: bytes, pages: int) -> None:
        documents[recipient.key] = pdf

    started = time.perf_counter()
    await pool.render_shared(
        "minutes.html",
        grouped(frozen, agencies),
        title=TITLE,
        deliver=deliver,
        annex_template="minutes_restricted.html",
        in_parts=True,
    )
    return time.perf_counter() - started, documents


def raw_weasyprint(frozen: dict[str, Any], agencies: list[dict[str, str]]) -> tuple[float, int, int]:
    """The pages marac lays out (shared layouts, annexes, documents of one), by plain WeasyPrint."""
    css = CSS(string=render.ASSETS[render.STYLESHEET_URL][0].decode())
    htmls = []
    for view, group in grouped(frozen, agencies):
        blank = {**view, "reference": None, "recipient": None}
        if len(group) == 1:
            htmls.append(render.render_html("minutes.html", {**blank, **(group[0].annex or {})}))
            continue
        htmls.append(render.render_html("minutes.html", blank))
        htmls += [render.render_html("minutes_restricted.html", {**blank, **r.annex}) for r in group if r.annex]
    HTML(string="<p>warm</p>").write_pdf()
    started, pages = time.perf_counter(), 0
    for html in htmls:
        document = HTML(string=html).render(stylesheets=[css])
        document.write_pdf()
        pages += len(document.pages)
    return time.perf_counter() - started, len(htmls), pages


async def naive(frozen: dict[str, Any], agencies: list[dict[str, str]], *, parallel: bool) -> float:
    started = time.perf_counter()
    if parallel:
        await asyncio.gather(*(pool.render("minutes.html", full_context(frozen, a), title=TITLE) for a in agencies))
    else:
        for agency in agencies:
            await pool.render("minutes.html", full_context(frozen, agency), title=TITLE)
    return time.perf_counter() - started


async def chromium(frozen: dict[str, Any], agencies: list[dict[str, str]]) -> float | str:
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        return "skipped: pip install -e '.[bench]'"
    if not Path(CHROMIUM).exists():
        return "skipped: apt install chromium"
    style = "<style>" + render.ASSETS[render.STYLESHEET_URL][0].decode() + "</style>"
    htmls = [
        render.render_html("minutes.html", full_context(frozen, a)).replace("</head>", style + "</head>", 1)
        for a in agencies
    ]
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = await browser.new_page()
        await page.set_content(htmls[0])
        await page.pdf(format="A4")  # warm
        started = time.perf_counter()
        for html in htmls:
            await page.set_content(html)
            await page.pdf(format="A4", prefer_css_page_size=True)
        elapsed = time.perf_counter() - started
        await browser.close()
    return elapsed


def row(name: str, seconds: float | str, baseline: float | None = None, note: str = "") -> str:
    if isinstance(seconds, str):
        return f"| {name:<44} | {seconds:>26} |"
    ratio = f"{seconds / baseline:.2f}×" if baseline else ""
    return f"| {name:<44} | {seconds:>8.2f} s {ratio:>8} {note:<7} |"


async def main() -> None:
    settings.get()
    frozen, agencies = content(), recipients()
    full_pages = render.render_pdf("minutes.html", full_context(frozen, agencies[5]), title=TITLE)[1]
    await warm_pool()
    with PeakMemory() as memory:
        ours, documents = await marac(frozen, agencies)
    assert len(documents) == len(agencies)
    naive_sequential = await naive(frozen, agencies, parallel=False)
    naive_parallel = await naive(frozen, agencies, parallel=True)
    pool.shutdown()
    raw, layouts, raw_pages = raw_weasyprint(frozen, agencies)
    browser = await chromium(frozen, agencies)

    print(f"## Minutes: 16 cases, {len(agencies)} recipients ({full_pages} pages for a full-tier agency)")
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"render processes: {pool.MAX_WORKERS}"
    )
    print(
        f"layouts: {layouts} ({raw_pages} pages laid out), documents: {len(documents)}, "
        f"pages delivered: {sum(len(PdfReader(io.BytesIO(pdf)).pages) for pdf in documents.values())}"
    )
    print()
    print("| measurement (all 20 documents unless said)    | wall time, ratio to marac   |")
    print("|----------------------------------------------|----------------------------|")
    print(row("marac: shared layouts + stamps, all cores", ours, ours))
    print(row("raw WeasyPrint, the same layouts, one process", raw, ours))
    print(row("naive: a full render per recipient, in turn", naive_sequential, ours))
    print(row("naive: a full render per recipient, all cores", naive_parallel, ours))
    print(row("warm Chromium, one by one", browser, ours if not isinstance(browser, str) else None))
    print()
    print(
        f"peak memory, this process and its {memory.processes - 1} children together: {memory.peak_kib / 1024:.0f} MiB"
    )
    checks = [
        ("marac ≤ warm Chromium", isinstance(browser, float) and ours <= browser),
        ("marac ≤ 1.2 × raw WeasyPrint", ours <= 1.2 * raw),
        ("naive (in turn) ≥ 2 × marac", naive_sequential >= 2 * ours),
        ("naive (all cores) ≥ 2 × marac", naive_parallel >= 2 * ours),
        ("peak memory ≤ 500 MiB", memory.peak_kib <= 500 * 1024),
    ]
    for name, ok in checks:
        print(f"{'met' if ok else 'NOT MET':>8}  {name}")


if __name__ == "__main__":
    asyncio.run(main())
