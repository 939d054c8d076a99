"""/health tells whatever watches the server (a load balancer, an orchestrator) to restart it
when a solve is stuck past its time limit: its answer was given, but the solve goes on inside
HiGHS, keeping a core busy, and only a new process frees it."""

import importlib
import threading
import time

import pulp

from benchmarks.generator import generate_round
from optimiser import SolveOptions, solve
from optimiser.solver import solves_past_their_limit

solver_module = importlib.import_module("optimiser.solver")


def test_health_asks_for_a_restart_while_a_solve_is_stuck_past_its_limit(client, monkeypatch):
    # HiGHS 1.16 can run past its limit without bound (docs/upstream): here it "hangs" after
    # its solve until released, and is abandoned 0.3 s past its 0.5 s limit.
    monkeypatch.setattr(solver_module, "overrun_deadline", lambda limit: limit + 0.3)
    real, release = pulp.HiGHS.callSolver, threading.Event()

    def overrunning(self, lp):
        real(self, lp)
        release.wait(60)

    monkeypatch.setattr(pulp.HiGHS, "callSolver", overrunning)
    assert client.get("/health").json() == {"status": "ok"}
    try:
        options = SolveOptions(time_limit_s=0.5, price_rules=False, baseline=False)
        result = solve(generate_round(60, mode="off", seed=3), options)
        assert result.status == "feasible"  # answered from what HiGHS last reported
        response = client.get("/health")
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == 503 and problem["title"] == "Service degraded"
        assert problem["detail"].startswith("1 solve(s) went past their time limit")
        assert "restart this process" in problem["detail"]
    finally:
        release.set()
    deadline = time.monotonic() + 30
    while solves_past_their_limit() and time.monotonic() < deadline:
        time.sleep(0.05)
    # Once HiGHS has returned, the core is free again and so is the server.
    response = client.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}
