"""The result document (DESIGN.md section 4.1): what `capital optimise` prints and a run keeps."""

import math
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel

from optimiser.money import Money, SignedMoney


def _finite(value: float) -> float:
    """JSON has no NaN or Infinity, and -0.0 reads as a sign error: a number in the result
    document is finite and never negative zero, or the document is not made at all."""
    if not math.isfinite(value):
        raise ValueError(f"{value} is not a finite number; use null where a number is undefined")
    return value + 0.0  # -0.0 + 0.0 == 0.0


# Every float of the result document: strict JSON by construction (docs/decisions.md).
Number = Annotated[float, AfterValidator(_finite)]

Status = Literal["optimal", "feasible", "infeasible", "time_limit"]
Outcome = Literal["funded", "reserve", "not_funded"]


class SchemeResult(BaseModel):
    id: str
    outcome: Outcome
    start_year: str | None = None
    deferral_years: int | None = None
    reserve_rank: int | None = None
    score: Number
    value: Number
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
    share: Number | None
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
    fair_shares: Number | None
    category_limits: Number | None
    exact: bool = True  # every price above closed its gap
    intervals: dict[str, PriceInterval] = {}  # rule family -> proven interval, when not exact
    note: str | None = None  # the intervals in words
    # Per rule family, the schemes the round without that rule would fund (its re-solve's best
    # portfolio) but this portfolio does not ("displaced"), and those it funds only because of
    # the rule ("brought_in").
    displaced: dict[str, list[str]] = {}
    brought_in: dict[str, list[str]] = {}


class Greedy(BaseModel):
    objective: Number
    funded: int
    spend: Money
    rules_met: bool


class Solver(BaseModel):
    name: str
    version: str
    mip_gap: Number
    time_limit_s: Number | None


class Result(BaseModel):
    status: Status
    objective: Number | None
    bound: Number | None
    gap: Number | None
    solve_seconds: Number
    build_seconds: Number
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
