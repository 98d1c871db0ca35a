"""The schema revision the code expects, and the one the database is at."""

from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.config import PACKAGE_DIR
from app.db import Database


def migrations_dir(configured: Path | None = None) -> Path:
    """Where the Alembic scripts are: configured (the container sets it), beside the package
    in a source checkout, or in the working directory next to alembic.ini."""
    if configured is not None:
        return configured
    beside = PACKAGE_DIR.parent / "migrations"
    return beside if beside.is_dir() else Path.cwd() / "migrations"


def head_revision(directory: Path | None = None) -> str:
    config = Config()
    config.set_main_option("script_location", str(migrations_dir(directory)))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


async def current_revision(database: Database) -> str | None:
    unit = database.unit(read_only=True)
    try:
        connection = await unit.connection()
        has_table = await connection.run_sync(
            lambda sync: sa.inspect(sync).has_table("alembic_version")
        )
        if not has_table:
            return None
        revision: str | None = (
            await unit.execute(sa.text("SELECT version_num FROM alembic_version"))
        ).scalar()
        await unit.commit()
        return revision
    finally:
        await unit.close()
