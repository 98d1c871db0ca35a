"""segment spans for population figures

`segment_span` holds how long each active decision was the segment in force — derived from the
timeline in the transaction that changes it — so that population figures at any time are a
range scan over an index instead of ranking every client's history. Filled here from the
timeline as it stands.

Revision ID: 7d3f5a9c1b20
Revises: 5c1e0a7d2b91
Create Date: 2026-11-24 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "7d3f5a9c1b20"
down_revision: str | None = "5c1e0a7d2b91"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each active decision until the client's next one took effect, as app/assessments/queries.py
# `spans` defines it; a decision replaced at the moment it took effect has no span.
BACKFILL = """
INSERT INTO segment_span
    (assessment_id, tenant, client_id, model_id, model_version, decided_code, valid_from,
     valid_to)
SELECT id, tenant, client_id, model_id, model_version, decided_code, effective_at, valid_to
FROM (
    SELECT a.*, lead(a.effective_at) OVER (
        PARTITION BY a.client_id ORDER BY a.effective_at, a.sequence
    ) AS valid_to
    FROM assessment AS a
    WHERE NOT EXISTS (SELECT 1 FROM retraction AS r WHERE r.assessment_id = a.id)
) AS following
WHERE valid_to IS NULL OR valid_to > effective_at
"""


def upgrade() -> None:
    op.create_table(
        "segment_span",
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decided_code", sa.Integer(), nullable=False),
        sa.Column("valid_from", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("valid_to", app.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_segment_span_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_segment_span_client_id_client")
        ),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_segment_span")),
    )
    with op.batch_alter_table("segment_span", schema=None) as batch_op:
        batch_op.create_index("ix_segment_span_client", ["client_id"], unique=False)
        batch_op.create_index(
            "ix_segment_span_tenant_model_from",
            ["tenant", "model_id", "valid_from", "valid_to", "decided_code", "client_id"],
            unique=False,
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("segment_span", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_span_tenant_model_from")
        batch_op.drop_index("ix_segment_span_client")
    op.drop_table("segment_span")
