"""Evaluate a portfolio (scheme id -> chosen option) against the rules, exactly, in pounds."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from optimiser.model import Rules
from optimiser.problem import Option, Problem


@dataclass
class Totals:
    by_year: list[Decimal]
    by_organisation: dict[str, Decimal]
    by_category: dict[str, Decimal]

    def moved(self, problem: Problem, scheme_id: str, option: Option, sign: int = 1) -> "Totals":
        """New totals with one scheme's option added (sign 1) or taken out (sign -1)."""
        entry = problem.entry(scheme_id)
        by_year = list(self.by_year)
        for t, amount in option.spend:
            by_year[t] += sign * amount
        by_organisation, by_category = dict(self.by_organisation), dict(self.by_category)
        organisation, category = entry.scheme.organisation, entry.scheme.category
        by_organisation[organisation] = (
            by_organisation.get(organisation, Decimal(0)) + sign * entry.cost
        )
        by_category[category] = by_category.get(category, Decimal(0)) + sign * entry.cost
        return Totals(by_year, by_organisation, by_category)


@dataclass(frozen=True)
class Breach:
    """What funding one more scheme would break, and by how much (in £ where it applies)."""

    rule: str  # envelope | dependency | dependency_start | alternative | category_max | ceiling
    subject: str  # the year, scheme id, category or organisation concerned
    excess: Decimal = Decimal(0)


def totals(problem: Problem, chosen: dict[str, Option]) -> Totals:
    """Spend by year, organisation and category of a portfolio."""
    by_year = [Decimal(0)] * len(problem.years)
    by_organisation: dict[str, Decimal] = defaultdict(Decimal)
    by_category: dict[str, Decimal] = defaultdict(Decimal)
    for scheme_id, option in chosen.items():
        entry = problem.entry(scheme_id)
        for t, amount in option.spend:
            by_year[t] += amount
        by_organisation[entry.scheme.organisation] += entry.cost
        by_category[entry.scheme.category] += entry.cost
    return Totals(by_year, dict(by_organisation), dict(by_category))


def earliest_starts(problem: Problem, chosen: dict[str, Option]) -> dict[str, Option]:
    """The portfolio with each scheme brought forward to its earliest start that keeps every
    year within its limit and every scheme no earlier than what it depends on, where that
    start is worth at least as much. With no deferral discount every start is worth the same
    and the solver's pick among them is arbitrary: a scheme deferred for nothing would be
    reported, and planned, as deferred. Horizon totals by organisation and category do not
    move, so no other rule can break; the value never falls."""
    spend = totals(problem, chosen).by_year
    result = dict(chosen)
    changed = True
    while changed:  # a scheme brought forward can let what depends on it follow
        changed = False
        for entry in problem.eligible:
            current = result.get(entry.id)
            if current is None or current.deferral == 0:
                continue
            earliest = max(
                (result[d].start for d in entry.scheme.depends_on if d in result), default=0
            )
            for option in entry.options:
                if option.deferral >= current.deferral:
                    break
                if option.start < earliest or option.value < current.value:
                    continue
                moved = list(spend)
                for t, amount in current.spend:
                    moved[t] -= amount
                for t, amount in option.spend:
                    moved[t] += amount
                if all(m <= limit or m <= s for m, s, limit in zip(moved, spend, problem.limits, strict=True)):  # fmt: skip
                    spend, result[entry.id], changed = moved, option, True
                    break
    return result


def value(chosen: dict[str, Option]) -> float:
    return sum(option.value for option in chosen.values())


def fairness_deviation(problem: Problem, allocated: dict[str, Decimal]) -> Decimal:
    """£ outside the fair-share band, summed over organisations (what soft mode penalises)."""
    deviation = Decimal(0)
    for organisation in problem.targets:
        amount = allocated.get(organisation, Decimal(0))
        deviation += max(problem.floors[organisation] - amount, Decimal(0))
        deviation += max(amount - problem.ceilings[organisation], Decimal(0))
    return deviation


