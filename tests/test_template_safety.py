"""Escaping is never switched off: user text reaches pages and PDFs only through autoescaped
Jinja2. Fails the build on a `safe` filter, `Markup(`, or autoescape turned off,
anywhere in our templates or code."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "the safe filter": re.compile(r"\|\s*safe\b"),
    "Markup(": re.compile(r"\bMarkup\s*\("),
    "autoescape off": re.compile(r"autoescape\s*=\s*(False|None|0)\b|\{%-?\s*autoescape\s+false", re.IGNORECASE),
    "select_autoescape": re.compile(r"\bselect_autoescape\b"),  # escapes by file extension only
}


def our_files() -> list[Path]:
    files = [p for p in (ROOT / "templates").rglob("*") if p.suffix in (".html", ".txt", ".xml", ".svg")]
    files += [p for p in (ROOT / "marac").rglob("*.py") if "node_modules" not in p.parts]
    return sorted(files)


def test_there_are_files_to_check():
    names = {p.name for p in our_files()}
    assert {"base.html", "minutes.html", "templating.py", "render.py"} <= names


def test_escaping_is_never_switched_off():
    found = []
    for path in our_files():
        text = path.read_text(encoding="utf-8")
        found += [
            f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}: {name}"
            for name, rx in FORBIDDEN.items()
            for m in rx.finditer(text)
        ]
    assert not found, "\n".join(found)


def test_the_check_catches_each_way(tmp_path):
    for sample in (
        "{{ note.text|safe }}",
        "{{ x | safe }}",
        "Markup(value)",
        "Environment(autoescape=False)",
        "{% autoescape false %}",
        "select_autoescape(['html'])",
    ):
        assert any(rx.search(sample) for rx in FORBIDDEN.values()), sample
    assert not any(rx.search("{{ x | safeguarding }} autoescape=True") for rx in FORBIDDEN.values())
