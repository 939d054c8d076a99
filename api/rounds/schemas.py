from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from api.schemas_common import RequestModel, ResponseModel
from api.schemes.schemas import Category
from api.types import FinancialYear, Money

Criterion = Literal["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
FairShareMode = Literal["off", "floor", "band", "soft"]
ValueModel = Literal["weighted_spend", "benefit_points"]
RoundStatus = Literal["draft", "open", "closed", "agreed"]


class CategoryLimit(RequestModel):
    min: Money | None = None
    max: Money | None = None


class FairShareFormula(RequestModel):
    """Shares computed from per-organisation inputs: share_o = sum_k w_k * x_ok / sum_o' x_o'k."""

    weights: dict[str, float] = Field(min_length=1, description="factor -> weight, summing to 1")
    inputs: dict[str, dict[str, float]] = Field(
        min_length=1, description="organisation code -> factor -> amount (e.g. depreciation)"
    )


class RoundParameters(RequestModel):
    """Every parameter of a round; all optional here (shared by update and what-if overrides)."""

    years: list[FinancialYear] | None = Field(default=None, min_length=1, max_length=10)
    envelope: dict[FinancialYear, Money] | None = None
    reserve: dict[FinancialYear, Money] | None = None
    overcommitment_pct: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    weights: dict[Criterion, float] | None = None
    fair_shares: dict[str, float] | None = None
    fair_share_formula: FairShareFormula | None = None
    fair_share_mode: FairShareMode | None = None
    tolerance_pct: Decimal | None = Field(default=None, ge=0, le=100, decimal_places=2)
    fairness_penalty: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    category_limits: dict[Category, CategoryLimit] | None = None
    min_deliverability: float | None = Field(default=None, ge=0, le=5, allow_inf_nan=False)
    value_model: ValueModel | None = None
    deferral_discount: float | None = Field(default=None, ge=0, lt=1, allow_inf_nan=False)


class RoundCreate(RoundParameters):
    system: str
    name: str = Field(min_length=1, max_length=200)
    years: list[FinancialYear] = Field(min_length=1, max_length=10)
    envelope: dict[FinancialYear, Money]


class RoundUpdate(RoundParameters):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    status: Literal["draft", "open", "closed"] | None = None


class RunRequest(RoundParameters):
    """A run: any round parameter overridden for this run only (a what-if), and solver options."""

    label: str | None = Field(default=None, max_length=200)
    solver: Literal["highs", "cbc"] = "highs"
    mip_gap: float = Field(default=1e-4, ge=0, le=1)
    time_limit_s: float = Field(default=60.0, gt=0, le=600)
    # `"async": true`: answer 202 with a job instead of waiting for the solver.
    async_: bool = Field(default=False, alias="async")

    model_config = ConfigDict(populate_by_name=True)


Multiplier = Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)]


class FrontierRequest(RoundParameters):
    """A frontier job: the envelope scaled by each multiplier, or by `points` multipliers
    spread evenly from `low` to `high` (any number of points; each is one part of the job)."""

    multipliers: list[Multiplier] = Field(
        default=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5],
        min_length=1,
        max_length=1000,
    )
    points: int | None = Field(default=None, ge=2, le=1000)
    low: Multiplier = 0.5
    high: Multiplier = 1.5
    mip_gap: float = Field(default=1e-3, ge=0, le=1)
    time_limit_s: float = Field(default=30.0, gt=0, le=600)


class WeightBound(RequestModel):
    min: float = Field(default=0.0, ge=0, le=1, allow_inf_nan=False)
    max: float = Field(default=1.0, ge=0, le=1, allow_inf_nan=False)


class RobustnessRequest(RoundParameters):
    """A robustness study: what the panel can agree about the weights, and how many samples."""

    rank_order: list[Criterion] = Field(default_factory=list, max_length=4)
    bounds: dict[Criterion, WeightBound] = Field(default_factory=dict)
    samples: int = Field(default=100, ge=0, le=5000)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    mip_gap: float = Field(default=1e-4, ge=0, le=1)
    time_limit_s: float = Field(default=60.0, gt=0, le=600)


class AgreeRequest(RequestModel):
    run_id: int


class RoundRead(ResponseModel):
    id: int
    system: str
    name: str
    status: RoundStatus
    years: list[str]
    envelope: dict[str, Money]
    reserve: dict[str, Money]
    overcommitment_pct: float
    weights: dict[str, float]
    fair_shares: dict[str, float]
    fair_share_formula: dict[str, Any] | None
    fair_share_mode: FairShareMode
    tolerance_pct: float
    fairness_penalty: float
    category_limits: dict[str, CategoryLimit]
    min_deliverability: float
    value_model: ValueModel
    deferral_discount: float
    agreed_run_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class RunSummary(ResponseModel):
    id: int
    round_id: int
    created_at: datetime
    created_by: str
    label: str | None
    status: str
    objective: float | None
    snapshot_sha256: str
    solver: str


class RunRead(ResponseModel):
    id: int
    round_id: int
    created_at: datetime
    created_by: str
    options: dict[str, Any]
    snapshot_sha256: str
    solver: str
    solver_version: str
    excluded: list[dict[str, Any]]
    timings: dict[str, float]
    result: dict[str, Any]


class FrontierRead(ResponseModel):
    round_id: int
    points: list[dict[str, Any]]


class YearDifference(ResponseModel):
    year: str
    spend_a: Money
    spend_b: Money
    difference: float


class OrganisationDifference(ResponseModel):
    organisation: str
    allocated_a: Money
    allocated_b: Money
    difference: float


class RunComparison(ResponseModel):
    run_a: int
    run_b: int
    objective_a: float | None
    objective_b: float | None
    objective_difference: float | None
    funded_only_in_a: list[str]
    funded_only_in_b: list[str]
    start_year_changes: list[dict[str, Any]]
    by_year: list[YearDifference]
    by_organisation: list[OrganisationDifference]
