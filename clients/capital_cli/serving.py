"""`capital serve --workers N`: N uvicorn processes, each with its own listening socket.

uvicorn's own `--workers` binds one socket in the parent and has every worker accept from it.
Each accept wakes every worker and the first one awake takes every connection waiting, so a
burst of keep-alive clients (32 opened at once by a load test, or an office's browsers after a
network blip) lands almost wholly on one worker while the other idles: measured here, 25 of 32
connections on one worker, which then does the work of both on one core (docs/benchmarks.md).

With SO_REUSEPORT the supervisor binds one socket per worker on the same address and the
kernel spreads new connections over them by their address hash, so the load divides evenly.
The supervisor keeps each socket and hands it to the worker in that place: a worker that
stops (a stuck solve, below, or a crash) leaves the connections queued on its socket for
its replacement rather than reset with the socket, as they were when each worker bound its
own. The supervisor is small: it starts the workers, restarts one that dies, and on SIGTERM
or SIGINT asks each to finish its requests (uvicorn's graceful shutdown) and waits for them.
Where the platform has no SO_REUSEPORT, uvicorn's own supervisor is used.

One worker (the default: `make run`, the Dockerfile) is supervised too, on one socket that the
supervisor binds and keeps: a served process whose solve is stuck past its time limit inside
HiGHS (optimiser.solver) stops itself once its requests are answered, because only a new
process frees the core that solve holds, and the supervisor starts a fresh one on the same
socket. Connections that arrive meanwhile wait in the socket's queue instead of being refused.
"""

import asyncio
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time

import uvicorn

APP = "api.main:app"
# A worker that is slow to import on a busy machine is not dead: give it a minute.
HEALTHCHECK_S = 60
# A worker that dies at start-up (a bad setting) must not be restarted in a tight loop.
RESTART_BACKOFF_S = 1.0
SHUTDOWN_GRACE_S = 30
# How often a served process looks for a solve stuck past its limit, and the exit that asks
# its supervisor for a fresh process ("try again", as `capital worker` uses).
STUCK_CHECK_S = 5.0
EXIT_STUCK = 75
# Connections the one worker's socket holds while its process is replaced.
BACKLOG = 2048
# How long a stopping process waits for a request on a connection it accepted just before.
SETTLE_S = 2.0


