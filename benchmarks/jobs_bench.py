"""A robustness study of the demo round through the job queue, with 1 and 2 workers.

    TEST_DATABASE_URL=postgresql+psycopg://... .venv/bin/python -m benchmarks.jobs_bench --samples 200

Uses a fresh PostgreSQL database next to the given one (`<name>_jobsbench`), a real server
and real `capital worker` processes; the wall time is the job's own created_at -> finished_at,
after an unmeasured small study has warmed every worker up. Speed-up is against the first
worker count given.
"""

import argparse
import os
import subprocess
import time
from datetime import datetime

import httpx
from sqlalchemy import text

from api.db import make_engine
from benchmarks.server import CAPITAL, demo_server
from tests.conftest import drop_sibling_database, fresh_sibling_database


def _wait_health(base: str) -> None:
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not start")


def _workers_alive(url: str) -> int:
    engine = make_engine(url)
    with engine.connect() as connection:
        count = connection.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar()
    engine.dispose()
    return count


def _until(condition, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout  # a busy machine starts workers slowly
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting: {what}")
        time.sleep(0.3)


RANK = ["safety_quality", "strategic_fit", "value_for_money", "deliverability"]


def _study(client: httpx.Client, round_id: int, *, samples: int) -> dict:
    """Run one robustness study of the round to the end; its finished job."""
    body = {"rank_order": RANK, "samples": samples, "seed": 1}
    job = client.post(f"/rounds/{round_id}/robustness", json=body).json()
    assert "id" in job, job
    deadline = time.monotonic() + 3600
    while job["status"] not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job['id']} did not finish in an hour")
        time.sleep(0.5)
        job = client.get(f"/jobs/{job['id']}").json()
    assert job["status"] == "succeeded", job["error"]
    return job


def _forget_workers(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DELETE FROM procrastinate_workers"))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    base_url = os.environ["TEST_DATABASE_URL"]
    url = fresh_sibling_database(base_url, "jobsbench")
    env = {**os.environ, "DATABASE_URL": url}
    try:
        with demo_server(url) as (base, tokens):
            _wait_health(base)
            client = httpx.Client(base_url=f"{base}/api/v1", timeout=60,
                                  headers={"Authorization": f"Bearer {tokens['ics_finance']}"})  # fmt: skip
            round_id = client.get("/rounds", params={"system": "QWV"}).json()["items"][0]["id"]
            print("| workers | parts | wall time | parts per second | speed-up |")
            print("| ---: | ---: | ---: | ---: | ---: |")
            baseline = None  # the first worker count's wall time
            for count in args.workers:
                workers = [subprocess.Popen([*CAPITAL, "worker"], env=env, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL) for _ in range(count)]  # fmt: skip
                try:
                    _until(lambda n=count: _workers_alive(url) >= n, f"{count} workers to start")
                    # Unmeasured: each worker's first solve loads the solver (a cold start).
                    _study(client, round_id, samples=2 * count)
                    for _ in range(args.repeat):
                        job = _study(client, round_id, samples=args.samples)
                        wall = (datetime.fromisoformat(job["finished_at"])
                                - datetime.fromisoformat(job["created_at"])).total_seconds()  # fmt: skip
                        parts = job["progress"]["total"]
                        baseline = baseline or (count, wall)
                        speed_up = f"{baseline[1] / wall:.2f}× (vs {baseline[0]})"
                        print(f"| {count} | {parts} | {wall:.1f} s | {parts / wall:.2f} | "
                              f"{speed_up} |", flush=True)  # fmt: skip
                finally:
                    for worker in workers:
                        worker.terminate()
                    for worker in workers:
                        try:
                            worker.wait(timeout=60)
                        except subprocess.TimeoutExpired:
                            worker.kill()
                            worker.wait()
                    # The next count starts from no registered worker (a killed one's row
                    # lingers: forget it rather than count it).
                    _forget_workers(url)
    finally:
        drop_sibling_database(base_url, url)


if __name__ == "__main__":
    main()
