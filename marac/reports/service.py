"""Reading, exporting and rendering a conference's quarterly figures, and their settings.

Rules (docs/domain.md#quarterly-figures, #small-number-suppression):
- the conference's coordinator and chair read its figures (access.may_read_reports); anyone
  else gets 404, as for a conference that does not exist;
- exact figures, and who the repeat victims and perpetrators are, only on the coordinator's
  own screen; the chair's screen, the JSON and CSV exports and the steering-group PDF show
  numbers from 1 to 5 as "≤5" (export.suppress);
- every read is audited; every export and every download of the PDF is also entered in the
  disclosure log;
- an admin or the coordinator sets the adult female population and the repeat-rate benchmark.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from marac import settings
from marac.agencies import access
from marac.agencies.access import Viewer
from marac.agencies.models import Conference
from marac.audit.service import disclose, record
from marac.documents import pool, store
from marac.errors import NotFound, RuleViolation
from marac.i18n import gettext
from marac.reports import export
from marac.reports.figures import Quarter, quarterly
from marac.reports.models import ReportDocument
from marac.validation import whole_number

FORMATS = ("json", "csv")
MAX_POPULATION = 50_000_000  # more adult women than the UK has is a typing mistake


async def read(viewer: Viewer, conference: Conference, quarter: Quarter, today: date) -> dict[str, Any]:
    """The figures for the caller's screen: exact (with repeat people) for the coordinator,
    suppressed for the chair. `conference` comes from access.report_conference()."""
    exact = access.reads_exact_figures(viewer, conference.id)
    figures = await quarterly(conference, quarter, today, repeat_people=exact)
    await record(
        "report.read",
        user_id=viewer.user_id,
        agency_id=viewer.agency_id,
        object_type="conference",
        object_id=conference.id,
        conference_id=conference.id,
    )
    return figures if exact else export.suppress(figures)


async def export_figures(
    viewer: Viewer, conference: Conference, quarter: Quarter, today: date, fmt: str
) -> dict[str, Any]:
    """Suppressed figures for a JSON or CSV export, audited and entered in the disclosure log
    (shared with the caller's agency)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    figures = await quarterly(conference, quarter, today)
    async with in_transaction() as conn:
        await record(
            f"report.export_{fmt}",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="conference",
            object_id=conference.id,
            conference_id=conference.id,
            conn=conn,
        )
        await disclose(
            "quarterly_report",
            conference_id=conference.id,
            meeting_id=None,
            document_id=None,
            version=None,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            conn=conn,
        )
    return figures


def _whole_number(text: str, low: int, high: int) -> int | None:
    return whole_number(text.strip().replace(",", ""), low, high)


async def update_settings(viewer: Viewer, conference: Conference, population: str, benchmark: str) -> Conference:
    """Set the adult female population (blank: unknown) and the repeat-rate benchmark (percent)."""
    access.require_report_settings(viewer, conference.id)
    values = {
        "adult_female_population": _whole_number(population, 1, MAX_POPULATION) if population.strip() else None,
        "repeat_rate_benchmark": _whole_number(benchmark, 0, 100),
    }
    errors = {}
    if population.strip() and values["adult_female_population"] is None:
        errors["adult_female_population"] = gettext(
            "Enter the number of women aged 16 or over in the area, for example 120000"
        )
    if values["repeat_rate_benchmark"] is None:
        errors["repeat_rate_benchmark"] = gettext("Enter a percentage from 0 to 100")
    if errors:
        raise RuleViolation("The report settings are not valid", errors)
    async with in_transaction() as conn:
        await Conference.filter(id=conference.id).using_db(conn).update(**values)
        await record(
            "conference.report_settings",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="conference",
            object_id=conference.id,
            conference_id=conference.id,
            conn=conn,
        )
    return await Conference.get(id=conference.id)


# --- the steering-group PDF ------------------------------------------------------------------


async def render(
    conference_id: str, quarter_text: str, job_id: str, requested_by: str | None, today: date
) -> ReportDocument:
    """Render and store the suppressed figures as a PDF (in a render process). Idempotent per
    job: a second delivery finds the document the first stored."""
    existing = await ReportDocument.get_or_none(job_id=job_id)
    if existing is not None:
        return existing
    conference = await Conference.get(id=conference_id)
    quarter = Quarter.parse(quarter_text)
    figures = export.suppress(await quarterly(conference, quarter, today))
    reference = store.new_reference("quarterly", quarter.end)
    context = {
        "figures": figures,
        "reference": reference,
        "recipient": "Steering group",
        "version": 1,
        "chart_template": "_chart.html",
    }
    pdf, pages = await pool.render("quarterly.html", context, title="MARAC quarterly report")
    file_name = await store.write(pdf)
    try:
        return await ReportDocument.create(
            conference_id=conference.id,
            quarter=str(quarter),
            job_id=job_id,
            requested_by=requested_by,
            reference=reference,
            file_name=file_name,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
            pages=pages,
        )
    except IntegrityError:
        # A second delivery of the same job stored it meanwhile: keep that one, drop this file.
        (settings.get().document_store / file_name).unlink(missing_ok=True)
        return await ReportDocument.get(job_id=job_id)


async def documents(conference: Conference, quarter: Quarter) -> list[ReportDocument]:
    return await ReportDocument.filter(conference_id=conference.id, quarter=str(quarter))


async def download(viewer: Viewer, document_id: str) -> tuple[ReportDocument, bytes]:
    """A stored PDF for the conference's coordinator or chair (404 for anyone else), audited
    and entered in the disclosure log."""
    document = await ReportDocument.get_or_none(id=document_id)
    if document is None or not access.may_read_reports(viewer, document.conference_id):
        raise NotFound(gettext("Report not found"))
    data = store.read(document)
    async with in_transaction() as conn:
        await record(
            "report.download",
            user_id=viewer.user_id,
            agency_id=viewer.agency_id,
            object_type="report_document",
            object_id=document.id,
            conference_id=document.conference_id,
            conn=conn,
        )
        await disclose(
            "quarterly_report",
            conference_id=document.conference_id,
            meeting_id=None,
            document_id=document.id,
            version=None,
            agency_id=viewer.agency_id,
            user_id=viewer.user_id,
            conn=conn,
        )
    return document, data
