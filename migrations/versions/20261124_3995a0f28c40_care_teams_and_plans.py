"""care teams and plans

A client's named contacts and team members, each ended by an end row of its own, and the
plans that exist for the client (kind, when made, when reviewed), for the coordination a
segment requires and the worklists that follow from it.

Revision ID: 3995a0f28c40
Revises: ab064ae42de5
Create Date: 2026-11-23 21:35:10.482036
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.db

revision: str = "3995a0f28c40"
down_revision: str | None = "ab064ae42de5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "care_plan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("made_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("review_by", sa.Date(), nullable=False),
        sa.Column("review_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.CheckConstraint(
            "kind IN ('client_plan', 'service_plan', 'health_and_care_plan', "
            "'rehabilitation_plan', 'substance_use_plan')",
            name=op.f("ck_care_plan_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_care_plan_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_plan")),
    )
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_plan_client_kind", ["client_id", "kind", "made_at"], unique=False
        )
        batch_op.create_index(
            "ix_care_plan_tenant_review", ["tenant", "review_at", "client_id"], unique=False
        )

    op.create_table(
        "care_team_member",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("professional", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("role", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("valid_from", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.CheckConstraint(
            "role IN ('named_contact', 'team_member')", name=op.f("ck_care_team_member_role")
        ),
        sa.ForeignKeyConstraint(
            ["client_id"], ["client.id"], name=op.f("fk_care_team_member_client_id_client")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_member")),
    )
    with op.batch_alter_table("care_team_member", schema=None) as batch_op:
        batch_op.create_index(
            "ix_care_team_member_client_role", ["client_id", "role", "valid_from"], unique=False
        )
        batch_op.create_index(
            "ix_care_team_member_tenant_professional", ["tenant", "professional"], unique=False
        )

    op.create_table(
        "care_team_end",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("member_id", sa.Uuid(), nullable=False),
        sa.Column("at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["care_team_member.id"],
            name=op.f("fk_care_team_end_member_id_care_team_member"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_team_end")),
        sa.UniqueConstraint("member_id", name=op.f("uq_care_team_end_member_id")),
    )


def downgrade() -> None:
    op.drop_table("care_team_end")
    with op.batch_alter_table("care_team_member", schema=None) as batch_op:
        batch_op.drop_index("ix_care_team_member_tenant_professional")
        batch_op.drop_index("ix_care_team_member_client_role")

    op.drop_table("care_team_member")
    with op.batch_alter_table("care_plan", schema=None) as batch_op:
        batch_op.drop_index("ix_care_plan_tenant_review")
        batch_op.drop_index("ix_care_plan_client_kind")

    op.drop_table("care_plan")
