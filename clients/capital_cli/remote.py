"""`capital` commands that talk to a running server through the Python client."""

import json
import sys
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from capital_client import CapitalClient, CapitalError, ValidationFailed
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from capital_cli import spreadsheets

schemes_app = typer.Typer(
    help="Schemes on a server: template, import, list, export.", no_args_is_help=True
)
rounds_app = typer.Typer(help="Allocation rounds on a server.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs of allocation rounds on a server.", no_args_is_help=True)
jobs_app = typer.Typer(
    help="Jobs on a server: frontiers, robustness studies, runs asked async.", no_args_is_help=True
)

Url = Annotated[
    str, typer.Option("--url", envvar="CAPITAL_URL", help="Server, e.g. http://127.0.0.1:8000.")
]
Token = Annotated[
    str,
    typer.Option("--token", envvar="CAPITAL_TOKEN", help="Your bearer token.", show_default=False),
]


def _console(*, stderr: bool = False) -> Console:
    """On a terminal, rich fits its width; piped into a file or another program, output is
    never wrapped or cut (rich would otherwise assume 80 columns)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return Console(stderr=stderr)
    return Console(stderr=stderr, soft_wrap=True, width=100_000)


console = _console()
errors = _console(stderr=True)


def _fail(message: str, code: int) -> None:
    errors.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def connect(url: str, token: str):
    """A client whose errors become one clear line: 2 for bad input, 1 for everything else."""
    client = CapitalClient(url, token)
    try:
        yield client
    except ValidationFailed as exc:
        details = "; ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors)
        _fail(f"{exc}" + (f" ({details})" if details else ""), 2)
    except CapitalError as exc:
        _fail(str(exc), 1)
    finally:
        client.close()


def _pounds(value) -> str:
    return "" if value is None else f"£{Decimal(str(value)):,.2f}"


# -- schemes --------------------------------------------------------------------------------


@schemes_app.command("template")
def schemes_template(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx")],
    system: Annotated[str, typer.Option("--system", help="System code, e.g. QWV.")],
    url: Url,
    token: Token,
    first_year: Annotated[
        str, typer.Option("--first-year", help="First financial year column.")
    ] = "2026/27",
    years: Annotated[
        int, typer.Option("--years", min=1, max=10, help="How many year columns.")
    ] = 5,
) -> None:
    """Write an XLSX import template: drop-downs for the enumerations and a notes sheet."""
    if path.suffix.lower() != ".xlsx":
        _fail(f"{path}: the template is an .xlsx file", 2)
    if not spreadsheets.is_financial_year(first_year):
        _fail(f"--first-year '{first_year}' is not a financial year like 2026/27", 2)
    with connect(url, token) as client:
        organisations = [o.code for o in client.list_organisations(system=system)]
    if not organisations:
        _fail(f"system {system} has no organisations you can see", 1)
    spreadsheets.write_template(
        path, years=spreadsheets.financial_years(first_year, years), organisations=organisations
    )
    console.print(f"template written to {path} ({len(organisations)} organisations, {years} years)")


@schemes_app.command("import")
def schemes_import(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv")],
    system: Annotated[str, typer.Option("--system", help="System code the schemes belong to.")],
    url: Url,
    token: Token,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything, write nothing.")
    ] = False,
    submit: Annotated[
        bool, typer.Option("--submit", help="Submit the schemes as well as recording them.")
    ] = False,
) -> None:
    """Import schemes from a filled template: all rows, or (if any row is wrong) none."""
    if not path.exists():
        _fail(f"{path}: no such file", 2)
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} rows"),
                  TimeElapsedColumn(), console=errors, transient=True,
                  disable=not errors.is_terminal) as progress:  # fmt: skip
        task = progress.add_task(f"reading {path.name}", total=None)
        try:
            sheet = spreadsheets.read_sheet(path, progress=lambda n: progress.advance(task, n))
        except (ValueError, OSError) as exc:
            _fail(str(exc), 2)
        except Exception as exc:  # openpyxl's errors for a file that is not a workbook
            _fail(f"{path}: cannot be read as a spreadsheet ({exc.__class__.__name__})", 2)
        progress.update(task, description="checking rows", completed=len(sheet.rows))
        payloads, problems = spreadsheets.rows_to_import(sheet)
    if not sheet.rows:
        _fail(f"{path}: no rows to import", 2)
    if problems:
        _report(path, problems)
    with connect(url, token) as client:
        try:
            result = client.import_schemes(
                system=system, schemes=payloads, submit=submit, dry_run=dry_run
            )
        except ValidationFailed as exc:
            _report(path, spreadsheets.server_problems(sheet, exc.errors))
    if result.dry_run:
        console.print(f"{path}: {len(payloads)} rows are valid; nothing written (dry run)")
    else:
        console.print(
            f"{path}: imported {result.created} schemes (ids {result.ids[0]}-{result.ids[-1]})"
        )


def _report(path: Path, problems: list) -> None:
    for problem in problems[:200]:
        errors.print(f"{path}: {problem}", markup=False, highlight=False, soft_wrap=True)
    if len(problems) > 200:
        errors.print(f"... and {len(problems) - 200} more problems")
    _fail(f"{len(problems)} problem(s) found; nothing was imported", 2)


@schemes_app.command("list")
def schemes_list(
    url: Url,
    token: Token,
    system: Annotated[str | None, typer.Option(help="System code.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation code.")] = None,
    category: Annotated[str | None, typer.Option(help="Category.")] = None,
    status: Annotated[
        str | None, typer.Option(help="draft, submitted, withdrawn or approved.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array instead of a table.")
    ] = False,
) -> None:
    """Schemes you can see, as a table (or JSON)."""
    with connect(url, token) as client:
        schemes = list(
            client.iter_schemes(
                system=system, organisation=organisation, category=category, status=status
            )
        )
    if as_json:
        typer.echo(json.dumps([s.model_dump(mode="json") for s in schemes], indent=1))
        return
    table = Table(title=f"{len(schemes)} schemes")
    for column in ("id", "organisation", "title", "category", "status", "total cost"):
        table.add_column(column, justify="right" if column in ("id", "total cost") else "left")
    for scheme in schemes:
        table.add_row(
            str(scheme.id),
            scheme.organisation,
            scheme.title,
            scheme.category,
            scheme.status,
            _pounds(scheme.total_cost),
        )
    console.print(table)


@schemes_app.command("export")
def schemes_export(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv")],
    url: Url,
    token: Token,
    system: Annotated[str | None, typer.Option(help="System code.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation code.")] = None,
    status: Annotated[str | None, typer.Option(help="Only schemes with this status.")] = None,
) -> None:
    """Export schemes in the import template's layout (plus id and status)."""
    if path.suffix.lower() not in (".xlsx", ".csv"):
        _fail(f"{path}: use an .xlsx or .csv file", 2)
    with connect(url, token) as client:
        schemes = list(client.iter_schemes(system=system, organisation=organisation, status=status))
    years = sorted({y for s in schemes for y in s.cost_profile})
    header, rows = spreadsheets.scheme_rows(schemes, years)
    spreadsheets.write_rows(path, header, rows)
    console.print(f"{len(schemes)} schemes written to {path}")


