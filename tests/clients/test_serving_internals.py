"""What `capital serve`'s graceful stop reads of uvicorn's internals still holds.

`serving._Server.shutdown` waits for connections with no request begun, which it tells apart
by two of uvicorn's internals: `server_state.connections` and each connection's `cycle`
(None until a request begins). Were a `make lock` upgrade to rename either, every graceful
stop would wait its full SETTLE_S or drop a just-accepted connection again, and no other test
would say why. This one fails at once instead. A real uvicorn server on a free port, in a
thread of this process, with raw sockets: nothing is mocked."""

import socket
import threading
import time

import uvicorn

from clients.capital_cli.serving import _Server


async def _hello(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"hello"})


def _until(condition, *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _reply(sock: socket.socket) -> bytes:
    sock.settimeout(10)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    data = b""
    while b"hello" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def test_a_stopping_server_tells_a_connection_with_no_request_by_uvicorns_cycle():
    config = uvicorn.Config(_hello, host="127.0.0.1", port=0, log_level="warning",
                            lifespan="off", http="h11")  # fmt: skip
    server = _Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        _until(lambda: server.started)
        port = server.servers[0].sockets[0].getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as idle:
            _until(lambda: len(server.server_state.connections) == 1)
            [connection] = list(server.server_state.connections)
            # The internals _Server.shutdown reads: no request yet, so no cycle.
            assert hasattr(connection, "cycle") and connection.cycle is None
            assert _reply(idle).startswith(b"HTTP/1.1 200")
            assert connection.cycle is not None

            # And what they are read for: a connection accepted before the stop whose request
            # comes after it has begun is answered, not dropped.
            with socket.create_connection(("127.0.0.1", port)) as late:
                _until(lambda: len(server.server_state.connections) == 2)
                server.should_exit = True
                time.sleep(0.5)
                assert thread.is_alive()  # still waiting for the late request
                assert _reply(late).startswith(b"HTTP/1.1 200")
        thread.join(timeout=10)
        assert not thread.is_alive()
    finally:
        server.should_exit = server.force_exit = True
        thread.join(timeout=10)
