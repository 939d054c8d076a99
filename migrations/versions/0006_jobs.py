"""jobs: long work (frontiers, robustness studies, long runs) and, on PostgreSQL, its queue

The `jobs` and `job_parts` tables are the service's own record of every job (status,
progress, result). On PostgreSQL the parts are executed through procrastinate, whose schema
(tables, types, functions and triggers named procrastinate_*) this migration applies, from
the locked procrastinate version, so that `capital db upgrade` readies a database for workers.
SQLite runs jobs in-process and needs no queue schema.

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("system_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(_one_of("kind", ("frontier", "robustness", "run")), name="ck_jobs_kind"),
        sa.CheckConstraint(
            _one_of("status", ("queued", "running", "succeeded", "failed", "cancelled")),
            name="ck_jobs_status",
        ),
        sa.CheckConstraint("done >= 0 AND done <= total", name="ck_jobs_progress"),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name="fk_jobs_round_id_rounds", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["system_id"], ["systems.id"], name="fk_jobs_system_id_systems"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name="fk_jobs_created_by_id_users"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_round_id", "jobs", ["round_id"])
    op.create_index("ix_jobs_system_id", "jobs", ["system_id"])
    op.create_table(
        "job_parts",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            _one_of("status", ("queued", "running", "done", "failed")), name="ck_job_parts_status"
        ),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_parts_job_id_jobs", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "index", name="pk_job_parts"),
    )
    if op.get_bind().dialect.name == "postgresql":
        from procrastinate.schema import SchemaManager

        # Plain DBAPI execute: the schema is many statements with $$-quoted bodies.
        op.get_bind().connection.driver_connection.execute(SchemaManager.get_schema())


# Everything procrastinate's schema creates, for the downgrade.
_QUEUE_TABLES = ("procrastinate_events", "procrastinate_periodic_defers", "procrastinate_jobs",
                 "procrastinate_workers")  # fmt: skip
_QUEUE_TYPES = ("procrastinate_job_to_defer_v1", "procrastinate_job_status",
                "procrastinate_job_event_type")  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in _QUEUE_TABLES:
            op.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
        op.execute(
            """
            DO $$ DECLARE f regprocedure; BEGIN
              FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
                       JOIN pg_namespace n ON n.oid = p.pronamespace
                       WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%'
              LOOP EXECUTE 'DROP FUNCTION ' || f || ' CASCADE'; END LOOP;
            END $$
            """
        )
        for type_ in _QUEUE_TYPES:
            op.execute(f"DROP TYPE IF EXISTS {type_} CASCADE")
    op.drop_table("job_parts")
    op.drop_index("ix_jobs_system_id", table_name="jobs")
    op.drop_index("ix_jobs_round_id", table_name="jobs")
    op.drop_table("jobs")