# -- rounds and runs ------------------------------------------------------------------------


@rounds_app.command("run")
def rounds_run(
    round_id: Annotated[int, typer.Argument(metavar="ROUND_ID")],
    url: Url,
    token: Token,
    label: Annotated[str | None, typer.Option(help="A name for this run.")] = None,
    gap: Annotated[float, typer.Option(min=0, max=1, help="Relative optimality gap.")] = 1e-4,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, max=600, help="Solver seconds.")
    ] = 60.0,
    envelope_scale: Annotated[
        float | None, typer.Option(help="What-if: every year's envelope times this.")
    ] = None,
) -> None:
    """Run a round's optimisation and show the outcome."""
    with connect(url, token) as client:
        overrides = {"label": label, "mip_gap": gap, "time_limit_s": time_limit}
        if envelope_scale is not None:
            round_ = client.get_round(round_id)
            overrides["envelope"] = {
                y: (a * Decimal(str(envelope_scale))).quantize(Decimal("0.01"))
                for y, a in round_.envelope.items()
            }
        run = client.run_round(round_id, **{k: v for k, v in overrides.items() if v is not None})
        titles = _titles(client, run)
    _show(run, titles)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    url: Url,
    token: Token,
    as_json: Annotated[bool, typer.Option("--json", help="The whole run as JSON.")] = False,
) -> None:
    """A run's outcomes with reasons, spend by year and fair shares."""
    with connect(url, token) as client:
        run = client.get_run(run_id)
        titles = {} if as_json else _titles(client, run)
    if as_json:
        typer.echo(json.dumps(run.model_dump(mode="json"), indent=1))
        return
    _show(run, titles)


