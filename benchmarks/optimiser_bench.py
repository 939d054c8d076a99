"""Optimiser benchmark: model build vs solve time, gap and objective by round size.

.venv/bin/python -m benchmarks.optimiser_bench [--sizes 100 1000 5000] [--repeat 3]
"""

import argparse
import json
import platform
import statistics
import time

from benchmarks.generator import generate_round
from optimiser import SolveOptions, parse_snapshot
from optimiser.model import Rules
from optimiser.problem import prepare
from optimiser.solve import optimise, solve_problem


def measure(size: int, repeat: int) -> dict:
    document = generate_round(size)
    rows = []
    for _ in range(repeat):
        started = time.perf_counter()
        snapshot = parse_snapshot(document)
        parsed = time.perf_counter()
        problem = prepare(snapshot)
        prepared = time.perf_counter()
        optimum = optimise(problem, Rules(), SolveOptions(time_limit_s=600))
        solved = time.perf_counter()
        full = solve_problem(problem, SolveOptions(time_limit_s=600))
        explained = time.perf_counter()
        rows.append({
            "validate": parsed - started,
            "prepare": prepared - parsed,
            "build": optimum.timings["build"],
            "transfer": optimum.timings["transfer"],
            "solve": optimum.timings["solve"],
            "optimise_total": solved - prepared,
            "full_result": explained - solved,
            "status": optimum.status,
            "gap": optimum.gap,
            "objective": optimum.objective,
            "funded": len(optimum.chosen),
            "variables": sum(len(e.options) for e in problem.eligible),
            "price_fair_shares": full.price_of_rules.fair_shares,
        })  # fmt: skip
    median = {
        k: statistics.median(r[k] for r in rows)
        for k in rows[0]
        if isinstance(rows[0][k], float) and k not in ("gap", "objective", "price_fair_shares")
    }
    return {"schemes": size, **rows[0], **median}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    header = (
        "schemes",
        "vars",
        "validate",
        "prepare",
        "build",
        "transfer",
        "solve",
        "full result",
        "status",
        "gap",
        "funded",
    )
    print(" | ".join(header))
    for size in args.sizes:
        row = measure(size, args.repeat)
        print(" | ".join(str(v) for v in (
            row["schemes"], row["variables"], f"{row['validate']:.3f}", f"{row['prepare']:.3f}",
            f"{row['build']:.3f}", f"{row['transfer']:.3f}", f"{row['solve']:.3f}",
            f"{row['full_result']:.3f}", row["status"], f"{row['gap']:.2e}", row["funded"],
        )))  # fmt: skip
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
