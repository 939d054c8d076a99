"""`capital optimise SNAPSHOT.json`: solves offline and prints the result document."""

import json
import subprocess
import sys

from benchmarks.generator import generate_round
from tests.optimiser.checker import assert_valid

SNAPSHOT = {
    "years": ["2026/27", "2027/28"],
    "envelope": {"2026/27": 2000000, "2027/28": 2000000},
    "schemes": [
        {"id": "S-001", "organisation": "RX1", "category": "estates_backlog",
         "cost_profile": {"2026/27": 1200000, "2027/28": 300000},
         "scores": {"strategic_fit": 3.5, "safety_quality": 5, "value_for_money": 2.5, "deliverability": 4}},
        {"id": "S-002", "organisation": "RX2", "category": "digital",
         "cost_profile": {"2026/27": 1000000},
         "scores": {"strategic_fit": 2, "safety_quality": 2, "value_for_money": 2, "deliverability": 2}},
    ],
}  # fmt: skip


def capital(*args):
    return subprocess.run(
        [sys.executable, "-m", "capital_cli.main", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_optimise_prints_the_result_as_json(tmp_path):
    path = tmp_path / "round.json"
    path.write_text(json.dumps(SNAPSHOT))
    result = capital("optimise", str(path))
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["status"] == "optimal"
    assert {s["id"]: s["outcome"] for s in document["schemes"]} == {
        "S-001": "funded",
        "S-002": "reserve",
    }
    assert_valid(SNAPSHOT, document)


def test_solver_and_gap_options(tmp_path):
    path = tmp_path / "round.json"
    path.write_text(json.dumps(SNAPSHOT))
    result = capital("optimise", str(path), "--solver", "cbc", "--gap", "0", "--time-limit", "10")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["solver"]["name"] == "cbc"


def test_invalid_snapshot_exits_2_naming_paths_without_traceback(tmp_path):
    bad = json.loads(json.dumps(SNAPSHOT))
    bad["schemes"][1]["scores"]["deliverability"] = 9
    bad["envelope"]["2026/27"] = -5
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    result = capital("optimise", str(path))
    assert result.returncode == 2
    assert "$.schemes[1].scores.deliverability" in result.stderr
    assert "$.envelope.2026/27" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_malformed_json_and_missing_file_exit_2(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"years": [')
    broken = capital("optimise", str(path))
    assert broken.returncode == 2 and "line 1, column" in broken.stderr
    missing = capital("optimise", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "no such file" in missing.stderr
    assert "Traceback" not in broken.stderr + missing.stderr


# A solver that writes to file descriptor 1 directly (as highspy 1.16's C banner does), wrapped
# around the real solve, then `capital optimise` run in the same process.
NOISY_SOLVER = """
import os, sys
import pulp
# HiGHS is run through PuLP's interface (optimiser/solver.py): its callSolver runs the solve.
real_solve = pulp.HiGHS.callSolver
def noisy_solve(self, *args, **kwargs):
    os.write(1, b"Running HiGHS 9.9.9: Copyright (c) noisy banner\\n")
    return real_solve(self, *args, **kwargs)
pulp.HiGHS.callSolver = noisy_solve
from capital_cli.main import app
sys.argv = ["capital", "optimise", sys.argv[1]]
app()
"""


def test_optimise_stdout_is_strict_json_when_the_solver_prints(tmp_path):
    path = tmp_path / "round.json"
    path.write_text(json.dumps(SNAPSHOT))
    result = subprocess.run(
        [sys.executable, "-c", NOISY_SOLVER, str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "optimal"  # the banner is not on stdout...
    assert "noisy banner" in result.stderr  # ...it went to stderr


HELD_RE_SOLVE = """
import importlib, os, sys, threading
solver = importlib.import_module("optimiser.solver")
quiet = importlib.import_module("optimiser.quiet")
printed = threading.Event()
real_follow, real_write = solver._follow, quiet.write_stdout
def follow(highs, model, stop, progress):
    real_follow(highs, model, stop, progress)
    if threading.current_thread() is not threading.main_thread():
        # a re-solve beside the main solve (started from a worker): keep it inside HiGHS
        def hold(event):
            os.write(2, b"re-solve held inside HiGHS\\n")
            printed.wait(60)
        highs.cbMipInterrupt += hold
def write(text):
    real_write(text)
    printed.set()
solver._follow, quiet.write_stdout = follow, write
from capital_cli.main import app
sys.argv = ["capital", "optimise", sys.argv[1]]
app()
"""


def test_optimise_prints_the_answer_while_a_stopped_re_solve_is_still_in_highs(tmp_path):
    # The answer does not wait for a stopped re-solve, which holds stdout's guard (fd 1 on
    # stderr) until HiGHS notices the stop: the result must still reach stdout, whole.
    path = tmp_path / "round.json"
    path.write_text(json.dumps(generate_round(100, mode="band", seed=7)))
    result = subprocess.run(
        [sys.executable, "-c", HELD_RE_SOLVE, str(path)], capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "re-solve held inside HiGHS" in result.stderr
    assert json.loads(result.stdout)["status"] == "optimal"
