"""Test fixtures: a real database built by `alembic upgrade head`, rolled back after each test.

Database tests run against SQLite always, and against PostgreSQL too when TEST_DATABASE_URL
is set; an unreachable PostgreSQL fails those tests rather than skipping them.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session

from api.db import get_session, make_engine, unit_of_work
from api.main import create_app
from api.migrate import upgrade

# CI explores the same examples every run, so a red build is reproducible; locally each run
# explores new ones.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def reset_postgres(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def server_database(tmp_path_factory) -> Iterator[str]:
    """The database the app's own sessions open outside a request -- the in-process job pool
    above all -- is an empty migrated SQLite file of the test run, never `./capital.db`: a job
    a test starts is committed only to its rolled-back transaction, so the pool finds no such
    job and stops there, instead of failing against (or creating) the developer's database."""
    from api.db import get_engine, get_read_sessionmaker, get_sessionmaker
    from api.settings import get_settings

    url = f"sqlite:///{tmp_path_factory.mktemp('server') / 'capital.db'}"
    upgrade(url)
    caches = (get_settings, get_engine, get_sessionmaker, get_read_sessionmaker)
    before = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    for cached in caches:
        cached.cache_clear()
    yield url
    if before is None:
        del os.environ["DATABASE_URL"]
    else:
        os.environ["DATABASE_URL"] = before
    get_engine().dispose()
    for cached in caches:
        cached.cache_clear()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'capital.db'}"
    url = os.environ["TEST_DATABASE_URL"]
    reset_postgres(url)
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """One connection per test inside a transaction that is always rolled back."""
    with engine.connect() as connection:
        transaction = connection.begin()
        yield connection
        transaction.rollback()


def _session(connection: Connection) -> Session:
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    session = _session(connection)
    yield session
    session.close()


@pytest.fixture
def client(connection: Connection) -> Iterator[TestClient]:
    """The real app; each request's session commits to a savepoint of the test transaction."""
    app = create_app()

    def test_session() -> Iterator[Session]:
        with unit_of_work(lambda: _session(connection)) as session:
            yield session

    app.dependency_overrides[get_session] = test_session
    with TestClient(app) as client:
        yield client


@dataclass
class World:
    """Two systems, organisations in them (one in both), and a user of every role."""

    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def world(session: Session) -> World:
    from api.deps import principal_for
    from api.systems import service as systems
    from api.systems.schemas import OrganisationCreate, SystemCreate
    from api.users import service as users
    from api.users.models import User

    root = principal_for(User(id=None, name="test loader", role="admin"))
    for code in ("SYA", "SYB"):
        systems.create_system(session, principal=root, body=SystemCreate(code=code, name=code))
    for code, kind, member_of in [
        ("RA1", "acute", ["SYA"]),
        ("RA2", "community", ["SYA"]),
        ("RAM", "ambulance", ["SYA", "SYB"]),
        ("RB1", "acute", ["SYB"]),
    ]:
        body = OrganisationCreate(code=code, name=f"Org {code}", kind=kind, systems=member_of)
        systems.create_organisation(session, principal=root, body=body)
    people = {
        "admin": ("admin", None, None),
        "trust_a1": ("trust", None, "RA1"),
        "trust_a2": ("trust", None, "RA2"),
        "trust_amb": ("trust", None, "RAM"),
        "trust_b1": ("trust", None, "RB1"),
        "assessor_a": ("assessor", "SYA", "RA2"),
        "assessor_a_plain": ("assessor", "SYA", None),
        "assessor_b": ("assessor", "SYB", None),
        "finance_a": ("ics_finance", "SYA", None),
        "finance_b": ("ics_finance", "SYB", None),
        "viewer_a": ("viewer", "SYA", None),
    }
    tokens = {}
    for who, (role, system, organisation) in people.items():
        user = users.create_user(
            session, name=who, role=role, system_code=system, organisation_code=organisation
        )
        tokens[who] = users.issue_token(session, user=user)
    session.commit()
    return World(tokens=tokens)


def scheme_body(**overrides) -> dict:
    body = {
        "system": "SYA",
        "organisation": "RA1",
        "title": "Roof replacement",
        "category": "estates_backlog",
        "cost_profile": {"2026/27": 1200000.00, "2027/28": 300000.00},
        "backlog_risk": "high",
    }
    body.update(overrides)
    return body


def fresh_sibling_database(database_url: str, suffix: str) -> str:
    """Create (afresh) a PostgreSQL database named after the test database plus `suffix`, so
    test runs against different databases of one server never share scratch databases."""
    base, _, name = database_url.rpartition("/")
    sibling = f"{name}_{suffix}"
    admin = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{sibling}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{sibling}"'))
    admin.dispose()
    return f"{base}/{sibling}"


def drop_sibling_database(database_url: str, sibling_url: str) -> None:
    admin = make_engine(database_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        name = sibling_url.rpartition("/")[2]
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def scratch_database_url(database_url: str, tmp_path) -> Iterator[str]:
    """An empty database of the same backend, for tests that must commit for real."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'scratch.db'}"
        return
    url = fresh_sibling_database(database_url, "scratch")
    yield url
    drop_sibling_database(database_url, url)


@pytest.fixture
def demo_world(session: Session) -> World:
    """The demo system (with its draft round) and a fresh token for each demo role."""
    from api import demo

    demo.seed(session)
    tokens = {role: token for role, _name, token in demo.demo_tokens(session)}
    session.commit()
    return World(tokens=tokens)
