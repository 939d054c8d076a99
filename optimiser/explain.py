"""Plain-English reasons for every scheme, and the conflicts that make a round infeasible."""

from decimal import Decimal

from optimiser.money import format_pounds as fmt
from optimiser.portfolio import Breach, Totals, breaches
from optimiser.problem import Option, Problem, SchemeEntry


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def describe(problem: Problem, breach: Breach) -> str:
    """One breach as a clause a finance director can read out."""
    if breach.rule == "envelope":
        if problem.snapshot.kind == "reallocation":
            limit = f"{breach.subject} headroom left by forecasts"
        else:
            limit = f"{breach.subject} envelope"
        return f"would exceed the {limit} by {fmt(breach.excess)}"
    if breach.rule == "dependency":
        dependency = problem.entry(breach.subject)
        why = f" ({dependency.ineligible_reason})" if not dependency.eligible else ""
        return f"depends on scheme {breach.subject}, which is not funded{why}"
    if breach.rule == "dependency_start":
        return f"depends on scheme {breach.subject}, which starts later"
    if breach.rule == "alternative":
        group = problem.entry(breach.subject).scheme.alternative_group
        return f"is an alternative to funded scheme {breach.subject} (group '{group}')"
    if breach.rule == "category_max":
        limit = problem.snapshot.category_limits[breach.subject].max
        return (
            f"the {breach.subject} category maximum binds: it would go over "
            f"{fmt(limit)} by {fmt(breach.excess)}"
        )
    if breach.rule == "ceiling":
        ceiling = problem.ceilings[breach.subject]
        return (
            f"its organisation's fair-share ceiling binds: {breach.subject} would exceed "
            f"its ceiling of {fmt(ceiling)} by {fmt(breach.excess)}"
        )
    raise ValueError(breach.rule)


def funded_reason(
    problem: Problem,
    chosen: dict[str, Option],
    current: Totals,
    entry: SchemeEntry,
    rank: int,
    count: int,
) -> str:
    option = chosen[entry.id]
    start = problem.years[option.start]
    if entry.scheme.committed:
        agreed = entry.scheme.agreed_start or start
        text = f"funded: committed in an earlier round (approved, starting {agreed})"
        if agreed != start:
            text += f"; its spend in this round's years starts in {start}"
    elif entry.scheme.mandatory:
        text = f"funded from {start} as a mandatory scheme"
    else:
        text = (
            f"funded from {start}: score {entry.score:.2f}, "
            f"{_ordinal(rank)} of {count} eligible schemes by value per £"
        )
    text += "".join(f"; {why}" for why in _needed_for(problem, chosen, current, entry))
    if option.deferral:
        before = current.moved(problem, entry.id, option, sign=-1)
        # `before` is the portfolio without this scheme; `chosen` may still hold it, since
        # breaches reads `chosen` only for other schemes (its dependencies and alternatives).
        blocked = breaches(problem, chosen, before, entry.id, entry.options[0])
        delay = _plural(option.deferral, "year")
        if blocked:
            text += f"; deferred {delay} because starting on time " + "; ".join(
                describe(problem, b) for b in blocked
            )
        elif problem.snapshot.deferral_discount == 0:
            text += f"; deferred {delay}, which costs it no value (no deferral discount)"
        else:
            text += f"; deferred {delay} to make room for other schemes"
    return text


def _needed_for(
    problem: Problem, chosen: dict[str, Option], current: Totals, entry: SchemeEntry
) -> list[str]:
    """Rules the portfolio (`current`, this scheme funded) would break without this scheme:
    why a lower-ranked scheme is in."""
    scheme = entry.scheme
    needs = []
    dependents = sorted(k for k in problem.dependents(entry.id) if k in chosen)
    if dependents:
        needs.append(f"funded schemes depend on it ({', '.join(dependents)})")
    floor = problem.floors.get(scheme.organisation)
    allocated = current.by_organisation.get(scheme.organisation, Decimal(0)) - entry.cost
    mode = problem.snapshot.fair_share_mode
    if mode in ("floor", "band") and floor is not None and allocated < floor:
        needs.append(f"needed for {scheme.organisation}'s fair-share floor of {fmt(floor)}")
    elif mode == "soft" and floor is not None and allocated < floor:
        # Soft: the floor is not a rule, but each £ short of it is penalised in the value.
        needs.append(
            f"brings {scheme.organisation} towards its fair-share floor of {fmt(floor)} "
            "(a shortfall is penalised)"
        )
    limit = problem.snapshot.category_limits.get(scheme.category)
    minimum = limit.min if limit is not None else None
    without = current.by_category.get(scheme.category, Decimal(0)) - entry.cost
    if minimum is not None and without < minimum:
        needs.append(f"needed for the {scheme.category} minimum of {fmt(minimum)}")
    return needs


def reserve_reason(
    problem: Problem,
    chosen: dict[str, Option],
    current: Totals,
    entry: SchemeEntry,
    gap: float | None,
) -> str:
    attempts = [(breaches(problem, chosen, current, entry.id, o), o) for o in entry.options]
    blocked = [(b, o) for b, o in attempts if b]
    if len(blocked) == len(attempts):
        found, option = min(
            blocked, key=lambda bo: (len(bo[0]), sum(b.excess for b in bo[0]), bo[1].deferral)
        )
        text = "; ".join(describe(problem, b) for b in found)
        if len(entry.options) > 1:
            text += f" (at its best start, {problem.years[option.start]})"
        return text
    if entry.options[0].value == 0:
        return "not funded: its score is zero, so funding it adds no value"
    if problem.snapshot.fair_share_mode == "soft":
        organisation = entry.scheme.organisation
        ceiling = problem.ceilings.get(organisation)
        allocated = current.by_organisation.get(organisation, Decimal(0))
        if ceiling is not None and allocated + entry.cost > ceiling:
            over = allocated + entry.cost - max(ceiling, allocated)
            return (
                f"funding it would take {organisation} {fmt(over)} further above its fair-share "
                f"ceiling, and the fairness penalty outweighs the scheme's value"
            )
    tolerance = f" ({gap:.3%})" if gap is not None else ""
    return (
        "fits within every limit but was left out within the solver's optimality "
        f"tolerance{tolerance}; it is first in line if the round is re-run with a tighter gap"
    )


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def value_ranks(problem: Problem) -> dict[str, int]:
    """Eligible schemes ranked by value per £ (1 = best), ties by id."""
    eligible = sorted(problem.eligible, key=lambda e: (-e.value_per_pound, e.id))
    return {e.id: rank for rank, e in enumerate(eligible, start=1)}
