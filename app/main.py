"""The application: routers, error handlers, middleware, and what is loaded at start.

Models, tenants and keys are loaded in the lifespan: a malformed model or tenants file stops
the process at start with the file and the problem named, never a half-loaded service.
"""

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from app.assessments.router import router as assessments_router
from app.audit.router import router as audit_router
from app.auth import TokenVerifier
from app.clients.identity import IdentityProtector
from app.clients.router import router as clients_router
from app.config import Settings, get_settings
from app.db import create_db_engine
from app.errors import Problem, install_error_handlers
from app.keys import resolve_keys
from app.logs import configure_logging
from app.metrics import Metrics, MetricsMiddleware
from app.metrics import router as metrics_router
from app.middleware import BodySizeLimit, LastResort
from app.ops import head_revision
from app.ops import router as ops_router
from app.segmentation.registry import load_registry
from app.segmentation.router import router as models_router
from app.tenants import load_tenants

log = logging.getLogger("segmentti")

DESCRIPTION = """
Client segmentation for Finnish social and health care: submit an assessment, get the
suggested and decided segment with its explanation and what it means for the service, keep the
segment's timeline and the client's consent, and export to the health register.

Every `/v1` operation needs `Authorization: Bearer <JWT>` with `sub`, `org` (the tenant) and
`scope`. Errors are `application/problem+json`. Texts follow `Accept-Language` (fi, sv, en;
Finnish by default).
"""


def _operation_id(route: APIRoute) -> str:
    return route.name


def load_state(app: FastAPI, settings: Settings) -> None:
    """Everything a request relies on, loaded and checked before the first one is served."""
    configure_logging(settings.log_level)
    registry = load_registry(settings.models_dir)
    keys = resolve_keys(settings)
    app.state.settings = settings
    app.state.registry = registry
    app.state.tenants = load_tenants(settings.tenants_file, registry)
    app.state.token_verifier = TokenVerifier(settings, keys)
    app.state.protector = IdentityProtector(keys.data_key, keys.index_key)
    app.state.fingerprint_secret = hmac.new(
        keys.index_key.encode(), b"idempotency-fingerprint", hashlib.sha256
    ).digest()
    app.state.head_revision = head_revision()
    if not hasattr(app.state, "engine"):
        app.state.engine = create_db_engine(settings.database_url, settings)
        app.state.owns_engine = True


def _document_problems(app: FastAPI) -> None:
    """Add the Problem schema the operations' error responses refer to."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem.pop("$defs", {}))
            schemas["Problem"] = problem
            document["components"]["schemas"] = dict(sorted(schemas.items()))
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        load_state(app, settings or get_settings())
        yield
        if getattr(app.state, "owns_engine", False):
            app.state.engine.dispose()

    app = FastAPIOffline(
        title="Segmentti",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        separate_input_output_schemas=False,
    )
    install_error_handlers(app)
    for router in (
        ops_router,
        metrics_router,
        models_router,
        clients_router,
        assessments_router,
        audit_router,
    ):
        app.include_router(router)
    _document_problems(app)
    max_body = (settings or get_settings()).max_body_bytes
    app.add_middleware(BodySizeLimit, max_bytes=max_body)
    app.state.metrics = Metrics()
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(LastResort)  # added last: the outermost of ours
    return app


app = create_app()
