"""`capital`: administer the service, solve snapshots offline, and talk to a server."""

import sys
from enum import StrEnum
from pathlib import Path

import typer

from capital_cli.checks import fail, finite
from capital_cli.delivery import delivery_app
from capital_cli.local import require_database, transaction
from capital_cli.reference import reference_app
from capital_cli.remote import jobs_app, rounds_app, runs_app, schemes_app

app = typer.Typer(
    help="Capital prioritisation for NHS integrated care systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # A mistaken argument is one plain line on stderr when it is read by a program or a log
    # (rich would box and wrap it at 80 columns, splitting paths); boxed only on a terminal.
    rich_markup_mode="rich" if sys.stderr.isatty() else None,
)
db_app = typer.Typer(help="Database administration.", no_args_is_help=True)
users_app = typer.Typer(help="Users and their bearer tokens.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(schemes_app, name="schemes")
app.add_typer(rounds_app, name="rounds")
app.add_typer(runs_app, name="runs")
app.add_typer(reference_app, name="reference")
app.add_typer(delivery_app, name="delivery")
app.add_typer(jobs_app, name="jobs")


@app.callback()
def _settings_first() -> None:
    """A mistaken setting in the environment (or .env) is one line naming it, exit 2, before
    any command runs: not pydantic's traceback from inside a server's process."""
    from pydantic import ValidationError

    from api.settings import get_settings

    try:
        get_settings()
    except ValidationError as exc:
        fail("; ".join(f"setting {'.'.join(map(str, e['loc'])).upper()}: "
                       f"{e['msg'].removeprefix('Value error, ')}"
                       for e in exc.errors()))  # fmt: skip


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
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, min=1, max=64, help="Worker processes (use about one per CPU core)."
    ),
) -> None:
    """Serve the API (docs at /docs)."""
    from capital_cli.serving import serve as serve_workers

    require_database()
    serve_workers(host=host, port=port, workers=workers)


@app.command()
def worker(
    concurrency: int = typer.Option(
        1, "--concurrency", min=1, max=64, help="Parts solved at once."
    ),
    name: str | None = typer.Option(
        None, help="A name for this worker in logs (default host:pid)."
    ),
) -> None:
    """Solve queued jobs' parts (PostgreSQL). Run as many as you like, on any machine."""
    import asyncio
    import logging

    from api.jobs import queue, work
    from api.jobs.runner import uses_queue

    if not uses_queue():
        fail("workers need PostgreSQL (DATABASE_URL=postgresql+psycopg://...); with SQLite "
             "`capital serve` runs jobs itself")  # fmt: skip
    require_database()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(queue.run_worker(concurrency=concurrency, name=name or work.this_process()))
    except queue.SolveStuck as exc:
        # Not the user's mistake (2): 75, "try again", for the restart policy that starts a
        # fresh worker (docker-compose.yml restarts it whatever the code).
        fail(str(exc), 75)


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
        with transaction() as session:
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

    with transaction() as session:
        for user in repository.list_users(session):
            scope = " ".join(filter(None, [user.system and f"system={user.system.code}",
                                           user.organisation and f"organisation={user.organisation.code}"]))  # fmt: skip
            tokens = len(repository.active_tokens(session, user_id=user.id))
            typer.echo(f"{user.id:>5}  {user.role:<12} {user.name}  {scope}  tokens={tokens}")


@users_app.command("revoke")
def users_revoke(
    user_id: int = typer.Option(
        ..., "--id", min=1, max=2**31 - 1, help="The user's id (see `capital users list`)."
    ),
) -> None:
    """Revoke every active token of a user; they can no longer call the API."""
    from api.errors import CapitalError
    from api.users import service

    try:
        with transaction() as session:
            count = service.revoke_tokens(session, user_id=user_id)
    except CapitalError as exc:
        fail(exc.detail)
    typer.echo(f"revoked {count} token(s) of user {user_id}")


