"""End-to-end benchmark of the demo round's run over HTTP, against a real uvicorn server.

    .venv/bin/python -m benchmarks.api_bench [--runs 20] [--database-url URL]

Starts the API on a free loopback port with a fresh database (SQLite in a temporary folder
by default), loads the demo, and times POST /rounds/{id}/runs from request to response.
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
            round_id = client.get("/api/v1/rounds", params={"system": "QWV"}).json()["items"][0]["id"]
            timings, status, schemes = [], None, 0
            for _ in range(args.runs):
                started = time.perf_counter()
                response = client.post(f"/api/v1/rounds/{round_id}/runs", json={})
                timings.append(time.perf_counter() - started)
                response.raise_for_status()
                status = response.json()["result"]["status"]
                schemes = len(response.json()["result"]["schemes"])
    timings.sort()
    print(f"demo round: {schemes} schemes, status {status}, {args.runs} runs")
    print(f"median {statistics.median(timings) * 1000:.0f} ms, "
          f"p95 {timings[int(0.95 * (len(timings) - 1))] * 1000:.0f} ms, "
          f"min {timings[0] * 1000:.0f} ms, max {timings[-1] * 1000:.0f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
