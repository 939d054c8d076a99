"""HiGHS options against the project's, on the main model of generator rounds (issue 13).

    .venv/bin/python -m benchmarks.option_sweep [--sizes 5000 2000] [--modes floor]
        [--seeds 2026 2027] [--repeat 3] [--more]

Would a HiGHS option make the main solve quicker than HiGHS's defaults on every round (the
one way left for the full result to beat the bare solve without racing solvers)? Each
variant is the project's options (`highs_options`) plus one change, solved with `bare`
(benchmarks/full_vs_bare.py: the same model, gap, one thread, `run()` timed); the variants
take turns within each repeat so that a slow spell of a shared machine hits them all.
Prints each variant's median seconds per round, its objective and node count.
"""

import argparse
import json
import platform
import statistics

from benchmarks.full_vs_bare import bare
from benchmarks.generator import generate_round

# Each variant: the options it starts from (`bare`'s "project" or HiGHS's "default", the
# issue's bare solve) and one change.
VARIANTS: dict[str, tuple[str, dict]] = {
    "project": ("project", {}),
    "defaults": ("default", {}),
    "lp age limit 5": ("project", {"mip_lp_age_limit": 5}),
    "pool soft limit 1000": ("project", {"mip_pool_soft_limit": 1000}),
    "heuristic effort 0.8": ("project", {"mip_heuristic_effort": 0.8}),
    "no symmetry detection": ("project", {"mip_detect_symmetry": False}),
    "pscost min reliable 2": ("project", {"mip_pscost_minreliable": 2}),
}

# `--more`: the first pass's other variants (docs/benchmarks.md: none quicker on both rounds).
MORE_VARIANTS: dict[str, tuple[str, dict]] = {
    "heuristic effort 0.1": ("project", {"mip_heuristic_effort": 0.1}),
    "heuristic effort 0.5": ("project", {"mip_heuristic_effort": 0.5}),
    "no RINS": ("project", {"mip_heuristic_run_rins": False}),
    "no RENS": ("project", {"mip_heuristic_run_rens": False}),
    "no root reduced cost": ("project", {"mip_heuristic_run_root_reduced_cost": False}),
    "shifting": ("project", {"mip_heuristic_run_shifting": True}),
    "ZI rounding": ("project", {"mip_heuristic_run_zi_round": True}),
    "no feasibility jump": ("project", {"mip_heuristic_run_feasibility_jump": False}),
    "no restarts": ("project", {"mip_allow_restart": False}),
    "primal simplex": ("project", {"simplex_strategy": 4}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000, 2000])
    parser.add_argument("--modes", nargs="+", default=["floor"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[2026, 2027])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--more", action="store_true", help="also the first pass's variants")
    args = parser.parse_args()
    variants = VARIANTS | (MORE_VARIANTS if args.more else {})
    print(f"# {platform.machine()}, Python {platform.python_version()}, gap {args.gap:g}")
    print("schemes | mode | seed | variant | median s | runs s | objective | nodes")
    rounds = [(size, mode, seed) for size in args.sizes for mode in args.modes
              for seed in args.seeds]  # fmt: skip
    for size, mode, seed in rounds:
        document = generate_round(size, mode=mode, seed=seed)
        runs: dict[str, list[dict]] = {name: [] for name in variants}
        for _ in range(args.repeat):
            for name, (base, extra) in variants.items():
                runs[name].append(bare(document, args.gap, base, extra))
        for name, solves in runs.items():
            seconds = [s["seconds"] for s in solves]
            print(f"{size} | {mode} | {seed} | {name} | "
                  f"{statistics.median(seconds):.2f} | "
                  f"{', '.join(f'{s:.2f}' for s in seconds)} | "
                  f"{solves[0]['objective']:.2f} | {solves[0]['nodes']}", flush=True)  # fmt: skip
            print(json.dumps({"schemes": size, "mode": mode, "seed": seed,
                              "variant": name, "solves": solves}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
