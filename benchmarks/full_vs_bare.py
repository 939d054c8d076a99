"""The full result against the bare solver (issue 13): same snapshot, same model, same gap.

    .venv/bin/python -m benchmarks.full_vs_bare [--sizes 2000 5000] [--modes floor band]
        [--organisations 40] [--gap 1e-4] [--repeat 1] [--seeds 2026]

For each generator round (benchmarks/generator.py, 5 years) it times:
- full: `optimiser.solve` from the JSON document to the result document -- validation,
  preparation, greedy baseline, the main solve, the re-solves that price each rule, reasons;
- bare: HiGHS alone on the main model of the same round (the model `optimiser.model.build`
  writes, handed to a fresh `highspy.Highs` beforehand and not timed), `Highs.run()` only,
  with HiGHS's own defaults but the same gap and one thread (`--bare default`, the issue's
  comparison), or with every option the project sets (`--bare project`: also seed 0, its
  heuristic effort and, below 300 decision variables, no restarts: `highs_options`);
and prints their ratio, the main solve's time inside the full result against the bare solve
(HiGHS's own run time in both) and what the full result adds in seconds, both objectives and
statuses, and whether every price of a rule is exact or a proven interval. On a shared, loaded machine wall time measures the load as much as
the work, so it also prints CPU seconds: the bare solve's, and the full result's in all
threads (the re-solves beside the main solve included; since 2026-12-01 each solve runs on a
thread of its own, so no one thread's time is the main path's any more), and how long a
stopped re-solve ran on after the answer (it is waited for before the next solve). One JSON
line per round follows.
"""

import argparse
import json
import platform
import statistics
import subprocess
import threading
import time

from benchmarks.generator import generate_round
from optimiser import SolveOptions, parse_snapshot, solve
from optimiser.model import Rules, build
from optimiser.problem import prepare
from optimiser.quiet import solver_output_to_stderr
from optimiser.solver import highs_options, to_highs


def highs_for(model, gap: float, options: str = "default", extra: dict | None = None):
    """A fresh, silent `highspy.Highs` holding `model`: the gap, one thread, HiGHS's defaults
    or (`options="project"`) the project's options, then any `extra` options. Call it inside
    `solver_output_to_stderr()` (HiGHS prints its banner on creation)."""
    import highspy

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", gap)
    highs.setOptionValue("threads", 1)
    if options == "project":
        for name, value in highs_options(len(model.x)).items():
            highs.setOptionValue(name, value)
    for name, value in (extra or {}).items():
        highs.setOptionValue(name, value)
    to_highs(model.lp, highs)
    return highs


def bare(document: dict, gap: float, options: str = "default", extra: dict | None = None) -> dict:
    """HiGHS alone on the main model: transfer untimed, `run()` timed. `extra` HiGHS options
    are set last (benchmarks/option_sweep.py)."""
    problem = prepare(parse_snapshot(document))
    model = build(problem, Rules())
    with solver_output_to_stderr():
        highs = highs_for(model, gap, options, extra)
        started, cpu = time.perf_counter(), time.thread_time()
        highs.run()
        seconds, cpu = time.perf_counter() - started, time.thread_time() - cpu
    info = highs.getInfo()
    status = highs.modelStatusToString(highs.getModelStatus())
    # PuLP's (and our) model maximises; HiGHS was handed the negated objective.
    objective = -info.objective_function_value / model.objective_scale
    return {"seconds": seconds, "cpu": cpu, "status": status, "objective": objective,
            "gap": info.mip_gap, "nodes": info.mip_node_count}  # fmt: skip


def full(document: dict, gap: float, *, price_rules: bool = True) -> dict:
    before = set(threading.enumerate())
    started, work = time.perf_counter(), time.process_time()
    options = SolveOptions(mip_gap=gap, time_limit_s=600, price_rules=price_rules)
    result = solve(document, options).to_document()
    seconds = time.perf_counter() - started
    # A re-solve stopped when the answer was ready is not waited for, and runs on until HiGHS
    # notices the stop (between its sub-MIPs): wait for it here, so that it neither slows the
    # next bare solve nor goes unaccounted (`lingered`: wall seconds after the answer).
    for thread in set(threading.enumerate()) - before:
        thread.join()
    lingered = time.perf_counter() - started - seconds
    work = time.process_time() - work
    price = result["price_of_rules"]
    return {
        "seconds": seconds,
        "work": work,  # every thread, the re-solves beside the main solve included
        "lingered": lingered,
        "status": result["status"],
        "objective": result["objective"],
        "gap": result["gap"],
        "solve_seconds": result["solve_seconds"],
        "price_exact": price.get("exact", True),
        "price_fair_shares": price["fair_shares"],
        "price_intervals": price.get("intervals", {}),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--modes", nargs="+", default=["floor", "band"])
    parser.add_argument("--organisations", type=int, default=40)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026])
    parser.add_argument("--bare", choices=["default", "project"], default="default")
    args = parser.parse_args()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    print(f"# {platform.machine()}, Python {platform.python_version()}, commit {commit}, "
          f"gap {args.gap:g}, {args.organisations} organisations, bare HiGHS with "
          f"{args.bare} options")  # fmt: skip
    print(
        "schemes | mode | seed | bare s | full s | ratio | main solve s | main ÷ bare | "
        "full − bare s | bare cpu s | full cpu s (all threads) | re-solve ran on s | "
        "bare objective | full objective | prices"
    )
    rounds = [(size, mode, seed) for size in args.sizes for mode in args.modes
              for seed in args.seeds]  # fmt: skip
    for size, mode, seed in rounds:
        document = generate_round(size, mode=mode, organisations=args.organisations,
                                  seed=seed)  # fmt: skip
        ratios, main_ratios, extras = [], [], []
        for _ in range(args.repeat):
            solver_alone = bare(document, args.gap, args.bare)
            whole = full(document, args.gap)
            ratio = whole["seconds"] / solver_alone["seconds"]
            ratios.append(ratio)
            # The main solve inside the full result (HiGHS's own run time, as the bare
            # solve's), and what the full result adds to the bare solve in seconds.
            main_ratio = whole["solve_seconds"] / solver_alone["seconds"]
            extra = whole["seconds"] - solver_alone["seconds"]
            main_ratios.append(main_ratio)
            extras.append(extra)
            prices = "exact" if whole["price_exact"] else "interval"
            print(f"{size} | {mode} | {seed} | {solver_alone['seconds']:.2f} | {whole['seconds']:.2f} | "
                  f"{ratio:.2f} | {whole['solve_seconds']:.2f} | {main_ratio:.2f} | "
                  f"{extra:+.2f} | {solver_alone['cpu']:.2f} | {whole['work']:.2f} | "
                  f"{whole['lingered']:.2f} | "
                  f"{solver_alone['objective']:.2f} ({solver_alone['status']}) | "
                  f"{whole['objective']:.2f} ({whole['status']}) | {prices}")  # fmt: skip
            print(json.dumps({"schemes": size, "mode": mode, "seed": seed, "bare": solver_alone,
                              "full": whole, "ratio": ratio}), flush=True)  # fmt: skip
        if args.repeat > 1:
            # Consecutive identical solves differ by up to 20 % on a shared machine: the
            # median of the paired ratios is the figure to compare, not any one run.
            print(f"# {size} {mode} seed {seed}: median ratio {statistics.median(ratios):.2f} of "
                  f"{len(ratios)} pairs ({', '.join(f'{r:.2f}' for r in ratios)}); "
                  f"main solve ÷ bare {statistics.median(main_ratios):.2f}; "
                  f"full − bare {statistics.median(extras):+.2f} s", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