@runs_app.command("export")
def runs_export(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID")],
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv")],
    url: Url,
    token: Token,
) -> None:
    """Save a run's report: the board workbook (.xlsx) or a row per scheme (.csv)."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv"):
        _fail(f"{path}: use an .xlsx or .csv file", 2)
    with connect(url, token) as client:
        content = client.run_report(run_id, format=kind)
    path.write_bytes(content)
    console.print(f"run {run_id} report written to {path}")


def _number(value) -> str:
    return "n/a" if value is None else f"{float(value):,.2f}"


def _titles(client: CapitalClient, run) -> dict[str, str]:
    """Scheme titles for a run's table (the run itself holds only ids)."""
    system = client.get_round(run.round_id).system
    return {str(s.id): s.title for s in client.iter_schemes(system=system)}


def _show(run, titles: dict[str, str]) -> None:
    result = run.result
    objective = _number(result["objective"])
    gap = "n/a" if result["gap"] is None else f"{float(result['gap']):.2e}"
    console.print(f"[bold]Run {run.id}[/bold] of round {run.round_id}: {result['status']}, "
                  f"objective {objective}, gap {gap}, solver {run.solver}")  # fmt: skip
    for conflict in result.get("conflicts", []):
        console.print(f"[red]conflict:[/red] {conflict}")
    outcomes = Table(title="Schemes")
    for column in ("scheme", "title", "outcome", "start", "reason"):
        outcomes.add_column(column, ratio={"title": 2, "reason": 3}.get(column))
    order = {"funded": 0, "reserve": 1, "not_funded": 2}
    for scheme in sorted(
        result["schemes"], key=lambda s: (order[s["outcome"]], s.get("reserve_rank") or 0)
    ):
        outcomes.add_row(
            scheme["id"], titles.get(scheme["id"], ""), scheme["outcome"],
            scheme.get("start_year") or "", scheme["reason"],
        )  # fmt: skip
    console.print(outcomes)
    years = Table(title="Spend by year")
    for column in ("year", "envelope", "reserve", "limit", "spend", "headroom"):
        years.add_column(column, justify="right")
    for row in result["by_year"]:
        years.add_row(
            row["year"],
            *[_pounds(row[k]) for k in ("envelope", "reserve", "limit", "spend", "headroom")],
        )
    console.print(years)
    shares = Table(title="Fair shares")
    for column in ("organisation", "share", "target", "floor", "ceiling", "allocated"):
        shares.add_column(column, justify="right")
    for row in result["by_organisation"]:
        share = "" if row["share"] is None else f"{float(row['share']):.1%}"
        shares.add_row(
            row["organisation"],
            share,
            *[_pounds(row[k]) for k in ("target", "floor", "ceiling", "allocated")],
        )
    console.print(shares)
    price = result.get("price_of_rules") or {}
    greedy = result.get("greedy") or {}
    console.print(f"value given up to fair shares: {_number(price.get('fair_shares'))}; "
                  f"to category limits: {_number(price.get('category_limits'))}; greedy baseline "
                  f"(fund by score per £): {_number(greedy.get('objective'))} with {greedy.get('funded')} funded")  # fmt: skip


# -- jobs --------------------------------------------------------------------------------


