"""Where the full result's time over the bare solve goes (issue 13): the re-solves beside the
main solve, or the Python around it.

    .venv/bin/python -m benchmarks.main_solve_split [--schemes 5000] [--mode floor] [--repeat 3]

For one generator round it alternates, `--repeat` times: the bare solve (HiGHS alone on the
main model, `benchmarks.full_vs_bare.bare`) with the project's options and with HiGHS's
defaults, then the full result (`full_vs_bare.full`, which waits for a stopped re-solve
before the next run) with the rules priced and with `price_rules` off. It prints
each run and the medians of: the bare solves, the main solve inside the full result (HiGHS's
own run time) and the full result's wall time.
"""

import argparse
import statistics

from benchmarks.full_vs_bare import bare, full
from benchmarks.generator import generate_round


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schemes", type=int, default=5000)
    parser.add_argument("--mode", default="floor")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    document = generate_round(args.schemes, mode=args.mode, organisations=40)
    rows: dict[str, list[float]] = {}
    for _ in range(args.repeat):
        for options in ("project", "default"):
            rows.setdefault(f"bare, {options} options", []).append(
                bare(document, 1e-4, options)["seconds"]
            )
        for priced in (True, False):
            whole = full(document, 1e-4, price_rules=priced)
            kind = "rules priced" if priced else "price_rules off"
            rows.setdefault(f"main solve, {kind}", []).append(whole["solve_seconds"])
            rows.setdefault(f"full result, {kind}", []).append(whole["seconds"])
    print(f"# {args.schemes} schemes, {args.mode}, {args.repeat} runs each, seconds")
    for name, values in rows.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"{name}: {runs}; median {statistics.median(values):.2f}")


if __name__ == "__main__":
    main()
