"""Solve a snapshot: the optimal portfolio, why each scheme is in or out, and what each rule costs."""

import gc
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from optimiser import portfolio as _portfolio
from optimiser.conflicts import Diagnosis, diagnose, quick_conflicts
from optimiser.errors import SolverFailed
from optimiser.explain import funded_reason, reserve_reason, value_ranks
from optimiser.greedy import greedy
from optimiser.model import Rules, build, chosen_options
from optimiser.money import format_pounds as fmt
from optimiser.portfolio import Totals, earliest_starts, totals, violations
from optimiser.portfolio import objective as portfolio_objective
from optimiser.problem import Option, Problem, prepare
from optimiser.result import (
    CategoryResult,
    Greedy,
    OrganisationResult,
    PriceInterval,
    PriceOfRules,
    Result,
    SchemeResult,
    Solver,
    YearResult,
)
from optimiser.snapshot import Snapshot, parse_snapshot
from optimiser.solver import Progress, SolverName, run, solving_started


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


def optimise(
    problem: Problem,
    rules: Rules,
    options: SolveOptions,
    *,
    start: dict[str, Option] | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> Optimum:
    """Build and solve the model once; the objective is recomputed exactly from the portfolio.

    `start`, a portfolio known to meet `rules`, is handed to the solver as its first incumbent;
    `stop`, once set, interrupts the solve (HiGHS), which then answers as at a time limit;
    `progress` (HiGHS) follows the solve as it runs (see `so_far`).
    """
    started = time.perf_counter()
    model = build(problem, rules)
    timings = {"build": time.perf_counter() - started}
    outcome = run(
        model,
        solver=options.solver,
        mip_gap=options.mip_gap,
        time_limit_s=options.time_limit_s,
        start=_start_values(problem, model, start) if start is not None else None,
        stop=stop,
        progress=progress,
    )
    timings.update(outcome.timings)
    has_portfolio = outcome.status in ("optimal", "feasible")
    stopped = stop is not None and stop.is_set()
    if has_portfolio and violations(problem, chosen_options(problem, model), rules):
        if not stopped:
            # The solver's default tolerances let a limit slip by pennies: solve again, tightly.
            outcome = run(model, solver=options.solver, mip_gap=options.mip_gap,
                          time_limit_s=options.time_limit_s, tight=True, stop=stop)  # fmt: skip
            timings["solve"] += outcome.timings["solve"]
            stopped = stop is not None and stop.is_set()
        has_portfolio = outcome.status in ("optimal", "feasible")
        broken = violations(problem, chosen_options(problem, model), rules) if has_portfolio else []
        if broken and stopped:
            # A stopped re-solve has no time for a (further) tight solve: no sound portfolio.
            return Optimum("time_limit", {}, None, outcome.bound, None, outcome.name,
                           outcome.version, timings)  # fmt: skip
        if broken:
            raise SolverFailed(f"the solver's portfolio breaks a rule: {'; '.join(broken)}")
    if not has_portfolio:
        # A solve stopped before it found a portfolio may still know its bound.
        bound = outcome.bound if outcome.status == "time_limit" else None
        return Optimum(
            outcome.status, {}, None, bound, None, outcome.name, outcome.version, timings
        )
    chosen = earliest_starts(problem, chosen_options(problem, model))
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


def so_far(problem: Problem, rules: Rules, options: SolveOptions, progress: Progress) -> Optimum:
    """A re-solve still running when it was stopped, as far as it got: its best portfolio
    (if it meets `rules`; the objective recomputed exactly) and its proven bound. `optimal`
    when those two already meet the gap: only its return was still to come."""
    model, values, bound = progress.model, progress.solution, progress.bound
    chosen: dict[str, Option] = {}
    if model is not None and values is not None:
        chosen = chosen_options(problem, model, values)
        if violations(problem, chosen, rules):
            chosen = {}  # within the solver's tolerances only: not a sound portfolio
    if not chosen:
        return Optimum("time_limit", {}, None, bound, None, options.solver, "")
    objective = portfolio_objective(problem, chosen, rules)
    if bound is None:
        return Optimum("feasible", chosen, objective, None, None, options.solver, "")
    bound = max(bound, objective)
    gap = (bound - objective) / max(abs(bound), 1e-9)
    status = "optimal" if gap <= options.mip_gap else "feasible"
    return Optimum(status, chosen, objective, bound, gap, options.solver, "")


def _start_values(problem: Problem, model, start: dict[str, Option]) -> dict:
    """Every binary of the model set to 1 where `start` funds that option, 0 elsewhere."""
    eligible = problem.eligible
    position = {entry.id: i for i, entry in enumerate(eligible)}
    funded = {(position[scheme_id], eligible[position[scheme_id]].options.index(option))
              for scheme_id, option in start.items()}  # fmt: skip
    return {var: 1.0 if key in funded else 0.0 for key, var in model.x.items()}


def solve(snapshot: Snapshot | dict[str, Any], options: SolveOptions = SolveOptions()) -> Result:
    """Solve a snapshot (a validated Snapshot or its JSON document) and explain the answer."""
    with _collector_paused():
        if not isinstance(snapshot, Snapshot):
            snapshot = parse_snapshot(snapshot)
        return solve_problem(prepare(snapshot), options)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for one solve, and back on after it.

    Building a round's model allocates about 100,000 objects (PuLP variables, rows and their
    terms); the collector, triggered by allocations, now and then scans every live object of
    the process as it goes: 0.14 s of the 0.31 s build at 5,000 schemes, on the main solve's
    critical path (docs/decisions.md). What a solve leaves in cycles (a HiGHS object and the
    callbacks that refer to it) is collected once the collector is back on. Process-wide: a
    thread allocating beside the solve goes uncollected until then too, at most the solve's
    time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# The re-solves that price the rules get the main solve's time (they run beside it), and at
