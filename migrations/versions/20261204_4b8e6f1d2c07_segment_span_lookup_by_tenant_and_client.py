"""segment_span looked up by tenant and client

A client's spans are deleted and written again by every decision, looked up by `tenant` and
`client_id`. With an index on `client_id` alone, the planner of a table without statistics
yet (a new database; a table that grew since autovacuum last analysed it) chose the
population index (`tenant`, `model_id`, … `client_id`) instead, bounded by the tenant only:
each write read every span of its tenant. An index whose leading columns are both conditions
is the cheapest plan whatever the statistics say.

Revision ID: 4b8e6f1d2c07
Revises: 9e41c2d7a5b3
Create Date: 2026-12-04 20:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "4b8e6f1d2c07"
down_revision: str | None = "9e41c2d7a5b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("segment_span") as batch:
        batch.create_index("ix_segment_span_tenant_client", ["tenant", "client_id"])
        batch.drop_index("ix_segment_span_client")


def downgrade() -> None:
    with op.batch_alter_table("segment_span") as batch:
        batch.create_index("ix_segment_span_client", ["client_id"])
        batch.drop_index("ix_segment_span_tenant_client")
