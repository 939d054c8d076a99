from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api.db import end_read_phase
from api.deps import CurrentUser, SessionDep
from api.errors import API_ERROR_RESPONSES, CapitalError
from api.jobs import runner, service
from api.jobs.models import Job
from api.jobs.schemas import JobList, JobRead
from api.paging import Limit, Offset
from api.rounds.schemas import FrontierRequest, RobustnessRequest

router = APIRouter(tags=["jobs"])

Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class QueueUnavailable(CapitalError):
    status, title = 503, "Service unavailable"


ACCEPTED = {
    202: {"description": "Accepted: the job is queued; poll the `Location`."},
    409: API_ERROR_RESPONSES[404] | {"description": "The round's status does not allow this"},
    503: API_ERROR_RESPONSES[404] | {"description": "The job queue is unavailable"},
}
FINISHED = {409: API_ERROR_RESPONSES[404] | {"description": "The job has already finished"}}


def accept(session: Session, job: Job, response: Response) -> JobRead:
    """Commit the job, then hand its parts to the runner (a worker must find the job when it
    takes a part), and answer 202 with where to follow it."""
    job_id = job.id
    end_read_phase(session)
    try:
        runner.submit(job_id, list(range(job.total)))
    except Exception as exc:
        service.mark_unqueued(session, job_id=job_id, reason=str(exc))
        session.commit()
        raise QueueUnavailable(f"Job {job_id} could not be queued: {exc}") from exc
    response.status_code = 202
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    return service.job_view(session, job)


@router.get("/jobs/{job_id}", operation_id="jobs_get")
def get_job(session: SessionDep, principal: CurrentUser, job_id: Id) -> JobRead:
    """A job's status, progress (`done` of `total` parts) and, once it succeeded, its result."""
    return service.job_view(session, service.get_job(session, principal=principal, job_id=job_id))


@router.get("/jobs", operation_id="jobs_list")
def list_jobs(
    session: SessionDep,
    principal: CurrentUser,
    round: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="Only this round's jobs.")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> JobList:
    """Jobs of the caller's systems, newest first."""
    jobs, total = service.list_jobs(
        session, principal=principal, round_id=round, limit=limit, offset=offset
    )
    return service.job_list(jobs, total, limit=limit, offset=offset)


@router.delete("/jobs/{job_id}", operation_id="jobs_cancel", responses=FINISHED)
def cancel_job(session: SessionDep, principal: CurrentUser, job_id: Id) -> JobRead:
    """Cancel a queued or running job (finance directors of its system)."""
    job = service.cancel_job(session, principal=principal, job_id=job_id)
    return service.job_view(session, job)


@router.post(
    "/rounds/{round_id}/frontier",
    status_code=202,
    operation_id="rounds_frontier",
    responses=ACCEPTED,
)
def round_frontier(
    session: SessionDep,
    principal: CurrentUser,
    round_id: Id,
    body: FrontierRequest,
    response: Response,
) -> JobRead:
    """The efficient frontier as a job: one part per envelope multiplier; its result holds
    every point and the chart's data."""
    job = service.create_frontier_job(session, principal=principal, round_id=round_id, body=body)
    return accept(session, job, response)


@router.post(
    "/rounds/{round_id}/robustness",
    status_code=202,
    operation_id="rounds_robustness",
    responses=ACCEPTED,
)
def round_robustness(
    session: SessionDep,
    principal: CurrentUser,
    round_id: Id,
    body: RobustnessRequest,
    response: Response,
) -> JobRead:
    """How the decision depends on the weights: a study over every weighting consistent with a
    rank order and/or bounds (its extreme points, centroid and `samples` uniform draws)."""
    job = service.create_study_job(session, principal=principal, round_id=round_id, body=body)
    return accept(session, job, response)
