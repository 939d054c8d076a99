"""The MILP of DESIGN.md section 4, built with PuLP.

Indices: eligible schemes i, their start options d (deferrals), years t, organisations o,
categories k. Decision x[i,d] in {0,1}: fund scheme i starting d years late.

Expressions are built from (variable, coefficient) lists rather than PuLP's operator
arithmetic, which is quadratic-ish on large sums; see docs/benchmarks.md.

Money is scaled by `scale` (so the largest yearly limit is about 1,000) to keep the solver's
absolute tolerances meaningful for both £20k and £30m schemes.
"""

from collections import defaultdict
from dataclasses import dataclass, field

import pulp

from optimiser.problem import Option, Problem, SchemeEntry


@dataclass(frozen=True)
class Rules:
    """Which optional rule families to include (turned off to price them)."""

    fair_shares: bool = True
    category_limits: bool = True
    # Diagnosis only: the fair-share and category rows get a slack each (in model units), and
    # the objective becomes "break them by as few pounds as possible" (optimiser/conflicts.py).
    elastic: bool = False


@dataclass
class Model:
    lp: pulp.LpProblem
    # (position of the entry in problem.eligible, option index) -> x[i,d]
    x: dict[tuple[int, int], pulp.LpVariable]
    scale: float  # model units per £
    objective_scale: float  # model objective units per unit of reported objective
    deviations: list[pulp.LpVariable] = field(default_factory=list)
    # elastic models: (rule, subject) -> slack, rule in floor | ceiling | category_min | category_max
    slacks: dict[tuple[str, str], pulp.LpVariable] = field(default_factory=dict)


def _expr(terms) -> pulp.LpAffineExpression:
    return pulp.LpAffineExpression(terms)


def _add(lp: pulp.LpProblem, terms, sense: int, rhs: float, name: str) -> None:
    lp.addConstraint(pulp.LpConstraint(_expr(terms), sense, name, rhs))


def _elastic(model_slacks: dict, lp: pulp.LpProblem, terms, sense: int, rule: str, subject: str):
    """The terms of an optional rule's row, with a slack that lets it break (diagnosis only):
    + slack on a >= row (a floor or minimum may fall short), - slack on a <= row."""
    slack = lp.add_variable(f"slack_{rule}_{len(model_slacks):05d}", 0)
    model_slacks[rule, subject] = slack
    return [*terms, (slack, 1.0 if sense == pulp.LpConstraintGE else -1.0)]