# least this long however quick the main solve was: a tiny round's prices should not be
# intervals for want of a tenth of a second, but a result wanted within 0.3 s over HTTP (the
# demo round) cannot wait longer for them. Only a busy or slow machine waits this long: on a
# quiet one the demo round's re-solves are done by 0.13 s (docs/decisions.md).
MIN_RESOLVE_SECONDS = 0.25

# A main solve that has found no portfolio this long after HiGHS started on it (nor was given
# one: greedy's broke a rule) may never find one: the round may be infeasible in a way HiGHS
# cannot prove in its time (a band no combination of schemes lands in). The diagnosis then
# runs beside it, and stops it once it proves the round infeasible. A feasible generator round
# has its first portfolio within 0.2 s at 5,000 schemes (docs/decisions.md).
DIAGNOSE_AFTER_SECONDS = 0.5


def _relaxations(problem: Problem, options: SolveOptions) -> dict[str, Rules]:
    """The optional rule families the round uses, each with the rules that leave it out."""
    snapshot = problem.snapshot
    relaxations = {}
    if options.price_rules and snapshot.fair_share_mode != "off":
        relaxations["fair_shares"] = Rules(fair_shares=False, category_limits=True)
    if options.price_rules and any(
        limit.min is not None or limit.max is not None
        for limit in snapshot.category_limits.values()
    ):
        relaxations["category_limits"] = Rules(fair_shares=True, category_limits=False)
    return relaxations


