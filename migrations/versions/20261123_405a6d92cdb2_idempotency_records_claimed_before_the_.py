"""idempotency records claimed before the work

A key is now claimed (inserted without a response) when its write begins and completed with
the response before the write commits; replays answer with the stored status, Location and
the exact bytes of the first body (jsonb would reorder its members).

Revision ID: 405a6d92cdb2
Revises: 71efc8928f6e
Create Date: 2026-11-23 18:40:21.987953
"""

import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "405a6d92cdb2"
down_revision: str | None = "71efc8928f6e"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

record = sa.table(
    "idempotency_record",
    sa.column("id", sa.Uuid()),
    sa.column("response", app.db.JSONDocument),
    sa.column("body", sa.Text()),
    sa.column("status_code", sa.Integer()),
    sa.column("location", sa.String()),
    sa.column("client_id", sa.Uuid()),
)


def _location(response: dict[str, object]) -> str | None:
    """Where the first response pointed: every write before this revision answered 201."""
    if "consent_id" in response:
        return f"/v1/clients/{response['client_id']}/consents"
    if "assessment_id" in response:
        return f"/v1/assessments/{response['assessment_id']}"
    return None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_code", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("location", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True)
        )
        batch_op.add_column(sa.Column("client_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(record.c.id, record.c.response)).all():
        response = row.response or {}
        client_id = response.get("client_id")
        connection.execute(
            record.update()
            .where(record.c.id == row.id)
            .values(
                status_code=201,
                body=json.dumps(response, ensure_ascii=False, separators=(",", ":")),
                location=_location(response),
                client_id=uuid.UUID(str(client_id)) if client_id else None,
            )
        )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.drop_column("response")


def downgrade() -> None:
    op.execute(record.delete().where(record.c.body.is_(None)))
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("response", app.db.JSONDocument, nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(record.c.id, record.c.body)).all():
        connection.execute(
            record.update().where(record.c.id == row.id).values(response=json.loads(row.body))
        )
    with op.batch_alter_table("idempotency_record", schema=None) as batch_op:
        batch_op.alter_column("response", existing_type=app.db.JSONDocument, nullable=False)
        batch_op.drop_column("body")
        batch_op.drop_column("client_id")
        batch_op.drop_column("location")
        batch_op.drop_column("status_code")
