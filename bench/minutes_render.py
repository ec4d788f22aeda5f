"""Benchmark: minutes for a 16-case meeting to 20 recipients (docs/benchmarks.md#minutes-rendering).

Measured in one run, on the same content (bench/minutes_data.py: 14 full-tier agencies,
3 of them named in restricted notes, and 6 actions-only agencies):

- marac: what the render_minutes job does (minutes.service.shared_views, then
  documents.pool.render_shared): the pages full-tier agencies share laid out once, in one part
  per render process at once and joined, each agency's restricted notes laid out alone as its
  annex, every recipient's footer stamped onto its copy, spread over every core of a warm
  render pool. Peak memory is the sum of the resident sizes of this process and its render
  processes, sampled every 10 ms; CPU seconds are theirs too;
- raw WeasyPrint: HTML(string).write_pdf() in this process, one after another, on the same
  HTML marac lays out (the same pages, each layout whole);
- naive: one full render per recipient in the same pool, one after another, as the job did
  before; and the same with every core busy;
- warm Chromium: Debian's chromium kept open through Playwright, printing the 20 documents
  one by one (same HTML, stylesheet inlined), with the CPU seconds of its processes.

Then the same with 5 of the 20 agencies' documents in Welsh (every fourth agency): marac (agencies share
a layout only with the same view and language) and warm Chromium printing the same 20 documents.

marac and Chromium are measured ROUNDS times (default 5) in turn, and their medians compared, so
that other work on shared cores falls on both alike.
Targets: marac ≤ 0.6 × Chromium; marac ≤ 1.2 × raw WeasyPrint; naive ≥ 2 × marac; peak ≤ 500 MiB;
with 5 Welsh agencies, marac ≤ Chromium in the same run.
Run with bench/run (or directly: python -m bench.minutes_render).
"""

from __future__ import annotations

import asyncio
import io
import os
import platform
import shutil
import statistics
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
ROUNDS = int(os.environ.get("ROUNDS", "5"))


def welsh(agencies: list[dict[str, str]]) -> dict[str, str]:
    """5 of the 20 agencies with their documents in Welsh."""
    return {a["agency_id"]: "cy" for a in agencies[::4]}


def full_context(
    frozen: dict[str, Any], agency: dict[str, str], languages: dict[str, str] | None = None
) -> dict[str, Any]:
    language = (languages or {}).get(agency["agency_id"], "en")
    return {
        **view_for(frozen, agency["agency_id"], agency["tier"], language),
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


def descendants(pid: int, skip: frozenset[int] = frozenset()) -> list[int]:
    """Every process below `pid`, but none in `skip` or below it."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            for child in map(int, task.read_text().split()):
                if child not in skip:
                    found += [child, *descendants(child, skip)]
        except OSError:
            pass
    return found


def cpu_seconds(pids: list[int]) -> float:
    """CPU time used so far by these processes: what the work costs whatever else the shared cores
    are doing."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def ours(skip: frozenset[int]) -> list[int]:
    """This process and its render processes (not the browser, whose processes are in `skip`)."""
    return [os.getpid(), *descendants(os.getpid(), skip)]


class PeakMemory:
    """The largest sum of resident memory of this process and its render processes, while running."""

    def __init__(self, skip: frozenset[int] = frozenset()) -> None:
        self.peak_kib, self.processes, self._stop, self._skip = 0, 0, threading.Event(), skip
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            pids = ours(self._skip)
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
    frozen: dict[str, Any], agencies: list[dict[str, str]], languages: dict[str, str] | None = None
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
        for view, members in shared_views(frozen, VERSION, [(a["agency_id"], a["tier"]) for a in agencies], languages)
    ]


