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


def _empty_postgres(url: str) -> None:
    """Drop everything in a PostgreSQL database, so each run starts from the demo alone."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process and all its descendants that are
    alive (Linux /proc): the server's cost, whatever else the machine is doing."""
    ticks = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            total += (int(stats[current][11]) + int(stats[current][12])) / ticks
        todo += children.get(current, [])
    return total


@contextmanager
def demo_server(database_url: str | None = None, *, workers: int = 1, pids: list | None = None):
    """Yield (base url, {role: token}) for a server loaded with the demo system (its process
    id is appended to `pids` if given)."""
    folder = tempfile.mkdtemp()
    if database_url and database_url.startswith("postgresql"):
        _empty_postgres(database_url)
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
    if pids is not None:
        pids.append(server.pid)
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
