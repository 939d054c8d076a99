"""The administrative `capital` commands, run as a user would run them (a real process)."""

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from api.db import get_session, make_engine
from api.main import create_app


def capital(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "capital_cli.main", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


@pytest.fixture
def migrated(scratch_database_url):
    result = capital(scratch_database_url, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    return scratch_database_url


def _client_for(url: str) -> TestClient:
    from sqlalchemy.orm import sessionmaker

    factory = sessionmaker(bind=make_engine(url))
    app = create_app()

    def session():
        with factory.begin() as s:
            yield s

    app.dependency_overrides[get_session] = session
    return TestClient(app)


def test_demo_then_users_create_prints_a_working_token_last(migrated):
    demo = capital(migrated, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "loaded" in demo.stdout
    created = capital(
        migrated, "users", "create", "--name", "Tour", "--role", "ics_finance", "--system", "QWV"
    )
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("cap_")
    with _client_for(migrated) as client:
        response = client.get("/api/v1/schemes", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json()["total"] >= 60
    again = capital(migrated, "demo")
    assert "already" in again.stdout
    # each role gets a fresh, working token every time
    tokens = [
        line.split()[1]
        for line in again.stdout.splitlines()
        if line.strip().startswith(("admin", "viewer"))
    ]
    assert len(tokens) == 2
    with _client_for(migrated) as client:
        assert (
            client.get(
                "/api/v1/systems", headers={"Authorization": f"Bearer {tokens[1]}"}
            ).status_code
            == 200
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--name", "x", "--role", "wizard"], "role must be one of"),
        (["--name", "x", "--role", "trust"], "needs --organisation"),
        (["--name", "x", "--role", "viewer", "--system", "NOPE"], "no system with code NOPE"),
        (["--name", "  ", "--role", "admin"], "the name must be 1 to 200 characters"),
        (["--name", "a\tb", "--role", "admin"], "on one line"),
        (["--name", "x", "--role", "admin", "--system", "QWV"], "an admin user sees every system"),
        # Each role takes only the scope it uses (the page's test gives codes that exist).
        (
            ["--name", "x", "--role", "trust", "--organisation", "R0A", "--system", "QWV"],
            "a trust user works in its organisation's systems: leave out --system",
        ),
        (
            ["--name", "x", "--role", "ics_finance", "--system", "QWV", "--organisation", "R0A"],
            "an ICS finance user acts for the whole system: leave out --organisation",
        ),
        (
            ["--name", "x", "--role", "viewer", "--system", "QWV", "--organisation", "R0A"],
            "a viewer acts for the whole system: leave out --organisation",
        ),
    ],
)
def test_users_create_mistakes_exit_2_without_traceback(migrated, args, message):
    result = capital(migrated, "users", "create", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_users_list_and_revoke(migrated):
    assert capital(migrated, "demo").returncode == 0
    created = capital(
        migrated, "users", "create", "--name", "Leaver", "--role", "viewer", "--system", "QWV"
    )
    token = created.stdout.strip().splitlines()[-1]
    listed = capital(migrated, "users", "list")
    line = next(line for line in listed.stdout.splitlines() if "Leaver" in line)
    user_id = line.split()[0]
    assert "system=QWV" in line and "tokens=1" in line
    with _client_for(migrated) as client:
        assert (
            client.get("/api/v1/systems", headers={"Authorization": f"Bearer {token}"}).status_code
            == 200
        )
    revoked = capital(migrated, "users", "revoke", "--id", user_id)
    assert revoked.returncode == 0 and "revoked 1 token(s)" in revoked.stdout
    with _client_for(migrated) as client:
        assert (
            client.get("/api/v1/systems", headers={"Authorization": f"Bearer {token}"}).status_code
            == 401
        )
    unknown = capital(migrated, "users", "revoke", "--id", "999999")
    assert unknown.returncode == 2 and "no user with id 999999" in unknown.stderr