async def marac(
    frozen: dict[str, Any], agencies: list[dict[str, str]], languages: dict[str, str] | None = None
) -> tuple[float, dict[str, bytes]]:
    documents: dict[str, bytes] = {}

    async def deliver(recipient: pool.Recipient, pdf: bytes, pages: int) -> None:
        documents[recipient.key] = pdf

    started = time.perf_counter()
    await pool.render_shared(
        "minutes.html",
        grouped(frozen, agencies, languages),
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


class Chromium:
    """Debian's chromium kept open through Playwright, printing documents one by one; `skipped`
    says why not when it cannot run here. `roots` are its processes under this one."""

    def __init__(self) -> None:
        self.skipped, self.roots = "", frozenset[int]()

    async def __aenter__(self) -> Chromium:
        try:
            from playwright.async_api import async_playwright
        except ImportError:
            self.skipped = "skipped: pip install -e '.[bench]'"
            return self
        if not Path(CHROMIUM).exists():
            self.skipped = "skipped: apt install chromium"
            return self
        before = set(descendants(os.getpid()))
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        self.roots = frozenset(pid for pid in descendants(os.getpid()) if pid not in before)
        self._page = await self._browser.new_page()
        return self

    async def print_all(self, htmls: list[str]) -> tuple[float, float]:
        """(wall seconds, CPU seconds of the browser's processes and this one) for all of `htmls`."""
        await self._page.set_content(htmls[0])
        await self._page.pdf(format="A4")  # warm
        pids = [os.getpid(), *self.roots, *(pid for root in self.roots for pid in descendants(root))]
        started, cpu = time.perf_counter(), cpu_seconds(pids)
        for html in htmls:
            await self._page.set_content(html)
            await self._page.pdf(format="A4", prefer_css_page_size=True)
        return time.perf_counter() - started, cpu_seconds(pids) - cpu

    async def __aexit__(self, *exc: object) -> None:
        if not self.skipped:
            await self._browser.close()
            await self._playwright.stop()


def chromium_htmls(
    frozen: dict[str, Any], agencies: list[dict[str, str]], languages: dict[str, str] | None = None
) -> list[str]:
    style = "<style>" + render.ASSETS[render.STYLESHEET_URL][0].decode() + "</style>"
    return [
        render.render_html("minutes.html", full_context(frozen, a, languages)).replace("</head>", style + "</head>", 1)
        for a in agencies
    ]


def row(name: str, seconds: float | str, baseline: float | None = None, cpu: float | None = None) -> str:
    if isinstance(seconds, str):
        return f"| {name:<46} | {seconds:>22} | {'':>11} |"
    ratio = f"{seconds / baseline:.2f}×" if baseline else ""
    return f"| {name:<46} | {seconds:>8.2f} s {ratio:>11} | {'' if cpu is None else f'{cpu:.2f} s':>11} |"


async def main() -> None:
    settings.get()
    frozen, agencies = content(), recipients()
    full_pages = render.render_pdf("minutes.html", full_context(frozen, agencies[5]), title=TITLE)[1]
    languages = welsh(agencies)
    htmls, htmls_welsh = chromium_htmls(frozen, agencies), chromium_htmls(frozen, agencies, languages)
    load = os.getloadavg()[0]
    walls, cpus, browser_walls, browser_cpus, peak = [], [], [], [], None
    walls_welsh, browser_walls_welsh = [], []
    async with Chromium() as browser:
        for _ in range(ROUNDS):
            # Each round on a fresh pool, warmed by a round unmeasured (so no pool is replaced part-way,
            # pool.RENDERS_PER_POOL) and with the page numbers forgotten, as a worker's first minutes.
            pool.shutdown()
            await warm_pool()
            await marac(frozen, agencies)
            pool._page_numbers.clear()
            cpu = cpu_seconds(ours(browser.roots))
            with PeakMemory(browser.roots) as memory:
                seconds, documents = await marac(frozen, agencies)
            cpus.append(cpu_seconds(ours(browser.roots)) - cpu)
            walls.append(seconds)
            peak = memory if peak is None or memory.peak_kib > peak.peak_kib else peak
            assert len(documents) == len(agencies)
            if not browser.skipped:
                wall, cpu = await browser.print_all(htmls)
                browser_walls.append(wall)
                browser_cpus.append(cpu)
            seconds, documents_welsh = await marac(frozen, agencies, languages)
            walls_welsh.append(seconds)
            assert len(documents_welsh) == len(agencies)
            if not browser.skipped:
                browser_walls_welsh.append((await browser.print_all(htmls_welsh))[0])
    load = max(load, os.getloadavg()[0])
    naive_sequential = await naive(frozen, agencies, parallel=False)
    naive_parallel = await naive(frozen, agencies, parallel=True)
    pool.shutdown()
    raw, layouts, raw_pages = raw_weasyprint(frozen, agencies)
    ours_p50, cpu_p50 = statistics.median(walls), statistics.median(cpus)
    chromium_p50 = statistics.median(browser_walls) if browser_walls else None
    welsh_p50 = statistics.median(walls_welsh)
    chromium_welsh_p50 = statistics.median(browser_walls_welsh) if browser_walls_welsh else None
    welsh_layouts = len([group for group in grouped(frozen, agencies, languages) if len(group[1]) > 1])
    assert peak is not None

    print(f"## Minutes: 16 cases, {len(agencies)} recipients ({full_pages} pages for a full-tier agency)")
    print(
        f"machine: {os.cpu_count()} cores, {platform.python_implementation()} {platform.python_version()}, "
        f"render processes: {pool.MAX_WORKERS}, load average up to {load:.1f} (1 minute, at the start and the end)"
    )
    print(
        f"layouts: {layouts} ({raw_pages} pages laid out, the largest in {pool.MAX_WORKERS} parts), "
        f"documents: {len(documents)}, "
        f"pages delivered: {sum(len(PdfReader(io.BytesIO(pdf)).pages) for pdf in documents.values())}; "
        f"marac and Chromium: median of {ROUNDS} rounds, taken in turn"
    )
    print()
    print("| measurement (all 20 documents unless said)      | wall time, ratio to marac | CPU seconds |")
    print("|------------------------------------------------|------------------------|-------------|")
    print(row("marac: shared layouts in parts + stamps", ours_p50, ours_p50, cpu_p50))
    print(row("raw WeasyPrint, the same pages, one process", raw, ours_p50))
    print(row("naive: a full render per recipient, in turn", naive_sequential, ours_p50))
    print(row("naive: a full render per recipient, all cores", naive_parallel, ours_p50))
    if chromium_p50 is None:
        print(row("warm Chromium, one by one", browser.skipped))
    else:
        print(row("warm Chromium, one by one", chromium_p50, ours_p50, statistics.median(browser_cpus)))
    print(row(f"marac, 5 agencies in Welsh ({welsh_layouts} shared layouts)", welsh_p50, ours_p50))
    if chromium_welsh_p50 is not None:
        print(row("warm Chromium, 5 in Welsh, one by one", chromium_welsh_p50, ours_p50))
    print()
    print(f"marac each round: {', '.join(f'{wall:.2f}' for wall in walls)} s")
    if browser_walls:
        print(f"Chromium each round: {', '.join(f'{wall:.2f}' for wall in browser_walls)} s")
    print(
        f"peak memory, this process and its {peak.processes - 1} render processes together: "
        f"{peak.peak_kib / 1024:.0f} MiB"
    )
    checks = [
        ("marac ≤ 0.6 × warm Chromium", chromium_p50 is not None and ours_p50 <= 0.6 * chromium_p50),
        (
            "marac, 5 in Welsh ≤ warm Chromium, 5 in Welsh",
            chromium_welsh_p50 is not None and welsh_p50 <= chromium_welsh_p50,
        ),
        ("marac ≤ 1.2 × raw WeasyPrint", ours_p50 <= 1.2 * raw),
        ("naive (in turn) ≥ 2 × marac", naive_sequential >= 2 * ours_p50),
        ("naive (all cores) ≥ 2 × marac", naive_parallel >= 2 * ours_p50),
        ("peak memory ≤ 500 MiB", peak.peak_kib <= 500 * 1024),
    ]
    for name, ok in checks:
        print(f"{'met' if ok else 'NOT MET':>8}  {name}")


if __name__ == "__main__":
    asyncio.run(main())
