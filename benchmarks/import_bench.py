"""Spreadsheet import benchmark: `capital schemes import` of N rows against a real server.

.venv/bin/python -m benchmarks.import_bench [--rows 10000] [--database-url URL]
"""

import argparse
import os
import random
import subprocess
import tempfile
import time
from pathlib import Path

from api.schemes.spreadsheets import COLUMNS, write_rows
from benchmarks.server import CAPITAL, demo_server

CATEGORIES = ["estates_backlog", "estates_capacity", "digital", "equipment", "other"]


def make_file(path: Path, rows: int) -> None:
    rng = random.Random(7)
    years = ["2026/27", "2027/28", "2028/29", "2029/30", "2030/31"]
    body = []
    for n in range(rows):
        costs = [round(rng.lognormvariate(12, 1), 2) if rng.random() < 0.5 else "" for _ in years]
        costs[0] = costs[0] or 25000.0
        body.append(["R0A", f"Scheme {n + 1}", "Imported for the benchmark", rng.choice(CATEGORIES), "obc",
                     "", "no", "", f"row {n + 1}" if n and rng.random() < 0.03 else "", "", rng.randint(0, 2),
                     *costs])  # fmt: skip
    write_rows(path, COLUMNS + years, body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    for suffix in ("xlsx", "csv"):
        path = folder / f"schemes.{suffix}"
        make_file(path, args.rows)
        with demo_server(args.database_url) as (base, tokens):
            env = {**os.environ, "CAPITAL_URL": base, "CAPITAL_TOKEN": tokens["trust"]}
            started = time.perf_counter()
            result = subprocess.run([*CAPITAL, "schemes", "import", str(path), "--system", "QWV"],
                                    env=env, capture_output=True, text=True)  # fmt: skip
            elapsed = time.perf_counter() - started
        print(
            f"{args.rows} rows from {suffix}: {elapsed:.2f} s (exit {result.returncode}) {result.stdout.strip()}"
        )


if __name__ == "__main__":
    main()
