"""The PostgreSQL job queue: procrastinate (https://procrastinate.readthedocs.io).

One task, `capital.solve_part`, solves one part of one job; a study of N parts is N queued
tasks, so every worker (`capital worker`, on any machine) takes parts of the same study.
Workers send heartbeats; `capital worker` also retries the tasks of workers whose heartbeat
stopped (killed with SIGKILL, a lost machine), so a job is never left running for ever.
"""

import asyncio
import contextlib
import logging
from functools import lru_cache

import procrastinate

import api.models  # noqa: F401  (every mapper, as the worker has no app to import them)
from api.jobs import work
from api.settings import get_settings
from optimiser.solver import solves_past_their_limit, stuck_solves

logger = logging.getLogger(__name__)

QUEUE = "capital"
TASK = "capital.solve_part"
SWEEP = "capital.sweep_jobs"


def conninfo(database_url: str) -> str:
    """A libpq connection string from the SQLAlchemy URL (`postgresql+psycopg://...`)."""
    scheme, _, rest = database_url.partition("://")
    return f"postgresql://{rest}"


ATTEMPTS = 3


def _solve_part(context: procrastinate.JobContext, job_id: int, index: int) -> str:
    try:
        return work.execute_part(job_id, index)
    except Exception as exc:
        # Out of retries: say why on the job rather than leave it waiting for ever.
        if context.job.attempts + 1 >= ATTEMPTS:
            work.fail_job(job_id, f"part {index + 1} could not be run: {exc}")
        raise


@lru_cache
def queue_app() -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(get_settings().database_url))
    )
    # A failure inside a part is recorded on the job by work.execute_part; an exception that
    # escapes it (the database went away) is retried by procrastinate a few times.
    retry = procrastinate.RetryStrategy(max_attempts=ATTEMPTS - 1, wait=2)
    app.task(name=TASK, queue=QUEUE, retry=retry, pass_context=True)(_solve_part)
    # One worker a tick (procrastinate defers each tick's sweep once) checks for lost parts.
    settings = get_settings()
    every = min(max(int(settings.job_sweep_every_s), 1), 59)
    app.periodic(cron=f"* * * * * */{every}")(
        app.task(name=SWEEP, queue=QUEUE, pass_context=False)(_sweep)
    )
    return app


async def _sweep(timestamp: int) -> dict[str, list[int]]:
    """Queue again the parts of committed jobs that no task will solve: the server stopped
    between committing a job and queueing its parts, or a task was lost. Re-running a part is
    safe (work.execute_part skips solved parts and counts attempts), so a job is never left
    `queued` or `running` for ever; one that cannot be queued is failed with the reason."""
    orphans = await asyncio.to_thread(
        work.orphaned_parts, task=TASK, older_than_s=get_settings().job_sweep_after_s
    )
    task = queue_app().tasks[TASK]
    for job_id, indexes in orphans.items():
        try:
            await task.batch_defer_async(*({"job_id": job_id, "index": i} for i in indexes))
        except Exception as exc:
            await asyncio.to_thread(work.fail_job, job_id, f"could not be queued again: {exc}")
    return {str(job_id): indexes for job_id, indexes in orphans.items()}


_opened = False


def defer_parts(job_id: int, indexes: list[int]) -> None:
    """Queue one task per part (synchronously, from the API's request thread)."""
    global _opened
    app = queue_app()
    if not _opened:
        app.open()
        _opened = True
    app.tasks[TASK].batch_defer(*({"job_id": job_id, "index": i} for i in indexes))


async def _retry_stalled(app: procrastinate.App, *, stalled_after_s: float, every_s: float) -> None:
    """Put back in the queue every part whose worker stopped sending heartbeats."""
    while True:
        try:
            stalled = await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=stalled_after_s
            )
            for job in stalled:
                logger.warning("retrying part %s: its worker stopped", job.task_kwargs)
                await app.job_manager.retry_job(job)
            await app.job_manager.prune_stalled_workers(seconds_since_heartbeat=stalled_after_s)
        except Exception:  # the next round will try again
            logger.exception("could not check for stalled parts")
        await asyncio.sleep(every_s)


class SolveStuck(Exception):
    """A solve of this worker went past its time limit and is still inside HiGHS."""


async def _until_a_solve_is_stuck(every_s: float) -> int:
    while not (stuck := solves_past_their_limit()):
        await asyncio.sleep(every_s)
    return stuck


async def run_worker(*, concurrency: int, name: str) -> None:
    """Take parts from the queue until stopped (a signal), or until one of this worker's
    solves is stuck past its time limit: its answer is recorded like any other, but the solve
    goes on inside HiGHS, keeping a core busy, and only a new process frees it. The worker
    then stops taking parts, finishes those it has, and raises SolveStuck, so that `capital
    worker` exits and its restart policy starts a fresh one (docs/decisions.md)."""
    settings = get_settings()
    app = queue_app()
    async with app.open_async():
        reaper = asyncio.create_task(
            _retry_stalled(
                app,
                stalled_after_s=settings.job_stalled_after_s,
                every_s=settings.job_heartbeat_s,
            )
        )
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                concurrency=concurrency,
                name=name,
                update_heartbeat_interval=settings.job_heartbeat_s,
                stalled_worker_timeout=settings.job_stalled_after_s,
                delete_jobs="successful",
            )
        )
        watchdog = asyncio.create_task(_until_a_solve_is_stuck(settings.job_heartbeat_s))
        try:
            await asyncio.wait({worker, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            if not watchdog.done():
                await worker  # stopped by a signal, or failed: as before
                return
            raise SolveStuck(
                f"{stuck_solves(watchdog.result())}; this worker has stopped so that a fresh "
                "one can take its place"
            )
        finally:
            watchdog.cancel()
            reaper.cancel()
            if not worker.done():  # a stuck solve, or this coroutine cancelled
                # Cancelling procrastinate's worker stops it gracefully: no new parts, and
                # the running ones finish (their answers are recorded) before it returns.
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
