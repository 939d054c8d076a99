"""`capital`: administer the service, solve snapshots offline, and talk to a server."""

from enum import StrEnum
from pathlib import Path

import typer

from capital_cli.remote import rounds_app, runs_app, schemes_app

app = typer.Typer(
    help="Capital prioritisation for NHS integrated care systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their bearer tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(schemes_app, name="schemes")
app.add_typer(rounds_app, name="rounds")
app.add_typer(runs_app, name="runs")


def fail(message: str, code: int = 2) -> None:
    """One clear line on stderr and a non-zero exit: never a traceback for a user mistake."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _transaction():
    from api.db import get_sessionmaker, unit_of_work

    return unit_of_work(get_sessionmaker())


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Migrate the database (DATABASE_URL) up to REVISION."""
    from api.migrate import upgrade
    from api.settings import get_settings

    upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(...)) -> None:
    """Migrate the database down to REVISION (`base` empties it)."""
    from api.migrate import downgrade
    from api.settings import get_settings

    downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {revision}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Worker processes (use about one per CPU core)."
    ),
) -> None:
    """Serve the API (docs at /docs)."""
    import uvicorn

    # A worker that is slow to import on a busy machine is not dead: give it a minute.
    uvicorn.run(
        "api.main:app", host=host, port=port, workers=workers, timeout_worker_healthcheck=60
    )


@users_app.command("create")
def users_create(
    name: str = typer.Option(..., "--name", help="Who the user is."),
    role: str = typer.Option(..., "--role", help="admin, trust, assessor, ics_finance or viewer."),
    system: str | None = typer.Option(None, "--system", help="System code (assessor, ics_finance, viewer)."),
    organisation: str | None = typer.Option(None, "--organisation", help="Organisation code (trust; optional for assessor)."),
) -> None:  # fmt: skip
    """Create a user; the bearer token is printed once, on the last line."""
    from api.errors import CapitalError
    from api.users import service

    try:
        with _transaction() as session:
            user = service.create_user(
                session, name=name, role=role, system_code=system, organisation_code=organisation
            )
            token = service.issue_token(session, user=user)
    except CapitalError as exc:
        fail(exc.detail)
    typer.echo(f"created user {user.id} ({role}); bearer token (shown once):")
    typer.echo(token)


@users_app.command("list")
def users_list() -> None:
    """Every user with their role, scope and number of active tokens."""
    from api.users import repository

    with _transaction() as session:
        for user in repository.list_users(session):
            scope = " ".join(filter(None, [user.system and f"system={user.system.code}",
                                           user.organisation and f"organisation={user.organisation.code}"]))  # fmt: skip
            tokens = len(repository.active_tokens(session, user_id=user.id))
            typer.echo(f"{user.id:>5}  {user.role:<12} {user.name}  {scope}  tokens={tokens}")


@users_app.command("revoke")
def users_revoke(
    user_id: int = typer.Option(..., "--id", help="The user's id (see `capital users list`)."),
) -> None:
    """Revoke every active token of a user; they can no longer call the API."""
    from api.errors import CapitalError
    from api.users import service

    try:
        with _transaction() as session:
            count = service.revoke_tokens(session, user_id=user_id)
    except CapitalError as exc:
        fail(exc.detail)
    typer.echo(f"revoked {count} token(s) of user {user_id}")


@app.command()
def demo() -> None:
    """Load the demo system if the database is empty, and print a fresh token for each role."""
    from api import demo as demo_data

    with _transaction() as session:
        if demo_data.is_loaded(session):
            typer.echo("database already has data: demo not loaded again")
        else:
            demo_data.seed(session)
            typer.echo("demo system QWV (Wessex Vale) loaded")
        tokens = demo_data.demo_tokens(session)
    if tokens:
        typer.echo("demo tokens (shown once; new ones are issued on every `capital demo`):")
        for role, user_name, token in tokens:
            typer.echo(f"  {role:<12} {token}   # {user_name}")


class SolverChoice(StrEnum):
    highs = "highs"
    cbc = "cbc"


@app.command()
def optimise(
    snapshot_file: Path = typer.Argument(..., metavar="SNAPSHOT.json", help="A round's snapshot."),
    solver: SolverChoice = typer.Option(SolverChoice.highs, help="MILP solver."),
    gap: float = typer.Option(1e-4, min=0, max=1, help="Relative optimality gap to stop at."),
    time_limit: float = typer.Option(
        60.0, "--time-limit", min=0.1, help="Seconds the solver may take."
    ),
) -> None:
    """Solve a snapshot offline and print the result document as JSON."""
    import json

    from optimiser import SnapshotInvalid, SolveOptions, SolverFailed, solve

    try:
        document = json.loads(snapshot_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{snapshot_file}: no such file")
    except json.JSONDecodeError as exc:
        fail(f"{snapshot_file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{snapshot_file}: cannot be read ({exc})")
    options = SolveOptions(solver=solver.value, mip_gap=gap, time_limit_s=time_limit)
    try:
        result = solve(document, options)
    except SnapshotInvalid as exc:
        for error in exc.errors:
            typer.echo(f"error: {snapshot_file}: {error['path']}: {error['message']}", err=True)
        raise typer.Exit(2) from None
    except SolverFailed as exc:
        fail(str(exc), code=1)
    typer.echo(json.dumps(result.to_document(), indent=2))


if __name__ == "__main__":
    app()
