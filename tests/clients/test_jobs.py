"""Jobs end to end against a real server: on SQLite the server runs them in-process; on
PostgreSQL real `capital worker` processes take their parts from procrastinate's queue."""

import os
import signal
import time

import httpx
import pytest
from sqlalchemy import select, text

from api.db import make_engine
from tests.clients.conftest import capital

RANK = ["safety_quality", "strategic_fit", "value_for_money", "deliverability"]
DEADLINE_S = 300


def api(live, role: str = "ics_finance") -> httpx.Client:
    return httpx.Client(base_url=f"{live.url}/api/v1", timeout=120,
                        headers={"Authorization": f"Bearer {live.tokens[role]}"})  # fmt: skip


def demo_round(client: httpx.Client) -> int:
    return client.get("/rounds", params={"system": "QWV"}).json()["items"][0]["id"]


def wait(client: httpx.Client, job_id: int, until=lambda job: job["status"] in ("succeeded", "failed", "cancelled"),
         timeout: float = DEADLINE_S) -> dict:  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/jobs/{job_id}").json()
        if until(job):
            return job
        assert time.monotonic() < deadline, f"job {job_id} still {job['status']} {job['progress']}"
        time.sleep(0.3)


def is_postgres(live) -> bool:
    return not live.database_url.startswith("sqlite")


