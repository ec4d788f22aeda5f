"""Imports point down: domain packages never import the web framework or the job queue,
so every rule can be tested without HTTP or Redis."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "marac"
DOMAIN = ["agencies", "audit", "meetings", "referrals", "documents", "actions", "minutes", "notify", "governance", "reports",
          "dashboard.py", "settings.py", "errors.py", "db.py", "validation.py"]
FORBIDDEN = ("starlette", "arq", "uvicorn", "marac.web", "marac.jobs", "marac.cli")


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
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
