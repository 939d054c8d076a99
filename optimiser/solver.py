"""Run a built model through HiGHS (default) or CBC, and map solver statuses to ours."""

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import pulp

from optimiser.errors import SolverFailed
from optimiser.model import Model
from optimiser.quiet import solver_output_to_stderr

SolverName = Literal["highs", "cbc"]
HEURISTIC_THRESHOLD = 300  # decision variables


@dataclass
class SolverRun:
    status: Literal["optimal", "feasible", "infeasible", "time_limit"]
    name: str
    version: str
    bound: float | None  # in reported objective units
    gap: float | None
    timings: dict[str, float] = field(default_factory=dict)


def highs_available() -> bool:
    with solver_output_to_stderr():
        return pulp.HiGHS().available()


def run(
    model: Model,
    *,
    solver: SolverName,
    mip_gap: float,
    time_limit_s: float | None,
    tight: bool = False,
) -> SolverRun:
    """Solve `model` in place (variables get values) and report status, bound and gap.

    `tight` asks for 1e-9 feasibility tolerances: slower, used to re-solve when the default
    tolerances (a binary at 0.999999 on a £30m scheme hides £30) let a limit slip by pennies.
    """
    with solver_output_to_stderr():
        if solver == "highs" and highs_available():
            return _run_highs(model, mip_gap, time_limit_s, tight)
        return _run_cbc(model, mip_gap, time_limit_s)


def _run_highs(model: Model, mip_gap: float, time_limit_s: float | None, tight: bool) -> SolverRun:
    import highspy

    tolerances = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
    backend = pulp.HiGHS(
        msg=False,
        gapRel=mip_gap,
        timeLimit=time_limit_s,
        threads=1,
        random_seed=0,
        # More primal heuristics than HiGHS's default (0.05) pay off from a few hundred
        # schemes up (1,000 schemes: 13-63 s down to 7-9 s); below that they only add time
        # per node (docs/benchmarks.md).
        mip_heuristic_effort=0.3 if len(model.x) >= HEURISTIC_THRESHOLD else 0.05,
        **(tolerances if tight else {}),
    )
    started = time.perf_counter()
    try:
        model.lp.solve(backend)
    except pulp.PulpSolverError as exc:
        raise SolverFailed(f"HiGHS failed: {exc}") from exc
    wall = time.perf_counter() - started
    highs = model.lp.solverModel
    info = highs.getInfo()
    status = highs.getModelStatus()
    statuses = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == 2
    version = highs.version()
    solve_time = highs.getRunTime()
    timings = {"transfer": max(wall - solve_time, 0.0), "solve": solve_time}
    if status == statuses.kOptimal:
        ours = "optimal"
    elif status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        ours = "infeasible"
    elif has_solution:
        ours = "feasible"
    elif status == statuses.kTimeLimit:
        ours = "time_limit"
    else:
        raise SolverFailed(f"HiGHS stopped with status {highs.modelStatusToString(status)}")
    bound = gap = None
    if has_solution:
        # PuLP hands HiGHS the negated objective of a maximisation.
        bound = _finite_or_none(-info.mip_dual_bound / model.objective_scale)
        # HiGHS reports an infinite relative gap when the objective is zero (an empty round,
        # or no scheme with value): the relative gap is undefined there, so it is null.
        gap = _finite_or_none(max(info.mip_gap, 0.0))
    return SolverRun(ours, "highs", version, bound, gap, timings)


def _finite_or_none(value: float) -> float | None:
    """A solver figure as the result document holds it: finite, never -0.0, or null."""
    return value + 0.0 if math.isfinite(value) else None


def _run_cbc(model: Model, mip_gap: float, time_limit_s: float | None) -> SolverRun:
    # PuLP 3.3 marks its bundled CBC for removal in 4.0; it is our documented fallback until then.
    backend = pulp.PULP_CBC_CMD(
        msg=False, gapRel=mip_gap, timeLimit=time_limit_s, threads=1, _skip_v4_deprecation=True
    )
    started = time.perf_counter()
    try:
        model.lp.solve(backend)
    except pulp.PulpSolverError as exc:
        raise SolverFailed(f"CBC failed: {exc}") from exc
    timings = {"transfer": 0.0, "solve": time.perf_counter() - started}
    version = f"cbc bundled with PuLP {pulp.__version__}"
    if model.lp.status == pulp.LpStatusInfeasible:
        return SolverRun("infeasible", "cbc", version, None, None, timings)
    if model.lp.sol_status == pulp.LpSolutionOptimal:
        return SolverRun("optimal", "cbc", version, None, None, timings)
    if model.lp.sol_status == pulp.LpSolutionIntegerFeasible:
        return SolverRun("feasible", "cbc", version, None, None, timings)
    if model.lp.status == pulp.LpStatusNotSolved:
        return SolverRun("time_limit", "cbc", version, None, None, timings)
    raise SolverFailed(f"CBC stopped with status {pulp.LpStatus[model.lp.status]}")