def wait_for_workers(database_url: str, count: int, timeout: float = 120) -> None:
    """Until `count` workers have registered with the queue (they start slowly on a busy box)."""
    engine = make_engine(database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                alive = connection.execute(
                    text("SELECT count(*) FROM procrastinate_workers")
                ).scalar()
            if alive >= count:
                return
            assert time.monotonic() < deadline, f"only {alive} of {count} workers started"
            time.sleep(0.3)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_a_study_completes_and_agrees_with_solving_at_its_extreme_points(live):
    with api(live) as finance, api(live, "viewer") as viewer:
        round_id = demo_round(finance)
        started = finance.post(f"/rounds/{round_id}/robustness",
                               json={"rank_order": RANK, "samples": 12, "seed": 5})  # fmt: skip
        assert started.status_code == 202, started.text
        job_id = started.json()["id"]
        assert started.headers["location"] == f"/api/v1/jobs/{job_id}"
        assert (
            started.json()["progress"] == {"done": 0, "total": 4 + 1 + 12}
            or started.json()["status"] != "queued"
        )
        # Any member of the system follows it; the result is the study.
        job = wait(viewer, job_id)
        assert job["status"] == "succeeded", job["error"]
        assert job["progress"] == {"done": 17, "total": 17}
        assert job["started_at"] and job["finished_at"] and job["error"] is None
        study = job["result"]
        assert study["samples"] == 12 and study["seed"] == 5 and study["solutions"] == 16
        exact = [p["exact_weights"] for p in study["extreme_points"]]
        assert sorted(exact, key=lambda w: w["deliverability"])[0]["safety_quality"] in (
            "1",
            "1/2",
            "1/3",
        )
        assert {w["deliverability"] for w in exact} == {"0", "1/4"}
        # Each extreme point's portfolio is what a run of the round at those weights funds.
        for point in study["extreme_points"]:
            run = finance.post(
                f"/rounds/{round_id}/runs", json={"weights": point["weights"]}
            ).json()
            funded = [s["id"] for s in run["result"]["schemes"] if s["outcome"] == "funded"]
            assert sorted(funded) == sorted(point["funded"]), point["weights"]
        classes = {s["id"]: s for s in study["schemes"]}
        assert {s["class"] for s in classes.values()} <= {"core", "borderline", "exterior"}
        for point in study["extreme_points"]:
            for scheme_id, scheme in classes.items():
                if scheme["class"] == "core":
                    assert scheme_id in point["funded"]
                if scheme["class"] == "exterior":
                    assert scheme_id not in point["funded"]
        # Listed by round; a viewer may not start or cancel jobs.
        listed = viewer.get("/jobs", params={"round": round_id}).json()
        assert listed["total"] >= 1 and job_id in [j["id"] for j in listed["items"]]
        assert viewer.post(f"/rounds/{round_id}/robustness", json={"samples": 1}).status_code == 403
        assert viewer.delete(f"/jobs/{job_id}").status_code == 403
        assert finance.delete(f"/jobs/{job_id}").status_code == 409  # already succeeded


@pytest.mark.slow
def test_the_frontier_and_an_async_run_are_jobs(live):
    with api(live) as finance:
        round_id = demo_round(finance)
        started = finance.post(
            f"/rounds/{round_id}/frontier", json={"points": 5, "low": 0.6, "high": 1.4}
        )
        assert started.status_code == 202, started.text
        job = wait(finance, started.json()["id"])
        assert job["status"] == "succeeded", job["error"]
        points = job["result"]["points"]
        assert [p["multiplier"] for p in points] == [0.6, 0.8, 1.0, 1.2, 1.4]
        # Value rises with the envelope (a small one may not fit the mandatory schemes).
        values = [p["objective"] for p in points if p["status"] == "optimal"]
        assert values == sorted(values) and len(values) >= 3
        assert [(s["x"], s["y"]) for s in job["result"]["chart"]["series"]] == [
            (p["envelope"], p["objective"]) for p in points
        ]
        queued = finance.post(
            f"/rounds/{round_id}/runs", json={"async": True, "label": "overnight"}
        )
        assert queued.status_code == 202, queued.text
        assert queued.json()["kind"] == "run"
        job = wait(finance, queued.json()["id"])
        assert job["status"] == "succeeded", job["error"]
        run = finance.get(f"/runs/{job['result']['run_id']}").json()
        assert run["options"]["label"] == "overnight" and run["result"]["status"] == "optimal"
        assert run["result"]["objective"] == job["result"]["objective"]


@pytest.mark.slow
def test_cancel_stops_the_remaining_parts(live):
    with api(live) as finance:
        round_id = demo_round(finance)
        started = finance.post(
            f"/rounds/{round_id}/robustness", json={"samples": 400, "seed": 1}
        ).json()
        job_id = started["id"]
        wait(finance, job_id, until=lambda job: job["progress"]["done"] >= 1)
        cancelled = finance.delete(f"/jobs/{job_id}")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        at_cancel = cancelled.json()["progress"]["done"]
        assert 1 <= at_cancel < 405
        # Parts still queued find the job cancelled and do nothing: on PostgreSQL the queue
        # drains of this job's tasks long before 400 solves could finish.
        if is_postgres(live):
            wait_for_tasks(live, job_id, lambda left: left == 0, timeout=120)
        time.sleep(4)  # parts that were solving at the cancel finish; their outcome is dropped
        later = finance.get(f"/jobs/{job_id}").json()
        assert later["status"] == "cancelled" and later["result"] is None
        assert later["progress"]["done"] == at_cancel  # nothing counted after the cancel
        assert "cancelled by" in later["error"]
        # No part was recorded solved after the cancel, and no result was written.
        engine = make_engine(live.database_url)
        try:
            with engine.connect() as connection:
                solved = connection.execute(
                    text("SELECT count(*) FROM job_parts WHERE job_id = :id AND status = 'done'"),
                    {"id": job_id},
                ).scalar()
                result = connection.execute(
                    text("SELECT result FROM jobs WHERE id = :id"), {"id": job_id}
                ).scalar()
        finally:
            engine.dispose()
        assert solved == at_cancel and result is None


def wait_for_tasks(live, job_id: int, until, timeout: float) -> int:
    """PostgreSQL: until the count of the job's tasks still queued or running satisfies `until`."""
    engine = make_engine(live.database_url)
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as connection:
                left = connection.execute(
                    text(
                        "SELECT count(*) FROM procrastinate_jobs WHERE task_name = "
                        "'capital.solve_part' AND (args->>'job_id')::int = :id "
                        "AND status IN ('todo', 'doing')"
                    ),
                    {"id": job_id},
                ).scalar()
            if until(left):
                return left
            assert time.monotonic() < deadline, f"job {job_id} still has {left} tasks queued"
            time.sleep(0.3)
    finally:
        engine.dispose()


def commit_without_queueing(database_url: str, like_job_id: int) -> int:
    """A copy of a job committed as the API commits one, whose parts are never handed to the
    queue or the pool: what a server killed between the commit and the queueing leaves."""
    from sqlalchemy.orm import Session, selectinload

    from api.jobs.models import Job, JobPart

    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            job = session.scalars(
                select(Job).where(Job.id == like_job_id).options(selectinload(Job.parts))
            ).one()
            copy = Job(
                kind=job.kind, round_id=job.round_id, system_id=job.system_id, status="queued",
                done=0, total=job.total, payload=job.payload, created_by_id=job.created_by_id,
                created_by_name=job.created_by_name,
            )  # fmt: skip
            copy.parts = [
                JobPart(index=p.index, status="queued", input=p.input, attempts=0)
                for p in job.parts
            ]
            session.add(copy)
            session.flush()
            return copy.id
    finally:
        engine.dispose()


def test_bad_studies_and_scopes_are_refused(live):
    with api(live) as finance:
        round_id = demo_round(finance)
        bad = finance.post(f"/rounds/{round_id}/robustness",
                           json={"bounds": {"strategic_fit": {"min": 0.7}, "safety_quality": {"min": 0.7}}})  # fmt: skip
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("application/problem+json")
        assert [e["loc"] for e in bad.json()["errors"]] == ["body.bounds"]
        clash = finance.post(f"/rounds/{round_id}/robustness",
                             json={"rank_order": ["deliverability", "safety_quality"],
                                   "bounds": {"safety_quality": {"min": 0.6}}})  # fmt: skip
        assert {e["loc"] for e in clash.json()["errors"]} == {"body.rank_order", "body.bounds"}
        twice = finance.post(
            f"/rounds/{round_id}/robustness",
            json={"rank_order": ["deliverability", "deliverability"]},
        )
        assert [e["loc"] for e in twice.json()["errors"]] == ["body.rank_order[1]"]
        assert (
            finance.post(f"/rounds/{round_id}/robustness", json={"samples": -1}).status_code == 422
        )
        assert (
            finance.post(f"/rounds/{round_id}/frontier", json={"multipliers": [0]}).status_code
            == 422
        )
        assert finance.get("/jobs/0").status_code == 422
        assert finance.get("/jobs/2147483647").status_code == 404
        assert finance.post("/rounds/2147483647/robustness", json={}).status_code == 404
        assert finance.get("/jobs", params={"round": 2147483647}).status_code == 404
        assert httpx.get(f"{live.url}/api/v1/jobs").status_code == 401
        # Another system's finance director: the round and its jobs do not exist for them.
        job_id = finance.post(f"/rounds/{round_id}/robustness", json={"samples": 0}).json()["id"]
        with api(live, "admin") as admin:
            assert (
                admin.post("/systems", json={"code": "QZZ", "name": "Elsewhere"}).status_code == 201
            )
        made = capital("users", "create", "--name", "Other FD", "--role", "ics_finance", "--system", "QZZ",
                       env={**os.environ, "DATABASE_URL": live.database_url})  # fmt: skip
        assert made.returncode == 0, made.stderr
        live.tokens["other_finance"] = made.stdout.strip().splitlines()[-1]
        with api(live, "other_finance") as other:
            assert other.get(f"/jobs/{job_id}").status_code == 404
            assert other.delete(f"/jobs/{job_id}").status_code == 404
            assert other.post(f"/rounds/{round_id}/robustness", json={}).status_code == 404
            assert other.get("/jobs", params={"round": round_id}).status_code == 404
            assert other.get("/jobs").json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.slow
def test_two_workers_share_a_study(live):
    if not is_postgres(live):
        pytest.skip("SQLite runs jobs inside the server: there are no workers to share")
    live.start_worker()
    wait_for_workers(live.database_url, 2)
    with api(live) as finance:
        round_id = demo_round(finance)
        job_id = finance.post(
            f"/rounds/{round_id}/robustness", json={"samples": 30, "seed": 2}
        ).json()["id"]
        job = wait(finance, job_id)
        assert job["status"] == "succeeded", job["error"]
        assert len(job["workers"]) >= 2, job["workers"]


@pytest.mark.slow
def test_a_worker_killed_mid_study_then_restarted_leaves_the_job_finished(live):
    if not is_postgres(live):
        pytest.skip("SQLite runs jobs inside the server, not in workers")
    for worker in live.workers:  # one worker only, so the kill certainly hits the study
        worker.kill()
        worker.wait(timeout=10)
    live.workers.clear()
    worker = live.start_worker()
    wait_for_workers(live.database_url, 1)
    with api(live) as finance:
        round_id = demo_round(finance)
        job_id = finance.post(f"/rounds/{round_id}/robustness",
                              json={"rank_order": RANK, "samples": 25, "seed": 9}).json()["id"]  # fmt: skip
        wait(finance, job_id, until=lambda job: job["progress"]["done"] >= 3)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        killed_at = time.monotonic()
        stopped = finance.get(f"/jobs/{job_id}").json()
        assert stopped["status"] == "running" and stopped["progress"]["done"] < 30
        # A queued job survives: with no worker at all it waits; a new worker finishes it,
        # retrying the part the dead worker held once its heartbeat is stale.
        live.start_worker()
        job = wait(finance, job_id, timeout=180)
        assert job["status"] in ("succeeded", "failed"), job
        assert job["status"] == "succeeded" or job["error"]
        assert time.monotonic() - killed_at < 180
        if job["status"] == "succeeded":
            assert job["progress"] == {"done": 30, "total": 30}


SWEEP_BOUND_S = 150  # job_sweep_after_s (30) + job_sweep_every_s (10) + solving, on a busy box


@pytest.mark.slow
def test_a_committed_job_whose_parts_were_never_queued_or_were_lost_still_finishes(live):
    if not is_postgres(live):
        pytest.skip("SQLite: the server's start-up resumes such jobs (test_jobs_restart.py)")
    if not live.workers or any(w.poll() is not None for w in live.workers):
        live.start_worker()
    wait_for_workers(live.database_url, 1)
    with api(live) as finance:
        round_id = demo_round(finance)
        body = {"rank_order": RANK, "samples": 6, "seed": 3}
        source = wait(
            finance, finance.post(f"/rounds/{round_id}/robustness", json=body).json()["id"]
        )
        assert source["status"] == "succeeded", source["error"]
        # 1. Committed, never queued (the server died between the commit and the defer).
        never_queued = commit_without_queueing(live.database_url, source["id"])
        committed_at = time.monotonic()
        assert wait_for_tasks(live, never_queued, lambda left: True, timeout=1) == 0
        # 2. Queued, then its waiting tasks lost.
        lost = finance.post(f"/rounds/{round_id}/robustness", json=body).json()["id"]
        engine = make_engine(live.database_url)
        try:
            with engine.begin() as connection:
                deleted = connection.execute(
                    text(
                        "DELETE FROM procrastinate_jobs WHERE task_name = 'capital.solve_part' "
                        "AND (args->>'job_id')::int = :id AND status = 'todo'"
                    ),
                    {"id": lost},
                ).rowcount
        finally:
            engine.dispose()
        assert deleted >= 1
        time.sleep(3)
        stuck = finance.get(f"/jobs/{lost}").json()
        assert stuck["status"] in ("queued", "running") and stuck["progress"]["done"] < 11
        # The workers' periodic sweep queues both again; each finishes with the study's result.
        for job_id in (never_queued, lost):
            job = wait(finance, job_id, timeout=SWEEP_BOUND_S)
            assert job["status"] == "succeeded", job["error"]
            assert job["progress"] == {"done": 11, "total": 11}
            assert job["result"]["schemes"] == source["result"]["schemes"]
        assert time.monotonic() - committed_at < SWEEP_BOUND_S
