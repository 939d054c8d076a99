"""Keep whatever a solver library prints off standard output.

`capital optimise` prints the result document on stdout, and some solver builds write banners
there from C code (highspy 1.16 prints two lines when a `Highs` object is created), which
Python's `sys.stdout` never sees. So the guard works on file descriptor 1 itself: while any
solve is running, fd 1 points at fd 2 (stderr), where such text is harmless. Solves run on
several threads at once, so the redirection is reference-counted: the first solve in moves
fd 1, the last one out puts it back. `write_stdout` writes to the real standard output
whatever the redirection's state, for a result printed while another thread is in a guard.
"""

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_saved_fd: int | None = None
_moves_fd1 = True


def leave_standard_output_alone() -> None:
    """For a server: its standard output is a log, not a result document, and moving fd 1
    under its threads sent every line logged while any solve ran (uvicorn's access log) to
    stderr instead. A solver's banner on a log is harmless."""
    global _moves_fd1
    _moves_fd1 = False


@contextmanager
def solver_output_to_stderr() -> Iterator[None]:
    global _depth, _saved_fd
    if not _moves_fd1:
        yield
        return
    with _lock:
        if _depth == 0:
            _flush()
            _saved_fd = os.dup(1)
            os.dup2(2, 1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved_fd is not None:
                _flush()
                os.dup2(_saved_fd, 1)
                os.close(_saved_fd)
                _saved_fd = None


def write_stdout(text: str) -> None:
    """`text` on the process's real standard output, even while a guard elsewhere has moved
    fd 1 (the lock keeps the guard from moving it back or away mid-write)."""
    data = text.encode("utf-8")
    with _lock:
        _flush()
        fd = _saved_fd if _saved_fd is not None else 1
        while data:
            data = data[os.write(fd, data) :]


def _flush() -> None:
    # Text Python buffered for stdout belongs where it was written, before fd 1 moves.
    for stream in (sys.stdout, sys.__stdout__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
