"""A throwaway server for benchmarks: fresh database, demo data, uvicorn on a free loopback port."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager

import httpx

CAPITAL = [sys.executable, "-m", "capital_cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def demo_server(database_url: str | None = None, *, workers: int = 1):
    """Yield (base url, {role: token}) for a server loaded with the demo system."""
    folder = tempfile.mkdtemp()
    env = {**os.environ, "DATABASE_URL": database_url or f"sqlite:///{folder}/bench.db"}
    subprocess.run([*CAPITAL, "db", "upgrade"], env=env, check=True, capture_output=True)
    demo = subprocess.run([*CAPITAL, "demo"], env=env, check=True, capture_output=True, text=True)
    tokens = {
        line.split()[0]: line.split()[1]
        for line in demo.stdout.splitlines()
        if line.startswith("  ")
    }
    port = free_port()
    server = subprocess.Popen([*CAPITAL, "serve", "--port", str(port), "--workers", str(workers)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # the machine may be busy
        while True:
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the server did not start") from None
                time.sleep(0.2)
        yield base, tokens
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
