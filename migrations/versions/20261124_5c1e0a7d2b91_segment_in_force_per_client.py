"""the segment in force, kept per client

`segment_now` holds, for each client with an active decision, the one in force now — derived
from the timeline in the transaction that changes it — so that worklists walk an index per
(model, version, segment) instead of ranking every client's history. Filled here from the
timeline as it stands.

Revision ID: 5c1e0a7d2b91
Revises: 3995a0f28c40
Create Date: 2026-11-24 22:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "5c1e0a7d2b91"
down_revision: str | None = "3995a0f28c40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The latest active decision of each client, as app/assessments/queries.py defines it (no
# decision takes effect in the future, so the latest is the one in force now).
BACKFILL = """
INSERT INTO segment_now
    (client_id, tenant, assessment_id, model_id, model_version, decided_code, valid_from)
SELECT client_id, tenant, id, model_id, model_version, decided_code, effective_at
FROM (
    SELECT a.*, row_number() OVER (
        PARTITION BY a.client_id ORDER BY a.effective_at DESC, a.sequence DESC
    ) AS rank
    FROM assessment AS a
    WHERE NOT EXISTS (SELECT 1 FROM retraction AS r WHERE r.assessment_id = a.id)
) AS ranked
WHERE rank = 1
"""


def upgrade() -> None:
    op.create_table(
        "segment_now",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("assessment_id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("model_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("decided_code", sa.Integer(), nullable=False),
        sa.Column("valid_from", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessment.id"],
            name=op.f("fk_segment_now_assessment_id_assessment"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_segment_now_client_id_client")
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_segment_now")),
    )
    with op.batch_alter_table("segment_now", schema=None) as batch_op:
        batch_op.create_index(
            "ix_segment_now_tenant_segment_from",
            ["tenant", "model_id", "model_version", "decided_code", "valid_from", "client_id"],
            unique=False,
        )
    op.execute(BACKFILL)


def downgrade() -> None:
    with op.batch_alter_table("segment_now", schema=None) as batch_op:
        batch_op.drop_index("ix_segment_now_tenant_segment_from")
    op.drop_table("segment_now")
