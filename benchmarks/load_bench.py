"""The API under load (issue 9), against a real server on loopback.

    .venv/bin/python -m benchmarks.load_bench --database-url postgresql+psycopg://.../h5bench
    .venv/bin/python -m benchmarks.load_bench --import-rows 20000     # SQLite: GET during import

Part 1 (`--database-url`, PostgreSQL): `capital serve --workers 2`, the demo plus
`--schemes` submitted schemes, then 32 concurrent clients GET /api/v1/schemes?limit=50 at
pages spread over the list, each on its own keep-alive connection, sending its next request
when the last is answered. Reports throughput, median, p95, max and errors (any non-2xx or a
connection error). The load tool shares the machine's two cores with the server and the
database, so it should cost as little as possible: by default it is wrk (`--tool wrk`,
Debian's package, installed by `make bench-tools`; one thread, 32 connections, `--seconds`
long, driven by benchmarks/scheme_pages.lua), about 0.1 ms of CPU a request; `--tool httpx`
(asyncio, `--requests` in all) costs ~3 ms of CPU a request in this process, which on two
cores is more than the server's own work and inflates every latency.

Part 2 (`--import-rows`, SQLite): one client POSTs a bulk import of N rows while another
GETs /api/v1/schemes?limit=50 in a loop; reports the slowest GET that ran during the import.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import threading
import time

import httpx

from benchmarks.server import demo_server, tree_cpu_seconds

CONCURRENCY = 32
WRK_SCRIPT = os.path.join(os.path.dirname(__file__), "scheme_pages.lua")


def _rows(count: int, *, title: str) -> list[dict]:
    return [
        {"organisation": "R0A", "title": f"{title} {n}", "category": "equipment",
         "cost_profile": {"2026/27": 10000 + n, "2027/28": 500}}
        for n in range(count)
    ]  # fmt: skip


async def _load(base: str, token: str, total_requests: int, pages: int) -> tuple[list, int, float]:
    timings: list[float] = []
    errors = 0
    counter = iter(range(total_requests))

    async def worker() -> None:
        nonlocal errors
        headers = {"Authorization": f"Bearer {token}"}
        limits = httpx.Limits(max_connections=1)
        async with httpx.AsyncClient(
            base_url=base, headers=headers, timeout=60, limits=limits
        ) as client:
            for n in counter:
                started = time.perf_counter()
                try:
                    response = await client.get(
                        "/api/v1/schemes", params={"limit": 50, "offset": (n % pages) * 50}
                    )
                    if response.status_code != 200 or len(response.json()["items"]) == 0:
                        errors += 1
                except httpx.HTTPError:
                    errors += 1
                timings.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return timings, errors, time.perf_counter() - started


def _wrk(base: str, token: str, pages: int, seconds: int) -> tuple[dict, float]:
    """One wrk run; its JSON summary and its own CPU seconds."""
    env = {**os.environ, "CAPITAL_TOKEN": token, "CAPITAL_PAGES": str(pages)}
    command = ["wrk", "-t1", f"-c{CONCURRENCY}", f"-d{seconds}s", "--timeout", "60s",
               "-s", WRK_SCRIPT, f"{base}/api/v1/schemes"]  # fmt: skip
    before = os.times()
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    after = os.times()
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return summary, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def load(database_url: str, *, schemes: int, requests: int, workers: int, tool: str,
         seconds: int) -> None:  # fmt: skip
    pids: list[int] = []
    with demo_server(database_url, workers=workers, pids=pids) as (base, tokens):
        trust = {"Authorization": f"Bearer {tokens['trust']}"}
        body = {"system": "QWV", "schemes": _rows(schemes, title="Load"), "submit": True}
        httpx.post(
            f"{base}/api/v1/schemes/import", json=body, headers=trust, timeout=600
        ).raise_for_status()
        total = httpx.get(f"{base}/api/v1/schemes", params={"limit": 1},
                          headers={"Authorization": f"Bearer {tokens['ics_finance']}"}).json()["total"]  # fmt: skip
        pages = max(1, total // 50)
        token = tokens["ics_finance"]
        # warm up every worker's connections and caches
        if tool == "wrk":
            _wrk(base, token, pages, 3)
        else:
            asyncio.run(_load(base, token, CONCURRENCY * 4, pages))
        load_before, cpu_before = os.getloadavg()[0], tree_cpu_seconds(pids[0])
        if tool == "wrk":
            summary, tool_cpu = _wrk(base, token, pages, seconds)
            requests, elapsed = summary["requests"], summary["duration_us"] / 1e6
            p50, p95, top = (summary[k] / 1e6 for k in ("p50_us", "p95_us", "max_us"))
            errors = summary["errors"]
        else:
            tool_before = time.process_time()
            timings, errors, elapsed = asyncio.run(_load(base, token, requests, pages))
            tool_cpu = time.process_time() - tool_before
            timings.sort()
            p50, p95 = statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]
            top = timings[-1]
        cpu = tree_cpu_seconds(pids[0]) - cpu_before
        load_after = os.getloadavg()[0]
    print(
        f"GET /schemes?limit=50 ({total} schemes visible, {pages} pages), {CONCURRENCY} clients "
        f"({tool}), {workers} workers, {requests} requests in {elapsed:.1f} s"
    )
    print(f"  req/s   {requests / elapsed:.0f}")
    print(f"  p50     {p50 * 1000:.0f} ms")
    print(f"  p95     {p95 * 1000:.0f} ms")
    print(f"  max     {top * 1000:.0f} ms")
    print(f"  errors  {errors}")
    print(
        f"  server CPU per request  {cpu / requests * 1000:.1f} ms (uvicorn workers, not the database)"
    )
    print(f"  load tool CPU per request  {tool_cpu / requests * 1000:.2f} ms ({tool})")
    print(f"  load average  {load_before:.1f} before, {load_after:.1f} after "
          f"({os.cpu_count()} CPUs; above that, the figures above are pessimistic)")  # fmt: skip


def during_import(rows: int) -> None:
    with demo_server(None, workers=2) as (base, tokens):
        trust = {"Authorization": f"Bearer {tokens['trust']}"}
        reader = {"Authorization": f"Bearer {tokens['ics_finance']}"}
        body = {"system": "QWV", "schemes": _rows(rows, title="Imported"), "submit": True}
        done = threading.Event()
        result: dict = {}

        def importer() -> None:
            started = time.perf_counter()
            response = httpx.post(
                f"{base}/api/v1/schemes/import", json=body, headers=trust, timeout=600
            )
            result["status"], result["seconds"] = (
                response.status_code,
                time.perf_counter() - started,
            )
            done.set()

        # Warm both workers first (each on fresh connections, so both get some): a worker's
        # first list request compiles its statements and loads modules, ~1 s on a busy machine,
        # which is not what this measures.
        for _ in range(20):
            httpx.get(
                f"{base}/api/v1/schemes", params={"limit": 50}, headers=reader
            ).raise_for_status()
        thread = threading.Thread(target=importer)
        began = time.perf_counter()
        thread.start()
        timings = []
        when = []  # (duration, seconds into the import it started)
        with httpx.Client(base_url=base, headers=reader, timeout=60) as client:
            while not done.is_set():
                started = time.perf_counter()
                response = client.get("/api/v1/schemes", params={"limit": 50})
                if not done.is_set():
                    timings.append((time.perf_counter() - started, response.status_code))
                    when.append((timings[-1][0], started - began))
                time.sleep(0.05)
        thread.join()
    # When the slowest GETs started, to tell a stall at one moment (a commit, the end of the
    # import) from GETs slowed all along (CPU starvation).
    slow = ", ".join(f"{d * 1000:.0f} ms at {at:.1f} s" for d, at in sorted(when, reverse=True)[:5])
    slowest = max(t for t, _ in timings) if timings else float("nan")
    statuses = sorted({s for _, s in timings})
    print(f"import of {rows} rows: {result['status']} in {result['seconds']:.1f} s; "
          f"{len(timings)} GETs during it, statuses {statuses}, "
          f"median {statistics.median(t for t, _ in timings) * 1000:.0f} ms, "
          f"slowest {slowest * 1000:.0f} ms; load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"slowest GETs: {slow} (of {result['seconds']:.1f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--schemes", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=3200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--import-rows", type=int, default=0)
    parser.add_argument("--tool", choices=("wrk", "httpx"), default="wrk")
    parser.add_argument("--seconds", type=int, default=20, help="how long wrk runs")
    args = parser.parse_args()
    if args.tool == "wrk" and not args.import_rows and shutil.which("wrk") is None:
        parser.error("wrk is not installed: `make bench-tools` (Debian's package) or --tool httpx")
    if args.import_rows:
        during_import(args.import_rows)
    else:
        load(args.database_url, schemes=args.schemes, requests=args.requests,
             workers=args.workers, tool=args.tool, seconds=args.seconds)  # fmt: skip


if __name__ == "__main__":
    main()
