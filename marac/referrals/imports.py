"""Bulk import of referrals from CSV or JSON files.

Every row is checked before anything is stored; one bad row and nothing is imported,
and every bad row is reported with its line and column (CSV) or item number and field (JSON),
in plain words (`problems`, which the import page and `marac import referrals` both print).
A CSV row uses the flat columns below; a JSON file is a list of API request bodies.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from marac.agencies.access import Viewer
from marac.errors import RuleViolation
from marac.i18n import gettext
from marac.referrals import service
from marac.referrals.models import Referral
from marac.referrals.schemas import set_path
from marac.validation import TOO_DEEP, too_deep

LIST_SEPARATOR = ";"
# CSV column → where it goes in the API body (dotted path).
COLUMNS = {
    "conference": "conference",
    "received_at": "received_at",
    "incident_date": "incident_date",
    "criteria": "criteria[]",
    "risk_instrument": "risk.instrument",
    "risk_score": "risk.score",
    "risk_level": "risk.level",
    "risk_answers": "risk.answers[]",
    "judgement_reason": "judgement_reason",
    "victim_name": "victim.name",
    "victim_aliases": "victim.aliases[]",
    "victim_date_of_birth": "victim.date_of_birth",
    "victim_gender": "victim.gender",
    "victim_address_line1": "victim.address.line1",
    "victim_address_line2": "victim.address.line2",
    "victim_town": "victim.address.town",
    "victim_postcode": "victim.address.postcode",
    "victim_phone": "victim.safe_contact.phone",
    "victim_safe_to_call": "victim.safe_contact.safe_to_call",
    "victim_safe_to_leave_message": "victim.safe_contact.safe_to_leave_message",
    "victim_safe_ways_to_contact": "victim.safe_ways_to_contact",
    "victim_language": "victim.language",
    "victim_interpreter_needed": "victim.interpreter_needed",
    "victim_communication_needs": "victim.communication_needs",
    "perpetrator_name": "perpetrators.0.name",
    "perpetrator_aliases": "perpetrators.0.aliases[]",
    "perpetrator_date_of_birth": "perpetrators.0.date_of_birth",
    "perpetrator_relationship": "perpetrators.0.relationship",
    "perpetrator_address_line1": "perpetrators.0.address.line1",
    "perpetrator_address_line2": "perpetrators.0.address.line2",
    "perpetrator_town": "perpetrators.0.address.town",
    "perpetrator_postcode": "perpetrators.0.address.postcode",
    "strands": "strands[]",
    "incident_kind": "incident_kind",
    "incidents": "incidents[]",
    "summary": "summary",
    "consent_victim_aware": "consent.victim_aware",
    "consent_consented": "consent.consented",
    "consent_reason_if_not": "consent.reason_if_not",
    "consent_monitoring_only": "consent.monitoring_only",
    "transfer_from": "transfer_from",
    "transfer_last_heard": "transfer_last_heard",
    "referrer_name": "referrer.name",
    "referrer_phone": "referrer.phone",
    "referrer_email": "referrer.email",
    "previously_known_area": "previously_known.area",
    "previously_known_date": "previously_known.date",
    "previously_known_repeat": "previously_known.repeat",
    # types that match repeats on location: a postcode, or the name of one of the conference's places
    "incident_postcode": "incident_location.postcode",
    "incident_place": "incident_location.place",
}
REQUIRED_COLUMNS = {
    "conference",
    "received_at",
    "criteria",
    "risk_instrument",
    "victim_name",
    "summary",
    "consent_victim_aware",
    "consent_consented",
}
_PATH_TO_COLUMN = {path.rstrip("[]"): column for column, path in COLUMNS.items()}


def column_for(field: str) -> str:
    """The CSV column a body field came from, for error messages ("victim.address.postcode" → victim_postcode)."""
    base = field
    while base:
        if base in _PATH_TO_COLUMN:
            return _PATH_TO_COLUMN[base]
        base = base.rpartition(".")[0]
    return field


# A child in the children column: these parts separated by "|", the first required.
CHILD_PARTS = ("name", "date_of_birth", "relationship_to_victim", "relationship_to_perpetrator", "school")


def _children(text: str) -> list[dict[str, str]]:
    children = []
    for item in text.split(LIST_SEPARATOR):
        parts = [part.strip() for part in item.split("|", len(CHILD_PARTS) - 1)]
        if parts[0]:
            children.append({key: value for key, value in zip(CHILD_PARTS, parts, strict=False) if value})
    return children


def row_to_body(row: dict[str, str]) -> dict:
    body: dict = {}
    for column, raw in row.items():
        value = (raw or "").strip()
        if column == "children":
            if value:
                body["children"] = _children(value)
            continue
        if not value:
            continue
        path = COLUMNS[column]
        if path.endswith("[]"):
            set_path(body, path[:-2], [v.strip() for v in value.split(LIST_SEPARATOR) if v.strip()])
        else:
            set_path(body, path, value)
    return body


def parse_csv(text: str) -> list[tuple[int, dict]]:
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS and c != "children"]
    missing = sorted(REQUIRED_COLUMNS - set(header))
    if unknown or missing:
        problems = {}
        if unknown:
            problems["1:columns"] = gettext("Unknown columns: %(unknown)s. Known: %(known)s") % {
                "unknown": ", ".join(unknown),
                "known": ", ".join([*COLUMNS, "children"]),
            }
        if missing:
            said = gettext("Missing columns: %(missing)s") % {"missing": ", ".join(missing)}
            problems["1:columns"] = f"{problems['1:columns']} {said}" if "1:columns" in problems else said
        raise RuleViolation(gettext("The file's header is not valid; nothing was imported"), problems)
    rows = []
    for row in reader:
        rows.append((reader.line_num, row_to_body({k: v for k, v in row.items() if k is not None})))
    return rows


def parse_json(text: str) -> list[tuple[int, dict]]:
    nested = RuleViolation(gettext("The file is not valid JSON; nothing was imported"), {"1:file": TOO_DEEP})
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RuleViolation(
            gettext("The file is not valid JSON; nothing was imported"),
            {
                f"{exc.lineno}:file": gettext("The JSON breaks off at column %(column)d (%(why)s)")
                % {"column": exc.colno, "why": exc.msg}
            },
        ) from None
    except RecursionError:  # how json.loads says the nesting is deeper than its stack
        raise nested from None
    if too_deep(data):
        raise nested
    if not isinstance(data, list):
        raise RuleViolation(
            gettext("A JSON import is a list of referrals; nothing was imported"),
            {"1:file": gettext("Expected a list [...]")},
        )
    return [(number, item) for number, item in enumerate(data, start=1)]


def parse_file(name: str, content: bytes) -> tuple[str, list[tuple[int, dict]]]:
    """("line" or "item", rows). The kind says how row numbers read in messages."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise RuleViolation(
            gettext("The file is not UTF-8 text; nothing was imported"),
            {"1:file": gettext("Save the file as UTF-8 (CSV UTF-8 in Excel)")},
        ) from None
    if name.lower().endswith(".json") or text.lstrip().startswith("["):
        return "item", parse_json(text)
    return "line", parse_csv(text)


