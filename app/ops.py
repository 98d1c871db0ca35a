"""Liveness, readiness and the schema check behind readiness."""

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from app.config import PACKAGE_DIR
from app.db import READ_ONLY

MIGRATIONS_DIR = PACKAGE_DIR.parent / "migrations"

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    schema_revision: str | None
    expected_revision: str


def head_revision(migrations_dir: Path = MIGRATIONS_DIR) -> str:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def current_revision(engine: sa.Engine) -> str | None:
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        if not sa.inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get("/readyz", response_model=Readiness, responses={503: {"model": Readiness}})
def readyz(request: Request) -> Readiness | JSONResponse:
    """The database answers and its schema is at the newest migration."""
    expected = request.app.state.head_revision
    try:
        revision = current_revision(request.app.state.engine)
    except sa.exc.SQLAlchemyError:
        body = Readiness(
            status="unavailable",
            database="unreachable",
            schema_revision=None,
            expected_revision=expected,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    if revision != expected:
        body = Readiness(
            status="unavailable",
            database="outdated schema",
            schema_revision=revision,
            expected_revision=expected,
        )
        return JSONResponse(body.model_dump(), status_code=503)
    return Readiness(
        status="ok", database="ok", schema_revision=revision, expected_revision=expected
    )
