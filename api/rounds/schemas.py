from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from api.paging import Page
from api.schemas_common import RequestModel, ResponseModel, optional
from api.schemes.schemas import Category
from api.types import Code, FinancialYear, Id, Line, Money, NonNegativeFinite, Percent

Criterion = Literal["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
FairShareMode = Literal["off", "floor", "band", "soft"]
ValueModel = Literal["weighted_spend", "benefit_points"]
RoundStatus = Literal["draft", "open", "closed", "agreed"]


Key = Annotated[Line, Field(min_length=1, max_length=64)]
YearAmounts = Annotated[dict[FinancialYear, Money], Field(max_length=10)]
Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Weight = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
FormulaInput = NonNegativeFinite


class CategoryLimit(RequestModel):
    """A category's spend over the round: at least `min`, at most `max` (null or omitted: none)."""

    min: Money | None = None
    max: Money | None = None


class CategoryLimitRead(ResponseModel):
    min: Money | None = None
    max: Money | None = None


class FairShareFormula(RequestModel):
    """Shares computed from per-organisation inputs: share_o = sum_k w_k * x_ok / sum_o' x_o'k."""

    weights: dict[Key, Weight] = Field(
        min_length=1, max_length=20, description="factor -> weight (0-1), summing to 1"
    )
    inputs: dict[Key, dict[Key, FormulaInput]] = Field(
        min_length=1,
        max_length=500,
        description="organisation code -> factor -> amount (e.g. depreciation), 0 to 1e12",
    )


class RoundParameters(RequestModel):
    """Every parameter of a round; all optional here (shared by update and what-if overrides).
    Omit a parameter to keep the round's value; an explicit `null` is a 422."""

    years: list[FinancialYear] = optional(min_length=1, max_length=10)
    envelope: YearAmounts = optional()
    reserve: YearAmounts = optional()
    overcommitment_pct: Percent = optional()
    weights: dict[Criterion, Weight] = optional()
    fair_shares: dict[Key, Share] = optional(max_length=500)
    fair_share_formula: FairShareFormula = optional()
    fair_share_mode: FairShareMode = optional()
    tolerance_pct: Percent = optional()
    fairness_penalty: float = optional(ge=0, le=1e6, allow_inf_nan=False)
    category_limits: dict[Category, CategoryLimit] = optional()
    min_deliverability: float = optional(ge=0, le=5, allow_inf_nan=False)
    value_model: ValueModel = optional()
    deferral_discount: float = optional(ge=0, lt=1, allow_inf_nan=False)


class RoundCreate(RoundParameters):
    system: Code
    name: Line = Field(min_length=1, max_length=200)
    years: list[FinancialYear] = Field(min_length=1, max_length=10)
    envelope: YearAmounts


class RoundUpdate(RoundParameters):
    name: Line = optional(min_length=1, max_length=200)
    status: Literal["draft", "open", "closed"] = optional()


class RunRequest(RoundParameters):
    """A run: any round parameter overridden for this run only (a what-if), and solver options."""

    label: Line = optional(max_length=200)
    solver: Literal["highs", "cbc"] = "highs"
    mip_gap: float = Field(default=1e-4, ge=0, le=1, allow_inf_nan=False)
    time_limit_s: float = Field(default=60.0, gt=0, le=600, allow_inf_nan=False)


Multiplier = Annotated[
    float, Field(gt=0, le=10, allow_inf_nan=False, description="of the envelope, above 0 up to 10")
]


class FrontierRequest(RoundParameters):
    multipliers: list[Multiplier] = Field(
        default=[0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5], min_length=1, max_length=41
    )
    mip_gap: float = Field(default=1e-3, ge=0, le=1, allow_inf_nan=False)
    time_limit_s: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)


class AgreeRequest(RequestModel):
    run_id: Id


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
    category_limits: dict[str, CategoryLimitRead]
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


class RoundPage(Page[RoundRead]):
    pass


class RunSummaryPage(Page[RunSummary]):
    pass
