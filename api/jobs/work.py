"""Executing one part of a job, wherever it runs (a procrastinate worker or the server's
thread pool): claim it, solve it with no database transaction open, record the outcome, and
let the part that completes the job assemble the result. Safe to run twice (a retried part)."""

import logging
import os
import socket
from datetime import timedelta
from typing import Any

from api.db import get_sessionmaker, unit_of_work, utcnow
from api.jobs import repository
from api.jobs.models import FINISHED, Job
from optimiser import SolveOptions, frontier, parse_snapshot
from optimiser.robustness import Part, assemble, solve_part, weight_set

logger = logging.getLogger(__name__)

# A part whose solver process died this many times (SIGKILL, out of memory) fails its job.
MAX_ATTEMPTS = 3


def this_process() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute_part(job_id: int, index: int, *, worker: str | None = None) -> str:
    """Solve part `index` of job `job_id`; returns what happened (for logs and tests)."""
    factory = get_sessionmaker()
    worker = worker or this_process()
    with unit_of_work(factory) as session:
        job = repository.lock_job(session, job_id=job_id)
        if job is None:
            return "gone"
        if job.status in FINISHED:
            return f"skipped: job {job.status}"
        part = repository.get_part(session, job_id=job_id, index=index)
        if part is None or part.status == "done":
            return "skipped: already solved"
        part.attempts += 1
        if part.attempts > MAX_ATTEMPTS:
            _fail(
                job,
                f"part {index + 1} of {job.total} was started {MAX_ATTEMPTS} times and its "
                "worker stopped each time (killed or out of memory); the job is abandoned",
            )
            return "failed: too many attempts"
        now = utcnow()
        part.status, part.worker, part.started_at = "running", worker, now
        if job.status == "queued":
            job.status, job.started_at = "running", now
        kind, payload, part_input = job.kind, job.payload, dict(part.input)
    try:
        outcome = _solve(kind, payload, part_input)
    except Exception as exc:  # the solver's failure is the job's answer, with its reason
        logger.exception("job %s part %s failed", job_id, index)
        with unit_of_work(factory) as session:
            job = repository.lock_job(session, job_id=job_id)
            if job is not None and job.status not in FINISHED:
                _fail(job, f"part {index + 1} of {job.total} failed: {exc}")
        return "failed"
    with unit_of_work(factory) as session:
        job = repository.lock_job(session, job_id=job_id)
        if job is None or job.status in FINISHED:
            return "discarded: job finished meanwhile"
        part = repository.get_part(session, job_id=job_id, index=index)
        if part.status == "done":
            return "discarded: solved by another attempt"
        part.status, part.outcome, part.finished_at = "done", outcome, utcnow()
        part.worker = worker
        job.done += 1
        if job.done == job.total:
            session.flush()
            try:
                job.result = _finish(session, job)
                job.status = "succeeded"
            except Exception as exc:
                logger.exception("job %s could not be completed", job_id)
                job.result, job.status, job.error = (
                    None,
                    "failed",
                    f"completing the job failed: {exc}",
                )
            job.finished_at = utcnow()
    return "solved"


