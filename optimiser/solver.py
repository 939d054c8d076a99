"""Run a built model through HiGHS (default) or CBC, and map solver statuses to ours."""

import atexit
import logging
import math
import threading
import time
import weakref
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pulp

from optimiser.errors import SolverFailed
from optimiser.model import Model
from optimiser.quiet import solver_output_to_stderr

SolverName = Literal["highs", "cbc"]
HEURISTIC_THRESHOLD = 300  # decision variables

logger = logging.getLogger(__name__)


def overrun_deadline(time_limit_s: float) -> float:
    """How long a HiGHS solve with this limit is waited for before it is abandoned.

    HiGHS checks its limit often but not everywhere: 1.16, on a 5,000-scheme round with a band
    no portfolio can land in, went past a 60 s limit into sub-MIPs nested five deep and was
    still in one's presolve (`strengthenInequalities`) 400 s later (docs/decisions.md). An
    answer is owed whatever the solver does: past this deadline the caller gets what the
    solve's callbacks last reported, as at a time limit, and the solve goes on alone on its
    thread until HiGHS returns."""
    return time_limit_s * 1.1 + 5.0


# Set (in the calling thread only: a context variable) to an event that a HiGHS solve sets
# once the model is handed over and the solve proper starts, holding the GIL no longer.
# `solve_problem` uses it so the re-solves beside the main solve build their models in
# Python only once the main solve no longer needs the interpreter (docs/decisions.md).
solving_started: ContextVar[threading.Event | None] = ContextVar("solving_started", default=None)


@dataclass
class SolverRun:
    status: Literal["optimal", "feasible", "infeasible", "time_limit"]
    name: str
    version: str
    bound: float | None  # in reported objective units (also without a portfolio, if known)
    gap: float | None
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Progress:
    """What a HiGHS solve has proved and found so far, kept up to date from its callbacks, so
    a caller that stops it need not wait for it to return (it notices a stop only between
    its sub-MIPs, up to 3 s later at 5,000 schemes).

    `model` is the model being solved; `bound` its best proven bound (reported objective
    units); `solution` the column values of its best portfolio (copied: HiGHS owns the buffer).
    Each is replaced whole, never changed in place, so a reader sees one consistent value.
    """

    model: Model | None = None
    bound: float | None = None
    solution: np.ndarray | None = None


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
    start: Mapping[pulp.LpVariable, float] | None = None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> SolverRun:
    """Solve `model` in place (variables get values) and report status, bound and gap.

    `tight` asks for 1e-9 feasibility tolerances: slower, used to re-solve when the default
    tolerances (a binary at 0.999999 on a £30m scheme hides £30) let a limit slip by pennies.
    `start` is a known portfolio (values for some binaries) handed to the solver as its first
    incumbent; the solver completes the other variables, and ignores a start that breaks a rule.
    A model with priced continuous columns gets none (see below).
    `stop`, when set (HiGHS only), interrupts the solve: it then reports what it has, as at a
    time limit -- its best portfolio (`feasible`) or none (`time_limit`), and its bound.
    `progress` (HiGHS only) is kept up to date while the solve runs.
    """
    if model.deviations or model.slacks:
        # HiGHS 1.16 maps a start into its presolved model with the wrong objective when
        # presolve has taken out a priced continuous column (a soft-mode deviation, an elastic
        # slack): it logged a start worth 88.1 as 163.6 there and stopped at it as optimal,
        # 18 % below the real optimum (docs/decisions.md). So those models get no start.
        start = None
    with solver_output_to_stderr():
        if solver == "highs" and highs_available():
            return _run_highs(model, mip_gap, time_limit_s, tight, start, stop, progress)
        return _run_cbc(model, mip_gap, time_limit_s, start)


def to_highs(lp: pulp.LpProblem, highs) -> None:
    """Hand a PuLP problem to a `highspy.Highs` in three bulk calls (columns, integrality, rows).

    The same model, column order and row order as PuLP's own HiGHS interface, which adds one
    column and one row per call (0.18 s of Python at 5,000 schemes; this takes a third of that).
    Sets `var.index` and `constraint.index` as PuLP does, so its solution reader still works.
    """
    import highspy

    inf = highspy.kHighsInf
    sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
    variables = lp.variables()
    objective = lp.objective
    costs = np.empty(len(variables))
    lower = np.empty(len(variables))
    upper = np.empty(len(variables))
    integer = []
    for i, var in enumerate(variables):
        var.index = i
        costs[i] = sign * objective.get(var, 0.0)
        lower[i] = -inf if var.lowBound is None else var.lowBound
        upper[i] = inf if var.upBound is None else var.upBound
        if var.cat == pulp.LpInteger:
            integer.append(i)
    empty_i, empty_f = np.zeros(0, dtype=np.int32), np.zeros(0)
    highs.addCols(len(variables), costs, lower, upper, 0, empty_i, empty_i, empty_f)
    if integer:
        highs.changeColsIntegrality(
            len(integer),
            np.array(integer, dtype=np.int32),
            np.full(len(integer), highspy.HighsVarType.kInteger.value, dtype=np.uint8),
        )
    constraints = list(lp._constraints.values())
    row_lower = np.empty(len(constraints))
    row_upper = np.empty(len(constraints))
    starts = np.empty(len(constraints), dtype=np.int32)
    index: list[int] = []
    values: list[float] = []
    for r, constraint in enumerate(constraints):
        constraint.index = r
        starts[r] = len(index)
        for var, coefficient in constraint.items():
            if coefficient != 0:
                index.append(var.index)
                values.append(coefficient)
        lb, ub = constraint.getLb(), constraint.getUb()
        row_lower[r] = -inf if lb is None else lb
        row_upper[r] = inf if ub is None else ub
    highs.addRows(len(constraints), row_lower, row_upper, len(index), starts,
                  np.array(index, dtype=np.int32), np.array(values))  # fmt: skip


