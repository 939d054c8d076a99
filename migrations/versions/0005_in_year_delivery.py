"""in-year delivery: monthly plan, actual and forecast; reporting periods; re-allocation runs

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import api.db

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MONEY = sa.Numeric(precision=15, scale=2)


def upgrade() -> None:
    op.create_table(
        "scheme_deliveries",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("rag", sa.String(length=8), nullable=True),
        sa.Column("commentary", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "rag IS NULL OR rag IN ('green', 'amber', 'red')", name=op.f("ck_scheme_deliveries_rag")
        ),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["schemes.id"], name=op.f("fk_scheme_deliveries_scheme_id_schemes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"], ["users.id"], name=op.f("fk_scheme_deliveries_updated_by_id_users")
        ),
        sa.PrimaryKeyConstraint("scheme_id", name=op.f("pk_scheme_deliveries")),
    )  # fmt: skip
    op.create_table(
        "delivery_months",
        sa.Column("scheme_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("year", sa.String(length=7), nullable=False),
        sa.Column("plan", MONEY, nullable=False),
        sa.Column("actual", MONEY, nullable=True),
        sa.Column("forecast", MONEY, nullable=False),
        sa.CheckConstraint("plan >= 0", name=op.f("ck_delivery_months_plan_not_negative")),
        sa.CheckConstraint(
            "actual IS NULL OR actual >= 0", name=op.f("ck_delivery_months_actual_not_negative")
        ),
        sa.CheckConstraint("forecast >= 0", name=op.f("ck_delivery_months_forecast_not_negative")),
        sa.ForeignKeyConstraint(
            ["scheme_id"], ["scheme_deliveries.scheme_id"],
            name=op.f("fk_delivery_months_scheme_id_scheme_deliveries"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("scheme_id", "period", name=op.f("pk_delivery_months")),
    )  # fmt: skip
    op.create_index(op.f("ix_delivery_months_year"), "delivery_months", ["year"], unique=False)
    op.create_table(
        "reporting_periods",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=True),
        sa.Column("updated_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_reporting_periods_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("system_id", name=op.f("pk_reporting_periods")),
    )  # fmt: skip
    op.create_table(
        "period_closes",
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("closed_at", api.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.Column("closed_by_name", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["system_id"], ["systems.id"], name=op.f("fk_period_closes_system_id_systems"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by_id"], ["users.id"], name=op.f("fk_period_closes_closed_by_id_users")
        ),
        sa.PrimaryKeyConstraint("system_id", "period", name=op.f("pk_period_closes")),
    )  # fmt: skip
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("kind", sa.String(length=16), server_default="allocation", nullable=False)
        )
        batch_op.add_column(
            sa.Column("agreed_at", api.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_check_constraint(
            op.f("ck_runs_kind"), "kind IN ('allocation', 'reallocation')"
        )


def downgrade() -> None:
    with op.batch_alter_table("runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_runs_kind"), type_="check")
        batch_op.drop_column("agreed_at")
        batch_op.drop_column("kind")
    op.drop_table("period_closes")
    op.drop_table("reporting_periods")
    op.drop_index(op.f("ix_delivery_months_year"), table_name="delivery_months")
    op.drop_table("delivery_months")
    op.drop_table("scheme_deliveries")
