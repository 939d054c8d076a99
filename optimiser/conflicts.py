"""When a round is infeasible, say which rules conflict, naming years, organisations and amounts.

In bounded time, whatever the size: first the necessary conditions that arithmetic on the
snapshot can check (mandatory spend against each year's limit, floors against the pot,
category minimums against eligible spend, a band between the sums of an organisation's scheme
costs...); only when none of them is broken, the solver:
can the mandatory schemes be scheduled at all, and then an elastic model -- the round with a
slack on every fair-share and category row, breaking them by as few pounds as possible --
whose answer names the rules that must give way and by how much. Relaxing those rules by
those amounts makes the round feasible (the elastic solution is such a portfolio), so every
conflict named is a true reason. The elastic model is a MIP, not HiGHS's IIS: an IIS is of
the LP relaxation, which is feasible when the conflict is the lumpiness of scheme sizes (a
band no combination of schemes can land in), the commonest conflict of a fair-share round.
"""

import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, Decimal

import pulp

from optimiser.model import Model, Rules, build
from optimiser.money import format_apart as apart
from optimiser.money import format_pounds as fmt
from optimiser.problem import Problem, SchemeEntry
from optimiser.solver import run

# Seconds for each solver step of a diagnosis (the mandatory schedule, the elastic model), and
# for all the per-organisation checks that make the elastic answer's wording more specific.
STEP_SECONDS = 0.4
REFINE_SECONDS = 0.5


@dataclass(frozen=True)
class Relaxation:
    """A rule that must give way for the round to be feasible, and by how much (in £)."""

    rule: str  # floor | ceiling | category_min | category_max
    subject: str  # the organisation or category
    amount: Decimal  # the shortfall (floor, minimum) or excess (ceiling, maximum), rounded up


@dataclass(frozen=True)
class Diagnosis:
    """Why a round has no portfolio: its conflicts, most specific first (never none), and
    whether these steps prove it infeasible on their own -- a broken necessary condition,
    mandatory schemes that cannot be scheduled, an organisation that cannot meet its own
    rules, or an elastic model whose proven bound says every portfolio breaks the optional
    rules by at least 50p. Without that proof the conflicts explain a round the main solve
    proved infeasible, and say nothing of one it merely ran out of time on."""

    conflicts: list[str]
    proven: bool


def diagnose(problem: Problem, *, solver: str, time_limit_s: float | None) -> Diagnosis:
    """The steps of a diagnosis, in order, each only when the ones before found nothing.

    Asked of a round the main solve proved infeasible, and of one it has found no portfolio
    for in its time, or in its first half second (solve.py): HiGHS may not prove in minutes
    what the elastic model proves in a second (a band no combination of an organisation's
    schemes lands in, at 2,000 schemes)."""
    conflicts = quick_conflicts(problem)
    if conflicts:
        return Diagnosis(conflicts, proven=True)
    budget = STEP_SECONDS if time_limit_s is None else min(STEP_SECONDS, time_limit_s)
    if any(e.scheme.mandatory for e in problem.eligible):
        conflicts = _mandatory_schedule_conflict(problem, solver=solver, time_limit_s=budget)
        if conflicts:
            return Diagnosis(conflicts, proven=True)
    found, proven = _elastic(problem, solver=solver, time_limit_s=budget)
    if not found:
        return Diagnosis(_generic_conflict(problem), proven=False)
    conflicts, own = _describe_relaxations(problem, found, solver=solver)
    return Diagnosis(conflicts, proven=proven or own > 0)


def quick_conflicts(problem: Problem) -> list[str]:
    """The necessary conditions arithmetic on the snapshot can check, each broken one a proof
    that the round is infeasible: mandatory spend against each year's limit, category limits
    against eligible and mandatory spend, floors against the pot, bands against mandatory spend
    and against the sums of an organisation's scheme costs. Milliseconds at 5,000 schemes."""
    return (
        _mandatory_conflicts(problem)
        + _category_conflicts(problem)
        + _fair_share_conflicts(problem)
    )


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


