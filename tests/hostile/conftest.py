"""A real server (uvicorn, `capital serve`) on a fresh database of the session's backend with
the demo system loaded, for attacking over HTTP (schemathesis, hostile input, load)."""

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.clients.conftest import Live, _free_port, _fresh_database, capital


def start_server(env: dict[str, str], *, workers: int = 1) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "capital_cli.main", "serve", "--port", str(port),
         "--workers", str(workers)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180  # the machine may be busy
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    pytest.fail(f"server did not start: {server.stderr.read().decode()[-2000:]}")


@pytest.fixture(scope="module")
def hostile(database_url, tmp_path_factory):
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
    server, base = start_server(env)
    yield Live(url=base, tokens=tokens, database_url=url)
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()
