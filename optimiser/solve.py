"""Solve a snapshot: the optimal portfolio, why each scheme is in or out, and what each rule costs."""

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from optimiser.conflicts import diagnose
from optimiser.errors import SolverFailed
from optimiser.explain import funded_reason, reserve_reason, value_ranks
from optimiser.greedy import greedy
from optimiser.model import Rules, build, chosen_options
from optimiser.portfolio import Totals, totals, violations
from optimiser.portfolio import objective as portfolio_objective
from optimiser.problem import Option, Problem, prepare
from optimiser.result import (
    CategoryResult,
    Greedy,
    OrganisationResult,
    PriceOfRules,
    Result,
    SchemeResult,
    Solver,
    YearResult,
)
from optimiser.snapshot import Snapshot, parse_snapshot
from optimiser.solver import SolverName, run


@dataclass(frozen=True)
class SolveOptions:
    solver: SolverName = "highs"
    mip_gap: float = 1e-4
    time_limit_s: float | None = 60.0
    # Reasons need nothing extra; the price of rules and the greedy baseline need re-solves,
    # which a frontier of many points can do without.
    price_rules: bool = True
    baseline: bool = True


@dataclass
class Optimum:
    status: str
    chosen: dict[str, Option]
    objective: float | None
    bound: float | None
    gap: float | None
    solver: str
    version: str
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def has_portfolio(self) -> bool:
        return self.status in ("optimal", "feasible")


def optimise(problem: Problem, rules: Rules, options: SolveOptions) -> Optimum:
    """Build and solve the model once; the objective is recomputed exactly from the portfolio."""
    started = time.perf_counter()
    model = build(problem, rules)
    timings = {"build": time.perf_counter() - started}
    outcome = run(
        model, solver=options.solver, mip_gap=options.mip_gap, time_limit_s=options.time_limit_s
    )
    timings.update(outcome.timings)
    has_portfolio = outcome.status in ("optimal", "feasible")
    if has_portfolio and violations(problem, chosen_options(problem, model), rules):
        # The solver's default tolerances let a limit slip by pennies: solve again, tightly.
        outcome = run(model, solver=options.solver, mip_gap=options.mip_gap,
                      time_limit_s=options.time_limit_s, tight=True)  # fmt: skip
        timings["solve"] += outcome.timings["solve"]
        has_portfolio = outcome.status in ("optimal", "feasible")
        broken = violations(problem, chosen_options(problem, model), rules) if has_portfolio else []
        if broken:
            raise SolverFailed(f"the solver's portfolio breaks a rule: {'; '.join(broken)}")
    if not has_portfolio:
        return Optimum(outcome.status, {}, None, None, None, outcome.name, outcome.version, timings)
    chosen = chosen_options(problem, model)
    objective = portfolio_objective(problem, chosen, rules)
    bound = max(outcome.bound, objective) if outcome.bound is not None else None
    # CBC reports no gap (None); its status still says whether the target gap was met.
    return Optimum(
        outcome.status,
        chosen,
        objective,
        bound,
        outcome.gap,
        outcome.name,
        outcome.version,
        timings,
    )


def solve(snapshot: Snapshot | dict[str, Any], options: SolveOptions = SolveOptions()) -> Result:
    """Solve a snapshot (a validated Snapshot or its JSON document) and explain the answer."""
    if not isinstance(snapshot, Snapshot):
        snapshot = parse_snapshot(snapshot)
    return solve_problem(prepare(snapshot), options)


