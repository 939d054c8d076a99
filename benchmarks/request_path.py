"""Where the demo round's run request spends its CPU, phase by phase, in one process.

    .venv/bin/python -m benchmarks.request_path [--runs 10] [--database-url URL]

A fresh database (SQLite in a temporary folder by default) with the demo system; then the
same calls, in the same order, as `POST /rounds/{id}/runs` (api/rounds/router.py): the
token, the read phase (the round's parameters and the snapshot: api/rounds/snapshot.py),
the solve (validation, greedy, the main solve, reasons, the re-solves beside it), storing the
run, and its JSON response. CPU seconds of this thread (`time.thread_time`): on a loaded
machine the figure to compare; the re-solves run on other threads and are not counted.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict

from benchmarks.server import CAPITAL


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{tempfile.mkdtemp()}/path.db"
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([*CAPITAL, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = subprocess.run([*CAPITAL, "demo"], env=env, check=True, capture_output=True, text=True)
    token = next(
        line.split()[1]
        for line in demo.stdout.splitlines()
        if line.strip().startswith("ics_finance")
    )
    os.environ["DATABASE_URL"] = url  # before the service reads its settings
    phases: dict[str, list[float]] = defaultdict(list)
    result = _run_once(token, defaultdict(list))  # warm imports, caches and the solver library
    for _ in range(args.runs):
        result = _run_once(token, phases)
    print(f"demo round run request, in process, median of {args.runs} (CPU of this thread):")
    for phase, seconds in phases.items():
        print(f"  {phase}: {statistics.median(seconds) * 1000:.1f} ms")
    price = result["price_of_rules"]
    print(f"status {result['status']}, prices {'exact' if price['exact'] else price['note']}")


def _run_once(token: str, phases: dict[str, list[float]]) -> dict:
    from api.db import end_read_phase, get_sessionmaker
    from api.deps import principal_for
    from api.rounds import service
    from api.rounds.models import Round
    from api.rounds.schemas import RunRequest
    from api.strict_json import StrictJSONResponse
    from api.users import service as users_service

    def lap(phase: str) -> None:
        nonlocal cpu
        now = time.thread_time()
        phases[phase].append(now - cpu)
        cpu = now

    cpu = time.thread_time()
    with get_sessionmaker()() as session:
        principal = principal_for(users_service.authenticate(session, token=token))
        round_id = session.query(Round.id).order_by(Round.id).first()[0]
        lap("token")
        prepared = service.prepare_run(
            session, principal=principal, round_id=round_id, body=RunRequest()
        )
        end_read_phase(session)
        lap("read phase: parameters and snapshot")
        result = service.solve_run(prepared=prepared)
        lap("solve (main thread)")
        run = service.record_run(session, principal=principal, prepared=prepared, result=result)
        session.commit()
        lap("store the run")
        StrictJSONResponse(service.run_view(run).model_dump(mode="json"))
        lap("response JSON")
    return result


if __name__ == "__main__":
    main()
