"""segment projections without foreign keys

`segment_now` and `segment_span` are projections of the timeline: each row is selected from
`assessment` by the statement that writes it, in the transaction that wrote the assessment,
and no client or assessment is ever deleted. Their foreign-key checks (a key lookup and a
row lock per referenced row) were a third of an import's database time and a part of every
write's, guarding nothing the writing statement does not.

Revision ID: 9e41c2d7a5b3
Revises: 7d3f5a9c1b20
Create Date: 2026-12-04 17:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "9e41c2d7a5b3"
down_revision: str | None = "7d3f5a9c1b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEYS = {
    "segment_now": {"client_id": "client", "assessment_id": "assessment"},
    "segment_span": {"client_id": "client", "assessment_id": "assessment"},
}


def upgrade() -> None:
    for table, keys in FOREIGN_KEYS.items():
        with op.batch_alter_table(table) as batch:
            for column, referred in keys.items():
                batch.drop_constraint(op.f(f"fk_{table}_{column}_{referred}"), type_="foreignkey")


def downgrade() -> None:
    for table, keys in FOREIGN_KEYS.items():
        with op.batch_alter_table(table) as batch:
            for column, referred in keys.items():
                batch.create_foreign_key(
                    op.f(f"fk_{table}_{column}_{referred}"), referred, [column], ["id"]
                )
