"""Jobs: create them for a round (frontier, robustness study, long run), read, cancel.

Roles are the round's: finance directors of the round's system create and cancel jobs; every
member of the system reads them; a job outside the caller's systems is answered 404, exactly
like a missing one. Services flush and never commit: the router commits, then hands the parts
to the runner, so a worker never sees a job before it exists."""

from typing import Any

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.deps import Principal
from api.errors import Conflict, InvalidInput, NotFound, field_error
from api.jobs import repository
from api.jobs.models import FINISHED, Job, JobPart
from api.jobs.schemas import JobList, JobRead, JobSummary, Progress
from api.rounds import service as rounds
from api.rounds.schemas import FrontierRequest, RobustnessRequest, RunRequest
from optimiser.robustness import WeightSetInvalid, plan, weight_set


def _summary_fields(job: Job) -> dict[str, Any]:
    return dict(
        id=job.id, kind=job.kind, round_id=job.round_id, status=job.status,
        progress=Progress(done=job.done, total=job.total), created_at=job.created_at,
        created_by=job.created_by_name, started_at=job.started_at,
        finished_at=job.finished_at, error=job.error,
    )  # fmt: skip


def job_view(session: Session, job: Job) -> JobRead:
    return JobRead(
        **_summary_fields(job),
        workers=repository.workers(session, job_id=job.id),
        result=job.result,
    )


def job_list(jobs: list[Job], total: int, *, limit: int, offset: int) -> JobList:
    items = [JobSummary(**_summary_fields(j)) for j in jobs]
    return JobList(items=items, total=total, limit=limit, offset=offset)


def get_job(session: Session, *, principal: Principal, job_id: int) -> Job:
    job = repository.get_job(session, job_id=job_id)
    if job is None or not principal.in_system(job.system_id):
        raise NotFound(f"No job with id {job_id}.")
    return job


def list_jobs(
    session: Session, *, principal: Principal, round_id: int | None, limit: int, offset: int
) -> tuple[list[Job], int]:
    if round_id is not None:
        round_ = rounds.repository.get_round(session, round_id=round_id)
        if round_ is None or not principal.in_system(round_.system_id):
            raise NotFound(f"No round with id {round_id}.")
    return repository.list_jobs(
        session, system_ids=principal.system_ids, round_id=round_id, limit=limit, offset=offset
    )


def latest_job(
    session: Session, *, principal: Principal, round_id: int, kind: str, status: str | None = None
) -> Job | None:
    """The most recent job of `kind` of a round the caller may read (404 otherwise)."""
    round_ = rounds.repository.get_round(session, round_id=round_id)
    if round_ is None or not principal.in_system(round_.system_id):
        raise NotFound(f"No round with id {round_id}.")
    return repository.latest_job(session, round_id=round_id, kind=kind, status=status)


def cancel_job(session: Session, *, principal: Principal, job_id: int) -> Job:
    """Cancel a queued or running job: parts not yet started are skipped, and the outcome of
    any part still solving is discarded."""
    job = get_job(session, principal=principal, job_id=job_id)
    principal.require_role("ics_finance")
    job = repository.lock_job(session, job_id=job_id)
    if job.status in FINISHED:
        raise Conflict(f"Job {job.id} has already {job.status}; it cannot be cancelled.")
    before = {"status": job.status, "done": job.done, "total": job.total}
    job.status, job.error = "cancelled", f"cancelled by {principal.name}"
    from api.db import utcnow

    job.finished_at = utcnow()
    session.flush()
    audit.record(session, actor=principal.user, action="cancel", entity="job", entity_id=job.id,
                 system_id=job.system_id, before=before, after={"status": "cancelled"})  # fmt: skip
    return job


def _prepare(session: Session, principal: Principal, round_id: int, body) -> tuple:
    # Scope first, so a round outside the caller's systems is 404 like a missing one.
    round_ = rounds.repository.get_round(session, round_id=round_id)
    if round_ is None or not principal.in_system(round_.system_id):
        raise NotFound(f"No round with id {round_id}.")
    prepared = rounds.prepare_run(session, principal=principal, round_id=round_id, body=body)
    return round_, prepared


