"""End-to-end benchmark of the demo round's run over HTTP, against a real uvicorn server.

    .venv/bin/python -m benchmarks.api_bench [--runs 20] [--database-url URL]

Starts the API on a free loopback port with a fresh database (SQLite in a temporary folder
by default), loads the demo, and times POST /rounds/{id}/runs from request to response; then
where the time goes: the server's own timings of each run (assembling the snapshot, solving)
and, in this process on the run's snapshot, the parts of the solve (greedy, main solve, the
re-solves that price the rules, the whole result document); and in how many runs the price of
rules came back exact rather than as a proven interval.
"""

import argparse
import statistics
import time

import httpx

from benchmarks.server import demo_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with demo_server(args.database_url) as (base, tokens):
        headers = {"Authorization": f"Bearer {tokens['ics_finance']}"}
        with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
            round_id = client.get("/api/v1/rounds", params={"system": "QWV"}).json()["items"][0][
                "id"
            ]
            timings, status, schemes, server, exact = [], None, 0, [], 0
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.post(f"/api/v1/rounds/{round_id}/runs", json={})
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
                status = response.json()["result"]["status"]
                schemes = len(response.json()["result"]["schemes"])
                server.append(response.json().get("timings", {}))
                # A re-solve not done when the answer is ready prices its rule as an interval.
                exact += response.json()["result"]["price_of_rules"]["exact"]
            run_id = response.json()["id"]
            document = client.get(f"/api/v1/runs/{run_id}/snapshot.json").json()
    timings.sort()
    print(f"demo round: {schemes} schemes, status {status}, {args.runs} runs")
    print(f"median {statistics.median(timings) * 1000:.0f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))] * 1000:.0f} ms, "
          f"min {timings[0] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms")  # fmt: skip
    print(f"price of rules exact in {exact} of {args.runs} runs (otherwise a proven interval)")
    for key in ("assemble_seconds", "solve_seconds"):
        values = [t[key] for t in server if key in t]
        if values:
            print(f"server {key.replace('_seconds', '')}: median "
                  f"{statistics.median(values) * 1000:.0f} ms")  # fmt: skip
    print("in process, on the run's snapshot (median of 5; CPU of the whole process):")
    for part, (wall, cpu) in parts(document).items():
        print(f"  {part}: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU")


def parts(document: dict, repeat: int = 5) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each part; CPU is the process's (`time.process_time`),
    which on a loaded machine is the figure to compare. Every HiGHS solve runs on a thread of
    its own (optimiser/solver.py), so no one thread's time is a part's; the whole result
    document's CPU includes the re-solves beside its main solve."""
    from optimiser import SolveOptions, parse_snapshot, solve
    from optimiser.greedy import greedy
    from optimiser.model import Rules
    from optimiser.problem import prepare
    from optimiser.solve import optimise

    rows = []
    for _ in range(repeat):
        row = {}
        clock = _Clock()
        problem = prepare(parse_snapshot(document))
        row["validate and prepare"] = clock.lap()
        start = greedy(problem).chosen
        row["greedy"] = clock.lap()
        options = SolveOptions()
        for name, rules in (
            ("main solve", Rules()),
            ("re-solve without fair shares", Rules(fair_shares=False)),
            ("re-solve without category limits", Rules(category_limits=False)),
        ):
            optimise(problem, rules, options, start=start if name == "main solve" else None)
            row[name] = clock.lap()
        solve(document, options)
        row["whole result document (all threads)"] = clock.lap()
        rows.append(row)
    return {
        key: (
            statistics.median(r[key][0] for r in rows),
            statistics.median(r[key][1] for r in rows),
        )
        for key in rows[0]
    }


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self) -> tuple[float, float]:
        wall, cpu = time.perf_counter(), time.process_time()
        lap = (wall - self.wall, cpu - self.cpu)
        self.wall, self.cpu = wall, cpu
        return lap


if __name__ == "__main__":
    main()
