"""Every validating regular expression in marac matches the whole value, in ASCII.

`^...$` with `.match()` lets a trailing newline through (`$` also matches before a final
"\\n"): the admin form once stored the slug "newline\\n", and the CSV export then broke its
response header. `\\d` takes every script's digits. So patterns are written without anchors
and used with `fullmatch()`, and digits are `[0-9]`. See marac/validation.py.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import marac

PACKAGE = Path(marac.__file__).resolve().parent
RE_FUNCTIONS = {"match", "search", "fullmatch", "compile", "sub", "subn", "split", "findall", "finditer"}


def modules() -> list[str]:
    return sorted(m.name for m in pkgutil.walk_packages([str(PACKAGE)], "marac.") if ".migrations." not in m.name)


def compiled_patterns() -> dict[str, re.Pattern[str]]:
    """Every re.Pattern a marac module (or a class in it) holds."""
    found: dict[str, re.Pattern[str]] = {}
    for name in modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            holders = [(attribute, value)]
            if isinstance(value, type) and value.__module__ == name:
                holders += [(f"{attribute}.{a}", v) for a, v in vars(value).items()]
            for where, item in holders:
                if isinstance(item, re.Pattern):
                    found[f"{name}.{where}"] = item
    return found


def _problems(pattern: str, flags: int = 0) -> list[str]:
    problems = []
    if re.search(r"(?<!\\)\$\)?$", pattern) or pattern.startswith("^"):
        problems.append("anchored with ^/$: write it bare and use fullmatch() (or \\A...\\Z)")
    if re.search(r"(?<!\\)\\d", pattern) and not flags & re.ASCII:
        problems.append("\\d takes every script's digits: write [0-9]")
    return problems


def test_the_walk_finds_the_patterns_it_is_meant_to_check():
    names = compiled_patterns()
    assert {"marac.validation.SLUG_RE", "marac.validation.NUMBER_RE", "marac.conference_types.TIME_RE"} <= set(names)


def test_no_compiled_pattern_is_anchored_with_a_dollar_or_takes_unicode_digits():
    bad = {name: _problems(p.pattern, p.flags) for name, p in compiled_patterns().items()}
    assert not {k: v for k, v in bad.items() if v}


def source_calls() -> list[tuple[str, int, str, str, bool]]:
    """(file, line, function, literal pattern, True) for each re.<function>("...") in marac's
    source, and (file, line, "match"/"search", name, False) for each .match()/.search() on a
    pattern compiled at module level."""
    calls = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        compiled = {
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
            if isinstance(node.value, ast.Call) and getattr(node.value.func, "attr", "") == "compile"
        }
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            owner, function = node.func.value, node.func.attr
            where = str(path.relative_to(PACKAGE.parent))
            if (
                isinstance(owner, ast.Name)
                and owner.id == "re"
                and function in RE_FUNCTIONS
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                calls.append((where, node.lineno, function, node.args[0].value, True))
            elif isinstance(owner, ast.Name) and owner.id in compiled and function in ("match", "search"):
                calls.append((where, node.lineno, function, owner.id, False))
    return calls


def test_no_inline_pattern_is_anchored_with_a_dollar_and_no_named_pattern_validates_with_match():
    calls = source_calls()
    assert any(function == "fullmatch" for _, _, function, _, _ in calls)  # the walk sees re.fullmatch("...")
    bad = [call for call in calls if (_problems(call[3]) if call[4] else True)]
    assert not bad, "use fullmatch() with an unanchored [0-9] pattern: " + repr(bad)


def test_the_checks_catch_what_let_the_newline_through():
    assert _problems(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")
    assert _problems(r"(\d{4})-(\d{2})")
    assert not _problems(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]") and not _problems(r"costs \$5")
    assert re.compile(r"^[a-z]+$").match("newline\n") and not re.compile(r"[a-z]+").fullmatch("newline\n")
