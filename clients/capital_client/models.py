"""Typed views of the service's resources. Unknown fields are kept, so a newer server
does not break an older client."""

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class Resource(BaseModel):
    model_config = ConfigDict(extra="allow")


class System(Resource):
    code: str
    name: str
    organisations: list[str]


class Organisation(Resource):
    code: str
    name: str
    kind: str
    systems: list[str]


class Scores(Resource):
    strategic_fit: float | None
    safety_quality: float | None
    value_for_money: float | None
    deliverability: float | None
    assessments: int


class Scheme(Resource):
    id: int
    system: str
    organisation: str
    title: str
    description: str
    category: str
    cost_profile: dict[str, Decimal]
    total_cost: Decimal
    business_case_stage: str
    backlog_risk: str | None
    mandatory: bool
    mandatory_reason: str | None
    depends_on: list[int]
    alternative_group: str | None
    max_deferral_years: int
    status: str
    version: int
    scores: Scores


class SchemePage(Resource):
    items: list[Scheme]
    total: int
    limit: int
    offset: int


class ImportResult(Resource):
    dry_run: bool
    created: int
    updated: int = 0
    unchanged: int = 0
    ids: list[int]
    updated_ids: list[int] = []


class Assessment(Resource):
    id: int
    scheme_id: int
    assessor: str
    strategic_fit: int
    safety_quality: int
    value_for_money: int
    deliverability: int
    rationale: str


class Round(Resource):
    id: int
    system: str
    name: str
    status: str
    years: list[str]
    envelope: dict[str, Decimal]
    reserve: dict[str, Decimal]
    fair_shares: dict[str, float]
    fair_share_mode: str
    agreed_run_id: int | None
    version: int


class RunSummary(Resource):
    id: int
    round_id: int
    kind: str = "allocation"
    created_at: datetime
    created_by: str
    label: str | None
    status: str
    objective: float | None


class Run(Resource):
    id: int
    round_id: int
    kind: str = "allocation"
    created_at: datetime
    created_by: str
    options: dict[str, Any]
    snapshot_sha256: str
    solver: str
    solver_version: str
    excluded: list[dict[str, Any]]
    result: dict[str, Any]


class AuditEvent(Resource):
    id: int
    at: datetime
    actor_name: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class Delivery(Resource):
    """An approved scheme's delivery: months (plan, actual, forecast) and figures per year."""

    scheme_id: int
    version: int
    reporting_period: str | None
    next_period: str | None
    current_year: str | None
    years: list[dict[str, Any]]
    later_years: dict[str, Decimal]
    rag: str | None
    commentary: str


class DeliveryReport(Resource):
    """A system's delivery figures for one year, by organisation and in total."""

    system: str
    year: str
    reporting_period: str | None
    envelope: Decimal | None
    organisations: list[dict[str, Any]]
    total: dict[str, Any]
    headroom: Decimal | None


class JobProgress(Resource):
    done: int
    total: int


class Job(Resource):
    """Long work on the server: a frontier, a robustness study or a run asked `async`."""

    id: int
    kind: str
    round_id: int
    status: str
    progress: JobProgress
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None
    workers: list[str] = []
    result: dict[str, Any] | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")
