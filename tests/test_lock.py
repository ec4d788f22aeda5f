"""The lock files (scripts/lock) still satisfy pyproject.toml, and pin every package by hash."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ ;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, Version]:
    return {canonicalize_name(name): Version(version) for name, version in PIN.findall((ROOT / lock).read_text())}


def wanted(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    found = [Requirement(r) for r in project["dependencies"] + PYPROJECT["build-system"]["requires"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize(
    ("lock", "extras"),
    [
        ("requirements/base.txt", ()),
        ("requirements/test.txt", ("test", "bench")),
    ],
)
def test_the_lock_satisfies_pyproject(lock, extras):
    locked = pins(lock)
    for requirement in wanted(*extras):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement} is not in {lock}: run scripts/lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"{lock} pins {name} {locked[name]}, outside {requirement}: run scripts/lock"
        )


def test_every_locked_package_is_pinned_by_hash_and_both_locks_agree():
    base, test = pins("requirements/base.txt"), pins("requirements/test.txt")
    assert all(test.get(name) == version for name, version in base.items())  # one .venv holds both
    for lock in ("requirements/base.txt", "requirements/test.txt"):
        entries = re.split(r"\n(?=[A-Za-z0-9])", (ROOT / lock).read_text().split("\n", 1)[1])
        for entry in entries:
            assert PIN.match(entry) and "--hash=sha256:" in entry, entry[:80]
        assert "--index-url" not in (ROOT / lock).read_text() and "file://" not in (ROOT / lock).read_text()
