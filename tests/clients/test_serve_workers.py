"""`capital serve --workers 2` (capital_cli/serving.py): a burst of keep-alive connections is
shared by both workers, and stopping the server stops every worker."""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.servers import demo_database, start_server, stop_server

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def _established_inodes(port: int) -> set[str]:
    """Socket inodes of established TCP connections whose local port is `port` (Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    inodes.add(fields[9])
    return inodes


def _connections_by_process(pids: list[int], port: int) -> dict[int, int]:
    inodes = _established_inodes(port)
    held = {}
    for pid in pids:
        sockets = set()
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                sockets.add(target[8:-1])
        held[pid] = len(sockets & inodes)
    return held


def test_two_workers_share_a_burst_of_connections_and_stop_with_the_server(
    database_url, tmp_path_factory
):
    _url, env, _tokens = demo_database(database_url, tmp_path_factory, suffix="workers")
    server, base = start_server(env, workers=2)
    port = int(base.rsplit(":", 1)[1])
    clients = [httpx.Client(base_url=base, timeout=60) for _ in range(32)]
    try:
        # 32 connections opened at once (a load test, or browsers after a network blip), each
        # kept alive: uvicorn's own supervisor gives most of such a burst to one worker.
        barrier = threading.Barrier(len(clients))

        def first_request(client: httpx.Client) -> int:
            barrier.wait()
            return client.get("/health").status_code

        with ThreadPoolExecutor(len(clients)) as pool:
            assert set(pool.map(first_request, clients)) == {200}
        held = {
            pid: n for pid, n in _connections_by_process(_children(server.pid), port).items() if n
        }
        assert sum(held.values()) == 32
        # Two workers each hold a fair part (the kernel spreads connections by address hash;
        # one worker holding fewer than 4 of 32 by chance has a probability of about 1e-6).
        assert len(held) == 2, held
        assert min(held.values()) >= 4, held
        workers = list(held)
    finally:
        for client in clients:
            client.close()
        stop_server(server)
    assert server.returncode == 0
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{pid}") for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(os.path.exists(f"/proc/{pid}") for pid in workers), (
        "a worker outlived the server"
    )