def solve_problem(problem: Problem, options: SolveOptions) -> Result:
    """Greedy first: the baseline, and the main solve's start when it meets every rule. Then
    the main solve and the re-solves that price each rule family (DESIGN.md section 4).

    With HiGHS and two or more cores the re-solves run beside the main solve (HiGHS releases
    the GIL; each solve is single-threaded with a fixed seed), each started from the greedy
    portfolio when it meets the rules that re-solve keeps, and stopped when the main solve
    ends: a re-solve that has not closed its gap by then gives its price as a proven interval.
    Otherwise (CBC, one core) they run after it, started from the main portfolio (which meets
    every rule they keep) with the main solve's time as their limit. Reasons are written while
    the re-solves finish.

    A main solve with no portfolio DIAGNOSE_AFTER_SECONDS into HiGHS gets the diagnosis beside
    it, which stops it once it proves the round infeasible; otherwise a round without a
    portfolio is diagnosed after the main solve."""
    outcome = greedy(problem)
    start = _meets(problem, outcome.chosen, Rules())
    relaxations = _relaxations(problem, options)
    beside = options.solver == "highs" and (os.cpu_count() or 1) >= 2
    stop = threading.Event()
    # Beside the main solve the re-solves share the cores it does not use (one of two), so
    # the main solve never waits for a core; once it is done, its core is theirs too.
    cores = os.cpu_count() or 1
    workers = max(1, min(len(relaxations), cores))
    free_cores = threading.Semaphore(max(1, cores - 1))
    main_portfolio: list[dict[str, Option]] = []  # once the main solve has one
    # Set once the main solve is inside HiGHS (or done): until then it is Python (building
    # the model), which a re-solve building its own would slow by sharing the interpreter.
    main_solving = threading.Event()
    started = time.perf_counter()
    progress = {name: Progress() for name in relaxations}
    # Followed (HiGHS) only when no start shows the round feasible: see DIAGNOSE_AFTER_SECONDS.
    watch = options.solver == "highs" and start is None
    main_stop, main_done, main_progress = threading.Event(), threading.Event(), Progress()
    pool = ThreadPoolExecutor(max_workers=workers + watch)
    try:
        futures = {}
        watching = None
        if watch:
            watching = pool.submit(_diagnose_if_stuck, problem, options, solving=main_solving,
                                   done=main_done, progress=main_progress, stop=main_stop)  # fmt: skip
        try:
            if beside:
                futures = {
                    name: pool.submit(_on_a_free_core, free_cores, main_solving, main_portfolio,
                                      problem, rules, options, start=outcome.chosen, stop=stop,
                                      progress=progress[name])
                    for name, rules in relaxations.items()
                }  # fmt: skip
            token = solving_started.set(main_solving)
            try:
                main = optimise(problem, Rules(), options, start=start,
                                stop=main_stop if watch else None,
                                progress=main_progress if watch else None)  # fmt: skip
            finally:
                solving_started.reset(token)
                main_solving.set()
                main_done.set()
            if main.has_portfolio:
                main_portfolio.append(main.chosen)
            free_cores.release()
            portfolio = totals(problem, main.chosen)
            schemes = _scheme_results(problem, main, portfolio)
            # Small rounds: the re-solves get at least MIN_RESOLVE_SECONDS in all.
            remaining = MIN_RESOLVE_SECONDS - (time.perf_counter() - started)
            if futures and main.has_portfolio and remaining > 0:
                wait(futures.values(), timeout=remaining)
        finally:
            stop.set()  # the re-solves beside the main solve have had its time
        budget = time.perf_counter() - started
        if beside:
            # A stopped re-solve is not waited for: HiGHS notices the stop only between its
            # sub-MIPs (up to 3 s later at 5,000 schemes), and what it has proved and found
            # by now is already in its progress (docs/decisions.md).
            relaxed = {name: future.result() if future.done()
                       else so_far(problem, relaxations[name], options, progress[name])
                       for name, future in futures.items()}  # fmt: skip
        else:
            relaxed = {}
            if main.has_portfolio:
                budget = max(main.timings.get("solve", 0.0), MIN_RESOLVE_SECONDS)
                if options.time_limit_s is not None:
                    budget = min(budget, options.time_limit_s)
                resolve_options = replace(options, time_limit_s=budget)
                futures = {
                    name: pool.submit(optimise, problem, rules, resolve_options, start=main.chosen)
                    for name, rules in relaxations.items()
                }
                relaxed = {name: future.result() for name, future in futures.items()}
    finally:
        pool.shutdown(wait=False)
    conflicts: list[str] = []
    if not main.has_portfolio:
        # The diagnosis beside the main solve, if it started (bounded: a second or two).
        found = watching.result() if watching is not None else None
        if found is None:
            found = diagnose(problem, solver=options.solver, time_limit_s=options.time_limit_s)
        if main.status == "infeasible":
            conflicts = found.conflicts
        elif main.status == "time_limit" and found.proven:
            # Stopped without a portfolio (at its limit, or by the diagnosis): the diagnosis
            # proved what the main solve could not in its time. The round is infeasible.
            main = replace(main, status="infeasible", bound=None)
            conflicts = found.conflicts
            schemes = _scheme_results(problem, main, portfolio)
    price = PriceOfRules(fair_shares=None, category_limits=None)
    if main.has_portfolio and options.price_rules:
        price = _price_of_rules(main, relaxed, budget, beside)
    baseline = None
    if options.baseline:
        baseline = Greedy(
            objective=outcome.objective,
            funded=len(outcome.chosen),
            spend=sum(totals(problem, outcome.chosen).by_year, Decimal(0)),
            rules_met=outcome.rules_met,
        )
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
        schemes=schemes,
        by_year=_by_year(problem, portfolio),
        by_organisation=_by_organisation(problem, portfolio),
        by_category=_by_category(problem, portfolio),
        price_of_rules=price,
        greedy=baseline,
        conflicts=conflicts,
    )