def _mandatory_conflicts(problem: Problem) -> list[str]:
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
            need, allowed = apart(least, problem.limits[t])
            conflicts.append(
                f"{who} need at least {need} in {year}{_split(needs)} but the envelope "
                f"after reserve is {allowed}"
            )
    total = sum((e.cost for e in mandatory), Decimal(0))
    limit = sum(problem.limits, Decimal(0))
    if total > limit and not conflicts:
        costs = [(e, e.cost) for e in mandatory]
        need, allowed = apart(total, limit)
        conflicts.append(
            f"{_who(mandatory)} need {need} over the horizon{_split(costs)} but the "
            f"envelopes after reserve allow {allowed}"
        )
    return conflicts


def _mandatory_schedule_conflict(
    problem: Problem, *, solver: str, time_limit_s: float | None = 30
) -> list[str]:
    """Mandatory (and committed) schemes fit each year on their own but cannot be scheduled
    together."""
    model = build(problem, Rules(fair_shares=False, category_limits=False))
    for (i, _d), var in model.x.items():
        if not problem.eligible[i].scheme.mandatory:
            var.upBound = 0
    outcome = run(model, solver=solver, mip_gap=1e-4, time_limit_s=time_limit_s)
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
            minimum, usable = apart(limit.min, available)
            conflicts.append(
                f"the {category} minimum ({minimum}) exceeds what its eligible schemes "
                f"can use ({usable})"
            )
        required = [e for e in schemes if e.scheme.mandatory]
        mandatory = sum((e.cost for e in required), Decimal(0))
        if limit.max is not None and mandatory > limit.max:
            who = _who(required).replace("schemes", f"{category} schemes", 1)
            cost, maximum = apart(mandatory, limit.max)
            conflicts.append(
                f"{who} cost {cost}{_split([(e, e.cost) for e in required])}, "
                f"above the category maximum of {maximum}"
            )
    return conflicts


def _fair_share_conflicts(problem: Problem) -> list[str]:
    mode = problem.snapshot.fair_share_mode
    if mode not in ("floor", "band"):
        return []
    conflicts = []
    floors_total = sum(problem.floors.values(), Decimal(0))
    limits_total = sum(problem.limits, Decimal(0))
    if floors_total > limits_total:
        floors, allowed = apart(floors_total, limits_total)
        conflicts.append(
            f"the fair-share floors add up to {floors} but the envelopes after "
            f"reserve allow {allowed}"
        )
    if mode == "band":
        by_organisation = defaultdict(list)
        for entry in problem.eligible:
            if entry.scheme.mandatory:
                by_organisation[entry.scheme.organisation].append(entry)
        for organisation, ceiling in sorted(problem.ceilings.items()):
            required = by_organisation.get(organisation, [])
            mandatory = sum((e.cost for e in required), Decimal(0))
            if mandatory > ceiling:
                who = _who(required)
                cost, most = apart(mandatory, ceiling)
                conflicts.append(
                    f"{organisation}'s {who} cost {cost}"
                    f"{_split([(e, e.cost) for e in required])}, above its "
                    f"fair-share ceiling of {most}"
                )
        conflicts += _band_between_multiples(problem)
    # Each floor and band against what that organisation alone could be given within the yearly
    # limits is checked only for the rules the elastic model names (_describe_relaxations).
    return conflicts


def _band_between_multiples(problem: Problem) -> list[str]:
    """Bands that lie between two sums of an organisation's scheme costs, by arithmetic alone.

    Every sum of an organisation's scheme costs is a multiple of their greatest common divisor
    (in pence); a band that holds no such multiple cannot be met, whatever the envelopes. It
    finds only narrow bands (a real round's costs share a divisor of a pound or a penny), but
    those in microseconds: HiGHS did not prove a zero-width band infeasible in minutes at
    2,000 schemes, nor the diagnosis's solver steps in their time at 5,000."""
    pence: dict[str, int] = defaultdict(int)
    for entry in problem.eligible:
        organisation = entry.scheme.organisation
        pence[organisation] = math.gcd(pence[organisation], int(entry.cost * 100))
    conflicts = []
    for organisation, ceiling in sorted(problem.ceilings.items()):
        divisor, floor = pence.get(organisation, 0), problem.floors[organisation]
        if divisor == 0:
            continue  # no eligible scheme: its allocation is nothing, a case checked elsewhere
        least = (floor * 100 / divisor).to_integral_value(rounding=ROUND_CEILING) * divisor
        if least > ceiling * 100:
            conflicts.append(
                f"{organisation}'s fair-share band ({fmt(floor)} to {fmt(ceiling)}) cannot be "
                "met: no combination of its eligible schemes costs an amount inside it (each "
                f"costs a multiple of {_exact(Decimal(divisor) / 100)}, and none lies between "
                f"{_exact(floor)} and {_exact(ceiling)})"
            )
    return conflicts


