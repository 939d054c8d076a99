"""reference data: organisations closed by ODS, and published facts per organisation and year

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
    op.create_table(
        "organisation_facts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("fact", sa.String(length=32), nullable=False),
        sa.Column("year", sa.String(length=7), nullable=False),
        sa.Column("measure", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("fact IN ('backlog')", name=op.f("ck_organisation_facts_fact")),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_organisation_facts_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["organisation_id"], ["organisations.id"],
            name=op.f("fk_organisation_facts_organisation_id_organisations"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_facts")),
        sa.UniqueConstraint("organisation_id", "fact", "year", "measure", name="uq_organisation_facts_key"),
    )  # fmt: skip
    with op.batch_alter_table("organisation_facts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_organisation_facts_organisation_id"), ["organisation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("organisation_facts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_organisation_facts_organisation_id"))
    op.drop_table("organisation_facts")
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("closed_on")