def _diagnose_if_stuck(
    problem: Problem,
    options: SolveOptions,
    *,
    solving: threading.Event,
    done: threading.Event,
    progress: Progress,
    stop: threading.Event,
) -> Diagnosis | None:
    """The diagnosis, if the main solve is still running without a portfolio
    DIAGNOSE_AFTER_SECONDS after HiGHS started on it; it stops the main solve once it proves
    the round infeasible. None if the main solve found a portfolio or ended first.

    The arithmetic checks run at once, beside the solve from its start: milliseconds, and a
    broken one is a proof (a band between the sums of an organisation's scheme costs)."""
    solving.wait()
    quick = quick_conflicts(problem)
    if quick:
        stop.set()
        return Diagnosis(quick, proven=True)
    if done.wait(DIAGNOSE_AFTER_SECONDS) or progress.solution is not None:
        return None
    found = diagnose(problem, solver=options.solver, time_limit_s=options.time_limit_s)
    if found.proven:
        stop.set()
    return found


def _on_a_free_core(
    free_cores: threading.Semaphore,
    main_solving: threading.Event,
    main_portfolio: list[dict[str, Option]],
    problem: Problem,
    rules: Rules,
    options: SolveOptions,
    *,
    start: dict[str, Option],
    stop: threading.Event,
    progress: Progress,
) -> Optimum:
    """A re-solve beside the main solve, once a core is free for it and the main solve is
    inside HiGHS (or done), started from greedy's portfolio `start` if it meets the rules the
    re-solve keeps (checked here, off the main solve's path). One that starts after the main
    solve starts from its portfolio instead (it meets every rule a re-solve keeps, and is
    better than greedy's)."""
    main_solving.wait()
    with free_cores:
        if stop.is_set():
            # Its time is up before it had a core: no model to build, no bound to report.
            return Optimum("time_limit", {}, None, None, None, options.solver, "")
        first = main_portfolio[0] if main_portfolio else _meets(problem, start, rules)
        return optimise(problem, rules, options, start=first, stop=stop, progress=progress)


RULE_NAMES = {"fair_shares": "fair shares", "category_limits": "the category limits"}


