"""The application: routers, error handlers, middleware, and what is loaded at start.

Models, tenants and keys are loaded in the lifespan: a malformed model or tenants file stops
the process at start with the file and the problem named, never a half-loaded service.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from app.analytics.router import router as analytics_router
from app.assessments.router import router as assessments_router
from app.audit.router import router as audit_router
from app.auth import TokenVerifier
from app.care.router import router as care_router
from app.catalog.router import router as catalog_router
from app.clients.identity import IdentityProtector
from app.clients.router import router as clients_router
from app.config import Settings, get_settings
from app.consents.router import router as consents_router
from app.db import Database, create_engine
from app.errors import Problem, install_error_handlers
from app.exports import cursor
from app.exports.router import router as exports_router
from app.http import Edge
from app.idempotency import service as idempotency
from app.imports.router import IMPORT_PATH
from app.imports.router import router as imports_router
from app.imports.schemas import ImportLine
from app.keys import check_value, resolve_keys
from app.logs import configure_logging
from app.metrics import Metrics
from app.ops.router import router as ops_router
from app.ops.service import head_revision
from app.runtime import Runtime, check_keys
from app.segmentation.registry import load_registry
from app.tenants import load_tenants

DESCRIPTION = """
Client segmentation for Finnish social and health care: submit an assessment, get the
suggested and decided segment with its explanation and what it means for the service, keep the
segment's timeline and the client's consent, and export to the health register.

Every `/v1` operation needs `Authorization: Bearer <JWT>` with `sub`, `org` (the tenant) and
`scope`. Errors are `application/problem+json`. Texts follow `Accept-Language` (fi, sv, en;
Finnish by default).
"""

# The URL map, in one place, in the order the API documents it.
ROUTERS = (
    ops_router,
    catalog_router,
    clients_router,
    assessments_router,
    consents_router,
    care_router,
    analytics_router,
    audit_router,
    exports_router,
    imports_router,
)


# The order requests are matched in: each is compared with route after route, so the router of
# the hottest operations (submitting, reading a segment) goes first — matching through the
# routers before it was a tenth of a segment read's CPU. The documented order is ROUTERS'.
MATCHING = (assessments_router, *(router for router in ROUTERS if router is not assessments_router))


def _operation_id(route: APIRoute) -> str:
    return route.name


def load_runtime(settings: Settings, database: Database | None = None) -> Runtime:
    """Everything a request relies on, loaded and checked before the first one is served."""
    configure_logging(settings.log_level)
    keys = resolve_keys(settings)
    if database is None:
        database = Database(
            create_engine(
                settings.database_url,
                pool_size=settings.db_pool_size,
                max_overflow=settings.db_max_overflow,
                timeout_seconds=settings.db_timeout_seconds,
                sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            ),
            busy_timeout_ms=settings.sqlite_busy_timeout_ms,
            direct_pool_size=settings.db_direct_pool_size,
            timeout_seconds=settings.db_timeout_seconds,
        )
    return Runtime(
        settings=settings,
        tenants=load_tenants(settings.tenants_file, load_registry(settings.models_dir)),
        verifier=TokenVerifier(settings, keys.jwt_secret),
        protector=IdentityProtector(keys.data_keys, keys.index_keys),
        fingerprint_secrets={
            check_value(key): idempotency.fingerprint_secret(key) for key in keys.index_keys
        },
        cursor_keys=tuple(cursor.secret(key) for key in keys.index_keys),
        database=database,
        head_revision=head_revision(settings.migrations_dir),
    )


def _document_schemas(app: FastAPI) -> None:
    """Add the schemas operations refer to that FastAPI does not see: the Problem of every
    error response, and the line of an NDJSON import; and list the paths in ROUTERS' order."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            # The paths in ROUTERS' order, whatever order they are matched in (MATCHING).
            documented = [str(getattr(r, "path", "")) for router in ROUTERS for r in router.routes]
            paths = document.get("paths", {})
            document["paths"] = {
                **{path: paths[path] for path in dict.fromkeys(documented) if path in paths},
                **paths,
            }
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in (Problem, ImportLine):
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(schema.pop("$defs", {}))
                schemas[model.__name__] = schema
            document["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None, *, database: Database | None = None) -> FastAPI:
    """The app; `database` replaces the one `settings` would create (tests run each in a
    transaction they roll back)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = load_runtime(settings or get_settings(), database)
        try:
            await check_keys(runtime, at_start=True)
            app.state.runtime = runtime
            if database is None:
                # What is loaded at start lives as long as the process: frozen out of the
                # cyclic collector's sight, its collections no longer walk the models,
                # schemas and SQL built once — a tenth to a sixth less CPU per submission in
                # runs taking turns with and without it (issue 10's note). Not for a test's
                # app: its process outlives it.
                gc.collect()
                gc.freeze()
            yield
        finally:
            if database is None:
                await runtime.database.dispose()

    app = FastAPIOffline(
        title="Segmentti",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        separate_input_output_schemas=False,
        # A redirect would repeat the path, and a path may hold what a caller mistyped.
        redirect_slashes=False,
    )
    install_error_handlers(app)
    for router in MATCHING:
        app.include_router(router)
    _document_schemas(app)
    app.state.metrics = Metrics()
    limits = settings or get_settings()
    app.add_middleware(
        Edge,
        metrics=app.state.metrics,
        max_body_bytes=limits.max_body_bytes,
        body_limits={IMPORT_PATH: limits.max_import_bytes},
    )
    return app


app = create_app()
