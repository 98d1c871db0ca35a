"""/v1/models and /v1/classify: the catalog, and a suggestion that stores nothing."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.assessments.schemas import ClassificationResult, ClassifyRequest
from app.auth import Principal, require_scope
from app.db import utc_now
from app.deps import AssessmentsWriter, Language
from app.errors import AUTHENTICATED, WITH_BODY, NotFound, problem_responses
from app.segmentation import presenter
from app.segmentation.schemas import ModelDetail, ModelList
from app.segmentation.service import RegistryDep, decide, model_for_tenant, tenant_model_ids
from app.segmentation.views import segment_ref
from app.strict_json import StrictJSONRoute

router = APIRouter(
    prefix="/v1",
    tags=["models"],
    route_class=StrictJSONRoute,
    responses=problem_responses(*AUTHENTICATED),
)

AnyReader = Annotated[Principal, Depends(require_scope("segments:read"))]


@router.get("/models", response_model=ModelList)
def list_models(principal: AnyReader, registry: RegistryDep) -> ModelList:
    """The models this tenant can use, and its default."""
    return presenter.model_list(
        registry, principal.tenant, tenant_model_ids(principal.tenant, registry)
    )


@router.get("/models/{model_id}", response_model=ModelDetail, responses=problem_responses(404))
def get_model(
    model_id: str,
    principal: AnyReader,
    registry: RegistryDep,
    version: Annotated[str | None, Query(max_length=32, description="Default: the newest.")] = None,
) -> ModelDetail:
    """Answers the model takes, its segments and what each means for the service, in fi/sv/en."""
    model_for_tenant(registry, principal.tenant, model_id)
    chosen = registry.version(model_id, version) if version else registry.latest(model_id)
    if chosen is None:
        raise NotFound("No such version of this model.")
    return presenter.model_detail(registry, principal.tenant, chosen)


@router.post(
    "/classify", response_model=ClassificationResult, responses=problem_responses(*WITH_BODY)
)
def classify(
    body: ClassifyRequest,
    principal: AssessmentsWriter,
    registry: RegistryDep,
    lang: Language,
) -> ClassificationResult:
    """The suggested segment and why, under the tenant's model; nothing is stored."""
    decision = decide(registry, principal.tenant, body, utc_now())
    result = decision.classification
    return ClassificationResult(
        model=decision.model.id,
        model_version=decision.model.version,
        suggested_segment=segment_ref(decision.model, result.segment.code, lang),
        explanation=[step[lang] for step in result.explanation],
        warnings=[step[lang] for step in result.warnings],
        attention=result.attention,
    )
