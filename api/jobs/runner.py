"""Where a job's parts run: procrastinate workers on PostgreSQL, the server's own thread pool
on SQLite (the embedded default needs no extra process)."""

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from api.db import get_sessionmaker, unit_of_work
from api.jobs import repository, work
from api.settings import get_settings

logger = logging.getLogger(__name__)


def uses_queue() -> bool:
    return get_settings().database_url.startswith("postgresql")


@lru_cache
def _pool() -> ThreadPoolExecutor:
    workers = get_settings().job_threads or max(os.cpu_count() or 1, 1)
    return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="capital-job")


def _run_in_process(job_id: int, index: int) -> None:
    try:
        work.execute_part(job_id, index, worker=f"server:{os.getpid()}")
    except Exception:
        logger.exception("job %s part %s", job_id, index)


def submit(job_id: int, indexes: list[int]) -> None:
    """Start solving these parts of a committed job."""
    if uses_queue():
        from api.jobs import queue

        queue.defer_parts(job_id, indexes)
        return
    pool = _pool()
    for index in indexes:
        pool.submit(_run_in_process, job_id, index)


def resume_unfinished() -> int:
    """In-process jobs interrupted by a restart carry on where they stopped (called by
    `capital serve` on SQLite); parts that were running count that attempt."""
    if uses_queue():
        return 0
    resumed = 0
    with unit_of_work(get_sessionmaker()) as session:
        pending = []
        for job in repository.unfinished(session):
            repository.requeue_running_parts(session, job_id=job.id)
            pending.append((job.id, repository.unsolved_part_indexes(session, job_id=job.id)))
    for job_id, indexes in pending:
        submit(job_id, indexes)
        resumed += 1
    return resumed