def _where(kind: str, number: str, field: str) -> str:
    """Where a problem is, as a person finds it in the file: "Line 3, column victim_postcode" or
    "Item 2, field victim.name"; a problem of the whole file (its header, its syntax) by line."""
    if field in ("file", "columns", "body", ""):
        return gettext("Line %(line)s") % {"line": number}
    if kind == "line":
        return gettext("Line %(line)s, column %(column)s") % {"line": number, "column": column_for(field)}
    return gettext("Item %(item)s, field %(field)s") % {"item": number, "field": field}


def problems(exc: RuleViolation) -> list[str]:
    """An import's refusal as lines to print, one problem a line with its place in the file."""
    return [f"{where}: {message}" for where, message in exc.fields.items()]


async def import_file(viewer: Viewer, name: str, content: bytes, today: date) -> list[Referral]:
    """All the file's referrals, or none: a refusal's fields are keyed by the place in the file
    of each problem (`problems` prints them)."""
    kind = "item" if name.lower().endswith(".json") else "line"
    try:
        kind, rows = parse_file(name, content)
        if not rows:
            raise RuleViolation(
                gettext("The file has no referrals; nothing was imported"), {"1:file": gettext("Add at least one row")}
            )
        return await service.submit_many(viewer, rows, today)
    except RuleViolation as exc:
        fields = {}
        for key, message in exc.fields.items():
            number, _, field = key.partition(":")
            # A syntax error in JSON is found by line, like a CSV problem.
            fields[_where("line" if field == "file" else kind, number, field)] = message
        raise RuleViolation(exc.message, fields) from None
