"""Where a job's parts run: procrastinate workers on PostgreSQL, the server's own thread pool
on SQLite (the embedded default needs no extra process)."""

import logging
import os
import time
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


# A part whose bookkeeping failed (the database busy or gone) is tried this many times
# before its job is failed with the reason: a part lost in the pool would leave it running.
IN_PROCESS_TRIES = 3


def _run_in_process(job_id: int, index: int) -> None:
    for attempt in range(1, IN_PROCESS_TRIES + 1):
        try:
            work.execute_part(job_id, index, worker=f"server:{os.getpid()}")
            return
        except Exception as exc:
            logger.exception("job %s part %s (try %s)", job_id, index, attempt)
            if attempt == IN_PROCESS_TRIES:
                try:
                    work.fail_job(job_id, f"part {index + 1} could not be run: {exc}")
                except Exception:  # the next start-up's resume_unfinished will see it
                    logger.exception("job %s could not be failed", job_id)
                return
            time.sleep(attempt)


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
    """The in-process runner's sweep, at start-up (`capital serve` on SQLite): every job left
    unfinished by the last server (killed mid-job, or between committing a job and handing it
    to the pool) carries on where it stopped. Parts that were running when it died count that
    attempt, so a part that kills the server each time fails its job with the reason."""
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
