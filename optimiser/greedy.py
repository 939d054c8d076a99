"""The baseline a finance team would do by hand: fund by score per £ down the list."""

from dataclasses import dataclass
from decimal import Decimal

from optimiser.portfolio import breaches, objective, totals
from optimiser.problem import Option, Problem


@dataclass
class GreedyOutcome:
    chosen: dict[str, Option]
    objective: float
    rules_met: bool  # floors and category minimums, which a single pass cannot aim for


def greedy(problem: Problem) -> GreedyOutcome:
    """Mandatory schemes first, then the rest by value per £ (ties by id), each at its earliest start that fits."""
    eligible = [e for e in problem.eligible if e.options]
    order = sorted(eligible, key=lambda e: (not e.scheme.mandatory, -e.value_per_pound, e.id))
    chosen: dict[str, Option] = {}
    current = totals(problem, chosen)
    for entry in order:
        fitting = next(
            (o for o in entry.options if not breaches(problem, chosen, current, entry.id, o)), None
        )
        if fitting is None and entry.scheme.mandatory:
            fitting = entry.options[0]  # mandatory regardless; rules_met will say what broke
        if fitting is not None:
            chosen[entry.id] = fitting
            current = current.moved(problem, entry.id, fitting)
    return GreedyOutcome(chosen, objective(problem, chosen), _rules_met(problem, current))


def _rules_met(problem: Problem, current) -> bool:
    if any(spend > limit for spend, limit in zip(current.by_year, problem.limits, strict=True)):
        return False
    for category, limit in problem.snapshot.category_limits.items():
        if limit.min is not None and current.by_category.get(category, Decimal(0)) < limit.min:
            return False
    if problem.snapshot.fair_share_mode in ("floor", "band"):
        for organisation, floor in problem.floors.items():
            if current.by_organisation.get(organisation, Decimal(0)) < floor:
                return False
    return True
