"""The snapshot: one self-contained problem document (DESIGN.md section 4.1), validated."""

import math
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optimiser.errors import SnapshotInvalid
from optimiser.graphs import find_cycle
from optimiser.money import Money

CRITERIA = ("strategic_fit", "safety_quality", "value_for_money", "deliverability")
CATEGORIES = ("estates_backlog", "estates_capacity", "digital", "equipment", "other")
Criterion = Literal["strategic_fit", "safety_quality", "value_for_money", "deliverability"]
Category = Literal["estates_backlog", "estates_capacity", "digital", "equipment", "other"]
FairShareMode = Literal["off", "floor", "band", "soft"]
ValueModel = Literal["weighted_spend", "benefit_points"]

_FY = re.compile(r"^([0-9]{4})/([0-9]{2})$")  # [0-9], not \d: \d matches any script's digits
SHARE_TOLERANCE = 1e-6


def is_financial_year(value: str) -> bool:
    match = _FY.match(value)
    return bool(match) and (int(match.group(1)) + 1) % 100 == int(match.group(2))


def financial_year_after(year: str, offset: int = 1) -> str:
    start = int(year[:4]) + offset
    return f"{start}/{(start + 1) % 100:02d}"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Score = Annotated[float, Field(ge=0, le=5, allow_inf_nan=False)]


class CategoryLimit(_Strict):
    min: Money | None = None
    max: Money | None = None


class SnapshotScheme(_Strict):
    id: str = Field(min_length=1, max_length=64)
    organisation: str = Field(min_length=1, max_length=64)
    category: Category
    cost_profile: dict[str, Money]
    scores: dict[Criterion, Score | None] = Field(default_factory=dict)
    mandatory: bool = False
    # Approved in an earlier agreed round: it must be funded at the start that was agreed
    # (so also `mandatory`, with `max_deferral_years` 0). `agreed_start` is that start, which
    # may lie before this snapshot's years. Both only change how the scheme is explained.
    committed: bool = False
    agreed_start: str | None = None
    depends_on: list[str] = Field(default_factory=list)
    alternative_group: str | None = None
    max_deferral_years: int = Field(default=0, ge=0, le=9)


class FairShareFormulaRecord(_Strict):
    """How `fair_shares` were computed when a factor came from stored facts (a record for the
    reader: the optimiser uses `fair_shares`). share_o = sum_k w_k * x_ok / sum_o' x_o'k."""

    weights: dict[str, float]
    from_facts: dict[str, dict[str, Any]] = Field(default_factory=dict)
    inputs: dict[str, dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]]]


class Snapshot(_Strict):
    """Everything the optimiser needs, independent of any database."""

    years: list[str] = Field(min_length=1, max_length=10)
    envelope: dict[str, Money]
    reserve: dict[str, Money] = Field(default_factory=dict)
    overcommitment_pct: float = Field(default=0, ge=0, le=100, allow_inf_nan=False)
    weights: dict[Criterion, float] = Field(default_factory=lambda: dict.fromkeys(CRITERIA, 0.25))
    min_deliverability: float = Field(default=0, ge=0, le=5, allow_inf_nan=False)
    value_model: ValueModel = "weighted_spend"
    deferral_discount: float = Field(default=0.0, ge=0, lt=1, allow_inf_nan=False)
    fair_share_mode: FairShareMode = "off"
    tolerance_pct: float = Field(default=10, ge=0, le=100, allow_inf_nan=False)
    fairness_penalty: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    fair_shares: dict[str, float] = Field(default_factory=dict)
    fair_share_formula: FairShareFormulaRecord | None = None
    category_limits: dict[Category, CategoryLimit] = Field(default_factory=dict)
    # A re-allocation (DESIGN.md section 8) is solved like a round, but its yearly limits are
    # the headroom that approved schemes' forecasts leave, and its reasons say so. Carried in
    # the snapshot so `capital optimise` explains a stored re-allocation in the same words.
    kind: Literal["allocation", "reallocation"] = "allocation"
    schemes: list[SnapshotScheme] = Field(default_factory=list)

    def to_document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _path(loc: tuple) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def parse_snapshot(document: Any) -> Snapshot:
    """Validate a snapshot document; every problem is reported with its JSON path."""
    try:
        snapshot = Snapshot.model_validate(document)
    except ValidationError as exc:
        errors = [
            {"path": _path(tuple(p for p in e["loc"] if p != "[key]")), "message": e["msg"]}
            for e in exc.errors()
        ]
        raise SnapshotInvalid(errors) from None
    errors = _rule_errors(snapshot)
    if errors:
        raise SnapshotInvalid(errors)
    return snapshot


