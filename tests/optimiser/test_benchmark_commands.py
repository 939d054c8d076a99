"""The issue-13 benchmark commands run as docs/benchmarks.md shows them (on tiny rounds)."""

import json
import subprocess
import sys


def _run(*args: str) -> list[str]:
    done = subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True,
                          timeout=300, check=True)  # fmt: skip
    return done.stdout.splitlines()


def test_full_vs_bare_pairs_each_seed_of_each_round():
    lines = _run("benchmarks.full_vs_bare", "--sizes", "60", "--modes", "floor",
                 "--seeds", "1", "2", "--repeat", "2")  # fmt: skip
    rows = [json.loads(line) for line in lines if line.startswith("{")]
    assert [(r["schemes"], r["seed"]) for r in rows] == [(60, 1), (60, 1), (60, 2), (60, 2)]
    for row in rows:
        assert row["full"]["status"] == "optimal" and row["bare"]["status"] == "Optimal"
        assert row["full"]["objective"] >= row["bare"]["objective"] * (1 - 1e-4)
    medians = [line for line in lines if line.startswith("# 60 floor seed")]
    assert len(medians) == 2


def test_option_sweep_solves_every_variant_to_the_gap():
    from benchmarks.option_sweep import MORE_VARIANTS, VARIANTS

    lines = _run("benchmarks.option_sweep", "--sizes", "60", "--seeds", "1", "--repeat", "1",
                 "--more")  # fmt: skip
    rows = [json.loads(line) for line in lines if line.startswith("{")]
    assert [r["variant"] for r in rows] == [*VARIANTS, *MORE_VARIANTS]
    best = max(r["solves"][0]["objective"] for r in rows)
    for row in rows:
        (solve,) = row["solves"]
        assert solve["status"] == "Optimal" and solve["objective"] >= best * (1 - 1e-4)


def test_start_quality_reports_each_start_against_the_best_known():
    lines = _run("benchmarks.start_quality", "--sizes", "60", "--seeds", "1", "--fractions",
                 "0.5", "1.0")  # fmt: skip
    (row,) = [json.loads(line) for line in lines if line.startswith("{")]
    best = row["bare"]["objective"]
    assert row["bare"]["status"] == "Optimal" and row["lp"]["objective"] >= best
    # Every column free is the whole model: its portfolio is as good as the bare solve's.
    whole = row["kernels"][-1]
    assert whole["status"] == "Optimal" and whole["below_best"] <= 1e-4
    for kernel in row["kernels"]:
        if "main_seconds" in kernel:
            assert kernel["main_objective"] >= best * (1 - 1e-4)
    assert row["optimum_start"]["main_seconds"] > 0
