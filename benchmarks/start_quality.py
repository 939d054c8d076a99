"""How much a better first portfolio would save the main solve (issue 13).

    .venv/bin/python -m benchmarks.start_quality [--sizes 5000 2000] [--modes floor]
        [--seeds 2026 2027] [--fractions 0.3 0.4 0.5] [--gap 1e-4]

The 5,000-scheme `floor` main solves finish at the root, most of their time spent in the
sub-MIP heuristics that find the last portfolio. Would a start the project can build cheaply
let HiGHS stop sooner? For each generator round it solves the main model (same model, gap
and one thread as benchmarks/full_vs_bare.py) and prints, in seconds:
- bare: HiGHS's defaults, no start (the issue's comparison); main: the project's options, no
  start (the main solve of the full result when greedy breaks a rule);
- greedy: whether the greedy baseline meets every rule (only then is it the main solve's
  start today) and the main solve (project options) from it;
- LP: the relaxation's time, objective and fractional columns;
- kernel f: an LP-guided start -- every column with a fractional value, and the fraction f of
  columns with the smallest reduced cost, left free; the rest fixed at their LP value; that
  sub-MIP solved to the gap (20 s limit) -- its time, how far its portfolio is below the best
  known, and the main solve (project options) started from it;
- optimum: the main solve started from the best portfolio known (the bare solve's): the
  least time any start could give.
"""

import argparse
import json
import platform
import time

import numpy as np

from benchmarks.full_vs_bare import highs_for
from benchmarks.generator import generate_round
from optimiser import parse_snapshot
from optimiser.greedy import greedy
from optimiser.model import Rules, build
from optimiser.problem import prepare
from optimiser.quiet import solver_output_to_stderr
from optimiser.solve import _start_values

SUB_MIP_LIMIT_S = 20.0


def _solve(model, gap: float, *, project: bool, start=None, bounds=None, relaxation=False,
           time_limit: float | None = None) -> dict:  # fmt: skip
    """One HiGHS run on a fresh copy of the model: transfer untimed, `run()` timed."""
    extra = {"solve_relaxation": True} if relaxation else {}
    if time_limit is not None:
        extra["time_limit"] = time_limit
    with solver_output_to_stderr():
        highs = highs_for(model, gap, "project" if project else "default", extra)
        columns = np.arange(highs.getNumCol(), dtype=np.int32)
        if bounds is not None:
            highs.changeColsBounds(len(columns), columns, *bounds)
        if start is not None:
            highs.setSolution(len(columns), columns, start)
        started = time.perf_counter()
        highs.run()
        seconds = time.perf_counter() - started
    info = highs.getInfo()
    solution = highs.getSolution()
    found = info.primal_solution_status == 2  # kSolutionStatusFeasible
    return {
        "seconds": seconds,
        "status": highs.modelStatusToString(highs.getModelStatus()),
        # PuLP's (and our) model maximises; HiGHS was handed the negated objective.
        "objective": -info.objective_function_value / model.objective_scale if found else None,
        "values": np.array(solution.col_value) if found else None,
        "reduced_costs": np.array(solution.col_dual) if relaxation else None,
    }


def _greedy_start(problem, model) -> np.ndarray | None:
    """Greedy's portfolio as a column vector, when it meets every rule (the main solve's start
    in the full result: `optimiser.solve._start_values`)."""
    outcome = greedy(problem)
    if not outcome.rules_met:
        return None
    values = np.zeros(len(model.lp.variables()))
    for var, value in _start_values(problem, model, outcome.chosen).items():
        values[var.index] = value
    return values


def _fractional(values: np.ndarray) -> np.ndarray:
    return (values > 1e-6) & (values < 1 - 1e-6)


def _kernel(lp: dict, fraction: float, lower: np.ndarray, upper: np.ndarray):
    """Bounds that free the fractional columns and the `fraction` with the smallest reduced
    cost, and fix the rest at their LP value."""
    values, costs = lp["values"], lp["reduced_costs"]
    free = _fractional(values)
    free[np.argsort(np.abs(costs))[: int(fraction * len(values))]] = True
    fixed = np.round(values)
    low = np.maximum(np.where(free, lower, fixed), lower)
    high = np.minimum(np.where(free, upper, fixed), upper)
    return (low, high), int(free.sum())


