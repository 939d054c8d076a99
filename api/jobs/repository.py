"""Queries for jobs and their parts."""

from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from api.jobs.models import FINISHED, Job, JobPart


def get_job(session: Session, *, job_id: int) -> Job | None:
    return session.get(Job, job_id)


def lock_job(session: Session, *, job_id: int) -> Job | None:
    """The job, locked for this transaction (PostgreSQL: FOR UPDATE; SQLite's BEGIN IMMEDIATE
    already serialises writers), so that parts finishing together count progress exactly."""
    return session.scalars(
        select(Job)
        .where(Job.id == job_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_part(session: Session, *, job_id: int, index: int) -> JobPart | None:
    return session.get(JobPart, (job_id, index), populate_existing=True)


def parts(session: Session, *, job_id: int) -> list[JobPart]:
    statement = select(JobPart).where(JobPart.job_id == job_id).order_by(JobPart.index)
    return list(session.scalars(statement))


def workers(session: Session, *, job_id: int) -> list[str]:
    statement = (
        select(JobPart.worker)
        .where(JobPart.job_id == job_id, JobPart.worker.is_not(None))
        .distinct()
        .order_by(JobPart.worker)
    )
    return list(session.scalars(statement))


def list_jobs(
    session: Session,
    *,
    system_ids: frozenset[int] | None,
    round_id: int | None,
    limit: int,
    offset: int,
) -> tuple[list[Job], int]:
    statement = select(Job)
    if system_ids is not None:
        statement = statement.where(Job.system_id.in_(system_ids))
    if round_id is not None:
        statement = statement.where(Job.round_id == round_id)
    total = session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = session.scalars(statement.order_by(Job.id.desc()).limit(limit).offset(offset))
    return list(rows), total or 0


def unfinished(session: Session) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.status.not_in(FINISHED)).order_by(Job.id)))


def unfinished_ids(session: Session, *, created_before: datetime) -> list[int]:
    """Unfinished jobs created before `created_before` (ids only: payloads are large)."""
    statement = select(Job.id).where(Job.status.not_in(FINISHED), Job.created_at < created_before)
    return list(session.scalars(statement.order_by(Job.id)))


def part_task_states(session: Session, *, job_id: int, task: str) -> dict[int, set[str]]:
    """PostgreSQL: the states of procrastinate's tasks for each part of a job (`todo`, `doing`,
    `failed`...; a task that succeeded is deleted). A part with none has no task to solve it."""
    rows = session.execute(
        text(
            "SELECT (args->>'index')::int, status::text FROM procrastinate_jobs "
            "WHERE task_name = :task AND (args->>'job_id')::int = :job_id"
        ),
        {"task": task, "job_id": job_id},
    )
    states: dict[int, set[str]] = {}
    for index, status in rows:
        states.setdefault(index, set()).add(status)
    return states


def unsolved_part_indexes(session: Session, *, job_id: int) -> list[int]:
    statement = select(JobPart.index).where(JobPart.job_id == job_id, JobPart.status != "done")
    return list(session.scalars(statement.order_by(JobPart.index)))


def requeue_running_parts(session: Session, *, job_id: int) -> None:
    session.execute(
        update(JobPart)
        .where(JobPart.job_id == job_id, JobPart.status == "running")
        .values(status="queued")
    )


def latest_result(session: Session, *, round_id: int, kind: str) -> dict | None:
    """The result of the round's most recent job of `kind` that succeeded, if any."""
    statement = (
        select(Job.result)
        .where(Job.round_id == round_id, Job.kind == kind, Job.status == "succeeded")
        .order_by(Job.id.desc())
        .limit(1)
    )
    return session.scalar(statement)


def latest_job(
    session: Session, *, round_id: int, kind: str, status: str | None = None
) -> Job | None:
    """The round's most recent job of `kind` (of `status`, when given)."""
    statement = select(Job).where(Job.round_id == round_id, Job.kind == kind)
    if status is not None:
        statement = statement.where(Job.status == status)
    return session.scalars(statement.order_by(Job.id.desc()).limit(1)).one_or_none()
