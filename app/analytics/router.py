"""/v1/analytics: how the tenant's clients spread over segments, how they move, and how the
shares follow the county's targets — as JSON, or as an SVG chart (`Accept: image/svg+xml`)."""

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.analytics import charts, periods, service, views
from app.analytics.schemas import (
    Breakdown,
    SegmentDistribution,
    SegmentTransitions,
    TargetFollowUp,
)
from app.auth import Principal
from app.db import utc_now
from app.deps import AnalyticsReader, Language, ReadUnit
from app.errors import AUTHENTICATED, invalid, problem_responses
from app.routing import ServiceRoute
from app.schemas import Moment
from app.segmentation.catalog import ModelVersion

SVG = "image/svg+xml"
router = APIRouter(
    prefix="/v1/analytics",
    tags=["analytics"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED, 400),
)
CHART: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {SVG: {"schema": {"type": "string"}}},
        "description": "The figures as JSON, or as a chart with `Accept: image/svg+xml`.",
    }
}
ModelId = Annotated[
    str | None,
    Query(
        min_length=1, max_length=64, description="A model id; default: the tenant's default model."
    ),
]


def _model(principal: Principal, model_id: str | None) -> ModelVersion:
    tenant = principal.tenant
    found = tenant.registry.latest(model_id or tenant.default_model)
    if found is None:
        raise invalid("model", "no such model; see GET /v1/models")
    return found


def _period(
    start: datetime | None, end: datetime | None, default: timedelta
) -> tuple[datetime, datetime]:
    end = end or utc_now()
    start = start or end - default
    if start > end:
        raise invalid("from", "must not be after `to`")
    return start, end


From = Annotated[Moment | None, Query(alias="from", description="Default: a year before `to`.")]
To = Annotated[Moment | None, Query(description="Default: now.")]


def wants_svg(accept: str | None) -> bool:
    """Whether the caller prefers the chart: `image/svg+xml` ranked above JSON (JSON wins
    ties and `*/*`)."""
    quality = {"svg": 0.0, "json": 0.0}
    for part in (accept or "").split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media == SVG:
            quality["svg"] = max(quality["svg"], q)
        elif media in ("application/json", "application/*", "*/*"):
            quality["json"] = max(quality["json"], q)
    return quality["svg"] > quality["json"]


def _answer(request: Request, response: Response, body: Any, draw: Any) -> Any:
    """The chart when the caller prefers it, else the body; either way caches keep them
    apart by `Accept` (the request's owner adds `Accept-Language`)."""
    if wants_svg(request.headers.get("accept")):
        return Response(draw(body), media_type=SVG, headers={"Vary": "Accept"})
    response.headers["Vary"] = "Accept"
    return body


@router.get("/segment-distribution", response_model=SegmentDistribution, responses=CHART)
async def get_segment_distribution(
    request: Request,
    response: Response,
    principal: AnalyticsReader,
    unit: ReadUnit,
    lang: Language,
    at: Annotated[Moment | None, Query(description="Default: now.")] = None,
    model: ModelId = None,
    by: Annotated[Breakdown | None, Query(description="A breakdown by age band or group.")] = None,
) -> Any:
    """Clients per segment in force at `at`, with shares; optionally by age band (from the
    birth date; a band of its own for clients without one) or by the model's groups."""
    version = _model(principal, model)
    figures = await service.distribution(
        unit,
        tenant=principal.org,
        registry=principal.tenant.registry,
        model=version,
        at=at or utc_now(),
        by=by,
    )
    body = views.distribution(principal.tenant.registry, figures, lang)
    return _answer(request, response, body, charts.distribution)


@router.get("/transitions", response_model=SegmentTransitions, responses=CHART)
async def get_segment_transitions(
    request: Request,
    response: Response,
    principal: AnalyticsReader,
    unit: ReadUnit,
    lang: Language,
    from_: From = None,
    to: To = None,
    model: ModelId = None,
) -> Any:
    """How many clients moved from segment X at `from` to segment Y at `to`: every cell of
    the matrix, with a row for those who entered (`from_code` null) and a column for those
    who left the model (`to_code` null)."""
    start, end = _period(from_, to, timedelta(days=365))
    version = _model(principal, model)
    figures = await service.transitions(
        unit,
        tenant=principal.org,
        registry=principal.tenant.registry,
        model=version,
        start=start,
        end=end,
    )
    body = views.transitions(principal.tenant.registry, figures, lang)
    return _answer(request, response, body, charts.transitions)


@router.get("/targets", response_model=TargetFollowUp, responses=CHART)
async def get_segment_targets(
    request: Request,
    response: Response,
    principal: AnalyticsReader,
    unit: ReadUnit,
    lang: Language,
    from_: From = None,
    to: To = None,
    model: ModelId = None,
) -> Any:
    """Each segment's share at monthly points from `from` to `to`, against the target share
    the tenant has set for it (docs/tenants.md, `targets`)."""
    start, end = _period(from_, to, timedelta(days=365))
    points = periods.monthly(start, end)
    if len(points) > periods.MAX_POINTS:
        raise invalid("from", f"the period can have at most {periods.MAX_POINTS} monthly points")
    version = _model(principal, model)
    shares = principal.tenant.targets.get(version.id, {})
    by_code = {s.code: shares[s.key] for s in version.segments if s.key in shares}
    figures = await service.targets(
        unit,
        tenant=principal.org,
        registry=principal.tenant.registry,
        model=version,
        start=start,
        end=end,
        points=points,
        shares=by_code,
    )
    body = views.targets(principal.tenant.registry, figures, lang)
    return _answer(request, response, body, charts.targets)
