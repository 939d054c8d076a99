"""When a round is infeasible, say which rules conflict, naming years, organisations and amounts."""

from collections import defaultdict
from decimal import Decimal

import pulp

from optimiser.model import Rules, build
from optimiser.money import format_pounds as fmt
from optimiser.problem import Problem, SchemeEntry
from optimiser.solver import run


def diagnose(problem: Problem, *, solver: str, time_limit_s: float | None) -> list[str]:
    """Human-readable conflicts, most specific first; never empty for an infeasible round."""
    conflicts = _mandatory_conflicts(problem, solver=solver)
    conflicts += _category_conflicts(problem)
    conflicts += _fair_share_conflicts(problem, solver=solver, time_limit_s=time_limit_s)
    if not conflicts:
        conflicts = _by_elimination(problem, solver=solver, time_limit_s=time_limit_s)
    return conflicts


def _who(entries) -> str:
    """Names the schemes that must be funded: those committed in an earlier agreed round are
    not called mandatory (no one marked them so)."""
    committed = any(e.scheme.committed for e in entries)
    mandatory = any(not e.scheme.committed for e in entries)
    if committed and mandatory:
        return "committed and mandatory schemes"
    return "schemes committed in earlier rounds" if committed else "mandatory schemes"


def _split(amounts: list[tuple[SchemeEntry, Decimal]]) -> str:
    """' (£x committed in earlier rounds, £y mandatory)' when both kinds contribute."""
    committed = sum((a for e, a in amounts if e.scheme.committed), Decimal(0))
    mandatory = sum((a for e, a in amounts if not e.scheme.committed), Decimal(0))
    if committed and mandatory:
        return f" ({fmt(committed)} committed in earlier rounds, {fmt(mandatory)} mandatory)"
    return ""


def _one(entry: SchemeEntry) -> str:
    kind = "committed" if entry.scheme.committed else "mandatory"
    return f"{kind} scheme {entry.id}"


def _mandatory_conflicts(problem: Problem, *, solver: str) -> list[str]:
    conflicts = []
    mandatory = [e for e in problem.eligible if e.scheme.mandatory]
    by_group = defaultdict(list)
    for entry in mandatory:
        if entry.scheme.alternative_group is not None:
            by_group[entry.scheme.alternative_group].append(entry.id)
        for dependency in entry.scheme.depends_on:
            other = problem.entry(dependency)
            if not other.eligible:
                conflicts.append(
                    f"{_one(entry)} depends on scheme {dependency}, "
                    f"which cannot be funded: {other.ineligible_reason}"
                )
    for group, ids in sorted(by_group.items()):
        if len(ids) > 1:
            conflicts.append(
                f"{_who([problem.entry(i) for i in ids])} {', '.join(ids)} are alternatives "
                f"in group '{group}': "
                "at most one of them may be funded"
            )
    # Spend each year if every mandatory scheme started at its earliest allowed year,
    # and the least it could be in that year with the deferrals they are allowed.
    for t, year in enumerate(problem.years):
        needs = [(e, min(dict(o.spend).get(t, Decimal(0)) for o in e.options)) for e in mandatory]
        least = sum((amount for _e, amount in needs), Decimal(0))
        if least > problem.limits[t]:
            who = _who([e for e, amount in needs if amount > 0])
            conflicts.append(
                f"{who} need at least {fmt(least)} in {year}{_split(needs)} but the envelope "
                f"after reserve is {fmt(problem.limits[t])}"
            )
    total = sum((e.cost for e in mandatory), Decimal(0))
    limit = sum(problem.limits, Decimal(0))
    if total > limit and not conflicts:
        costs = [(e, e.cost) for e in mandatory]
        conflicts.append(
            f"{_who(mandatory)} need {fmt(total)} over the horizon{_split(costs)} but the "
            f"envelopes after reserve allow {fmt(limit)}"
        )
    if mandatory and not conflicts:
        conflicts += _mandatory_schedule_conflict(problem, solver=solver)
    return conflicts


def _mandatory_schedule_conflict(problem: Problem, *, solver: str) -> list[str]:
    """Mandatory (and committed) schemes fit each year on their own but cannot be scheduled
    together."""
    model = build(problem, Rules(fair_shares=False, category_limits=False))
    for (i, _d), var in model.x.items():
        if not problem.eligible[i].scheme.mandatory:
            var.upBound = 0
    outcome = run(model, solver=solver, mip_gap=1e-4, time_limit_s=30)
    if outcome.status == "infeasible":
        who = _who([e for e in problem.eligible if e.scheme.mandatory])
        return [
            f"the {who} (with their dependencies) cannot all be scheduled within "
            "the yearly envelopes after reserve, whichever start years they take"
        ]
    return []


def _category_conflicts(problem: Problem) -> list[str]:
    conflicts = []
    for category, limit in sorted(problem.snapshot.category_limits.items()):
        schemes = [e for e in problem.eligible if e.scheme.category == category]
        costliest: dict[str | None, Decimal] = defaultdict(Decimal)
        available = Decimal(0)
        for entry in schemes:
            group = entry.scheme.alternative_group
            if group is None:
                available += entry.cost
            else:
                costliest[group] = max(costliest[group], entry.cost)
        available += sum(costliest.values(), Decimal(0))
        if limit.min is not None and limit.min > available:
            conflicts.append(
                f"the {category} minimum ({fmt(limit.min)}) exceeds what its eligible schemes "
                f"can use ({fmt(available)})"
            )
        required = [e for e in schemes if e.scheme.mandatory]
        mandatory = sum((e.cost for e in required), Decimal(0))
        if limit.max is not None and mandatory > limit.max:
            who = _who(required).replace("schemes", f"{category} schemes", 1)
            conflicts.append(
                f"{who} cost {fmt(mandatory)}{_split([(e, e.cost) for e in required])}, "
                f"above the category maximum of {fmt(limit.max)}"
            )
    return conflicts


