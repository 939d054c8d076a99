"""`capital serve --workers 2` (capital_cli/serving.py): a burst of keep-alive connections is
shared by both workers, and stopping the server stops every worker."""

import os
import select
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.migrate import upgrade
from tests.servers import capital, demo_database, start_server, stop_server

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


def _workers(server_pid: int) -> list[int]:
    """The served processes (multiprocessing's spawned children), not its resource tracker."""
    found = []
    for pid in _children(server_pid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if b"spawn_main" in handle.read():
                    found.append(pid)
        except OSError:
            continue
    return found


def _ask_health(port: int) -> socket.socket:
    """A connection with a request sent, its answer not yet read: the kernel completes the
    connection and queues it on a worker's socket whether or not that worker accepts."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: capital\r\nConnection: close\r\n\r\n")
    return sock


def _answer(sock: socket.socket) -> bytes:
    answer = b""
    try:
        while chunk := sock.recv(65536):
            answer += chunk
    except OSError as exc:  # a reset connection: what a worker's closed socket did to it
        answer += repr(exc).encode()
    finally:
        sock.close()
    return answer


def test_a_worker_that_dies_leaves_the_connections_queued_for_it_to_its_replacement(
    database_url, tmp_path_factory
):
    """Each worker bound its own socket, which closed with it: connections the kernel had
    queued on it but the worker had not yet accepted were reset ("connection reset by peer")
    when it stopped or died. The supervisor now keeps each worker's socket, and the worker
    that replaces it answers them."""
    _url, env, _tokens = demo_database(database_url, tmp_path_factory, suffix="workerdies")
    server, base = start_server(env, workers=2)
    port = int(base.rsplit(":", 1)[1])
    try:
        # Both workers accept: each holds one of 16 kept-alive connections (until a worker
        # has started, the kernel may queue or send elsewhere what would be its share).
        deadline = time.monotonic() + 60
        while True:
            clients = [httpx.Client(base_url=base, timeout=60) for _ in range(16)]
            assert all(client.get("/health").status_code == 200 for client in clients)
            held = _connections_by_process(_workers(server.pid), port)
            for client in clients:
                client.close()
            if len(held) == 2 and all(held.values()):
                break
            assert time.monotonic() < deadline, held
            time.sleep(0.5)
        workers = list(held)
        frozen = workers[0]
        os.kill(frozen, signal.SIGSTOP)  # it accepts nothing more: what reaches it queues
        asked = [_ask_health(port) for _ in range(16)]
        time.sleep(1)
        waiting = [sock for sock in asked if not select.select([sock], [], [], 0)[0]]
        # The kernel spreads connections by address hash: none of 16 on the frozen worker's
        # socket has a probability of 2**-16.
        assert waiting, "no connection was queued on the frozen worker"
        os.kill(frozen, signal.SIGKILL)
        answers = [_answer(sock) for sock in asked]
        assert all(a.startswith(b"HTTP/1.1 200 ") for a in answers), [a[:80] for a in answers]
        assert frozen not in _workers(server.pid)
    finally:
        stop_server(server)
    assert server.returncode == 0


def _cannot_listen(done, port) -> None:
    """The command said in one line that the address is taken, exit 3 (no traceback)."""
    assert done.returncode == 3, done
    assert done.stderr.strip() == (
        f"capital: cannot listen on 127.0.0.1:{port}: [Errno 98] Address already in use"
    ), done.stderr


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_taken_address_is_said_without_a_traceback(tmp_path, workers):
    """`capital serve --workers 2` on a port another program holds printed a Python
    traceback (OSError) rather than what was wrong; one worker printed uvicorn's line, which
    did not name the address."""
    url = f"sqlite:///{tmp_path}/capital.db"
    upgrade(url)
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        done = capital("serve", "--port", str(port), "--workers", workers,
                       env=os.environ | {"DATABASE_URL": url}, timeout=60)  # fmt: skip
    finally:
        holder.close()
    _cannot_listen(done, port)


def test_a_second_server_on_the_address_of_one_with_workers_is_refused(tmp_path):
    """SO_REUSEPORT lets any process of the same user bind beside the workers' sockets: a
    second `capital serve --workers 2` on the same port started beside the first and took
    about half of its new connections, whatever database or version it served."""
    url = f"sqlite:///{tmp_path}/capital.db"
    upgrade(url)
    env = os.environ | {"DATABASE_URL": url}
    first, base = start_server(env, workers=2)
    port = base.rsplit(":", 1)[1]
    try:
        second = capital("serve", "--port", port, "--workers", "2", env=env, timeout=30)
    finally:
        stop_server(first)
    _cannot_listen(second, port)