def _wait(client: CapitalClient, job_id: int, timeout: float | None):
    """Follow a job to its end with a progress bar on stderr (plain lines when piped)."""
    tty = errors.file.isatty()
    with Progress(
        TextColumn("job {task.fields[job]} {task.fields[status]}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} parts"),
        TimeElapsedColumn(),
        console=errors,
        disable=not tty,
    ) as bar:
        task = bar.add_task("job", total=None, job=job_id, status="queued")
        last = [None]

        def show(job) -> None:
            bar.update(
                task, total=job.progress.total, completed=job.progress.done, status=job.status
            )
            state = (job.status, job.progress.done)
            if not tty and state != last[0]:
                errors.print(f"job {job.id} {job.status} {job.progress.done}/{job.progress.total}",
                             markup=False, highlight=False)  # fmt: skip
                last[0] = state

        try:
            return client.wait_job(job_id, timeout=timeout, on_progress=show)
        except TimeoutError as exc:
            _fail(str(exc), 1)


def _job_json(job) -> str:
    """The job as strict JSON, numbers as numbers (the client reads them as exact Decimals)."""

    def plain(value):
        if isinstance(value, Decimal):
            return (
                int(value)
                if value == value.to_integral_value() and "." not in str(value)
                else float(value)
            )
        if hasattr(value, "isoformat"):
            return value.isoformat()
        raise TypeError(type(value).__name__)

    return json.dumps(job.model_dump(), indent=1, allow_nan=False, default=plain)


def _finished(job, as_json: bool) -> None:
    if as_json:
        typer.echo(_job_json(job))
    if job.status != "succeeded":
        _fail(f"job {job.id} {job.status}: {job.error}", 1)


@jobs_app.command("wait")
def jobs_wait(
    job_id: Annotated[int, typer.Argument(metavar="JOB_ID")],
    url: Url,
    token: Token,
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
) -> None:
    """Wait for a job with a progress bar; print the finished job as JSON (exit 1 unless it
    succeeded)."""
    with connect(url, token) as client:
        job = _wait(client, job_id, timeout)
    _finished(job, as_json=True)


@jobs_app.command("show")
def jobs_show(
    job_id: Annotated[int, typer.Argument(metavar="JOB_ID")], url: Url, token: Token
) -> None:
    """A job as JSON."""
    with connect(url, token) as client:
        job = client.get_job(job_id)
    typer.echo(_job_json(job))


@jobs_app.command("cancel")
def jobs_cancel(
    job_id: Annotated[int, typer.Argument(metavar="JOB_ID")], url: Url, token: Token
) -> None:
    """Cancel a queued or running job."""
    with connect(url, token) as client:
        job = client.cancel_job(job_id)
    console.print(f"job {job.id} {job.status}", markup=False, highlight=False)


@rounds_app.command("frontier")
def rounds_frontier(
    round_id: Annotated[int, typer.Argument(metavar="ROUND_ID")],
    url: Url,
    token: Token,
    points: Annotated[int, typer.Option(min=2, max=1000, help="How many envelopes.")] = 11,
    low: Annotated[
        float, typer.Option(min=0.01, max=10, help="Smallest envelope multiplier.")
    ] = 0.5,
    high: Annotated[
        float, typer.Option(min=0.01, max=10, help="Largest envelope multiplier.")
    ] = 1.5,
    as_json: Annotated[bool, typer.Option("--json", help="The finished job as JSON.")] = False,
    timeout: Annotated[
        float | None, typer.Option(help="Give up waiting after this many seconds.")
    ] = None,
) -> None:
    """The efficient frontier of a round: start the job, wait for it, show what each £ buys."""
    with connect(url, token) as client:
        job = client.start_frontier(round_id, points=points, low=low, high=high)
        job = _wait(client, job.id, timeout)
    if as_json or job.status != "succeeded":
        _finished(job, as_json=as_json)
        return
    table = Table(title=f"Frontier of round {round_id} (job {job.id})")
    for column in ("×", "envelope", "status", "value", "spend", "funded"):
        table.add_column(column, justify="left" if column == "status" else "right")
    for point in job.result["points"]:
        value = "-" if point["objective"] is None else f"{Decimal(str(point['objective'])):,.0f}"
        table.add_row(f"{Decimal(str(point['multiplier'])):.2f}", _pounds(point["envelope"]),
                      point["status"], value, _pounds(point["spend"]), str(point["funded"]))  # fmt: skip
    console.print(table)