def objective(problem: Problem, chosen: dict[str, Option], rules: Rules = Rules()) -> float:
    """The reported objective: value of the portfolio, less soft fair-share penalties."""
    result = value(chosen)
    if rules.fair_shares and problem.snapshot.fair_share_mode == "soft":
        allocated = totals(problem, chosen).by_organisation
        result -= problem.penalty_per_pound * float(fairness_deviation(problem, allocated))
    return result


def breaches(
    problem: Problem,
    chosen: dict[str, Option],
    current: Totals,
    scheme_id: str,
    option: Option,
    rules: Rules = Rules(),
) -> list[Breach]:
    """The hard rules that adding `option` of `scheme_id` to `chosen` would break."""
    entry = problem.entry(scheme_id)
    scheme = entry.scheme
    found = []
    for t, amount in option.spend:
        excess = current.by_year[t] + amount - problem.limits[t]
        if excess > 0:
            found.append(Breach("envelope", problem.years[t], excess))
    for dependency in scheme.depends_on:
        funded = chosen.get(dependency)
        if funded is None:
            found.append(Breach("dependency", dependency))
        elif funded.start > option.start:
            found.append(Breach("dependency_start", dependency))
    if scheme.alternative_group is not None:
        for other_id in problem.alternatives(scheme.alternative_group):
            if other_id != scheme_id and other_id in chosen:
                found.append(Breach("alternative", other_id))
    limit = problem.snapshot.category_limits.get(scheme.category)
    if rules.category_limits and limit is not None and limit.max is not None:
        excess = current.by_category.get(scheme.category, Decimal(0)) + entry.cost - limit.max
        if excess > 0:
            found.append(Breach("category_max", scheme.category, excess))
    if rules.fair_shares and problem.snapshot.fair_share_mode == "band":
        ceiling = problem.ceilings.get(scheme.organisation)
        if ceiling is not None:
            excess = (
                current.by_organisation.get(scheme.organisation, Decimal(0)) + entry.cost - ceiling
            )
            if excess > 0:
                found.append(Breach("ceiling", scheme.organisation, excess))
    return found


def violations(problem: Problem, chosen: dict[str, Option], rules: Rules = Rules()) -> list[str]:
    """Every hard rule the portfolio breaks, checked exactly in pounds (empty when it is sound)."""
    found = []
    current = totals(problem, chosen)
    for t, (spend, limit) in enumerate(zip(current.by_year, problem.limits, strict=True)):
        if spend > limit:
            found.append(f"{problem.years[t]} spend {spend} exceeds {limit}")
    groups: dict[str, int] = defaultdict(int)
    for scheme_id, option in chosen.items():
        scheme = problem.entry(scheme_id).scheme
        for dependency in scheme.depends_on:
            if dependency not in chosen or chosen[dependency].start > option.start:
                found.append(f"{scheme_id} funded without {dependency} starting first")
        if scheme.alternative_group is not None:
            groups[scheme.alternative_group] += 1
    found += [f"alternative group {g} funds {n}" for g, n in groups.items() if n > 1]
    found += [
        f"mandatory {e.id} not funded"
        for e in problem.eligible
        if e.scheme.mandatory and e.id not in chosen
    ]
    if rules.category_limits:
        for category, limit in problem.snapshot.category_limits.items():
            amount = current.by_category.get(category, Decimal(0))
            if (limit.min is not None and amount < limit.min) or (
                limit.max is not None and amount > limit.max
            ):
                found.append(f"category {category} at {amount} is outside its limits")
    mode = problem.snapshot.fair_share_mode
    if rules.fair_shares and mode in ("floor", "band"):
        for organisation, floor in problem.floors.items():
            amount = current.by_organisation.get(organisation, Decimal(0))
            if amount < floor or (mode == "band" and amount > problem.ceilings[organisation]):
                found.append(f"{organisation} at {amount} is outside its fair-share bounds")
    return found
