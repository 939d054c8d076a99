"""A real server (uvicorn in a subprocess) on a fresh database of the session's backend,
loaded with the demo system, for client and command-line tests."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import fresh_sibling_database


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _fresh_database(database_url: str, tmp_path_factory) -> str:
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    return fresh_sibling_database(database_url, "live")


def capital(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "capital_cli.main", *args], capture_output=True,
                          text=True, env=env or dict(os.environ), timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def live(database_url, tmp_path_factory):
    url = _fresh_database(database_url, tmp_path_factory)
    env = {**os.environ, "DATABASE_URL": url}
    assert capital("db", "upgrade", env=env).returncode == 0
    demo = capital("demo", env=env)
    assert demo.returncode == 0, demo.stderr
    tokens = {
        line.split()[0]: line.split()[1]
        for line in demo.stdout.splitlines()
        if line.startswith("  ")
    }
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "capital_cli.main", "serve", "--port", str(port)],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        server.kill()
        pytest.fail(f"server did not start: {server.stderr.read().decode()[-2000:]}")
    live = Live(url=base, tokens=tokens, database_url=url)
    if not url.startswith("sqlite"):
        live.start_worker()
    yield live
    for worker in live.workers:
        worker.kill()
        worker.wait(timeout=10)
    server.terminate()
    server.wait(timeout=10)