def _price_of_rules(
    main: Optimum, relaxed: dict[str, Optimum], budget: float, beside: bool
) -> PriceOfRules:
    """Value given up by each rule family: the objective without it, less the objective with it.
    A family the round does not use costs nothing.

    The main portfolio meets every rule a re-solve keeps, so the re-solve's optimum is at least
    the main objective. When the re-solve closes its gap the price is exact (to the same gap as
    the main solve). When it is stopped first, the price is a proven interval against the chosen
    portfolio: at least what the re-solve's best portfolio gains over it (or nothing), at most
    the re-solve's bound less the chosen portfolio's objective."""
    prices: dict[str, float | None] = {}
    intervals: dict[str, PriceInterval] = {}
    words = []
    for name in ("fair_shares", "category_limits"):
        if name not in relaxed:
            prices[name] = 0.0
            continue
        other = relaxed[name]
        if other.status == "optimal":
            # A tiny negative difference is solver tolerance.
            prices[name] = _round(max(other.objective - main.objective, 0.0))
            continue
        if other.status not in ("feasible", "time_limit"):
            prices[name] = None
            continue
        found = other.objective if other.objective is not None else main.objective
        low = _round(max(found - main.objective, 0.0))
        high = None if other.bound is None else _round(max(other.bound - main.objective, low))
        prices[name] = low
        intervals[name] = PriceInterval(low=low, high=high)
        if high is not None:
            upper = f"at most {fmt(high)}"
        elif other.solver == "cbc":
            upper = "no upper bound (CBC gives none)"
        else:
            upper = "no upper bound yet (it was stopped before it had one)"
        when = (
            f"after {budget:.2g} s, when the main solve and the reasons were done,"
            if beside
            else f"at its {budget:.2g} s limit (the main solve's time)"
        )
        words.append(
            f"the price of {RULE_NAMES[name]} is at least {fmt(low)} and {upper}: the re-solve "
            f"without them was stopped {when} before closing its gap"
        )
    note = None
    if words:
        note = "; ".join(words) + "."
        note = note[0].upper() + note[1:]

    def ids(chosen) -> list[str]:
        return sorted(chosen, key=lambda i: (len(i), i))

    with_portfolio = {n: o for n, o in relaxed.items() if o.has_portfolio}
    return PriceOfRules(
        fair_shares=prices["fair_shares"],
        category_limits=prices["category_limits"],
        exact=not intervals,
        intervals=intervals,
        note=note,
        displaced={n: ids(set(o.chosen) - set(main.chosen)) for n, o in with_portfolio.items()},
        brought_in={n: ids(set(main.chosen) - set(o.chosen)) for n, o in with_portfolio.items()},
    )


def _meets(problem: Problem, chosen: dict[str, Option], rules: Rules) -> dict[str, Option] | None:
    """`chosen` if it meets every hard rule of `rules` (a usable start), else None."""
    return None if _portfolio.violations(problem, chosen, rules) else chosen


def _blocked(problem: Problem) -> dict[str, str]:
    """Eligible schemes that depend, directly or through others, on a scheme that cannot be
    funded (the dependency constraints hold them at zero), with the reason in words."""
    blocked: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for entry in problem.eligible:
            if entry.id in blocked:
                continue
            for dependency in entry.scheme.depends_on:
                other = problem.entry(dependency)
                why = other.ineligible_reason if not other.eligible else blocked.get(dependency)
                if why is not None:
                    blocked[entry.id] = (
                        f"depends on scheme {dependency}, which cannot be funded ({why})"
                    )
                    changed = True
                    break
    return blocked


def _scheme_results(problem: Problem, main: Optimum, current: Totals) -> list[SchemeResult]:
    chosen = main.chosen
    ranks = value_ranks(problem)
    blocked = _blocked(problem)
    reserve_order = sorted(
        (e.id for e in problem.eligible if e.id not in chosen and e.id not in blocked),
        key=ranks.get,
    )
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
        elif entry.id in blocked:
            # Never on the reserve list: no amount of money could fund it in this round.
            results.append(
                SchemeResult(**common, outcome="not_funded", value=0.0, reason=blocked[entry.id])
            )
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
