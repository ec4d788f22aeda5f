"""Quarterly figures in the JSON API, or as CSV with `Accept: text/csv`; always suppressed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from marac.agencies import access
from marac.agencies.access import Can
from marac.clock import today
from marac.errors import RuleViolation
from marac.reports import export, service
from marac.reports.figures import QUARTER_RE, Quarter
from marac.validation import SLUG_RE, is_slug
from marac.web.auth import Caller, api

Count = int | Literal["≤5"]
Rate = float | None


class ConferenceRef(BaseModel):
    slug: str
    name: str
    type: str


class MeetingFigures(BaseModel):
    date: str
    cases: Count
    repeat_cases: Count


class CaseFigures(BaseModel):
    heard: Count
    repeat: Count
    transfers_in: Count = Field(description="Cases heard that were transferred from another area's MARAC")
    transfers_out: Count = Field(description="Cases transferred out to another area's MARAC in the quarter")
    repeat_rate: Rate = Field(description="Percent of cases heard; withheld (null) when either count is suppressed")
    repeat_rate_benchmark: int = Field(description="The conference's benchmark, percent")
    children: Count
    police_referrals: Count
    partner_referrals: Count
    victims_racially_minoritised: Count
    victims_lgbt: Count
    victims_disabled: Count
    victims_male: Count
    victims_aged_16_17: Count
    cases_perpetrator_17_or_under: Count
    adult_female_population: int | None
    per_10000_adult_women: Rate = Field(description="Cases heard in the quarter, annualised, per 10,000 adult women")
    recommended_per_10000: int


class KindFigures(BaseModel):
    kind: str
    cases: Count


class StrandFigures(BaseModel):
    strand: str
    label: str
    cases: Count


class SubcategoryFigures(StrandFigures):
    subcategory: str


class CrimeOrIncident(BaseModel):
    crime: Count
    incident: Count
    not_recorded: Count


class MonitoringOnly(BaseModel):
    reports: Count
    strands: list[StrandFigures]
    crime_or_incident: CrimeOrIncident


class HateCrimeFigures(BaseModel):
    strands: list[StrandFigures] = Field(description="A case counts under each of its strands")
    subcategories: list[SubcategoryFigures]
    crime_or_incident: CrimeOrIncident
    monitoring_only: MonitoringOnly = Field(
        description="Reports kept for monitoring only, by date received; never listed"
    )


class ActionTotals(BaseModel):
    on_time: Count
    late: Count
    not_possible: Count
    not_done: Count
    open: Count
    total: Count


class AgencyActions(ActionTotals):
    agency: str
    kind: str


class QuarterlyOut(BaseModel):
    conference: ConferenceRef
    quarter: str
    label: str
    from_: str = Field(alias="from")
    to: str
    meetings: list[MeetingFigures]
    cases: CaseFigures
    referrals_by_agency_kind: list[KindFigures]
    hate_crime: HateCrimeFigures | None
    actions: list[AgencyActions]
    actions_total: ActionTotals


@api(
    Can.READ_REPORTS,
    response=QuarterlyOut,
    also=("text/csv",),
    params=[
        {
            "name": "conference",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{SLUG_RE.pattern}$"},
            "description": "The conference's slug",
        },
        {
            "name": "quarter",
            "in": "query",
            "required": True,
            "schema": {"type": "string", "pattern": f"^{QUARTER_RE.pattern}$"},
            "description": "A calendar quarter, for example 2026Q3 (July to September)",
        },
    ],
)
async def quarterly(request: Request, caller: Caller) -> Response | dict:
    """A conference's quarterly figures by meeting date, counts from 1 to 5 as "≤5"; `Accept: text/csv` for CSV."""
    params = request.query_params
    slug = params.get("conference", "")
    if not is_slug(slug):
        raise RuleViolation("Bad conference", {"conference": "Give a conference's slug"})
    quarter = Quarter.parse(params.get("quarter"))
    conference = await access.report_conference(caller.viewer, slug)
    as_csv = "text/csv" in request.headers.get("accept", "")
    figures = await service.export_figures(caller.viewer, conference, quarter, today(), "csv" if as_csv else "json")
    if as_csv:
        return Response(
            export.to_csv(figures),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="marac-{conference.slug}-{quarter}.csv"'},
        )
    return export.suppress(figures)


routes = [
    Route("/api/v1/reports/quarterly", quarterly, methods=["GET"]),
]
