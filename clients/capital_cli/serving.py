"""`capital serve --workers N`: N uvicorn processes, each with its own listening socket.

uvicorn's own `--workers` binds one socket in the parent and has every worker accept from it.
Each accept wakes every worker and the first one awake takes every connection waiting, so a
burst of keep-alive clients (32 opened at once by a load test, or an office's browsers after a
network blip) lands almost wholly on one worker while the other idles: measured here, 25 of 32
connections on one worker, which then does the work of both on one core (docs/benchmarks.md).

With SO_REUSEPORT each worker binds the same address itself and the kernel spreads new
connections over the workers' sockets by their address hash, so the load divides evenly.
The supervisor is small: it starts the workers, restarts one that dies, and on SIGTERM or
SIGINT asks each to finish its requests (uvicorn's graceful shutdown) and waits for them.
Where the platform has no SO_REUSEPORT, uvicorn's own supervisor is used.
"""

import multiprocessing
import signal
import socket
import time

import uvicorn

APP = "api.main:app"
# A worker that is slow to import on a busy machine is not dead: give it a minute.
HEALTHCHECK_S = 60
# A worker that dies at start-up (a bad setting) must not be restarted in a tight loop.
RESTART_BACKOFF_S = 1.0
SHUTDOWN_GRACE_S = 30


def _listening_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _worker(host: str, port: int) -> None:
    """One worker process: its own socket on the shared address, then uvicorn on it."""
    sock = _listening_socket(host, port)
    config = uvicorn.Config(APP, host=host, port=port, timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    uvicorn.Server(config).run(sockets=[sock])


def serve(*, host: str, port: int, workers: int) -> None:
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(APP, host=host, port=port, workers=workers,
                    timeout_worker_healthcheck=HEALTHCHECK_S)  # fmt: skip
        return
    # Fail here, once, if the address is taken by someone else (the workers would each fail).
    _listening_socket(host, port).close()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> multiprocessing.Process:
        process = context.Process(target=_worker, args=(host, port), name="capital-worker")
        process.start()
        return process

    def stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop)
    processes = [start() for _ in range(workers)]
    print(f"capital: serving on http://{host}:{port} with {workers} workers "
          f"({', '.join(str(p.pid) for p in processes)})", flush=True)  # fmt: skip
    while not stopping:
        for index, process in enumerate(processes):
            if not process.is_alive() and not stopping:
                print(f"capital: worker {process.pid} exited ({process.exitcode}); restarting",
                      flush=True)  # fmt: skip
                time.sleep(RESTART_BACKOFF_S)
                processes[index] = start()
        time.sleep(0.2)
    for process in processes:
        if process.is_alive():
            process.terminate()  # SIGTERM: uvicorn finishes the requests in hand, then exits
    deadline = time.monotonic() + SHUTDOWN_GRACE_S + 5
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()
