"""Rendered pages of the scheme list, kept in memory and keyed by the database's snapshot.

The scheme register is read far more often than it is written: every trust, assessor and
finance user pages through it. Building a 50-item page costs ~10 ms of CPU (rows, costs,
dependencies, mean scores, JSON), and the request around it (FastAPI's dependencies, the
session, its transaction) another 2-3 ms, which on two cores caps the service near 100 pages
a second (docs/benchmarks.md, issue 9). A page depends only on what the database holds and on
who asks, so when nothing has been committed since it was built it can be served again.

"Nothing has been committed since" is exact on PostgreSQL: `pg_current_snapshot()` names the
set of transactions a statement sees (xmin, xmax and those in progress). Two equal snapshots
see the same committed data, and any commit or any new writing transaction changes it, so a
page built at or after snapshot S is right for every later request whose snapshot is still S.
Read-only requests take no transaction id, so a register that is only being read keeps one
snapshot and its pages are served from memory; the first commit anywhere (a scheme, a score, a
token, a job) moves it and the next request builds afresh.

SQLite has no such name shared between connections (`PRAGMA data_version` ignores a
connection's own commits), so there is no cache there: every page is built
(docs/decisions.md).

Two halves:
- `CachedPages`, pure ASGI middleware in front of the app, answers a GET of a cacheable path
  from memory when it can: it checks the bearer token and reads the snapshot in one statement
  on an autocommit connection (no session, no transaction, no FastAPI dependencies) and looks
  up (snapshot, user, path, query string). Anything else -- no token, a bad token, SQLite, a
  miss, a database error -- goes on to the app untouched, which authenticates, validates,
  authorises and answers as always.
- On a miss the route builds the page as always and, when the middleware left a key in the
  request's state, stores the body under it (`store`). Only 200 bodies built by the route for
  exactly that user, path and query string are ever served, so the key needs no knowledge of
  the route's parameters, and no one is served another user's page.
"""

import time
from collections import OrderedDict
from collections.abc import Hashable
from threading import Lock

from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy import Connection, Engine, create_engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import get_settings
from api.users import service as users_service

# A worker keeps at most this many bytes of pages (a 50-item page is ~40 KB; a 500-item page
# of long descriptions a few MB), so no run of distinct queries can grow it further; pages
# of an older snapshot are never hit again, so they are the first to go.
MAX_BYTES = 64 * 1024 * 1024
# Where the middleware leaves the key of a page the route should store.
STATE_KEY = "page_cache_key"
# How the middleware's connection shows in pg_stat_activity.
APPLICATION_NAME = "capital-page-cache"
# RFC 9211's Cache-Status, so clients, operators and tests can tell a page served from memory.
HIT = (b"cache-status", b"capital; hit")
MISS = (b"cache-status", b"capital; fwd=miss")


class PageCache:
    """A thread-safe LRU of rendered pages (bytes), bounded by their total size."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()
        self._max_bytes = max_bytes
        self._bytes = 0
        self._lock = Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._pages.get(key)
            if body is not None:
                self._pages.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self._max_bytes // 8:
            return  # one huge page would push out many ordinary ones
        with self._lock:
            old = self._pages.pop(key, None)
            self._bytes += len(body) - (len(old) if old is not None else 0)
            self._pages[key] = body
            while self._bytes > self._max_bytes:
                _, evicted = self._pages.popitem(last=False)
                self._bytes -= len(evicted)

    @property
    def size(self) -> int:
        return self._bytes


PAGES = PageCache()


def store(request: Request, body: bytes) -> None:
    """Keep a page the route has just built, if the middleware asked for it."""
    key = request.scope.get("state", {}).get(STATE_KEY)
    if key is not None:
        PAGES.put(key, body)


def _bearer_token(scope: Scope) -> str | None:
    """The bearer token, parsed as FastAPI's HTTPBearer (api/deps.py) parses it."""
    scheme, token = get_authorization_scheme_param(Headers(scope=scope).get("authorization"))
    return token if scheme.lower() == "bearer" and token else None


class _TokenCheck:
    """The middleware's own database connection, used only on the event loop's thread.

    A hit costs one statement; sending it from a thread-pool thread (as sync code in an async
    app usually is) costs a thread hop, and with 16 requests in hand per worker the threads'
    fight for the GIL gave the slowest requests seconds of latency. The statement is an
    indexed lookup (~0.1 ms on loopback), so it runs on the loop itself, on a connection of
    its own (never waiting for a slot in the app's pool), in autocommit (no BEGIN/COMMIT),
    with short connect and statement timeouts so that a lost database or a table lock (a
    migration) cannot hold the loop. After any error the middleware stands aside for a few
    seconds (requests go on to the app, which answers for the database as always), then
    reconnects."""

    TIMEOUT_MS = 200
    STAND_ASIDE_S = 5.0

    def __init__(self) -> None:
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._retry_at = 0.0

    def holder(self, token: str) -> tuple[int, str | None] | None:
        """(user id, snapshot), None for a token that is not active; SQLAlchemyError when
        the database could not say (or this is within the stand-aside after an error)."""
        if self._connection is None:
            if time.monotonic() < self._retry_at:
                raise SQLAlchemyError("standing aside after a database error")
            if self._engine is None:
                self._engine = create_engine(
                    get_settings().database_url, poolclass=NullPool,
                    isolation_level="AUTOCOMMIT",
                    connect_args={"options": f"-c statement_timeout={self.TIMEOUT_MS}",
                                  "connect_timeout": 2, "application_name": APPLICATION_NAME},
                )  # fmt: skip
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            return users_service.token_holder(self._connection, token=token)
        except SQLAlchemyError:
            if self._connection is not None:
                self._connection.invalidate()
            self._connection = None
            self._retry_at = time.monotonic() + self.STAND_ASIDE_S
            raise


class CachedPages:
    def __init__(self, app: ASGIApp, *, paths: frozenset[str]) -> None:
        self.app = app
        self.paths = paths
        self.postgresql = get_settings().database_url.startswith("postgresql")
        self.tokens = _TokenCheck()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        token = _bearer_token(scope)
        holder = None
        if token is not None and self.postgresql:
            try:
                holder = self.tokens.holder(token)
            except SQLAlchemyError:
                holder = None  # the app will meet the same trouble and answer for it
        if holder is None:
            await self.app(scope, receive, send)
            return
        user_id, snapshot = holder
        key = (snapshot, user_id, scope["path"], scope["query_string"])
        body = PAGES.get(key)
        if body is None:
            scope.setdefault("state", {})[STATE_KEY] = key

            async def send_marked(message: Message) -> None:
                if message["type"] == "http.response.start" and message["status"] == 200:
                    message = {**message, "headers": [*message.get("headers", []), MISS]}
                await send(message)

            await self.app(scope, receive, send_marked)
            return
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()), HIT,
        ]})  # fmt: skip
        await send({"type": "http.response.body", "body": body})
