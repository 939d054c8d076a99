"""Real servers for tests: a fresh database of the session's backend, migrated and loaded with
the demo, and `capital serve` (uvicorn in a subprocess) on a free loopback port. The client,
browser and hostile-input tests all start theirs here, so they wait for it the same way."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import fresh_sibling_database

# How long a server may take to answer /health: generous, because CI may be busy.
START_BUDGET_SECONDS = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def capital(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "capital_cli.main", *args], capture_output=True,
                          text=True, env=env or dict(os.environ), timeout=timeout)  # fmt: skip


def refused(result: subprocess.CompletedProcess, *names: str, one_line: bool = False) -> str:
    """A user's mistake at the command line: exit 2 and plain words naming each of `names` on
    stderr, never a traceback or a rich box; returns stderr."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert "│" not in result.stderr, result.stderr
    for name in names:
        assert name in result.stderr, (name, result.stderr)
    if one_line:
        assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr


def fresh_database(database_url: str, tmp_path_factory, suffix: str = "live") -> str:
    """An empty database beside the session's: a new SQLite file, or a sibling PostgreSQL one."""
    if database_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path_factory.mktemp(suffix) / f'{suffix}.db'}"
    return fresh_sibling_database(database_url, suffix)


def demo_database(
    database_url: str, tmp_path_factory, suffix: str = "live"
) -> tuple[str, dict[str, str], dict[str, str]]:
    """A fresh database, migrated and loaded with the demo: its URL, the environment naming it,
    and the demo's tokens by role."""
    url = fresh_database(database_url, tmp_path_factory, suffix)
    env = {**os.environ, "DATABASE_URL": url}
    upgrade = capital("db", "upgrade", env=env)
    assert upgrade.returncode == 0, upgrade.stderr
    demo = capital("demo", env=env)
    assert demo.returncode == 0, demo.stderr
    tokens = {
        line.split()[0]: line.split()[1]
        for line in demo.stdout.splitlines()
        if line.startswith("  ")
    }
    return url, env, tokens


def start_server(
    env: dict[str, str], *, workers: int = 1, stdout: Path | None = None, stderr: Path | None = None
) -> tuple[subprocess.Popen, str]:
    """`capital serve` on a free port, once it answers /health: the process and its base URL.
    Its output goes to files (`stdout`, `stderr`, or a temporary one for stderr), never a
    pipe: a pipe nobody reads fills (64 KiB) and the server then blocks on its next log line."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    # The server keeps its own handles on the files after these are closed.
    with (
        tempfile.TemporaryFile() if stderr is None else stderr.open("w+b") as log,
        open(os.devnull, "wb") if stdout is None else stdout.open("wb") as out,
    ):
        server = subprocess.Popen(
            [sys.executable, "-m", "capital_cli.main", "serve", "--port", str(port),
             "--workers", str(workers)],
            env=env, stdout=out, stderr=log,
        )  # fmt: skip
        deadline = time.monotonic() + START_BUDGET_SECONDS
        while time.monotonic() < deadline:
            if server.poll() is not None:
                break  # it died: say why at once rather than wait out the budget
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    return server, base
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        server.kill()
        server.wait()
        log.seek(0)
        pytest.fail(f"server did not start: {log.read().decode()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
