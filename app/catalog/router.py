"""/v1/models and /v1/classify: the catalog, and a suggestion that stores nothing."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.catalog import service, views
from app.catalog.schemas import ClassificationResult, ClassifyRequest, ModelDetail, ModelList
from app.db import utc_now
from app.deps import AssessmentsWriter, Language, ModelsReader, Registry
from app.errors import AUTHENTICATED, WITH_BODY, NotFound, problem_responses
from app.routing import ServiceRoute

router = APIRouter(
    prefix="/v1",
    tags=["models"],
    route_class=ServiceRoute,
    responses=problem_responses(*AUTHENTICATED),
)


@router.get("/models", response_model=ModelList)
async def list_models(principal: ModelsReader, registry: Registry) -> ModelList:
    """The models this tenant can use, and its default."""
    return views.model_list(
        registry, principal.tenant, service.tenant_model_ids(principal.tenant, registry)
    )


@router.get("/models/{model_id}", response_model=ModelDetail, responses=problem_responses(404))
async def get_model(
    model_id: str,
    principal: ModelsReader,
    registry: Registry,
    version: Annotated[
        str | None, Query(min_length=1, max_length=32, description="Default: the newest.")
    ] = None,
) -> ModelDetail:
    """Answers the model takes, its segments and what each means for the service, in fi/sv/en."""
    service.model_for_tenant(registry, principal.tenant, model_id)
    chosen = registry.version(model_id, version) if version else registry.latest(model_id)
    if chosen is None:
        raise NotFound("No such version of this model.")
    return views.model_detail(registry, principal.tenant, chosen)


@router.post(
    "/classify", response_model=ClassificationResult, responses=problem_responses(*WITH_BODY)
)
async def classify(
    body: ClassifyRequest,
    principal: AssessmentsWriter,
    registry: Registry,
    lang: Language,
) -> ClassificationResult:
    """The suggested segment and why, under the tenant's model; nothing is stored."""
    decision = service.decide(registry, principal.tenant, body, utc_now())
    return views.classification(decision, lang)
