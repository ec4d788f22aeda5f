"""Helpers for the browser tests (tests/test_browser.py): the app served over real HTTP,
headless Chromium through Playwright, the checks made on every page (axe, 375 px,
console errors), keyboard-only moves, and the checks of a rendered PDF's pages.

Chromium is Debian's (`/usr/bin/chromium`, installed by scripts/test): Playwright never
downloads a browser here.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pyotp
import uvicorn
from axe_playwright_python.async_playwright import Axe
from PIL import Image
from playwright.async_api import Browser, BrowserContext, Locator, Page, async_playwright

from marac import i18n
from marac.agencies.models import User
from tests.conftest import Persona

CHROMIUM = os.environ.get("MARAC_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("MARAC_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts" / "browser"
)
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 812}
_axe = Axe()
# Pages already checked in this run, by the name a journey gives them: sign-in and home
# look the same in every journey, so they are checked once (screenshots are still taken).
CHECKED: set[tuple[str, str]] = set()


@asynccontextmanager
async def serve(app) -> AsyncIterator[str]:
    """The app (lifespan already running) on a free loopback port, in this event loop, so
    the browser sees the same database connection as the test's own set-up."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        # launch() gives every run a fresh temporary user-data dir, removed on close.
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Session:
    """The browsers of one test: every page opened is checked, screenshotted, and dumped if
    the test fails."""

    browser: Browser
    base_url: str
    name: str
    pages: list[Page] = field(default_factory=list)
    problems: dict[Page, list[str]] = field(default_factory=dict)
    javascript: dict[Page, bool] = field(default_factory=dict)
    shots: int = 0
    # The language of every page this session opens (a cookie, as the header's toggle leaves).
    language: str = "en"

    def t(self, message: str, **values: object) -> str:
        """What the pages say for `message` in this session's language: the catalogue's Welsh, or the English."""
        with i18n.use(self.language):
            text = i18n.gettext(message)
        return text % values if values else text

    def tn(self, singular: str, plural: str, n: int, **values: object) -> str:
        with i18n.use(self.language):
            text = i18n.ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def pattern(self, message: str, plural: str | None = None, **values: object) -> re.Pattern[str]:
        """A link or heading whose words come from `message` (in any of its plural forms, when it has
        them), whatever fills the placeholders not given."""
        with i18n.use(self.language):
            texts = (
                {i18n.ngettext(message, plural, n) for n in (0, 1, 2, 3, 5, 6)} if plural else {i18n.gettext(message)}
            )

        def regex(text: str) -> str:
            parts = re.split(r"(%\((\w+)\)[sd])", text)
            return "".join(
                re.escape(part) if n % 3 == 0 else (re.escape(str(values[part])) if part in values else ".+")
                for n, part in enumerate(parts)
                if n % 3 != 1
            )

        return re.compile("^(?:" + "|".join(regex(text) for text in sorted(texts)) + ")$")

    def date(self, value, form: str = "long") -> str:
        with i18n.use(self.language):
            return i18n.format_date(value, form)

    @property
    def folder(self) -> Path:
        path = ARTIFACTS / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    async def page(self, javascript: bool = True) -> Page:
        context: BrowserContext = await self.browser.new_context(
            base_url=self.base_url, viewport=DESKTOP, java_script_enabled=javascript, accept_downloads=True
        )
        context.set_default_timeout(10_000)
        if self.language != i18n.DEFAULT:
            await context.add_cookies([{"name": "lang", "value": self.language, "url": self.base_url}])
        page = await context.new_page()
        self.pages.append(page)
        self.javascript[page] = javascript
        problems = self.problems.setdefault(page, [])
        # A CSP violation or a broken script shows up here: a page must load without either.
        page.on(
            "console",
            lambda m: (
                problems.append(f"console {m.type}: {m.text}")
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        # Chromium asks for /favicon.ico by itself; we have none (the GOV.UK one is the crown).
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        return page

    async def look(self, page: Page, name: str) -> None:
        """A screenshot of a key page and the checks every page must pass:
        no axe violation of any impact, no horizontal scroll at 375 px, no script error."""
        self.shots += 1
        stem = f"{self.shots:02d}-{name}"
        await page.screenshot(path=self.folder / f"{stem}.png", full_page=True)
        if not self.javascript[page]:
            return  # the checks below run scripts in the page; the run with JavaScript on makes them
        assert not self.problems[page], f"{name} ({page.url}): {self.problems[page]}"
        if (name, self.language) in CHECKED:
            return
        CHECKED.add((name, self.language))
        results = await _axe.run(page)
        blocking = results.response["violations"]  # of any impact: none is let through
        assert not blocking, f"{name} ({page.url}): " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}" for v in blocking
        )
        await page.set_viewport_size(PHONE)
        try:
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{name} ({page.url}) scrolls sideways by {overflow}px at 375px:\n" + "\n".join(
                await page.evaluate(WIDE_ELEMENTS)
            )
        finally:
            await page.set_viewport_size(DESKTOP)

    async def dump(self) -> None:
        """A failed test leaves each open page's screenshot and HTML behind."""
        for n, page in enumerate(self.pages):
            if page.is_closed():
                continue
            try:
                await page.screenshot(path=self.folder / f"failed-{n}.png", full_page=True)
                (self.folder / f"failed-{n}.html").write_text(await page.content())
            except Exception as exc:  # the page may be mid-navigation; keep what we can
                (self.folder / f"failed-{n}.txt").write_text(f"{page.url}: {exc}")

    async def close(self) -> None:
        for page in self.pages:
            await page.context.close()