def _create(
    session: Session,
    *,
    principal: Principal,
    round_,
    kind: str,
    payload: dict[str, Any],
    inputs: list[dict[str, Any]],
) -> Job:
    job = Job(
        kind=kind, round_id=round_.id, system_id=round_.system_id, status="queued", done=0,
        total=len(inputs), payload=payload, created_by_id=principal.user.id,
        created_by_name=principal.name,
    )  # fmt: skip
    job.parts = [
        JobPart(index=i, status="queued", input=x, attempts=0) for i, x in enumerate(inputs)
    ]
    session.add(job)
    session.flush()
    audit.record(session, actor=principal.user, action="create", entity="job", entity_id=job.id,
                 system_id=round_.system_id,
                 after={"kind": kind, "round_id": round_.id, "parts": len(inputs),
                        "options": payload["options"]})  # fmt: skip
    return job


def _solver_options(body) -> dict[str, Any]:
    return {
        "solver": getattr(body, "solver", "highs"),
        "mip_gap": body.mip_gap,
        "time_limit_s": body.time_limit_s,
    }


def create_frontier_job(
    session: Session, *, principal: Principal, round_id: int, body: FrontierRequest
) -> Job:
    round_, prepared = _prepare(session, principal, round_id, body)
    multipliers = body.multipliers
    if body.points is not None:
        if body.low >= body.high:
            raise InvalidInput(
                "The frontier's range is empty.",
                errors=[field_error("body.low", f"must be below high ({body.high:g})")],
            )
        step = (body.high - body.low) / (body.points - 1)
        multipliers = [round(body.low + i * step, 10) for i in range(body.points)]
    multipliers = sorted(set(multipliers))
    payload = {
        "snapshot": prepared.snapshot,
        "options": {**_solver_options(body), "multipliers": multipliers},
    }
    inputs = [{"multiplier": m} for m in multipliers]
    return _create(
        session, principal=principal, round_=round_, kind="frontier", payload=payload, inputs=inputs
    )


def create_study_job(
    session: Session, *, principal: Principal, round_id: int, body: RobustnessRequest
) -> Job:
    round_, prepared = _prepare(session, principal, round_id, body)
    request = {
        "rank_order": list(body.rank_order),
        "bounds": {c: b.model_dump() for c, b in body.bounds.items()},
        "samples": body.samples,
        "seed": body.seed,
    }
    try:
        weights = weight_set(
            rank_order=request["rank_order"], bounds=request["bounds"], prefix="body"
        )
    except WeightSetInvalid as exc:
        raise InvalidInput(
            "The weights the panel agreed are not consistent.",
            errors=[field_error(e["path"], e["message"]) for e in exc.errors],
        ) from None
    parts = plan(weights, samples=body.samples, seed=body.seed)
    payload = {"snapshot": prepared.snapshot, "study": request, "options": _solver_options(body)}
    return _create(session, principal=principal, round_=round_, kind="robustness", payload=payload,
                   inputs=[p.to_document() for p in parts])  # fmt: skip


def create_run_job(
    session: Session, *, principal: Principal, round_id: int, body: RunRequest
) -> Job:
    round_, prepared = _prepare(session, principal, round_id, body)
    payload = {
        "snapshot": prepared.snapshot,
        "options": prepared.options,
        "prepared": {
            "round_id": prepared.round_id,
            "excluded": prepared.excluded,
            "scheme_versions": prepared.scheme_versions,
            "assemble_seconds": prepared.assemble_seconds,
        },
    }
    return _create(
        session, principal=principal, round_=round_, kind="run", payload=payload, inputs=[{}]
    )


def mark_unqueued(session: Session, *, job_id: int, reason: str) -> None:
    job = repository.lock_job(session, job_id=job_id)
    if job is not None and job.status not in FINISHED:
        from api.db import utcnow

        job.status, job.error, job.finished_at = (
            "failed",
            f"could not be queued: {reason}",
            utcnow(),
        )
