"""SQLite's in-process jobs survive the server: a `capital serve` killed with SIGKILL mid-study
and started again finishes the study (or fails it with the reason), and so does a job that was
committed but never handed to the server's pool. A real server process on a real SQLite file."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy import text

from api.db import make_engine
from tests.clients.conftest import _free_port, capital
from tests.clients.test_jobs import RANK, commit_without_queueing, demo_round, wait
from tests.clients.test_serve_stuck_solve import serving_child

RESTART_BOUND_S = 240  # the whole study again, on a machine shared with other work


def serve(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "capital_cli.main", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return server, base
        except httpx.TransportError:
            pass
        assert server.poll() is None, "the server exited"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.2)


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=f"{base}/api/v1", timeout=120,
                        headers={"Authorization": f"Bearer {token}"})  # fmt: skip


def job_status(database_url: str, job_id: int) -> str:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT status FROM jobs WHERE id = :id"), {"id": job_id}
            ).scalar()
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_server_killed_mid_study_and_restarted_finishes_its_jobs(database_url, tmp_path):
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL runs jobs in workers (see test_jobs.py's killed worker)")
    url = f"sqlite:///{tmp_path / 'restart.db'}"
    env = {**os.environ, "DATABASE_URL": url, "JOB_THREADS": "1"}
    assert capital("db", "upgrade", env=env).returncode == 0
    demo = capital("demo", env=env)
    assert demo.returncode == 0, demo.stderr
    token = next(line.split()[1] for line in demo.stdout.splitlines()
                 if line.startswith("  ics_finance"))  # fmt: skip
    server, base = serve(env)
    try:
        with client(base, token) as finance:
            round_id = demo_round(finance)
            small = {"rank_order": RANK, "samples": 3, "seed": 4}
            source = wait(
                finance, finance.post(f"/rounds/{round_id}/robustness", json=small).json()["id"]
            )
            assert source["status"] == "succeeded", source["error"]
            body = {"rank_order": RANK, "samples": 40, "seed": 8}
            job_id = finance.post(f"/rounds/{round_id}/robustness", json=body).json()["id"]
            wait(finance, job_id, until=lambda job: job["progress"]["done"] >= 3)
        # The process that solves: `capital serve` supervises it, and it dies with it.
        first_pid = serving_child(server.pid)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        deadline = time.monotonic() + 10
        while os.path.exists(f"/proc/{first_pid}") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not os.path.exists(f"/proc/{first_pid}"), "the serving process outlived the kill"
        assert job_status(url, job_id) == "running"
        # While the server is down: a job committed but never handed to the pool.
        never_queued = commit_without_queueing(url, source["id"])
        restarted_at = time.monotonic()
        server, base = serve(env)
        with client(base, token) as finance:
            job = wait(finance, job_id, timeout=RESTART_BOUND_S)
            assert job["status"] in ("succeeded", "failed"), job
            assert job["status"] == "succeeded", job["error"]  # the solver itself never fails here
            assert job["progress"] == {"done": 45, "total": 45}
            # Parts solved before the kill stand; the restarted server solved the rest.
            assert {f"server:{first_pid}", f"server:{serving_child(server.pid)}"} <= set(
                job["workers"]
            )
            assert job["result"]["samples"] == 40
            copied = wait(finance, never_queued, timeout=RESTART_BOUND_S)
            assert copied["status"] == "succeeded", copied["error"]
            assert copied["result"]["schemes"] == source["result"]["schemes"]
        assert time.monotonic() - restarted_at < RESTART_BOUND_S
    finally:
        server.kill()
        server.wait(timeout=10)