def _exact(amount: Decimal) -> str:
    return f"£{amount:,.2f}".removesuffix(".00")


def _band_reachable(
    problem: Problem, organisation: str, *, solver: str, time_limit_s: float | None
) -> bool:
    """Can this organisation alone land inside its band, given scheme sizes and the envelopes?"""
    model, eligible = _organisation_model(problem, organisation)
    terms = [
        (var, float(eligible[i].cost) * model.scale)
        for (i, _d), var in model.x.items()
        if eligible[i].scheme.organisation == organisation
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
    model, eligible = _organisation_model(problem, organisation)
    terms = [
        (var, float(eligible[i].cost) * model.scale)
        for (i, _d), var in model.x.items()
        if eligible[i].scheme.organisation == organisation
    ]
    if not terms:
        return Decimal(0)
    model.lp.setObjective(pulp.LpAffineExpression(terms))
    outcome = run(model, solver=solver, mip_gap=1e-6, time_limit_s=time_limit_s)
    if outcome.status not in ("optimal", "feasible"):
        return None
    best = Decimal(0)
    for (i, _d), var in model.x.items():
        entry = eligible[i]
        if entry.scheme.organisation == organisation and (var.varValue or 0) > 0.5:
            best += entry.cost
    return best


def _organisation_model(problem: Problem, organisation: str) -> tuple[Model, list]:
    """The round without fair shares or category limits, restricted to what bears on one
    organisation's spend: its schemes, the mandatory schemes (they take envelope whatever
    happens) and what those depend on. The model is built from those schemes alone, so it is
    as small as the organisation's part of the round, whatever the round's size."""
    keep = {e.id for e in problem.eligible
            if e.scheme.organisation == organisation or e.scheme.mandatory}  # fmt: skip
    pending = list(keep)
    while pending:
        for dependency in problem.entry(pending.pop()).scheme.depends_on:
            if dependency not in keep and problem.entry(dependency).eligible:
                keep.add(dependency)
                pending.append(dependency)
    part = replace(problem, entries=[e for e in problem.entries if e.id in keep or not e.eligible])
    return build(part, Rules(fair_shares=False, category_limits=False)), part.eligible


def relaxations(
    problem: Problem, *, solver: str, time_limit_s: float | None = STEP_SECONDS
) -> list[Relaxation] | None:
    """The optional rules (fair-share floors and ceilings, category minimums and maximums)
    that must give way, and by how much, for the round to be feasible: the elastic model.

    Any portfolio the solver returns within the time limit is a proof that these relaxations
    suffice; the optimal one breaks the rules by the fewest pounds. No start: HiGHS 1.16 scores
    a start wrongly once presolve has taken out a priced slack (docs/decisions.md). None if the
    elastic model has no solution (the hard rules conflict) or the solver found none in time."""
    return _elastic(problem, solver=solver, time_limit_s=time_limit_s)[0]


def _elastic(
    problem: Problem, *, solver: str, time_limit_s: float | None
) -> tuple[list[Relaxation] | None, bool]:
    """`relaxations`, and whether the solver's bound proves the round infeasible: that no
    portfolio breaks the optional rules by less than 50p in all (the threshold below which
    a slack is the solver's tolerance). CBC reports no bound, so it never proves it here."""
    model = build(problem, Rules(elastic=True))
    if not model.slacks:
        return None, False
    outcome = run(model, solver=solver, mip_gap=1e-6, time_limit_s=time_limit_s)
    if outcome.status not in ("optimal", "feasible"):
        return None, False
    found = []
    for (rule, subject), slack in model.slacks.items():
        pounds = (slack.varValue or 0.0) / model.scale
        if pounds >= 0.5:  # below that it is the solver's feasibility tolerance
            amount = Decimal(str(pounds)).quantize(Decimal(1), rounding=ROUND_CEILING)
            found.append(Relaxation(rule, subject, amount))
    # The elastic objective is minus the slacks' total in model units, maximised; the bound is
    # reported divided by objective_scale.
    least = None if outcome.bound is None else -outcome.bound * model.objective_scale / model.scale
    return found, least is not None and least >= 0.5


def _describe_relaxations(
    problem: Problem, found: list[Relaxation], *, solver: str
) -> tuple[list[str], int]:
    """Each relaxation in the words of the checks above where they apply (what the organisation
    could be given on its own), else as what the round needs of that rule; and how many were
    an organisation's own conflict (each proves the round infeasible on its own)."""
    conflicts, own = [], 0
    required = _who([e for e in problem.eligible if e.scheme.mandatory])
    deadline = time.perf_counter() + REFINE_SECONDS
    for relaxation in found:
        subject, amount = relaxation.subject, relaxation.amount
        if relaxation.rule in ("floor", "ceiling"):
            specific = None
            if time.perf_counter() < deadline:
                specific = _organisation_conflict(problem, subject, solver=solver)
            if specific is not None:
                conflicts.append(specific)
                own += 1
            elif relaxation.rule == "floor":
                conflicts.append(
                    f"{subject}'s fair-share floor ({fmt(problem.floors[subject])}) cannot be "
                    f"met together with the envelopes, the {required} and the other "
                    f"rules: the round needs it {fmt(amount)} lower"
                )
            else:
                conflicts.append(
                    f"{subject}'s fair-share ceiling ({fmt(problem.ceilings[subject])}) cannot "
                    f"be kept together with the {required} and the other rules: the "
                    f"round needs it {fmt(amount)} higher"
                )
        else:
            limit = problem.snapshot.category_limits[subject]
            if relaxation.rule == "category_min":
                conflicts.append(
                    f"the {subject} minimum ({fmt(limit.min)}) cannot be met together with the "
                    f"envelopes and the other rules: the round needs it {fmt(amount)} lower"
                )
            else:
                conflicts.append(
                    f"the {subject} maximum ({fmt(limit.max)}) cannot be kept together with "
                    f"the {required} and the other rules: the round needs it "
                    f"{fmt(amount)} higher"
                )
    return list(dict.fromkeys(conflicts)) or _generic_conflict(problem), own


def _organisation_conflict(problem: Problem, organisation: str, *, solver: str) -> str | None:
    """The conflict in one organisation's own rules, if it has one on its own."""
    floor = problem.floors[organisation]
    mode = problem.snapshot.fair_share_mode
    if floor > 0:
        best = _most_for(problem, organisation, solver=solver, time_limit_s=STEP_SECONDS)
        if best is not None and best < floor:
            at_least, usable = apart(floor, best)
            return (
                f"{organisation}'s fair-share floor ({at_least}) exceeds what its eligible "
                f"schemes can use within the yearly envelopes ({usable})"
            )
    if mode == "band" and not _band_reachable(
        problem, organisation, solver=solver, time_limit_s=STEP_SECONDS
    ):
        return (
            f"{organisation}'s fair-share band ({fmt(floor)} to "
            f"{fmt(problem.ceilings[organisation])}) cannot be met: no combination of its "
            "eligible schemes that fits the yearly envelopes costs an amount inside it"
        )
    return None


def _generic_conflict(problem: Problem) -> list[str]:
    required = [e for e in problem.eligible if e.scheme.mandatory]
    return [
        "the fair-share rules and the category limits together cannot be met within the "
        f"envelopes after reserve with the {_who(required)} funded"
    ]
