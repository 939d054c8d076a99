"""An independent re-implementation of DESIGN.md section 4's rules, to check the optimiser.

It reads the raw snapshot document and a portfolio (scheme id -> deferral years) and shares
no code with `optimiser/`, so a bug there cannot hide itself here.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

CRITERIA = ("strategic_fit", "safety_quality", "value_for_money", "deliverability")


@dataclass
class Evaluation:
    feasible: bool
    objective: float
    violations: list[str] = field(default_factory=list)


def _d(value) -> Decimal:
    return Decimal(str(value))


def score(doc: dict, scheme: dict) -> float:
    weights = doc.get("weights") or dict.fromkeys(CRITERIA, 0.25)
    scores = scheme.get("scores", {})
    return sum(w * (scores.get(c) or 0) / 5 for c, w in weights.items())


def eligible(doc: dict, scheme: dict) -> bool:
    if scheme.get("mandatory"):
        return True
    scores = scheme.get("scores", {})
    if any(scores.get(c) is None for c in CRITERIA):
        return False
    return scores["deliverability"] >= doc.get("min_deliverability", 0)


def spend_by_year(doc: dict, scheme: dict, deferral: int) -> dict[int, Decimal] | None:
    """Year index -> amount for the profile shifted by `deferral`; None if past the horizon."""
    years = doc["years"]
    shifted = {}
    for year, amount in scheme["cost_profile"].items():
        if _d(amount) == 0:
            continue
        index = years.index(year) + deferral
        if index >= len(years):
            return None
        shifted[index] = _d(amount)
    return shifted


def value(doc: dict, scheme: dict, deferral: int) -> float:
    factor = (1 - doc.get("deferral_discount", 0.0)) ** deferral
    if doc.get("value_model", "weighted_spend") == "weighted_spend":
        cost = float(sum(_d(a) for a in scheme["cost_profile"].values()))
        return score(doc, scheme) * cost * factor
    return 100 * score(doc, scheme) * factor


def fair_share_bounds(doc: dict) -> tuple[dict, dict]:
    """Organisation -> floor and -> ceiling, per DESIGN.md (floor capped at demand)."""
    years = doc["years"]
    pot = sum(_d(doc["envelope"][y]) - _d(doc.get("reserve", {}).get(y, 0)) for y in years)
    tau = _d(doc.get("tolerance_pct", 10)) / 100
    demand: dict[str, Decimal] = defaultdict(Decimal)
    costliest: dict[tuple, Decimal] = {}
    for scheme in doc["schemes"]:
        if not eligible(doc, scheme):
            continue
        cost = sum(_d(a) for a in scheme["cost_profile"].values())
        group = scheme.get("alternative_group")
        if group is None:
            demand[scheme["organisation"]] += cost
        else:
            key = (scheme["organisation"], group)
            costliest[key] = max(costliest.get(key, Decimal(0)), cost)
    for (organisation, _g), cost in costliest.items():
        demand[organisation] += cost
    floors, ceilings = {}, {}
    for organisation, share in doc.get("fair_shares", {}).items():
        target = _d(share) * pot
        floors[organisation] = min(target * (1 - tau), demand[organisation])
        ceilings[organisation] = target * (1 + tau)
    return floors, ceilings


def evaluate(doc: dict, portfolio: dict[str, int]) -> Evaluation:
    """Is `portfolio` allowed by every rule of the snapshot, and what is its objective?"""
    problems = []
    years = doc["years"]
    schemes = {s["id"]: s for s in doc["schemes"]}
    spend = [Decimal(0)] * len(years)
    by_org: dict[str, Decimal] = defaultdict(Decimal)
    by_cat: dict[str, Decimal] = defaultdict(Decimal)
    start = {}
    total_value = 0.0
    for scheme_id, deferral in portfolio.items():
        scheme = schemes[scheme_id]
        if not eligible(doc, scheme):
            problems.append(f"{scheme_id} is not eligible")
        if not 0 <= deferral <= scheme.get("max_deferral_years", 0):
            problems.append(f"{scheme_id} deferred {deferral}")
        shifted = spend_by_year(doc, scheme, deferral)
        if shifted is None:
            problems.append(f"{scheme_id} shifted past the horizon")
            continue
        for t, amount in shifted.items():
            spend[t] += amount
        start[scheme_id] = min(shifted)
        cost = sum(_d(a) for a in scheme["cost_profile"].values())
        by_org[scheme["organisation"]] += cost
        by_cat[scheme["category"]] += cost
        total_value += value(doc, scheme, deferral)
    for t, year in enumerate(years):
        limit = _d(doc["envelope"][year]) * (1 + _d(doc.get("overcommitment_pct", 0)) / 100)
        limit -= _d(doc.get("reserve", {}).get(year, 0))
        if spend[t] > limit:
            problems.append(f"{year} spend {spend[t]} > limit {limit}")
    for scheme in doc["schemes"]:
        if scheme.get("mandatory") and scheme["id"] not in portfolio:
            problems.append(f"mandatory {scheme['id']} not funded")
        if scheme["id"] in start:
            for dependency in scheme.get("depends_on", []):
                if dependency not in start:
                    problems.append(f"{scheme['id']} funded without {dependency}")
                elif start[dependency] > start[scheme["id"]]:
                    problems.append(f"{dependency} starts after {scheme['id']}")
    groups: dict[str, int] = defaultdict(int)
    for scheme_id in portfolio:
        if schemes[scheme_id].get("alternative_group") is not None:
            groups[schemes[scheme_id]["alternative_group"]] += 1
    problems += [f"group {g} funds {n}" for g, n in groups.items() if n > 1]
    for category, limit in doc.get("category_limits", {}).items():
        if limit.get("min") is not None and by_cat[category] < _d(limit["min"]):
            problems.append(f"{category} below min")
        if limit.get("max") is not None and by_cat[category] > _d(limit["max"]):
            problems.append(f"{category} above max")
    mode = doc.get("fair_share_mode", "off")
    floors, ceilings = fair_share_bounds(doc)
    if mode in ("floor", "band"):
        problems += [f"{o} below floor" for o, f in floors.items() if by_org[o] < f]
    if mode == "band":
        problems += [f"{o} above ceiling" for o, c in ceilings.items() if by_org[o] > c]
    if mode == "soft":
        eligible_schemes = [s for s in doc["schemes"] if eligible(doc, s)]
        cost = sum(float(sum(_d(a) for a in s["cost_profile"].values())) for s in eligible_schemes)
        v_bar = sum(value(doc, s, 0) for s in eligible_schemes) / cost if cost else 0.0
        deviation = sum(
            max(floors[o] - by_org[o], Decimal(0)) + max(by_org[o] - ceilings[o], Decimal(0))
            for o in floors
        )
        total_value -= doc.get("fairness_penalty", 1.0) * v_bar * float(deviation)
    return Evaluation(not problems, total_value, problems)


def portfolio_of(result: dict) -> dict[str, int]:
    """Scheme id -> deferral for the funded schemes of a result document."""
    return {s["id"]: s["deferral_years"] for s in result["schemes"] if s["outcome"] == "funded"}


def assert_valid(doc: dict, result: dict) -> Evaluation:
    """The result's portfolio honours every rule and its objective is what it claims."""
    evaluation = evaluate(doc, portfolio_of(result))
    assert evaluation.feasible, evaluation.violations
    assert abs(evaluation.objective - result["objective"]) <= 1e-6 * max(
        1.0, abs(evaluation.objective)
    )
    years = doc["years"]
    for scheme in result["schemes"]:
        if scheme["outcome"] == "funded":
            raw = next(s for s in doc["schemes"] if s["id"] == scheme["id"])
            first = min(
                years.index(y) for y, a in raw["cost_profile"].items() if Decimal(str(a)) > 0
            )
            assert scheme["start_year"] == years[first + scheme["deferral_years"]]
    return evaluation
