"""change stamps for exports, imported decisions found again, export runs

Assessments, retractions and consent events are stamped with the order their transactions
committed in (`change_tx`): PostgreSQL transaction ids, or SQLite's `change_counter`. Rows
written before this revision are stamped 1, before any export. A client keeps its birth date
(for age-scoped policies; `segmentti backfill-birth-dates` fills it for clients stored before
this revision, which needs the data key) and the last sequence number handed out.

Revision ID: ab064ae42de5
Revises: 2b0adbd28406
Create Date: 2026-11-23 19:32:10.289621
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "ab064ae42de5"
down_revision: str | None = "2b0adbd28406"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STAMPED = ("assessment", "retraction", "consent_event")


def upgrade() -> None:
    op.create_table(
        "change_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_counter")),
    )
    op.execute("INSERT INTO change_counter (id, value) VALUES (1, 1)")
    op.create_table(
        "export_run",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("purpose", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("format", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("since_tx", sa.BigInteger(), nullable=False),
        sa.Column("until_tx", sa.BigInteger(), nullable=False),
        sa.Column("since_day", sa.Date(), nullable=True),
        sa.Column("until_day", sa.Date(), nullable=False),
        sa.Column("min_age", sa.Integer(), nullable=True),
        sa.Column("numbering", app.db.JSONDocument, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_run")),
    )
    with op.batch_alter_table("export_run", schema=None) as batch_op:
        batch_op.create_index("ix_export_run_tenant_until_tx", ["tenant", "until_tx"], unique=False)

    for table in STAMPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("change_tx", sa.BigInteger(), nullable=False, server_default="1")
            )
            batch_op.create_index(f"ix_{table}_tenant_change_tx", ["tenant", "change_tx"])
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column("change_tx", server_default=None)

    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            "uq_assessment_imported",
            [
                "client_id",
                "effective_at",
                "model_id",
                "model_version",
                "decided_code",
                "recorded_by",
            ],
            unique=True,
            sqlite_where=sa.text("source = 'import'"),
            postgresql_where=sa.text("source = 'import'"),
        )

    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("birth_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("last_sequence", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE client SET last_sequence = COALESCE("
        "(SELECT max(sequence) FROM assessment WHERE assessment.client_id = client.id), 0)"
    )
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.alter_column("last_sequence", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("last_sequence")
        batch_op.drop_column("birth_date")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index("uq_assessment_imported")
    for table in reversed(STAMPED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_tenant_change_tx")
            batch_op.drop_column("change_tx")
    with op.batch_alter_table("export_run", schema=None) as batch_op:
        batch_op.drop_index("ix_export_run_tenant_until_tx")
    op.drop_table("export_run")
    op.drop_table("change_counter")
