"""Figures as they leave the coordinator's screen: small numbers suppressed, and as CSV.

The one place suppression happens (docs/domain.md#small-number-suppression):
every count from 1 to 5 becomes "≤5" in the JSON and CSV exports and the steering-group PDF,
and a rate computed from a suppressed count is withheld too (a rate and its denominator give
the count back). Who the repeat victims and perpetrators are never leaves the screen.
"""

from __future__ import annotations

import copy
import csv
import io
from typing import Any

SUPPRESSED = "≤5"
# Numbers in the figures that count nobody: settings, benchmarks and rates.
NOT_COUNTS = frozenset(
    {
        "adult_female_population",
        "repeat_rate_benchmark",
        "recommended_per_10000",
        "repeat_rate",
        "per_10000_adult_women",
    }
)
# Cells a spreadsheet would run as a formula (CSV injection): neutralised with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
COLUMNS = ("conference", "quarter", "section", "item", "measure", "value")


def is_small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 5


def _walk(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, key) for v in value]
    if key not in NOT_COUNTS and is_small(value):
        return SUPPRESSED
    return value


def suppress(figures: dict[str, Any]) -> dict[str, Any]:
    """A copy of quarterly() figures fit for any export or shared document."""
    out = _walk({k: v for k, v in copy.deepcopy(figures).items() if k != "repeat_people"})
    cases = out["cases"]
    if SUPPRESSED in (cases["heard"], cases["repeat"]):
        cases["repeat_rate"] = None
    if cases["heard"] == SUPPRESSED:
        cases["per_10000_adult_women"] = None
    return out


def rows(figures: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(section, item, measure, value), one line per figure: the CSV's body."""
    out: list[tuple[str, str, str, Any]] = [
        ("cases", "", measure, value) for measure, value in figures["cases"].items()
    ]
    for meeting in figures["meetings"]:
        out += [
            ("meeting", meeting["date"], "cases", meeting["cases"]),
            ("meeting", meeting["date"], "repeat_cases", meeting["repeat_cases"]),
        ]
    out += [
        ("referrals_by_agency_kind", row["kind"], "cases", row["cases"]) for row in figures["referrals_by_agency_kind"]
    ]
    if hate := figures["hate_crime"]:
        out += [("strand", row["strand"], "cases", row["cases"]) for row in hate["strands"]]
        out += [
            ("subcategory", f"{row['strand']}:{row['subcategory']}", "cases", row["cases"])
            for row in hate["subcategories"]
        ]
        out += [("crime_or_incident", "", measure, value) for measure, value in hate["crime_or_incident"].items()]
        monitoring = hate["monitoring_only"]
        out.append(("monitoring_only", "", "reports", monitoring["reports"]))
        out += [("monitoring_only_strand", row["strand"], "reports", row["cases"]) for row in monitoring["strands"]]
        out += [
            ("monitoring_only_crime_or_incident", "", measure, value)
            for measure, value in monitoring["crime_or_incident"].items()
        ]
    for row in figures["actions"]:
        out += [
            ("actions", row["agency"], measure, row[measure])
            for measure in ("on_time", "late", "not_possible", "not_done", "open", "total")
        ]
    out += [("actions_total", "", measure, value) for measure, value in figures["actions_total"].items()]
    return out


def neutralise(cell: Any) -> str:
    """A cell as text that no spreadsheet runs: one starting with =, +, -, @, tab or carriage
    return gets a leading apostrophe (OWASP's advice for CSV injection)."""
    text = "" if cell is None else str(cell)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def to_csv(figures: dict[str, Any]) -> str:
    """Suppressed figures as CSV, every cell neutralised."""
    shown = suppress(figures)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for section, item, measure, value in rows(shown):
        writer.writerow(
            [
                neutralise(cell)
                for cell in (shown["conference"]["slug"], shown["quarter"], section, item, measure, value)
            ]
        )
    return buffer.getvalue()
