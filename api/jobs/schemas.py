from datetime import datetime
from typing import Literal

from api.paging import Page
from api.schemas_common import ResponseModel
from api.strict_json import JSONObject

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JobKind = Literal["frontier", "robustness", "run"]


class Progress(ResponseModel):
    done: int
    total: int


class JobSummary(ResponseModel):
    id: int
    kind: JobKind
    round_id: int
    status: JobStatus
    progress: Progress
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None


class JobRead(JobSummary):
    """A job; `result` is set once it has succeeded (a frontier, a study, or the run made)."""

    # The processes that solved its parts ("host:pid"): several workers share one job.
    workers: list[str]
    result: JSONObject | None


class JobList(Page[JobSummary]):
    pass