def _fair_share_conflicts(
    problem: Problem, *, solver: str, time_limit_s: float | None
) -> list[str]:
    mode = problem.snapshot.fair_share_mode
    if mode not in ("floor", "band"):
        return []
    conflicts = []
    floors_total = sum(problem.floors.values(), Decimal(0))
    limits_total = sum(problem.limits, Decimal(0))
    if floors_total > limits_total:
        conflicts.append(
            f"the fair-share floors add up to {fmt(floors_total)} but the envelopes after "
            f"reserve allow {fmt(limits_total)}"
        )
    if mode == "band":
        for organisation, ceiling in sorted(problem.ceilings.items()):
            required = [
                e
                for e in problem.eligible
                if e.scheme.mandatory and e.scheme.organisation == organisation
            ]
            mandatory = sum((e.cost for e in required), Decimal(0))
            if mandatory > ceiling:
                who = _who(required)
                conflicts.append(
                    f"{organisation}'s {who} cost {fmt(mandatory)}"
                    f"{_split([(e, e.cost) for e in required])}, above its "
                    f"fair-share ceiling of {fmt(ceiling)}"
                )
    # Each floor against the most that organisation could be given within the yearly limits.
    for organisation, floor in sorted(problem.floors.items()):
        if floor <= 0:
            continue
        best = _most_for(problem, organisation, solver=solver, time_limit_s=time_limit_s)
        if best is not None and best < floor:
            conflicts.append(
                f"{organisation}'s fair-share floor ({fmt(floor)}) exceeds what its eligible "
                f"schemes can use within the yearly envelopes ({fmt(best)})"
            )
        elif mode == "band" and not _band_reachable(
            problem, organisation, solver=solver, time_limit_s=time_limit_s
        ):
            conflicts.append(
                f"{organisation}'s fair-share band ({fmt(floor)} to "
                f"{fmt(problem.ceilings[organisation])}) cannot be met: no combination of its "
                "eligible schemes that fits the yearly envelopes costs an amount inside it"
            )
    return conflicts


def _band_reachable(
    problem: Problem, organisation: str, *, solver: str, time_limit_s: float | None
) -> bool:
    """Can this organisation alone land inside its band, given scheme sizes and the envelopes?"""
    model = build(problem, Rules(fair_shares=False, category_limits=False))
    terms = [
        (var, float(problem.eligible[i].cost) * model.scale)
        for (i, _d), var in model.x.items()
        if problem.eligible[i].scheme.organisation == organisation
    ]
    allocation = pulp.LpAffineExpression(terms)
    model.lp.addConstraint(allocation >= float(problem.floors[organisation]) * model.scale)
    model.lp.addConstraint(allocation <= float(problem.ceilings[organisation]) * model.scale)
    model.lp.setObjective(pulp.LpAffineExpression(terms))
    return run(model, solver=solver, mip_gap=1e-2, time_limit_s=time_limit_s).status != "infeasible"


def _most_for(
    problem: Problem, organisation: str, *, solver: str, time_limit_s: float | None
) -> Decimal | None:
    """The largest horizon spend an organisation could get within the envelopes and hard rules."""
    model = build(problem, Rules(fair_shares=False, category_limits=False))
    terms = [
        (var, float(problem.eligible[i].cost) * model.scale)
        for (i, _d), var in model.x.items()
        if problem.eligible[i].scheme.organisation == organisation
    ]
    if not terms:
        return Decimal(0)
    model.lp.setObjective(pulp.LpAffineExpression(terms))
    outcome = run(model, solver=solver, mip_gap=1e-6, time_limit_s=time_limit_s)
    if outcome.status not in ("optimal", "feasible"):
        return None
    best = Decimal(0)
    for (i, _d), var in model.x.items():
        entry = problem.eligible[i]
        if entry.scheme.organisation == organisation and (var.varValue or 0) > 0.5:
            best += entry.cost
    return best


def _by_elimination(problem: Problem, *, solver: str, time_limit_s: float | None) -> list[str]:
    """Which optional rule families, taken away, make the round feasible."""
    required = [e for e in problem.eligible if e.scheme.mandatory]
    names = {
        Rules(fair_shares=False, category_limits=True): "the fair-share rules",
        Rules(fair_shares=True, category_limits=False): "the category limits",
    }
    for rules, name in names.items():
        model = build(problem, rules)
        if (
            run(model, solver=solver, mip_gap=1e-2, time_limit_s=time_limit_s).status
            != "infeasible"
        ):
            return [
                f"{name} cannot be met together with the envelopes, {_who(required)} and "
                "other rules; relax them or raise the envelope"
            ]
    return [
        "the fair-share rules and the category limits together cannot be met within the "
        f"envelopes after reserve with the {_who(required)} funded"
    ]
