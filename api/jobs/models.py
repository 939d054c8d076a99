"""Jobs: work longer than a request (frontiers, robustness studies, long runs).

A job is split into parts (one per frontier point or weight vector); each part is solved
separately, by a worker on PostgreSQL or by the server's thread pool on SQLite, and the last
part to finish assembles the job's result.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.schemes.models import one_of

JOB_KINDS = ("frontier", "robustness", "run")
JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
PART_STATUSES = ("queued", "running", "done", "failed")
FINISHED = ("succeeded", "failed", "cancelled")


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(one_of("kind", JOB_KINDS), name="kind"),
        CheckConstraint(one_of("status", JOB_STATUSES), name="status"),
        CheckConstraint("done >= 0 AND done <= total", name="progress"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer)
    # What the job solves: the validated snapshot, the request and anything needed to finish.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    parts: Mapped[list["JobPart"]] = relationship(
        cascade="all, delete-orphan", order_by="JobPart.index", lazy="raise"
    )


class JobPart(Base):
    """One independent solve of a job: its input, outcome, attempts and who solved it."""

    __tablename__ = "job_parts"
    __table_args__ = (CheckConstraint(one_of("status", PART_STATUSES), name="status"),)

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    input: Mapped[dict[str, Any]] = mapped_column(JSON)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # "host:pid" of the process that solved it: shows several workers sharing one job.
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
