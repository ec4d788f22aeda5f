"""Imports point down: domain packages never import the web framework or the job queue,
so every rule can be tested without HTTP or Redis."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "marac"
DOMAIN = ["agencies", "audit", "meetings", "referrals", "documents", "actions", "minutes", "notify", "governance",
          "reports", "notices", "dashboard.py", "settings.py", "errors.py", "db.py", "validation.py", "clock.py", "ids.py",
          "conference_types.py"]
FORBIDDEN = ("starlette", "arq", "uvicorn", "marac.web", "marac.jobs", "marac.cli")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module == "marac":  # from marac import clock, ...
            names.update(f"marac.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("part", DOMAIN)
def test_domain_code_does_not_import_web_or_jobs(part):
    target = PACKAGE / part
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    assert files
    for path in files:
        bad = {m for m in imported_modules(path) if m.startswith(FORBIDDEN)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_the_task_registry_does_not_import_the_queue_that_runs_it():
    # queue.py reads tasks.TASKS; a task that queues follow-up work is handed queue.enqueue.
    assert not {m for m in imported_modules(PACKAGE / "jobs" / "tasks.py") if m.startswith("marac.jobs.queue")}


# The domain order, lowest first: a domain may import those before it, never one after it. Below them all
# sit the base modules (BASE), which import no domain; above them jobs, then web.
DOMAIN_ORDER = ["notify", "audit", "agencies", "documents", "referrals", "meetings", "actions", "minutes",
                "reports", "governance", "dashboard"]
BASE = ["settings", "errors", "ids", "clock", "sealed", "validation", "db", "logs", "notices", "conference_types"]
# Imports that still point up the order, each with what it needs. The list only shrinks: a new upward
# import fails below, and removing one of these fails until it is deleted here too.
KNOWN_BACK_EDGES = {
    ("agencies/access.py", "marac.referrals.models"),  # entitlement reads referrals and break-glass grants
    ("referrals/service.py", "marac.meetings.schedule"),  # the meeting a new referral is expected at
    ("meetings/agenda.py", "marac.actions.models"),  # outstanding actions reviewed at a meeting
}


def _rank(module: str) -> tuple[str, int] | None:
    parts = module.split(".")
    if parts[0] != "marac" or len(parts) < 2:
        return None
    name = parts[1]
    return (name, DOMAIN_ORDER.index(name)) if name in DOMAIN_ORDER else None


def test_domains_import_only_domains_below_them():
    assert set(DOMAIN_ORDER).isdisjoint(BASE)
    found = set()
    for name in DOMAIN_ORDER:
        target = PACKAGE / name if (PACKAGE / name).is_dir() else PACKAGE / f"{name}.py"
        files = [target] if target.is_file() else sorted(target.rglob("*.py"))
        assert files, name
        for path in files:
            for module in imported_modules(path):
                rank = _rank(module)
                if rank and rank[1] > DOMAIN_ORDER.index(name):
                    found.add((path.relative_to(PACKAGE).as_posix(), module))
    assert found == KNOWN_BACK_EDGES


@pytest.mark.parametrize("part", BASE)
def test_base_modules_import_no_domain(part):
    target = PACKAGE / part if (PACKAGE / part).is_dir() else PACKAGE / f"{part}.py"
    files = [target] if target.is_file() else sorted(target.rglob("*.py"))
    for path in files:
        bad = {m for m in imported_modules(path) if _rank(m)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_migrations_import_only_base_modules():
    # A migration must do tomorrow what it did today: it copies what it needs (frozen) rather than import
    # domain code; ids, sealed (column types and reseal) and settings (keys) are stable base primitives.
    allowed = ("marac.ids", "marac.sealed", "marac.settings")
    for path in sorted((PACKAGE / "migrations").glob("0*.py")):
        bad = {m for m in imported_modules(path) if m.startswith("marac") and not m.startswith(allowed)}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"
