"""Liveness, readiness and metrics: no token, no client data."""

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel

from app.errors import ServiceUnavailable
from app.ops.service import current_revision
from app.runtime import check_keys, is_unavailable, keys_current, runtime_of

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
async def readyz(request: Request) -> Readiness | JSONResponse:
    """The database answers, its schema is at the newest migration, and this process's keys
    are the database's."""
    runtime = runtime_of(request)
    expected = runtime.head_revision

    def unready(database: str, revision: str | None = None) -> JSONResponse:
        body = Readiness(
            status="unavailable",
            database=database,
            schema_revision=revision,
            expected_revision=expected,
        )
        retry = {"Retry-After": str(runtime.settings.retry_after_seconds)}
        return JSONResponse(body.model_dump(), status_code=503, headers=retry)

    try:
        try:
            revision = await current_revision(runtime.database)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            # A pooled connection from before a database restart: ask again on a new one, as
            # a request's unit would, instead of saying unready about a database that is up.
            revision = await current_revision(runtime.database)
        if revision != expected:
            return unready("outdated schema", revision)
        await check_keys(runtime)
        if not await keys_current(runtime):
            return unready("keys do not match", revision)
    except ServiceUnavailable:
        return unready("keys do not match", revision)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        runtime.database_health.unavailable(exc)
        return unready("unreachable")
    try:
        await runtime.database.probe_write()
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        runtime.database_health.unavailable(exc)
        return unready("busy: another writer holds the lock", revision)
    runtime.database_health.available()
    return Readiness(
        status="ok", database="ok", schema_revision=revision, expected_revision=expected
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    """Prometheus text exposition."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