def _rule_errors(snapshot: Snapshot) -> list[dict[str, str]]:
    """Rules that span fields: years, shares summing to 1, dependencies, cycles."""
    errors: list[dict[str, str]] = []

    def error(path: str, message: str) -> None:
        errors.append({"path": path, "message": message})

    years = snapshot.years
    for index, year in enumerate(years):
        if not is_financial_year(year):
            error(f"$.years[{index}]", f"'{year}' is not a financial year like 2026/27")
        elif (
            index
            and is_financial_year(years[index - 1])
            and year != financial_year_after(years[index - 1])
        ):
            error(
                f"$.years[{index}]",
                f"years must be consecutive: {year} follows {years[index - 1]}",
            )
    known = set(years)
    for field in ("envelope", "reserve"):
        for year in getattr(snapshot, field):
            if year not in known:
                error(f"$.{field}.{year}", f"{year} is not one of the snapshot's years")
    for year in years:
        if year not in snapshot.envelope:
            error(f"$.envelope.{year}", f"no envelope for {year}")
        elif snapshot.reserve.get(year, 0) > snapshot.envelope[year]:
            error(f"$.reserve.{year}", f"the reserve is larger than the {year} envelope")
    weight_total = sum(snapshot.weights.values())
    if any(w < 0 or not math.isfinite(w) for w in snapshot.weights.values()):
        error("$.weights", "weights must be finite and not negative")
    elif abs(weight_total - 1) > SHARE_TOLERANCE:
        error("$.weights", f"weights must sum to 1, not {weight_total:g}")
    shares = snapshot.fair_shares
    if any(s < 0 or not math.isfinite(s) for s in shares.values()):
        error("$.fair_shares", "shares must be finite and not negative")
    elif shares and abs(sum(shares.values()) - 1) > SHARE_TOLERANCE:
        error("$.fair_shares", f"shares must sum to 1, not {sum(shares.values()):g}")
    if snapshot.fair_share_mode != "off" and not shares:
        error("$.fair_shares", f"fair_share_mode '{snapshot.fair_share_mode}' needs fair_shares")
    for category, limit in snapshot.category_limits.items():
        if limit.min is not None and limit.max is not None and limit.min > limit.max:
            error(f"$.category_limits.{category}", "min is above max")

    ids = [s.id for s in snapshot.schemes]
    index_of = {}
    for index, scheme_id in enumerate(ids):
        if scheme_id in index_of:
            error(f"$.schemes[{index}].id", f"duplicate scheme id '{scheme_id}'")
        index_of.setdefault(scheme_id, index)
    for index, scheme in enumerate(snapshot.schemes):
        here = f"$.schemes[{index}]"
        for year in scheme.cost_profile:
            if year not in known:
                error(f"{here}.cost_profile.{year}", f"{year} is not one of the snapshot's years")
        if scheme.committed and not scheme.mandatory:
            error(f"{here}.mandatory", "a committed scheme must be funded: mandatory must be true")
        if scheme.committed and scheme.max_deferral_years:
            error(f"{here}.max_deferral_years", "a committed scheme's start is fixed: use 0")
        if scheme.agreed_start is not None and not scheme.committed:
            error(f"{here}.agreed_start", "only a committed scheme has an agreed start")
        elif scheme.agreed_start is not None and not is_financial_year(scheme.agreed_start):
            error(
                f"{here}.agreed_start",
                f"'{scheme.agreed_start}' is not a financial year like 2026/27",
            )
        if sum(scheme.cost_profile.values(), Decimal(0)) <= 0:
            error(f"{here}.cost_profile", "needs at least one year with a cost above zero")
        if snapshot.fair_share_mode != "off" and shares and scheme.organisation not in shares:
            error(f"{here}.organisation", f"organisation '{scheme.organisation}' has no fair share")
        for position, dependency in enumerate(scheme.depends_on):
            if dependency not in index_of:
                error(f"{here}.depends_on[{position}]", f"unknown scheme id '{dependency}'")
            elif dependency == scheme.id:
                error(f"{here}.depends_on[{position}]", "a scheme cannot depend on itself")
    if not errors:
        cycle = find_cycle({s.id: s.depends_on for s in snapshot.schemes})
        if cycle:
            first = index_of[cycle[0]]
            error(f"$.schemes[{first}].depends_on", "dependency cycle: " + " -> ".join(cycle))
    return errors