def build(problem: Problem, rules: Rules = Rules()) -> Model:
    """The PuLP problem for `problem`, with every constraint family named."""
    snapshot = problem.snapshot
    eligible = problem.eligible
    largest = max([float(v) for v in problem.limits] + [float(e.cost) for e in eligible] + [1.0])
    scale = 1000.0 / largest
    objective_scale = scale if snapshot.value_model == "weighted_spend" else 1.0

    lp = pulp.LpProblem("capital_allocation", pulp.LpMaximize)
    x: dict[tuple[int, int], pulp.LpVariable] = {}
    for i, entry in enumerate(eligible):
        for d, _option in enumerate(entry.options):
            x[i, d] = lp.add_variable(f"x_{i:06d}_{d}", 0, 1, cat=pulp.LpBinary)
    # Keeps the model non-empty (HiGHS refuses an empty one) when nothing is eligible.
    anchor = lp.add_variable("anchor", 0, 0)

    objective = [(anchor, 0.0)]
    for (i, d), var in x.items():
        objective.append((var, eligible[i].options[d].value * objective_scale))

    # one_start[i]: sum_d x[i,d] <= 1 -- at most one start per scheme;
    # = 1 for mandatory schemes, which must be funded.
    for i, entry in enumerate(eligible):
        terms = [(x[i, d], 1.0) for d in range(len(entry.options))] + [(anchor, 0.0)]
        sense = pulp.LpConstraintEQ if entry.scheme.mandatory else pulp.LpConstraintLE
        _add(lp, terms, sense, 1.0, f"one_start_{i}")

    # envelope[t]: sum_{i,d} spend_i(t - d) x[i,d] <= envelope_t (1 + overcommitment) - reserve_t
    spend_terms: dict[int, list] = defaultdict(list)
    for (i, d), var in x.items():
        for t, amount in eligible[i].options[d].spend:
            spend_terms[t].append((var, float(amount) * scale))
    for t, limit in enumerate(problem.limits):
        _add(lp, [(anchor, 0.0), *spend_terms[t]], pulp.LpConstraintLE, float(limit) * scale,
             f"envelope_{t}")  # fmt: skip

    # dependency[i,j,d]: x[i,d] <= sum of x[j,d'] over starts d' of j no later than i's start d.
    # This says both "i only if j" and "j starts no later than i"; an ineligible j forbids i.
    position = {entry.id: i for i, entry in enumerate(eligible)}
    for i, entry in enumerate(eligible):
        for dependency in entry.scheme.depends_on:
            j = position.get(dependency)
            for d, option in enumerate(entry.options):
                terms = [(x[i, d], 1.0)]
                if j is not None:
                    terms += [
                        (x[j, dj], -1.0)
                        for dj, other in enumerate(eligible[j].options)
                        if other.start <= option.start
                    ]
                _add(lp, terms, pulp.LpConstraintLE, 0.0, f"dependency_{i}_{j}_{d}")

    # alternative[g]: sum over schemes i in group g, starts d of x[i,d] <= 1
    groups: dict[str, list] = defaultdict(list)
    for (i, _d), var in x.items():
        group = eligible[i].scheme.alternative_group
        if group is not None:
            groups[group].append((var, 1.0))
    for number, group in enumerate(sorted(groups)):
        _add(lp, groups[group], pulp.LpConstraintLE, 1.0, f"alternative_{number}")

    slacks: dict[tuple[str, str], pulp.LpVariable] = {}

    # category_min[k], category_max[k]: min_k <= sum_{i in k, d} cost_i x[i,d] <= max_k
    if rules.category_limits:
        for category, limit in sorted(problem.snapshot.category_limits.items()):
            terms = [(anchor, 0.0)] + [
                (var, float(eligible[i].cost) * scale)
                for (i, d), var in x.items()
                if eligible[i].scheme.category == category
            ]
            if limit.min is not None:
                _add(
                    lp,
                    _elastic(slacks, lp, terms, pulp.LpConstraintGE, "category_min", category)
                    if rules.elastic
                    else terms,
                    pulp.LpConstraintGE,
                    float(limit.min) * scale,
                    f"category_min_{category}",
                )
            if limit.max is not None:
                _add(
                    lp,
                    _elastic(slacks, lp, terms, pulp.LpConstraintLE, "category_max", category)
                    if rules.elastic
                    else terms,
                    pulp.LpConstraintLE,
                    float(limit.max) * scale,
                    f"category_max_{category}",
                )

    # Fair shares on each organisation's horizon spend A_o = sum_{i in o, d} cost_i x[i,d]:
    #   floor: A_o >= min(share_o P (1 - tau), demand_o); band: also A_o <= share_o P (1 + tau);
    #   soft:  A_o + under_o >= floor_o and A_o - over_o <= ceiling_o, with each £ of
    #          under/over costing fairness_penalty * V-bar in the objective.
    deviations = []
    mode = snapshot.fair_share_mode
    if rules.fair_shares and mode != "off":
        allocation = _allocation_terms(eligible, x, scale)
        for number, organisation in enumerate(sorted(problem.targets)):
            terms = [(anchor, 0.0), *allocation[organisation]]
            floor = float(problem.floors[organisation]) * scale
            ceiling = float(problem.ceilings[organisation]) * scale
            ge, le = pulp.LpConstraintGE, pulp.LpConstraintLE
            if mode in ("floor", "band"):
                row = (
                    _elastic(slacks, lp, terms, ge, "floor", organisation)
                    if rules.elastic
                    else terms
                )
                _add(lp, row, ge, floor, f"fair_share_floor_{number}")
            if mode == "band":
                row = (
                    _elastic(slacks, lp, terms, le, "ceiling", organisation)
                    if rules.elastic
                    else terms
                )
                _add(lp, row, le, ceiling, f"fair_share_ceiling_{number}")
            if mode == "soft":
                under = lp.add_variable(f"under_{number:05d}", 0)
                over = lp.add_variable(f"over_{number:05d}", 0)
                deviations += [under, over]
                _add(
                    lp,
                    [*terms, (under, 1.0)],
                    pulp.LpConstraintGE,
                    floor,
                    f"fair_share_soft_floor_{number}",
                )
                _add(
                    lp,
                    [*terms, (over, -1.0)],
                    pulp.LpConstraintLE,
                    ceiling,
                    f"fair_share_soft_ceiling_{number}",
                )
                # penalty per model unit of deviation, in model objective units
                weight = problem.penalty_per_pound * objective_scale / scale
                objective += [(under, -weight), (over, -weight)]  # fmt: skip

    if rules.elastic:
        # Diagnosis: the least total shortfall and excess (model units of £) over the optional
        # rules that makes the round feasible; values of schemes play no part.
        objective = [(anchor, 0.0)] + [(slack, -1.0) for slack in slacks.values()]
    lp.setObjective(_expr(objective))
    return Model(lp=lp, x=x, scale=scale, objective_scale=objective_scale, deviations=deviations,
                 slacks=slacks)  # fmt: skip


def _allocation_terms(eligible: list[SchemeEntry], x, scale: float) -> dict[str, list]:
    allocation: dict[str, list] = defaultdict(list)
    for (i, _d), var in x.items():
        allocation[eligible[i].scheme.organisation].append((var, float(eligible[i].cost) * scale))
    return allocation


def chosen_options(problem: Problem, model: Model, values=None) -> dict[str, Option]:
    """scheme id -> the option funded (x rounded: binaries come back as 0/1 +- tol), from the
    solver's values (`var.varValue`) or from `values`, a column vector of the model indexed
    by `var.index` (a portfolio seen during a solve: optimiser/solve.py `so_far`)."""
    eligible = problem.eligible
    chosen = {}
    for (i, d), var in model.x.items():
        value = var.varValue if values is None else values[var.index]
        if (value or 0.0) > 0.5:
            chosen[eligible[i].id] = eligible[i].options[d]
    return chosen
