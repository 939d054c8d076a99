"""A reproduction, for HiGHS's maintainers, of HiGHS running far past its time limit.

    .venv/bin/python -m benchmarks.highs_overrun [--out /tmp/highs-overrun] [--schemes 5000]
        [--limit 60] [--kill-after 300] [--options project|default]

Writes the model (`model.mps`, the main model `optimiser.model.build` writes for a generator
round of `--schemes` schemes in band mode with a zero-width band), the options (`highs.opt`,
HiGHS's own options-file format) and `run.py` (highspy alone, no project code) into `--out`,
then runs `run.py` in a child process and reports how long HiGHS took against its limit. The
child is killed at `--kill-after` seconds: with the project's options on HiGHS 1.16.0 it is
still in presolve there (docs/decisions.md, "HiGHS 1.16 can overrun its time limit"). The
three files are what an upstream report needs; docs/upstream/highs-time-limit-overrun.md is
the report itself.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

RUN = '''"""highspy alone: read model.mps and highs.opt beside this file, solve, report the time."""
import sys, time
from pathlib import Path
import highspy

here = Path(__file__).parent
h = highspy.Highs()
h.readOptions(str(here / "highs.opt"))
h.readModel(str(here / "model.mps"))
print("HiGHS", h.version(), "time_limit", h.getOptionValue("time_limit"), flush=True)
started = time.perf_counter()
h.run()
print("returned after %.1f s: %s" % (time.perf_counter() - started,
      h.modelStatusToString(h.getModelStatus())), flush=True)
'''


def write(out: Path, schemes: int, limit: float, options: str) -> None:
    import highspy

    from benchmarks.generator import generate_round
    from optimiser import parse_snapshot
    from optimiser.model import Rules, build
    from optimiser.problem import prepare
    from optimiser.solver import highs_options, to_highs

    document = generate_round(schemes, mode="band")
    document["tolerance_pct"] = 0
    model = build(prepare(parse_snapshot(document)), Rules())
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    to_highs(model.lp, highs)
    out.mkdir(parents=True, exist_ok=True)
    highs.writeModel(str(out / "model.mps"))
    # What `optimiser.solver._run_highs` sets on a main solve (not its `tight` re-solves, whose
    # 1e-9 tolerances did not overrun), or HiGHS's defaults.
    chosen: dict[str, object] = {"mip_rel_gap": 1e-4, "threads": 1, "time_limit": limit}
    if options == "project":
        chosen |= highs_options(len(model.x))
    lines = [f"{name} = {str(value).lower() if isinstance(value, bool) else value}"
             for name, value in chosen.items()]  # fmt: skip
    (out / "highs.opt").write_text("\n".join(lines) + "\n")
    (out / "run.py").write_text(RUN)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=Path("/tmp/highs-overrun"))
    parser.add_argument("--schemes", type=int, default=5000)
    parser.add_argument("--limit", type=float, default=60.0)
    parser.add_argument("--kill-after", type=float, default=300.0)
    parser.add_argument("--options", choices=["project", "default"], default="project")
    args = parser.parse_args()
    write(args.out, args.schemes, args.limit, args.options)
    print(f"wrote {args.out}/model.mps, highs.opt, run.py ({args.options} options)", flush=True)
    print((args.out / "highs.opt").read_text(), end="", flush=True)
    started = time.perf_counter()
    try:
        child = subprocess.run([sys.executable, str(args.out / "run.py")], timeout=args.kill_after,
                               capture_output=True, text=True)  # fmt: skip
        print(child.stdout, end="")
        seconds = time.perf_counter() - started
        print(f"child exited after {seconds:.1f} s against a {args.limit:g} s limit")
    except subprocess.TimeoutExpired as stopped:
        print(stopped.stdout.decode() if isinstance(stopped.stdout, bytes) else stopped.stdout or "",
              end="")  # fmt: skip
        seconds = time.perf_counter() - started
        print(f"OVERRUN: HiGHS had not returned after {seconds:.1f} s against a "
              f"{args.limit:g} s limit; killed")  # fmt: skip
        sys.exit(1)


if __name__ == "__main__":
    main()
