"""Engine, session factory and the declarative base shared by every model."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import lru_cache

from fastapi import Request
from sqlalchemy import (
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    Text,
    cast,
    create_engine,
    event,
    func,
    null,
)
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from api import strict_json
from api.settings import get_settings

# Stable constraint names so Alembic migrations are reproducible on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC timestamps on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


# Execution option marking a connection that only reads (see `read_only`).
READ_ONLY = "capital_read_only"


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and SERIALIZABLE semantics;
    # let SQLAlchemy emit BEGIN itself (the documented recipe), and enforce foreign keys.
    # WAL lets readers go on reading the last committed state while a writer writes.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    # Writers take the write lock when they begin (BEGIN IMMEDIATE), so two writers queue at
    # BEGIN instead of deadlocking when both try to upgrade a read lock; readers begin a
    # deferred transaction and, in WAL mode, never wait for a writer.
    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    """An engine for `url`, with the SQLite fixes applied when it is SQLite."""
    # JSON columns are written as strict JSON on every backend: a non-finite number fails the
    # write (PostgreSQL's json type rejects it anyway; SQLite would store `Infinity`).
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False}, json_serializer=strict_json.dumps
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, json_serializer=strict_json.dumps)


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@lru_cache
def get_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def read_only(engine: Engine) -> Engine:
    """The same engine and pool, for sessions that only read: on SQLite their transactions
    are deferred (no write lock), on PostgreSQL they are READ ONLY (a write is an error)."""
    options: dict = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["postgresql_readonly"] = True
    return engine.execution_options(**options)


@lru_cache
def get_read_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(bind=read_only(get_engine()), expire_on_commit=False)


@contextmanager
def unit_of_work(factory: Callable[[], Session]) -> Iterator[Session]:
    """A session that commits if the block succeeds and rolls back if it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def snapshot_name(dialect: str) -> ColumnElement[str | None]:
    """A column naming what the statement sees, for keying caches (api/page_cache.py): on
    PostgreSQL `pg_current_snapshot()` (equal names see equal committed data); elsewhere NULL,
    which turns the cache off."""
    if dialect == "postgresql":
        return cast(func.pg_current_snapshot(), Text)
    return null()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """The request's session: commits when the request succeeds, rolls back otherwise.
    GET, HEAD and OPTIONS only read (HTTP's safe methods), so they get a read-only session:
    on SQLite they never take the write lock, so they never wait behind an import."""
    factory = get_read_sessionmaker() if request.method in SAFE_METHODS else get_sessionmaker()
    with unit_of_work(factory) as session:
        yield session


def end_read_phase(session: Session) -> None:
    """Finish the request's reads so no transaction or connection is held during a long
    computation (an optimisation); the session begins a fresh transaction when used again."""
    session.commit()