def study(document: dict, gap: float, fractions: list[float]) -> dict:
    problem = prepare(parse_snapshot(document))
    model = build(problem, Rules())
    # Column bounds as handed to HiGHS (the anchor column is fixed at 0).
    variables = model.lp.variables()
    lower = np.array([v.lowBound or 0.0 for v in variables])
    upper = np.array([1.0 if v.upBound is None else v.upBound for v in variables])

    bare = _solve(model, gap, project=False)
    best = bare["objective"]
    row = {"bare": {k: bare[k] for k in ("seconds", "status", "objective")}}
    row["main_seconds"] = _solve(model, gap, project=True)["seconds"]

    greedy_start = _greedy_start(problem, model)
    row["greedy"] = {"rules_met": greedy_start is not None}
    if greedy_start is not None:
        main = _solve(model, gap, project=True, start=greedy_start)
        row["greedy"]["main_seconds"] = main["seconds"]

    lp = _solve(model, gap, project=True, relaxation=True)
    row["lp"] = {"seconds": lp["seconds"], "objective": lp["objective"],
                 "fractional": int(_fractional(lp["values"]).sum())}  # fmt: skip

    row["kernels"] = []
    for fraction in fractions:
        bounds, free = _kernel(lp, fraction, lower, upper)
        sub = _solve(model, gap, project=True, bounds=bounds, time_limit=SUB_MIP_LIMIT_S)
        kernel = {"fraction": fraction, "free": free, "seconds": sub["seconds"],
                  "status": sub["status"], "objective": sub["objective"]}  # fmt: skip
        if sub["values"] is not None:
            kernel["below_best"] = (best - sub["objective"]) / best
            main = _solve(model, gap, project=True, start=np.round(sub["values"]))
            kernel["main_seconds"] = main["seconds"]
            kernel["main_objective"] = main["objective"]
        row["kernels"].append(kernel)

    optimum = _solve(model, gap, project=True, start=np.round(bare["values"]))
    row["optimum_start"] = {"main_seconds": optimum["seconds"]}
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 2000])
    parser.add_argument("--modes", nargs="+", default=["floor"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026, 2027])
    parser.add_argument("--fractions", type=float, nargs="+", default=[0.3, 0.4, 0.5])
    parser.add_argument("--gap", type=float, default=1e-4)
    args = parser.parse_args()
    print(f"# {platform.machine()}, Python {platform.python_version()}, gap {args.gap:g}")
    print("schemes | mode | seed | bare s | main s | greedy start: main s | LP s (fractional) | "
          "kernel f: sub-MIP s, below best, main s | optimum start: main s")  # fmt: skip
    rounds = [(size, mode, seed) for size in args.sizes for mode in args.modes
              for seed in args.seeds]  # fmt: skip
    for size, mode, seed in rounds:
        row = study(generate_round(size, mode=mode, seed=seed), args.gap, args.fractions)
        greedy_cell = (f"{row['greedy']['main_seconds']:.2f}" if row["greedy"]["rules_met"]
                       else "breaks a rule: no start")  # fmt: skip
        kernels = "; ".join(
            f"{k['fraction']:g}: {k['seconds']:.2f}, "
            + (f"{k['below_best']:.1e}, {k['main_seconds']:.2f}" if "main_seconds" in k
               else k["status"])
            for k in row["kernels"]
        )  # fmt: skip
        print(f"{size} | {mode} | {seed} | {row['bare']['seconds']:.2f} | "
              f"{row['main_seconds']:.2f} | {greedy_cell} | "
              f"{row['lp']['seconds']:.2f} ({row['lp']['fractional']}) | {kernels} | "
              f"{row['optimum_start']['main_seconds']:.2f}", flush=True)  # fmt: skip
        print(json.dumps({"schemes": size, "mode": mode, "seed": seed, **row}), flush=True)


if __name__ == "__main__":
    main()