def _solve_all(problem: Problem, options: SolveOptions) -> tuple[Optimum, dict[str, Optimum]]:
    """The round with every rule, and (to price them) without each optional rule family.

    The solves are independent, so they run side by side: HiGHS releases the GIL, and each
    solve is single-threaded with a fixed seed, so the answers do not depend on the overlap.
    """
    snapshot = problem.snapshot
    relaxations = {}
    if options.price_rules and snapshot.fair_share_mode != "off":
        relaxations["fair_shares"] = Rules(fair_shares=False, category_limits=True)
    if options.price_rules and any(
        limit.min is not None or limit.max is not None
        for limit in snapshot.category_limits.values()
    ):
        relaxations["category_limits"] = Rules(fair_shares=True, category_limits=False)
    if not relaxations:
        return optimise(problem, Rules(), options), {}
    workers = min(1 + len(relaxations), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        main = pool.submit(optimise, problem, Rules(), options)
        relaxed = {
            name: pool.submit(optimise, problem, rules, options)
            for name, rules in relaxations.items()
        }
        return main.result(), {name: future.result() for name, future in relaxed.items()}


def solve_problem(problem: Problem, options: SolveOptions) -> Result:
    main, relaxed = _solve_all(problem, options)
    conflicts: list[str] = []
    if main.status == "infeasible":
        conflicts = diagnose(problem, solver=options.solver, time_limit_s=options.time_limit_s)
    price = PriceOfRules(fair_shares=None, category_limits=None)
    if main.has_portfolio and options.price_rules:
        price = _price_of_rules(main, relaxed)
    baseline = None
    if options.baseline:
        outcome = greedy(problem)
        baseline = Greedy(
            objective=outcome.objective,
            funded=len(outcome.chosen),
            spend=sum(totals(problem, outcome.chosen).by_year, Decimal(0)),
            rules_met=outcome.rules_met,
        )
    portfolio = totals(problem, main.chosen)
    return Result(
        status=main.status,
        objective=_round(main.objective),
        bound=_round(main.bound),
        gap=main.gap,
        solve_seconds=round(main.timings.get("solve", 0.0), 4),
        build_seconds=round(main.timings["build"] + main.timings.get("transfer", 0.0), 4),
        solver=Solver(
            name=main.solver,
            version=main.version,
            mip_gap=options.mip_gap,
            time_limit_s=options.time_limit_s,
        ),
        schemes=_scheme_results(problem, main, portfolio),
        by_year=_by_year(problem, portfolio),
        by_organisation=_by_organisation(problem, portfolio),
        by_category=_by_category(problem, portfolio),
        price_of_rules=price,
        greedy=baseline,
        conflicts=conflicts,
    )


def _price_of_rules(main: Optimum, relaxed: dict[str, Optimum]) -> PriceOfRules:
    """Value given up by each rule family: the objective without it, less the objective with it.
    A family the round does not use costs nothing."""

    def price(name: str) -> float | None:
        if name not in relaxed:
            return 0.0
        if not relaxed[name].has_portfolio:
            return None
        # Both sides are solved to the same gap; a tiny negative difference is solver tolerance.
        return max(relaxed[name].objective - main.objective, 0.0)

    def ids(chosen) -> list[str]:
        return sorted(chosen, key=lambda i: (len(i), i))

    with_portfolio = {n: o for n, o in relaxed.items() if o.has_portfolio}
    return PriceOfRules(
        fair_shares=price("fair_shares"),
        category_limits=price("category_limits"),
        displaced={n: ids(set(o.chosen) - set(main.chosen)) for n, o in with_portfolio.items()},
        brought_in={n: ids(set(main.chosen) - set(o.chosen)) for n, o in with_portfolio.items()},
    )


def _scheme_results(problem: Problem, main: Optimum, current: Totals) -> list[SchemeResult]:
    chosen = main.chosen
    ranks = value_ranks(problem)
    reserve_order = sorted((e.id for e in problem.eligible if e.id not in chosen), key=ranks.get)
    reserve_rank = {scheme_id: rank for rank, scheme_id in enumerate(reserve_order, start=1)}
    results = []
    for entry in problem.entries:
        common = {"id": entry.id, "score": round(entry.score, 6)}
        if not entry.eligible:
            results.append(
                SchemeResult(
                    **common, outcome="not_funded", value=0.0, reason=entry.ineligible_reason
                )
            )
        elif not main.has_portfolio:
            reason = (
                "no portfolio: the round's rules conflict (see conflicts)"
                if main.status == "infeasible"
                else "no portfolio: the solver ran out of time before finding one"
            )
            results.append(SchemeResult(**common, outcome="not_funded", value=0.0, reason=reason))
        elif entry.id in chosen:
            option = chosen[entry.id]
            results.append(
                SchemeResult(
                    **common,
                    outcome="funded",
                    start_year=problem.years[option.start],
                    deferral_years=option.deferral,
                    value=round(option.value, 6),
                    reason=funded_reason(
                        problem, chosen, current, entry, ranks[entry.id], len(ranks)
                    ),
                )
            )
        else:
            results.append(
                SchemeResult(
                    **common,
                    outcome="reserve",
                    reserve_rank=reserve_rank[entry.id],
                    value=0.0,
                    reason=reserve_reason(problem, chosen, current, entry, main.gap),
                )
            )
    return results


def _by_year(problem: Problem, portfolio: Totals) -> list[YearResult]:
    spend = portfolio.by_year
    return [
        YearResult(
            year=year,
            envelope=_penny(problem.envelope[t]),
            reserve=problem.reserve[t],
            limit=_penny(problem.limits[t]),
            spend=spend[t],
            headroom=_penny(problem.limits[t] - spend[t]),
        )
        for t, year in enumerate(problem.years)
    ]


def _by_organisation(problem: Problem, portfolio: Totals) -> list[OrganisationResult]:
    allocated = portfolio.by_organisation
    shares = problem.snapshot.fair_shares
    rows = []
    for organisation in problem.organisations:
        has_share = organisation in problem.targets
        mode = problem.snapshot.fair_share_mode
        rows.append(
            OrganisationResult(
                organisation=organisation,
                share=shares.get(organisation),
                target=_penny(problem.targets[organisation]) if has_share else None,
                floor=_penny(problem.floors[organisation]) if has_share and mode != "off" else None,
                ceiling=_penny(problem.ceilings[organisation])
                if has_share and mode in ("band", "soft")
                else None,
                allocated=allocated.get(organisation, Decimal(0)),
                demand=problem.demand.get(organisation, Decimal(0)),
            )
        )
    return rows


def _by_category(problem: Problem, portfolio: Totals) -> list[CategoryResult]:
    allocated = portfolio.by_category
    limits = problem.snapshot.category_limits
    categories = sorted({e.scheme.category for e in problem.entries} | set(limits))
    return [
        CategoryResult(
            category=category,
            min=limits[category].min if category in limits else None,
            max=limits[category].max if category in limits else None,
            allocated=allocated.get(category, Decimal(0)),
        )
        for category in categories
    ]


def _penny(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _round(value: float | None) -> float | None:
    # Values are sums of score x £ products; float noise below a millionth is not information.
    return None if value is None else round(value, 6)
