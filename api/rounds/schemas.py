from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from api.paging import Page
from api.schemas_common import RequestModel, ResponseModel, optional
from api.schemes.schemas import Category
from api.strict_json import JSONObject
from api.types import Code, FinancialYear, Id, Line, Money, NonNegativeFinite, Percent, SignedMoney

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


BacklogRisk = Literal["high", "significant", "moderate", "low"]


class FactFactor(RequestModel):
    """A formula factor taken from stored facts: the sum of the chosen measures of `fact` in
    `year` for every organisation of the round's system (e.g. backlog at high + significant risk)."""

    fact: Literal["backlog"]
    year: FinancialYear
    risk: list[BacklogRisk] = Field(min_length=1, max_length=4)

    @field_validator("risk")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each risk at most once")
        return value


class FairShareFormula(RequestModel):
    """Shares computed from per-organisation inputs: share_o = sum_k w_k * x_ok / sum_o' x_o'k.
    Each factor comes from typed `inputs` or from stored facts (`from_facts`), not both."""

    weights: dict[Key, Weight] = Field(
        min_length=1, max_length=20, description="factor -> weight (0-1), summing to 1"
    )
    inputs: dict[Key, dict[Key, FormulaInput]] = Field(
        default_factory=dict,
        max_length=500,
        description="organisation code -> factor -> amount (e.g. depreciation), 0 to 1e12",
    )
    from_facts: dict[Key, FactFactor] | None = Field(
        default=None,
        max_length=20,
        description='factor -> {"fact": "backlog", "year": "2016/17", "risk": ["high", "significant"]}',
    )

    @model_validator(mode="after")
    def _one_source_per_factor(self) -> "FairShareFormula":
        if not self.inputs and not self.from_facts:
            raise ValueError("give inputs, from_facts or both")
        typed = {factor for values in self.inputs.values() for factor in values}
        both = sorted(typed & set(self.from_facts or {}))
        if both:
            raise ValueError(
                f"factor {', '.join(both)} comes from inputs and from_facts; choose one"
            )
        return self


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
    # `"async": true`: answer 202 with a job instead of waiting for the solver.
    async_: bool = Field(default=False, alias="async")

    model_config = ConfigDict(populate_by_name=True)


Multiplier = Annotated[
    float, Field(gt=0, le=10, allow_inf_nan=False, description="of the envelope, above 0 up to 10")
]


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
    mip_gap: float = Field(default=1e-3, ge=0, le=1, allow_inf_nan=False)
    time_limit_s: float = Field(default=30.0, gt=0, le=600, allow_inf_nan=False)


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
    fair_share_formula: JSONObject | None
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
    kind: str = "allocation"
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
    # "reallocation": a run of an agreed round re-using slippage; agreed_at once agreed.
    kind: str = "allocation"
    agreed_at: datetime | None = None
    created_at: datetime
    created_by: str
    options: JSONObject
    snapshot_sha256: str
    solver: str
    solver_version: str
    excluded: list[JSONObject]
    timings: dict[str, float]
    result: JSONObject


class FrontierRead(ResponseModel):
    round_id: int
    points: list[JSONObject]


class YearDifference(ResponseModel):
    year: str
    spend_a: Money
    spend_b: Money
    difference: SignedMoney


class OrganisationDifference(ResponseModel):
    organisation: str
    allocated_a: Money
    allocated_b: Money
    difference: SignedMoney


class SchemeDifference(ResponseModel):
    """A scheme funded in one run and not the other, or starting in a different year."""

    id: str
    title: str
    organisation: str
    cost: Money = Field(description="its spend over the round's years")
    start_year_a: str | None
    start_year_b: str | None


class RunComparison(ResponseModel):
    """Run b against run a (b minus a). Both runs have a portfolio: comparing with an
    infeasible or timed-out run is refused (409), since it funds nothing to compare."""

    run_a: int
    run_b: int
    objective_a: float
    objective_b: float
    objective_difference: float
    funded_only_in_a: list[SchemeDifference]
    funded_only_in_b: list[SchemeDifference]
    start_year_changes: list[SchemeDifference]
    spend_only_in_a: Money
    spend_only_in_b: Money
    by_year: list[YearDifference]
    by_organisation: list[OrganisationDifference]


class RoundPage(Page[RoundRead]):
    pass


class RunSummaryPage(Page[RunSummary]):
    pass
