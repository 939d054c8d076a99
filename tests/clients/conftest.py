"""A real server (uvicorn in a subprocess) on a fresh database of the session's backend,
loaded with the demo system, for client and command-line tests."""

import os
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from tests.servers import (
    capital,
    demo_database,
    free_port,
    fresh_database,
    start_server,
    stop_server,
)

__all__ = ["Live", "capital", "free_port", "fresh_database", "start_server"]


@dataclass
class Live:
    url: str
    tokens: dict[str, str]
    database_url: str
    # PostgreSQL: `capital worker` processes solving the server's jobs (SQLite needs none).
    workers: list = field(default_factory=list)

    def start_worker(self, *args: str) -> subprocess.Popen:
        env = {**os.environ, "DATABASE_URL": self.database_url}
        worker = subprocess.Popen([sys.executable, "-m", "capital_cli.main", "worker", *args],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        self.workers.append(worker)
        return worker

    def env(self, role: str = "trust", **extra: str) -> dict[str, str]:
        return {**os.environ, "CAPITAL_URL": self.url, "CAPITAL_TOKEN": self.tokens[role], **extra}


# Kept under these names for the tests that import them from here.
_free_port = free_port
_fresh_database = fresh_database


@pytest.fixture(scope="module")
def live(database_url, tmp_path_factory):
    url, env, tokens = demo_database(database_url, tmp_path_factory)
    server, base = start_server(env)
    live = Live(url=base, tokens=tokens, database_url=url)
    if not url.startswith("sqlite"):
        live.start_worker()
    yield live
    for worker in live.workers:
        worker.kill()
        worker.wait(timeout=10)
    stop_server(server)
