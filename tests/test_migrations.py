"""The schema is built only by migrations: up, down, up again, and no drift from the models."""

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from app.db import create_sync_engine
from app.ops.service import head_revision
from tests.conftest import alembic_config, fresh_postgres_database


@pytest.fixture
def empty_database_url(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    assert os.environ.get("TEST_DATABASE_URL")
    return fresh_postgres_database("migrations")


def test_migrations_run_up_and_down_and_match_the_models(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    command.upgrade(config, "head")
    command.check(config)  # raises when the models and the migrations disagree
    engine = create_sync_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            revision = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert revision.scalar() == head_revision()
        command.downgrade(config, "base")
        tables = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
        command.upgrade(config, "head")
        assert "assessment" in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
