"""The result document (DESIGN.md section 4.1): what `capital optimise` prints and a run keeps."""

from typing import Literal

from pydantic import BaseModel

from optimiser.money import Money, SignedMoney

Status = Literal["optimal", "feasible", "infeasible", "time_limit"]
Outcome = Literal["funded", "reserve", "not_funded"]


class SchemeResult(BaseModel):
    id: str
    outcome: Outcome
    start_year: str | None = None
    deferral_years: int | None = None
    reserve_rank: int | None = None
    score: float
    value: float
    reason: str


class YearResult(BaseModel):
    year: str
    envelope: Money
    reserve: Money
    limit: SignedMoney
    spend: Money
    headroom: SignedMoney


class OrganisationResult(BaseModel):
    organisation: str
    share: float | None
    target: Money | None
    floor: Money | None
    ceiling: Money | None
    allocated: Money
    demand: Money


class CategoryResult(BaseModel):
    category: str
    min: Money | None
    max: Money | None
    allocated: Money


class PriceInterval(BaseModel):
    """A price of a rule proven to lie in [low, high] (high None: the solver gave no bound)."""

    low: float
    high: float | None


class PriceOfRules(BaseModel):
    # Exact when its re-solve closed its gap; else the low end of its interval (proven).
    fair_shares: float | None
    category_limits: float | None
    exact: bool = True  # every price above closed its gap
    intervals: dict[str, PriceInterval] = {}  # rule family -> proven interval, when not exact
    note: str | None = None  # the intervals in words


class Greedy(BaseModel):
    objective: float
    funded: int
    spend: Money
    rules_met: bool


class Solver(BaseModel):
    name: str
    version: str
    mip_gap: float
    time_limit_s: float | None


class Result(BaseModel):
    status: Status
    objective: float | None
    bound: float | None
    gap: float | None
    solve_seconds: float
    build_seconds: float
    solver: Solver
    schemes: list[SchemeResult]
    by_year: list[YearResult]
    by_organisation: list[OrganisationResult]
    by_category: list[CategoryResult]
    price_of_rules: PriceOfRules
    greedy: Greedy | None
    conflicts: list[str]

    def to_document(self) -> dict:
        return self.model_dump(mode="json")
