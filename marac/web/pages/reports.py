"""Quarterly figures pages: the report (filtered by conference and quarter), its CSV, the
steering-group PDF (a background job) and the conference's report settings."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.access import Can
from marac.agencies.models import Conference
from marac.clock import today
from marac.errors import RuleViolation
from marac.i18n import gettext
from marac.jobs import flows
from marac.reports import export, service
from marac.reports.figures import Quarter
from marac.web.auth import Caller, page
from marac.web.templating import render

QUARTERS_OFFERED = 12


def _quarter_options() -> list[tuple[str, str]]:
    quarter, options = Quarter.of(today()), []
    for _ in range(QUARTERS_OFFERED):
        options.append((str(quarter), f"{quarter.label} ({quarter})"))
        quarter = quarter.previous()
    return options


async def _conferences(caller: Caller) -> list[Conference]:
    ids = [cid for cid in caller.viewer.conference_ids if access.may_read_reports(caller.viewer, cid)]
    return await Conference.filter(id__in=ids).order_by("name")


async def _chosen(caller: Caller, params: QueryParams | dict[str, Any]) -> tuple[Conference | None, Quarter]:
    """The conference and quarter asked for: by default the caller's first conference and the
    last complete quarter. A bad quarter is a RuleViolation; a conference not theirs, NotFound."""
    quarter = Quarter.parse(params["quarter"]) if params.get("quarter") else Quarter.of(today()).previous()
    if params.get("conference"):
        return await access.report_conference(caller.viewer, str(params["conference"])), quarter
    conferences = await _conferences(caller)
    return (conferences[0] if conferences else None), quarter


async def _page(
    request: Request,
    caller: Caller,
    conference: Conference | None,
    quarter: Quarter | None,
    status: int = 200,
    **context: Any,
) -> Response:
    figures = documents = None
    if conference is not None and quarter is not None:
        figures = await service.read(caller.viewer, conference, quarter, today())
        documents = await service.documents(conference, quarter)
    exact = access.reads_exact_figures(caller.viewer, conference.id if conference else None)
    values = {"conference": conference.slug if conference else "", "quarter": str(quarter) if quarter else ""}
    settings = (
        {
            "adult_female_population": str(conference.adult_female_population or ""),
            "repeat_rate_benchmark": str(conference.repeat_rate_benchmark),
        }
        if conference
        else {}
    )
    return render(
        request,
        "reports/quarterly.html",
        {
            "figures": figures,
            "documents": documents,
            "exact": exact,
            "conference": conference,
            "conference_options": [(c.slug, c.name) for c in await _conferences(caller)],
            "quarter_options": _quarter_options(),
            "values": values,
            "settings_values": settings,
            "suppressed": export.SUPPRESSED,
            **context,
        },
        status=status,
    )


@page(Can.READ_REPORTS)
async def quarterly(request: Request, caller: Caller) -> Response:
    try:
        conference, quarter = await _chosen(caller, request.query_params)
    except RuleViolation as exc:
        return await _page(request, caller, None, None, status=400, errors=exc.fields)
    return await _page(request, caller, conference, quarter)


@page(Can.READ_REPORTS)
async def quarterly_csv(request: Request, caller: Caller) -> Response:
    try:
        conference, quarter = await _chosen(caller, request.query_params)
    except RuleViolation as exc:
        return await _page(request, caller, None, None, status=400, errors=exc.fields)
    if conference is None:
        return await _page(
            request, caller, None, quarter, status=400, errors={"conference": gettext("Choose a conference")}
        )
    figures = await service.export_figures(caller.viewer, conference, quarter, today(), "csv")
    # The file name names the conference and quarter only.
    disposition = f'attachment; filename="marac-{conference.slug}-{quarter}.csv"'
    return Response(
        export.to_csv(figures), media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition}
    )


def _form(request: Request) -> dict[str, str]:
    return {k: str(v) for k, v in request.state.form.items() if k != "csrf_token"}


@page(Can.PUBLISH_REPORTS)
async def render_pdf(request: Request, caller: Caller) -> Response:
    values = _form(request)
    try:
        quarter = Quarter.parse(values.get("quarter"))
    except RuleViolation as exc:
        return await _page(request, caller, None, None, status=400, errors=exc.fields)
    conference = await access.report_conference(caller.viewer, values.get("conference", ""))
    job = await flows.render_quarterly_report(caller.viewer, conference, quarter)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@page(Can.READ_REPORTS)
async def download(request: Request, caller: Caller) -> Response:
    document, pdf = await service.download(caller.viewer, request.path_params["document_id"])
    disposition = f'attachment; filename="marac-quarterly-{document.quarter}-{document.reference}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@page(Can.PUBLISH_REPORTS)
async def report_settings(request: Request, caller: Caller) -> Response:
    values = _form(request)
    conference = await access.report_conference(caller.viewer, values.get("conference", ""))
    try:
        quarter = Quarter.parse(values["quarter"]) if values.get("quarter") else Quarter.of(today()).previous()
    except RuleViolation:
        quarter = Quarter.of(today()).previous()
    try:
        await service.update_settings(
            caller.viewer,
            conference,
            values.get("adult_female_population", ""),
            values.get("repeat_rate_benchmark", ""),
        )
    except RuleViolation as exc:
        return await _page(request, caller, conference, quarter, status=400, errors=exc.fields, settings_values=values)
    return RedirectResponse(f"/reports?conference={conference.slug}&quarter={quarter}", status_code=303)


routes = [
    Route("/reports", quarterly, methods=["GET"]),
    Route("/reports/quarterly.csv", quarterly_csv, methods=["GET"]),
    Route("/reports/render", render_pdf, methods=["POST"]),
    Route("/reports/settings", report_settings, methods=["POST"]),
    Route("/reports/documents/{document_id}.pdf", download, methods=["GET"]),
]