# Elements wider than the viewport, outermost first, for the failure message.
WIDE_ELEMENTS = """
[...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > innerWidth + 1)
  .filter(el => !el.parentElement || el.parentElement.getBoundingClientRect().right <= innerWidth + 1)
  .slice(0, 8).map(el => el.outerHTML.slice(0, 160))
"""


def english(message: str, **values: object) -> str:
    return message % values if values else message


async def sign_in(page: Page, persona: Persona, t: Callable[..., str] = english) -> None:
    """Password, then the authenticator code, typed as a person would; `t` is what the pages say (Session.t)."""
    await User.filter(id=persona.user.id).update(totp_last_step=0)  # each code is accepted once
    await page.get_by_label(t("E-mail address")).fill(persona.email)
    await page.get_by_label(t("Password")).fill(persona.password)
    await page.get_by_role("button", name=t("Continue")).click()
    await page.wait_for_url("**/login/mfa**")


async def enter_code(page: Page, persona: Persona, t: Callable[..., str] = english) -> None:
    await page.get_by_label(t("Security code")).fill(pyotp.TOTP(persona.totp_secret).now())
    await page.get_by_role("button", name=t("Sign in")).click()
    await page.get_by_role("heading", name=t("Hello, %(name)s", name=persona.user.name)).wait_for()


# --- keyboard only ------------------------------------------------------------------------------

FOCUS_VISIBLE = """el => {
  const s = getComputedStyle(el);
  return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'
    || s.backgroundColor === 'rgb(255, 221, 0)';
}"""


async def tab_to(page: Page, target: Locator, limit: int = 120) -> None:
    """Press Tab until `target` has the focus, and check that the focus can be seen."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            kind = await target.evaluate("el => el.type || ''")
            if kind not in ("radio", "checkbox", "hidden"):  # GOV.UK draws their focus on the label
                assert await target.evaluate(FOCUS_VISIBLE), (
                    f"no visible focus on {await target.evaluate('el => el.outerHTML')}"
                )
            return
    raise AssertionError(f"{limit} presses of Tab never reached {target}")


# --- PDF pages --------------------------------------------------------------------------------

MM = 72 / 25.4
EDGE_MM = 5  # pdf.css keeps 16 mm or more of margin; nothing may reach the last 5 mm


def pdf_pages(pdf: Path) -> list[str]:
    count = int(
        re.search(
            r"Pages:\s+(\d+)", subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        ).group(1)
    )
    return [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for n in range(1, count + 1)
    ]


def check_pdf(pdf: Path, marking: str = "OFFICIAL-SENSITIVE") -> list[str]:
    """Every page: the marking and the footer, every word inside the page less a 5 mm band,
    and no ink in that band of the rendered image. Returns each page's text."""
    pages = pdf_pages(pdf)
    for n, text in enumerate(pages, start=1):
        assert marking in text, f"{pdf.name} page {n}: no {marking} marking"
        assert f"Page {n} of {len(pages)}" in text, f"{pdf.name} page {n}: no page number in the footer"
        assert "For: " in text, f"{pdf.name} page {n}: no recipient in the footer"

    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    root = ElementTree.fromstring(re.sub(r'\sxmlns="[^"]+"', "", bbox, count=1))
    edge = EDGE_MM * MM
    for n, page in enumerate(root.iter("page"), start=1):
        width, height = float(page.get("width")), float(page.get("height"))
        for word in page.iter("word"):
            box = [float(word.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")]
            inside = box[0] >= edge and box[1] >= edge and box[2] <= width - edge and box[3] <= height - edge
            assert inside, f"{pdf.name} page {n}: {word.text!r} at {box} runs into the edge of a {width}x{height} page"

    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), f"{folder}/page"], check=True)
        images = sorted(Path(folder).glob("page-*.png"))
        assert len(images) == len(pages)
        for n, path in enumerate(images, start=1):
            with Image.open(path) as image:
                grey = image.convert("L")
                band = round(EDGE_MM / 25.4 * 50)
                w, h = grey.size
                for box in ((0, 0, w, band), (0, h - band, w, h), (0, 0, band, h), (w - band, 0, w, h)):
                    darkest, _ = grey.crop(box).getextrema()
                    assert darkest >= 250, f"{pdf.name} page {n}: ink in the {EDGE_MM} mm band at the page edge {box}"
    return pages