@app.command()
def demo() -> None:
    """Load the demo system if the database is empty, and print a fresh token for each role."""
    from api import demo as demo_data

    with transaction() as session:
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
    gap: float = typer.Option(
        1e-4, min=0, max=1, callback=finite, help="Relative optimality gap to stop at."
    ),
    time_limit: float = typer.Option(
        60.0, "--time-limit", min=0.1, callback=finite, help="Seconds the solver may take."
    ),
) -> None:
    """Solve a snapshot offline and print the result document as JSON."""
    import json

    from optimiser import SnapshotInvalid, SolveOptions, SolverFailed, solve
    from optimiser.quiet import write_stdout

    document = _read_snapshot(snapshot_file)
    options = SolveOptions(solver=solver.value, mip_gap=gap, time_limit_s=time_limit)
    try:
        result = solve(document, options)
    except SnapshotInvalid as exc:
        for error in exc.errors:
            typer.echo(f"error: {snapshot_file}: {error['path']}: {error['message']}", err=True)
        raise typer.Exit(2) from None
    except SolverFailed as exc:
        fail(str(exc), code=1)
    # Strict JSON: a non-finite number is an error here, never `Infinity` on stdout. Written
    # past the solver-output guard: a stopped re-solve may still be running (solve_problem).
    write_stdout(json.dumps(result.to_document(), indent=2, allow_nan=False) + "\n")


def _read_snapshot(path: Path):
    """A snapshot file's JSON, or exit 2 saying what is wrong with the file."""
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except json.JSONDecodeError as exc:
        fail(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"{path}: cannot be read ({exc})")


def _weights_option(value: str | None, flag: str):
    import json

    if value is None:
        return None
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        fail(f"{flag}: not valid JSON ({exc.msg}, column {exc.colno})")


@app.command()
def robustness(
    snapshot_file: Path = typer.Argument(..., metavar="SNAPSHOT.json", help="A round's snapshot."),
    rank_order: str | None = typer.Option(
        None, "--rank-order", help="Criteria, most important first, comma-separated "
        "(e.g. safety_quality,strategic_fit,value_for_money,deliverability)."),
    bounds: str | None = typer.Option(
        None, "--bounds", help='Bounds per weight as JSON: \'{"safety_quality": {"min": 0.3}}\'.'),
    samples: int = typer.Option(100, "--samples", min=0, max=5000, help="Uniform weight samples."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**31 - 1, help="Seed of the samples."),
    gap: float = typer.Option(1e-4, min=0, max=1, help="Relative optimality gap to stop at."),
    time_limit: float = typer.Option(60.0, "--time-limit", min=0.1, help="Seconds per solve."),
) -> None:  # fmt: skip
    """How the snapshot's decision depends on its weights, offline: the study as JSON."""
    import json
    import sys

    from optimiser import SnapshotInvalid, SolveOptions, SolverFailed, parse_snapshot
    from optimiser.robustness import WeightSetInvalid, study, weight_set

    document = _read_snapshot(snapshot_file)
    order = [c.strip() for c in rank_order.split(",") if c.strip()] if rank_order else []
    parsed_bounds = _weights_option(bounds, "--bounds")
    if parsed_bounds is not None and not isinstance(parsed_bounds, dict):
        fail("--bounds: must be a JSON object of criterion -> {min, max}")
    try:
        snapshot = parse_snapshot(document)
        weights = weight_set(rank_order=order, bounds=parsed_bounds, prefix="")
    except SnapshotInvalid as exc:
        for error in exc.errors:
            typer.echo(f"error: {snapshot_file}: {error['path']}: {error['message']}", err=True)
        raise typer.Exit(2) from None
    except WeightSetInvalid as exc:
        for error in exc.errors:
            flag = "--rank-order" if error["path"].startswith(".rank_order") else "--bounds"
            typer.echo(f"error: {flag}: {error['path'].lstrip('.')}: {error['message']}", err=True)
        raise typer.Exit(2) from None
    options = SolveOptions(mip_gap=gap, time_limit_s=time_limit)

    def progress(done: int, total: int) -> None:
        if sys.stderr.isatty():
            sys.stderr.write(f"\rsolved {done}/{total}")
            sys.stderr.flush()

    try:
        result = study(
            snapshot, weights, samples=samples, seed=seed, options=options, progress=progress
        )
    except SolverFailed as exc:
        fail(str(exc), code=1)
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    typer.echo(json.dumps(result, indent=1, allow_nan=False))


if __name__ == "__main__":
    app()