def orphaned_parts(*, task: str, older_than_s: float) -> dict[int, list[int]]:
    """PostgreSQL: parts of unfinished jobs older than `older_than_s` that no queued task will
    ever solve ({job id: part indexes}), to be queued again. A job whose part's task failed for
    good (its retries spent) and was not failed for it is failed here, with the reason."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    orphans: dict[int, list[int]] = {}
    with unit_of_work(get_sessionmaker()) as session:
        for job_id in repository.unfinished_ids(session, created_before=cutoff):
            job = repository.lock_job(session, job_id=job_id)
            if job is None or job.status in FINISHED:
                continue  # finished since the list was read
            tasks = repository.part_task_states(session, job_id=job_id, task=task)
            lost = []
            for index in repository.unsolved_part_indexes(session, job_id=job_id):
                states = tasks.get(index, set())
                if states & {"todo", "doing"}:
                    continue  # queued, retrying or being solved
                if "failed" in states:
                    _fail(job, f"part {index + 1} of {job.total} could not be run: its task "
                               "failed on every attempt")  # fmt: skip
                    lost = []
                    break
                lost.append(index)
            if lost:
                logger.warning("job %s: parts %s have no queued task; queueing them", job_id, lost)
                orphans[job_id] = lost
    return orphans


def fail_job(job_id: int, reason: str) -> None:
    """Fail a job that is not finished yet, with its reason (in a transaction of its own)."""
    with unit_of_work(get_sessionmaker()) as session:
        job = repository.lock_job(session, job_id=job_id)
        if job is not None and job.status not in FINISHED:
            _fail(job, reason)


def _fail(job: Job, reason: str) -> None:
    job.status, job.error, job.finished_at = "failed", reason, utcnow()


def _options(payload: dict[str, Any]) -> SolveOptions:
    options = payload["options"]
    return SolveOptions(
        solver=options.get("solver", "highs"),
        mip_gap=options["mip_gap"],
        time_limit_s=options["time_limit_s"],
    )


def _solve(kind: str, payload: dict[str, Any], part_input: dict[str, Any]) -> dict[str, Any]:
    snapshot = parse_snapshot(payload["snapshot"])
    if kind == "frontier":
        (point,) = frontier(snapshot, [part_input["multiplier"]], _options(payload))
        return point.model_dump(mode="json")
    if kind == "robustness":
        return solve_part(snapshot, Part.from_document(part_input), _options(payload))
    if kind == "run":
        from api.rounds import service as rounds

        return rounds.solve_run(prepared=_prepared(payload, snapshot))
    raise ValueError(f"unknown job kind {kind}")


def _prepared(payload: dict[str, Any], snapshot):
    from api.rounds.service import PreparedRun

    prepared = payload["prepared"]
    return PreparedRun(
        round_id=prepared["round_id"],
        snapshot=payload["snapshot"],
        problem=snapshot,
        excluded=prepared["excluded"],
        options=payload["options"],
        scheme_versions=prepared["scheme_versions"],
        assemble_seconds=prepared["assemble_seconds"],
    )


def _finish(session, job: Job) -> dict[str, Any]:
    """The job's result from every part's outcome (called once, by the last part)."""
    parts = repository.parts(session, job_id=job.id)
    outcomes = [p.outcome for p in parts]
    payload = job.payload
    if job.kind == "frontier":
        points = sorted(outcomes, key=lambda p: p["multiplier"])
        return {"round_id": job.round_id, "points": points, "chart": _chart(points)}
    if job.kind == "robustness":
        snapshot = parse_snapshot(payload["snapshot"])
        request = payload["study"]
        weights = weight_set(rank_order=request["rank_order"], bounds=request["bounds"])
        return assemble(
            snapshot,
            weights,
            [Part.from_document(p.input) for p in parts],
            outcomes,
            samples=request["samples"],
            seed=request["seed"],
        )
    return _record_run(session, job, outcomes[0])


def _chart(points: list[dict[str, Any]]) -> dict[str, Any]:
    """What a chart of the frontier plots: value achieved against the envelope."""
    return {
        "x": {"key": "envelope", "label": "Envelope over the horizon (£)"},
        "y": {"key": "objective", "label": "Value achieved (score-weighted £)"},
        "series": [
            {"x": p["envelope"], "y": p["objective"], "multiplier": p["multiplier"],
             "status": p["status"], "funded": p["funded"]}
            for p in points
        ],
    }  # fmt: skip


def _record_run(session, job: Job, result: dict[str, Any]) -> dict[str, Any]:
    from api.deps import principal_for
    from api.rounds import service as rounds
    from api.users.models import User

    user = session.get(User, job.created_by_id)
    prepared = _prepared(job.payload, parse_snapshot(job.payload["snapshot"]))
    prepared.solve_seconds = result.get("solve_seconds", 0.0)
    run = rounds.record_run(
        session, principal=principal_for(user), prepared=prepared, result=result
    )
    return {"run_id": run.id, "status": run.status, "objective": run.objective}
