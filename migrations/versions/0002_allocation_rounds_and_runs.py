"""allocation rounds and runs

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "rounds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("overcommitment_pct", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("fair_shares", sa.JSON(), nullable=False),
        sa.Column("fair_share_formula", sa.JSON(), nullable=True),
        sa.Column("fair_share_mode", sa.String(length=8), nullable=False),
        sa.Column("tolerance_pct", sa.Numeric(precision=6, scale=2), nullable=False),
        sa.Column("fairness_penalty", sa.Float(), nullable=False),
        sa.Column("category_limits", sa.JSON(), nullable=False),
        sa.Column("min_deliverability", sa.Float(), nullable=False),
        sa.Column("value_model", sa.String(length=16), nullable=False),
        sa.Column("deferral_discount", sa.Float(), nullable=False),
        sa.Column("agreed_run_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_rounds_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_rounds_system_id_systems")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rounds")),
    )
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_rounds_system_id"), ["system_id"], unique=False)

    op.create_table(
        "round_years",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.String(length=7), nullable=False),
        sa.Column("envelope", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("reserve", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_round_years_round_id_rounds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("round_id", "year", name=op.f("pk_round_years")),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(length=200), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("snapshot_sha256", sa.String(length=64), nullable=False),
        sa.Column("excluded", sa.JSON(), nullable=False),
        sa.Column("solver", sa.String(length=32), nullable=False),
        sa.Column("solver_version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("objective", sa.Float(), nullable=True),
        sa.Column("assemble_seconds", sa.Float(), nullable=False),
        sa.Column("solve_seconds", sa.Float(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_runs_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_runs_round_id_rounds"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
    )
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_runs_round_id"), ["round_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_runs_snapshot_sha256"), ["snapshot_sha256"], unique=False
        )

    # rounds and runs refer to each other: the agreed run's key is added once both exist.
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_rounds_agreed_run_id_runs", "runs", ["agreed_run_id"], ["id"]
        )
    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approved_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("approved_deferral_years", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_schemes_approved_run_id_runs", "runs", ["approved_run_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_constraint("fk_rounds_agreed_run_id_runs", type_="foreignkey")

    with op.batch_alter_table("schemes", schema=None) as batch_op:
        batch_op.drop_constraint("fk_schemes_approved_run_id_runs", type_="foreignkey")
        batch_op.drop_column("approved_deferral_years")
        batch_op.drop_column("approved_run_id")

    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_runs_snapshot_sha256"))
        batch_op.drop_index(batch_op.f("ix_runs_round_id"))

    op.drop_table("runs")
    op.drop_table("round_years")
    with op.batch_alter_table("rounds", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_rounds_system_id"))

    op.drop_table("rounds")