def highs_options(variables: int) -> dict[str, object]:
    """The HiGHS options the project sets beyond gap, time limit and threads, by model size
    (decision variables); docs/decisions.md says why."""
    large = variables >= HEURISTIC_THRESHOLD
    return {
        "random_seed": 0,
        # More primal heuristics than HiGHS's default (0.05) pay off from a few hundred
        # schemes up (1,000 schemes: 13-63 s down to 7-9 s); below that they only add time
        # per node (docs/benchmarks.md).
        "mip_heuristic_effort": 0.3 if large else 0.05,
        # Below that size HiGHS's restarts (presolving again once the root has fixed enough
        # columns) cost more than they save: the demo round's main solve takes half the time
        # without them, and no small generator round took longer.
        "mip_allow_restart": large,
    }


def _run_highs(
    model: Model,
    mip_gap: float,
    time_limit_s: float | None,
    tight: bool,
    start: Mapping[pulp.LpVariable, float] | None,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> SolverRun:
    import highspy

    tolerances = {"mip_feasibility_tolerance": 1e-9, "primal_feasibility_tolerance": 1e-9}
    backend = pulp.HiGHS(
        msg=False,
        gapRel=mip_gap,
        timeLimit=time_limit_s,
        threads=1,
        **highs_options(len(model.x)),
        **(tolerances if tight else {}),
    )
    started = time.perf_counter()
    lp = model.lp
    abandon = threading.Event()  # set past the deadline: HiGHS stops at its next callback
    if time_limit_s is not None:
        # What a solve abandoned past its deadline answers with, and how it is then stopped.
        progress = progress if progress is not None else Progress()
        stop = _Either(stop, abandon) if stop is not None else abandon
    try:
        backend.createAndConfigureSolver(lp)
        highs = lp.solverModel
        to_highs(lp, highs)
        version = highs.version()
        if stop is not None or progress is not None:
            _follow(highs, model, stop, progress)
        if start:
            # A sparse start: HiGHS completes the other columns, and checks it is feasible.
            highs.setSolution(len(start), np.array([v.index for v in start], dtype=np.int32),
                              np.array(list(start.values()), dtype=float))  # fmt: skip
        started_event = solving_started.get()
        if started_event is not None:
            started_event.set()
        solving = time.perf_counter()
        if not _returns_in_time(backend, lp, time_limit_s, abandon):
            logger.warning("HiGHS still running %.1f s past its %s s limit: answering without it",
                           time.perf_counter() - solving - time_limit_s, time_limit_s)  # fmt: skip
            return _abandoned(model, version, progress, time.perf_counter() - solving)
        lp.assignStatus(*backend.findSolutionValues(lp))
    except pulp.PulpSolverError as exc:
        raise SolverFailed(f"HiGHS failed: {exc}") from exc
    wall = time.perf_counter() - started
    info = highs.getInfo()
    status = highs.getModelStatus()
    statuses = highspy.HighsModelStatus
    has_solution = info.primal_solution_status == 2
    solve_time = highs.getRunTime()
    timings = {"transfer": max(wall - solve_time, 0.0), "solve": solve_time}
    if status == statuses.kOptimal:
        ours = "optimal"
    elif status in (statuses.kInfeasible, statuses.kUnboundedOrInfeasible):
        ours = "infeasible"
    elif has_solution:
        ours = "feasible"
    elif status in (statuses.kTimeLimit, statuses.kInterrupt):
        ours = "time_limit"
    else:
        raise SolverFailed(f"HiGHS stopped with status {highs.modelStatusToString(status)}")
    bound = gap = None
    if ours != "infeasible" and math.isfinite(info.mip_dual_bound):
        # PuLP hands HiGHS the negated objective of a maximisation.
        bound = _finite_or_none(-info.mip_dual_bound / model.objective_scale)
    if has_solution:
        # HiGHS reports an infinite relative gap when the objective is zero (an empty round,
        # or no scheme with value): the relative gap is undefined there, so it is null.
        gap = _finite_or_none(max(info.mip_gap, 0.0))
    return SolverRun(ours, "highs", version, bound, gap, timings)


class _Either:
    """Set once either event is: the caller's stop, or the solve's own abandonment."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        self.first, self.second = first, second

    def is_set(self) -> bool:
        return self.first.is_set() or self.second.is_set()


def _returns_in_time(
    backend: pulp.HiGHS, lp: pulp.LpProblem, time_limit_s: float | None, abandon: threading.Event
) -> bool:
    """Run the solve on a thread of its own and wait for it until `overrun_deadline`; False
    if it is still running then. It goes on alone, told by `abandon` to stop at its next
    callback: a daemon thread, so a solve stuck where no callback comes (presolve) never holds
    up the process's exit. The solver's own errors are raised here, in the caller's thread;
    so is an interrupt of the wait (Ctrl-C), after which the solve is abandoned too."""
    if time_limit_s is None:
        backend.callSolver(lp)
        return True
    failure: list[BaseException] = []

    def call() -> None:
        try:
            backend.callSolver(lp)
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    solver_thread = threading.Thread(target=call, name="highs-solve", daemon=True)
    solver_thread.start()
    try:
        solver_thread.join(overrun_deadline(time_limit_s))
    except BaseException:
        _abandon(solver_thread, abandon)
        raise
    if solver_thread.is_alive():
        _abandon(solver_thread, abandon)
        return False
    if failure:
        raise failure[0]
    return True


# Solves abandoned while still inside HiGHS. A daemon thread still in a Python callback when
# the interpreter finalises aborts the process ("terminate called without an active
# exception"), so at exit each is given a moment to reach its next callback and stop.
_abandoned_solves: "weakref.WeakSet[threading.Thread]" = weakref.WeakSet()
EXIT_GRACE_SECONDS = 2.0


def _abandon(solver_thread: threading.Thread, abandon: threading.Event) -> None:
    abandon.set()
    _abandoned_solves.add(solver_thread)


def solves_past_their_limit() -> int:
    """How many solves this process has answered without (past their deadline) that are still
    inside HiGHS, each keeping a core busy until HiGHS returns -- which, where it overran
    (docs/upstream/highs-time-limit-overrun.md), may be never. Only ending the process frees
    that core: the server's /health reports them, and a worker with one stops (the restart
    policy starts a fresh one; docs/decisions.md)."""
    return sum(1 for solver_thread in list(_abandoned_solves) if solver_thread.is_alive())


def stuck_solves(count: int) -> str:
    """What `count` such solves mean, in the words the server's /health and a stopping worker
    both use."""
    return (f"{count} solve(s) went past their time limit and are still running inside the "
            "solver, each using a core")  # fmt: skip


@atexit.register
def _let_abandoned_solves_stop() -> None:
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for solver_thread in list(_abandoned_solves):
        solver_thread.join(max(0.0, deadline - time.monotonic()))


def _abandoned(model: Model, version: str, progress: Progress, seconds: float) -> SolverRun:
    """A solve given up past its deadline, as its callbacks last saw it: its best portfolio
    (the model's variables set to it) and its bound, as a solve stopped at its limit."""
    timings = {"transfer": 0.0, "solve": seconds}
    values = progress.solution
    if values is None:
        return SolverRun("time_limit", "highs", version, progress.bound, None, timings)
    for var in model.lp.variables():
        var.varValue = float(values[var.index])
    return SolverRun("feasible", "highs", version, progress.bound, None, timings)


def _finite_or_none(value: float) -> float | None:
    """A solver figure as the result document holds it: finite, never -0.0, or null."""
    return value + 0.0 if math.isfinite(value) else None


def _follow(
    highs, model: Model, stop: "threading.Event | _Either | None", progress: Progress | None
) -> None:
    """Stop the solve once `stop` is set, and keep `progress` up to date, from its MIP
    callbacks: the bound and the stop at each MIP interrupt check (at nodes and between
    heuristics: about fifty a second), the portfolio at each improving solution (in the
    original model's columns). Not highspy's HandleUserInterrupt, which also calls into
    Python at every simplex iteration, taking the GIL from the thread writing the reasons."""
    columns = highs.getNumCol()
    if progress is not None:
        progress.model = model

    def interrupt_check(event) -> None:
        value = event.data_out.mip_dual_bound
        if progress is not None and math.isfinite(value):
            # PuLP hands HiGHS the negated objective of a maximisation.
            progress.bound = -value / model.objective_scale
        if stop is not None and stop.is_set():
            event.interrupt()

    def improving_solution(event) -> None:
        values = event.data_out.mip_solution
        if values is not None and len(values) == columns:
            progress.solution = np.array(values, dtype=float)

    highs.cbMipInterrupt += interrupt_check
    if progress is not None:
        highs.cbMipImprovingSolution += improving_solution


def _run_cbc(
    model: Model,
    mip_gap: float,
    time_limit_s: float | None,
    start: Mapping[pulp.LpVariable, float] | None,
) -> SolverRun:
    # PuLP 3.3 marks its bundled CBC for removal in 4.0; it is our documented fallback until then.
    for var, value in (start or {}).items():
        var.setInitialValue(value)
    backend = pulp.PULP_CBC_CMD(
        msg=False, gapRel=mip_gap, timeLimit=time_limit_s, threads=1, _skip_v4_deprecation=True,
        warmStart=bool(start),
    )  # fmt: skip
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