def _listening_socket(host: str, port: int, *, shared: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, except that a graceful stop answers connections it has just accepted.

    uvicorn's shutdown closes at once every connection on which no request has begun, which is
    right for an idle keep-alive connection but drops one accepted a moment before whose request
    is still on its way: the client sees "server disconnected without sending a response" (seen
    once in CI while a stuck process was replaced). So stop accepting first, then give such
    connections up to SETTLE_S to begin their request, which is answered (and the connection
    closed after it) as any request in hand is. A second Ctrl-C (force_exit) stops waiting."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # what the kernel queues from now on waits for the next process
        deadline = time.monotonic() + SETTLE_S
        await asyncio.sleep(0.05)  # a connection just accepted is registered on the next turn
        while (
            time.monotonic() < deadline
            and not self.force_exit
            and any(
                getattr(connection, "cycle", None) is None
                for connection in self.server_state.connections
            )
        ):
            await asyncio.sleep(0.05)
        await super().shutdown(sockets)


def _stop_when_a_solve_is_stuck(server: uvicorn.Server, stuck: threading.Event) -> None:
    from optimiser.solver import solves_past_their_limit, stuck_solves

    while not server.should_exit:
        count = solves_past_their_limit()
        if count:
            print(f"capital: {stuck_solves(count)}; this server process ({os.getpid()}) stops "
                  "once its requests are answered, and a fresh one takes its place",
                  file=sys.stderr, flush=True)  # fmt: skip
            stuck.set()
            server.should_exit = True  # uvicorn's graceful shutdown, as on SIGTERM
            return
        time.sleep(STUCK_CHECK_S)


def _die_with(supervisor: int) -> None:
    """A supervisor killed outright (SIGKILL, the OOM killer) takes its served processes with
    it, as when the server was one process: an orphan would go on holding the address and
    running in-process jobs that a fresh `capital serve` resumes too. Linux only (prctl)."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != supervisor:  # it died before the line above took effect
        os._exit(1)


def _worker(
    host: str, port: int, supervisor: int, sock: socket.socket, resume: bool = False
) -> None:
    """One served process: uvicorn on the socket its supervisor keeps; it stops with
    EXIT_STUCK when one of its solves is stuck past its limit."""
    _die_with(supervisor)
    from optimiser import quiet

    quiet.leave_standard_output_alone()
    if resume:  # the only worker: SQLite jobs left unfinished by the last one carry on here
        from api.jobs.runner import resume_unfinished

        resume_unfinished()
    config = uvicorn.Config(APP, host=host, port=port, timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    server = _Server(config)
    stuck = threading.Event()
    threading.Thread(target=_stop_when_a_solve_is_stuck, args=(server, stuck),
                     name="stuck-solves", daemon=True).start()  # fmt: skip
    server.run(sockets=[sock])
    if stuck.is_set():
        # Not through the interpreter's exit: it would wait for in-process job parts (SQLite)
        # to finish, and the fresh process resumes those anyway.
        sys.stderr.flush()
        os._exit(EXIT_STUCK)


def _listen(host: str, port: int, count: int) -> list[socket.socket]:
    """`count` listening sockets on the address, or exit 3 (uvicorn's exit when it cannot
    start) saying why. Several share the address through SO_REUSEPORT, which any process of
    the same user may join: a second `capital serve --workers 2` on the same port would bind
    beside the first and take half its connections, perhaps with another database or version.
    So the address is first bound without SO_REUSEPORT, which fails if anything listens
    there, ours included, and released for the sockets the workers use."""
    try:
        if count > 1:  # nothing may listen there yet, not even another supervisor's workers
            _listening_socket(host, port, shared=False).close()
        sockets = [_listening_socket(host, port, shared=count > 1) for _ in range(count)]
    except OSError as exc:
        print(f"capital: cannot listen on {host}:{port}: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(3) from None
    for sock in sockets:
        sock.listen(BACKLOG)  # from now on a connection waits for a process rather than refused
    return sockets


def _supervise(host: str, port: int, sockets: list[socket.socket]) -> None:
    """One served process per socket, each restarted on its socket when it stops, until
    SIGTERM or SIGINT asks them all to finish their requests.

    One process (the default) resumes unfinished SQLite jobs itself, so its replacement after
    a stuck solve carries on those the stuck one left; and a process that stops for any other
    reason (a bad setting at start-up) ends the server with its exit code rather than loop.
    Several processes leave jobs to the supervisor (one process must resume them, not each),
    and any one that stops is restarted after a pause, the others serving meanwhile."""
    one = len(sockets) == 1
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start(index: int) -> multiprocessing.Process:
        process = context.Process(
            target=_worker, args=(host, port, os.getpid(), sockets[index], one),
            name="capital-server" if one else "capital-worker",
        )  # fmt: skip
        process.start()
        return process

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    processes = [start(index) for index in range(len(sockets))]
    pids = ", ".join(str(p.pid) for p in processes)
    print(f"capital: serving on http://{host}:{port} with "
          + ("one process" if one else f"{len(processes)} workers") + f" ({pids}); "
          "Ctrl-C stops it", flush=True)  # fmt: skip
    while not stopping:
        for index, process in enumerate(processes):
            process.join(0.2 / len(processes))
            if process.is_alive() or stopping:
                continue
            if process.exitcode == EXIT_STUCK:
                print(f"capital: server process {process.pid} stopped with a stuck solve; "
                      "starting a fresh one", file=sys.stderr, flush=True)  # fmt: skip
            elif one:
                _close(sockets)
                raise SystemExit(process.exitcode)  # it failed (a bad setting): say so, don't loop
            else:
                print(f"capital: worker {process.pid} exited ({process.exitcode}); restarting",
                      flush=True)  # fmt: skip
                time.sleep(RESTART_BACKOFF_S)
            processes[index] = start(index)
    _stop(processes)
    _close(sockets)


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


def _stop(processes: list[multiprocessing.Process]) -> None:
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in hand, then exits
    deadline = time.monotonic() + SHUTDOWN_GRACE_S + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


def serve(*, host: str, port: int, workers: int) -> None:
    if workers > 1 and not hasattr(socket, "SO_REUSEPORT"):
        from api.jobs.runner import resume_unfinished

        resume_unfinished()  # SQLite: jobs interrupted by a restart carry on in this process
        uvicorn.run(APP, host=host, port=port, workers=workers,
                    timeout_worker_healthcheck=HEALTHCHECK_S)  # fmt: skip
        return
    sockets = _listen(host, port, workers)  # here, once, before any job is resumed
    if workers > 1:
        from api.jobs.runner import resume_unfinished

        resume_unfinished()  # SQLite: jobs interrupted by a restart carry on in this process
    _supervise(host, port, sockets)
