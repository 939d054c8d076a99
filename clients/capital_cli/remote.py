"""`capital` commands that talk to a running server through the Python client."""

import json
import sys
from contextlib import contextmanager
from datetime import UTC
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from capital_client import CapitalError, InvalidArgument, NotFound, ValidationFailed
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from capital_cli.checks import bearer_token, fail, finite, output_file

if TYPE_CHECKING:
    from capital_client import CapitalClient

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
    typer.Option(
        "--token",
        envvar="CAPITAL_TOKEN",
        help="Your bearer token.",
        show_default=False,
        callback=bearer_token,
    ),
]


def plain_console(**options) -> Console:
    """A console that prints every string as it is. Rich's markup and emoji codes would read
    what users typed (a scheme called "Theatre [/] phase 2", a round's name, a file path) as
    styles or emoji: one such title made `schemes list` a traceback for everyone in the
    system. What the CLI styles itself it builds with `Text.assemble`."""
    return Console(markup=False, emoji=False, **options)


def _console(*, stderr: bool = False) -> Console:
    """On a terminal, rich fits its width; piped into a file or another program, output is
    never wrapped or cut (rich would otherwise assume 80 columns)."""
    stream = sys.stderr if stderr else sys.stdout
    if stream.isatty():
        return plain_console(stderr=stderr)
    return plain_console(stderr=stderr, soft_wrap=True, width=100_000)


console = _console()
errors = _console(stderr=True)


# The list filters the commands send as they were given: a problem with one is the option's.
_OPTIONS = {
    f"query.{name}": f"--{name}" for name in ("system", "organisation", "category", "status")
}


@contextmanager
def connect(url: str, token: str, *, system: str | None = None):
    """A client whose errors become one clear line: 2 for bad input, 1 for everything else.
    `system`: the command's --system, where a 404 can only be about that system (its
    template, its delivery report): the option's mistake, named as a list filter's is."""
    from capital_client import CapitalClient  # loaded on first use: capital_client.__init__

    try:
        client = CapitalClient(url, token)
    except InvalidArgument as exc:  # the token: checked by its option already
        fail(str(exc), 2)
    try:
        yield client
    except InvalidArgument as exc:  # a value the client refused to send, named
        fail(str(exc), 2)
    except ValidationFailed as exc:
        options = [_OPTIONS.get(e["loc"]) for e in exc.errors]
        if exc.errors and all(options):  # the command's own options: named as typed
            fail("; ".join(f"{o}: {e['msg']}" for o, e in zip(options, exc.errors, strict=True)), 2)
        details = "; ".join(f"{e['loc']}: {e['msg']}" for e in exc.errors)
        fail(f"{exc}" + (f" ({details})" if details else ""), 2)
    except NotFound as exc:
        if system is not None:
            fail(f"--system: no system {system} that you can see", 2)
        fail(str(exc), 1)
    except CapitalError as exc:
        fail(str(exc), 1)
    finally:
        client.close()


def _pounds(value) -> str:
    return "" if value is None else f"£{Decimal(str(value)):,.2f}"


# -- schemes --------------------------------------------------------------------------------


def _write(path: Path, content: bytes) -> None:
    try:
        path.write_bytes(content)
    except FileNotFoundError as exc:
        if not path.parent.is_dir():  # removed since the argument was checked
            fail(f"{path}: no such directory ({path.parent})", 2)
        fail(f"{path}: cannot be written ({exc.strerror})", 2)
    except OSError as exc:
        fail(f"{path}: cannot be written ({exc.strerror})", 2)


@schemes_app.command("template")
def schemes_template(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx", callback=output_file)],
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
    """Write an XLSX import template (from the server): drop-downs and a notes sheet."""
    if path.suffix.lower() != ".xlsx":
        fail(f"{path}: the template is an .xlsx file", 2)
    if not _is_financial_year(first_year):
        fail(f"--first-year '{first_year}' is not a financial year like 2026/27", 2)
    with connect(url, token, system=system) as client:
        content = client.scheme_template(system=system, first_year=first_year, years=years)
    _write(path, content)
    console.print(f"template written to {path} ({years} years from {first_year})")


def _is_financial_year(text: str) -> bool:
    head, _, tail = text.partition("/")
    return (
        len(head) == 4
        and len(tail) == 2
        and (head + tail).isascii()  # isdigit() alone accepts other scripts' digits
        and (head + tail).isdigit()
        and (int(head) + 1) % 100 == int(tail)
    )


@schemes_app.command("import")
def schemes_import(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv|FILE.json")],
    system: Annotated[str, typer.Option("--system", help="System code the schemes belong to.")],
    url: Url,
    token: Token,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check everything, write nothing.")
    ] = False,
    submit: Annotated[
        bool, typer.Option("--submit", help="Submit new schemes as well as recording them.")
    ] = False,
) -> None:
    """Import schemes from a filled template or an edited export: all rows, or (if any row is
    wrong) none. Rows with an id update those schemes; rows without one create schemes.
    A .json file holds the schemes as the API's JSON import takes them: a list, or
    {"schemes": [...]}."""
    if path.suffix.lower() not in (".xlsx", ".xlsm", ".csv", ".json"):
        fail(f"{path}: use an .xlsx, .csv or .json file", 2)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file", 2)
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror})", 2)
    schemes = _json_schemes(path, content, system) if path.suffix.lower() == ".json" else None
    with connect(url, token) as client:
        try:
            if schemes is not None:
                result = client.import_schemes(
                    system=system, schemes=schemes, dry_run=dry_run, submit=submit
                )
            else:
                result = client.upload_schemes(
                    system=system, filename=path.name, content=content, dry_run=dry_run,
                    submit=submit,
                )  # fmt: skip
        except ValidationFailed as exc:
            _report(path, exc.errors)
    counts = f"{result.created} to create, {result.updated} to update, {result.unchanged} unchanged"
    if result.dry_run:
        console.print(f"{path}: every row is valid: {counts}; nothing written (dry run)")
        return
    created = f"imported {result.created} schemes" + (
        f" (ids {result.ids[0]}-{result.ids[-1]})" if result.ids else ""
    )
    console.print(f"{path}: {created}; updated {result.updated}; {result.unchanged} unchanged")


def _json_schemes(path: Path, content: bytes, system: str) -> list:
    """The schemes of a JSON import file: a list, or the API's body `{"schemes": [...]}` (its
    `system`, if given, must be --system's). Money is read exactly (as Decimal)."""
    try:
        document = json.loads(content, parse_float=Decimal)
    except UnicodeDecodeError:
        fail(f"{path}: not UTF-8 text", 2)
    except json.JSONDecodeError as exc:
        fail(f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", 2)
    if isinstance(document, dict) and isinstance(document.get("schemes"), list):
        if document.get("system", system) != system:
            fail(f"{path}: its system is {document['system']}, not {system} (--system)", 2)
        others = sorted(set(document) - {"schemes", "system"})
        if others:  # dry_run or submit in the file: the command line's options say that
            options = [f"--{k.replace('_', '-')}" for k in others if k in ("dry_run", "submit")]
            hint = (
                f"use {' and '.join(options)} on the command line"
                if options
                else 'a JSON import has only "schemes" and "system"'
            )
            keys = ", ".join(json.dumps(k) for k in others)
            fail(f"{path}: unexpected {keys}: {hint}", 2)
        document = document["schemes"]
    if not isinstance(document, list):
        fail(f'{path}: a JSON import is a list of schemes, or {{"schemes": [...]}}', 2)
    return document


def _where(error: dict) -> str:
    row, column, header = error.get("row"), error.get("column"), error.get("header")
    if row and column:
        return f"row {row}, column {column} ({header}): "
    if row:
        return f"row {row}" + (f" ({header})" if header and header != "(row)" else "") + ": "
    loc = str(error.get("loc", ""))
    return "" if loc.startswith("form.") else f"{loc.removeprefix('body.')}: "


def _report(path: Path, problems: list[dict]) -> None:
    for problem in problems[:200]:
        errors.print(f"{path}: {_where(problem)}{problem.get('msg')}", highlight=False,
                     soft_wrap=True)  # fmt: skip
    if len(problems) > 200:
        errors.print(f"... and {len(problems) - 200} more problems")
    if len(problems) == 1 and str(problems[0].get("loc", "")).startswith("form."):
        raise typer.Exit(2)
    fail(f"{len(problems)} problem(s) found; nothing was imported", 2)


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
        typer.echo(
            json.dumps([s.model_dump(mode="json") for s in schemes], indent=1, allow_nan=False)
        )
        return
    table = Table(title=f"{len(schemes)} schemes")
    # On an 80-column terminal only the title wraps: codes, statuses and money never do.
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("org", no_wrap=True)
    table.add_column("title", ratio=1, overflow="fold")
    table.add_column("category", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("total cost", justify="right", no_wrap=True)
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
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv", callback=output_file)],
    url: Url,
    token: Token,
    system: Annotated[str | None, typer.Option(help="System code.")] = None,
    organisation: Annotated[str | None, typer.Option(help="Organisation code.")] = None,
    category: Annotated[str | None, typer.Option(help="Category.")] = None,
    status: Annotated[str | None, typer.Option(help="Only schemes with this status.")] = None,
) -> None:
    """Export schemes in the import template's layout (plus id, version and status); edit it
    and import it again to update them."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv"):
        fail(f"{path}: use an .xlsx or .csv file", 2)
    with connect(url, token) as client:
        content = client.export_schemes(format=kind, system=system, organisation=organisation,
                                        category=category, status=status)  # fmt: skip
    _write(path, content)
    console.print(f"schemes written to {path}")


# -- rounds and runs ------------------------------------------------------------------------


@rounds_app.command("list")
def rounds_list(
    url: Url,
    token: Token,
    system: Annotated[str | None, typer.Option(help="System code.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array instead of a table.")
    ] = False,
) -> None:
    """Rounds you can see: id, name, status, years, envelope and agreed run."""
    with connect(url, token) as client:
        rounds = client.list_rounds(system=system)
    if as_json:
        typer.echo(
            json.dumps([r.model_dump(mode="json") for r in rounds], indent=1, allow_nan=False)
        )
        return
    envelopes = _money_texts([sum(r.envelope.values(), Decimal(0)) for r in rounds])
    systems = len({r.system for r in rounds}) > 1  # a finance director sees one system
    table = Table(title=f"{len(rounds)} round{'' if len(rounds) == 1 else 's'}",
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)  # fmt: skip
    # On an 80-column terminal only the name wraps: codes, years and money never do.
    table.add_column("id", justify="right", no_wrap=True)
    if systems:
        table.add_column("system", no_wrap=True)
    table.add_column("name", ratio=1, overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("years", no_wrap=True)
    _money_column(table, "envelope", envelopes)
    table.add_column("agreed", justify="right", no_wrap=True)
    for round_, envelope in zip(rounds, envelopes, strict=True):
        years = round_.years[:1] + round_.years[-1:] if len(round_.years) > 1 else round_.years
        table.add_row(str(round_.id), *([round_.system] if systems else []), round_.name,
                      round_.status, "–".join(years), envelope,
                      f"run {round_.agreed_run_id}" if round_.agreed_run_id else "")  # fmt: skip
    console.print(table)


@rounds_app.command("run")
def rounds_run(
    round_id: Annotated[int, typer.Argument(metavar="ROUND_ID", min=1, max=2**31 - 1)],
    url: Url,
    token: Token,
    label: Annotated[str | None, typer.Option(help="A name for this run.")] = None,
    gap: Annotated[
        float, typer.Option(min=0, max=1, callback=finite, help="Relative optimality gap.")
    ] = 1e-4,
    time_limit: Annotated[
        float,
        typer.Option("--time-limit", min=0.1, max=600, callback=finite, help="Solver seconds."),
    ] = 60.0,
    envelope_scale: Annotated[
        float | None,
        typer.Option(min=0, callback=finite, help="What-if: every year's envelope times this."),
    ] = None,
) -> None:
    """Run a round's optimisation and show the outcome."""
    with connect(url, token) as client:
        overrides = {"label": label, "mip_gap": gap, "time_limit_s": time_limit}
        if envelope_scale is not None:
            round_ = client.get_round(round_id)
            overrides["envelope"] = _scaled(round_.envelope, envelope_scale)
        run = client.run_round(round_id, **{k: v for k, v in overrides.items() if v is not None})
        titles, costs = _titles(client, run), _costs(client, run)
    _show(run, titles, costs)


@rounds_app.command("reallocate")
def rounds_reallocate(
    round_id: Annotated[int, typer.Argument(metavar="ROUND_ID")],
    url: Url,
    token: Token,
    label: Annotated[str | None, typer.Option(help="A name for this re-allocation.")] = None,
    gap: Annotated[float, typer.Option(min=0, max=1, help="Relative optimality gap.")] = 1e-4,
    time_limit: Annotated[
        float, typer.Option("--time-limit", min=0.1, max=600, help="Solver seconds.")
    ] = 60.0,
) -> None:
    """Re-use slippage: fund an agreed round's reserve schemes within the headroom that the
    approved schemes' current forecasts leave. Agree it with the API's /agree and its run id."""
    with connect(url, token) as client:
        overrides = {"label": label, "mip_gap": gap, "time_limit_s": time_limit}
        run = client.reallocate(round_id, **{k: v for k, v in overrides.items() if v is not None})
        titles, costs = _titles(client, run), _costs(client, run)
    _show(run, titles, costs)


@runs_app.command("list")
def runs_list(
    round_id: Annotated[int, typer.Argument(metavar="ROUND_ID", min=1, max=2**31 - 1)],
    url: Url,
    token: Token,
    as_json: Annotated[
        bool, typer.Option("--json", help="A JSON array instead of a table.")
    ] = False,
) -> None:
    """A round's runs, oldest first: id, when, label, by whom, status and value."""
    with connect(url, token) as client:
        runs = client.list_runs(round_id)
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in runs], indent=1, allow_nan=False))
        return
    values = _money_texts([r.objective for r in runs])
    table = Table(title=f"{len(runs)} run{'' if len(runs) == 1 else 's'} of round {round_id}",
                  box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)  # fmt: skip
    # On an 80-column terminal the label and the name wrap; times and money never do.
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("when (UTC)", no_wrap=True)
    table.add_column("label", overflow="fold", min_width=len("re-allocation"))
    table.add_column("by", overflow="fold")
    table.add_column("status", no_wrap=True)
    _money_column(table, "value", values)
    for run, value in zip(runs, values, strict=True):
        when = run.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M")
        # A re-allocation (slippage) says so; an allocation is the usual run.
        label = run.label or ""
        if run.kind == "reallocation":
            label = f"re-allocation: {label}" if label else "re-allocation"
        table.add_row(str(run.id), when, label, run.created_by,
                      run.status.replace("_", " "), value)  # fmt: skip
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID", min=1, max=2**31 - 1)],
    url: Url,
    token: Token,
    as_json: Annotated[bool, typer.Option("--json", help="The whole run as JSON.")] = False,
) -> None:
    """A run's outcomes with reasons, spend by year and fair shares."""
    with connect(url, token) as client:
        run = client.get_run(run_id)
        titles = {} if as_json else _titles(client, run)
        costs = {} if as_json else _costs(client, run)
    if as_json:
        typer.echo(json.dumps(run.model_dump(mode="json"), indent=1, allow_nan=False))
        return
    _show(run, titles, costs)


@runs_app.command("export")
def runs_export(
    run_id: Annotated[int, typer.Argument(metavar="RUN_ID", min=1, max=2**31 - 1)],
    path: Annotated[
        Path, typer.Argument(metavar="FILE.xlsx|FILE.pdf|FILE.csv", callback=output_file)
    ],
    url: Url,
    token: Token,
    compare_with: Annotated[
        int | None,
        typer.Option("--with", min=1, max=2**31 - 1, help="PDF only: compare with this run."),
    ] = None,
) -> None:
    """Save a run's report: the board workbook (.xlsx), the board pack (.pdf) or a row per
    scheme (.csv)."""
    kind = path.suffix.lower().lstrip(".")
    if kind not in ("xlsx", "csv", "pdf"):
        fail(f"{path}: use an .xlsx, .pdf or .csv file", 2)
    with connect(url, token) as client:
        content = client.run_report(run_id, format=kind, compare_with=compare_with)
    _write(path, content)
    console.print(f"run {run_id} report written to {path}")


@runs_app.command("compare")
def runs_compare(
    run_a: Annotated[int, typer.Argument(metavar="RUN_A", min=1, max=2**31 - 1)],
    run_b: Annotated[int, typer.Argument(metavar="RUN_B", min=1, max=2**31 - 1)],
    url: Url,
    token: Token,
) -> None:
    """What changes from run A to run B: value, spend by year, schemes in and out (with
    titles, organisations and £), and start years."""
    with connect(url, token) as client:
        a, b = client.get_run(run_a), client.get_run(run_b)
        titles = _titles(client, a) | _titles(client, b)
        costs = _costs(client, a) | _costs(client, b)
    _compare(a, b, titles, costs)


LARGEST_AMOUNT = Decimal("9999999999999.99")  # the API's largest amount of money


def _scaled(envelope: dict, scale: float) -> dict:
    """Every year's envelope times `scale`, in pence; a result no envelope can hold is the
    user's mistake (exit 2), not a Decimal error."""
    factor = Decimal(str(scale))
    scaled = {}
    for year, amount in envelope.items():
        value = Decimal(str(amount)) * factor
        if value > LARGEST_AMOUNT:
            fail(f"--envelope-scale {scale}: the {year} envelope ({_pounds(amount)}) would go "
                  f"above the largest amount, {_pounds(LARGEST_AMOUNT)}", 2)  # fmt: skip
        scaled[year] = value.quantize(Decimal("0.01"))
    return scaled


def _number(value) -> str:
    return "n/a" if value is None else f"{float(value):,.2f}"


def _money(value) -> str:
    """£ with separators; pence only when there are some (so figures fit 80 columns)."""
    if value is None:
        return ""
    amount = Decimal(str(value))
    text = (
        f"£{abs(amount):,.0f}" if amount == amount.to_integral_value() else f"£{abs(amount):,.2f}"
    )
    return ("-" if amount < 0 else "") + text


def _titles(client: "CapitalClient", run) -> dict[str, str]:
    """Scheme titles for a run's table (the run itself holds only ids)."""
    system = client.get_round(run.round_id).system
    return {str(s.id): s.title for s in client.iter_schemes(system=system)}


def _costs(client: "CapitalClient", run) -> dict[str, tuple[str, Decimal]]:
    """Each scheme's organisation and total cost in the run, from its snapshot."""
    snapshot = client.run_snapshot(run.id)
    return {
        s["id"]: (s["organisation"], sum((Decimal(str(a)) for a in s["cost_profile"].values()), Decimal(0)))
        for s in snapshot["schemes"]
    }  # fmt: skip


def _money_texts(values: list) -> list[str]:
    """A column of amounts: with pence for all when any has pence, so figures line up."""
    amounts = [None if v is None else Decimal(str(v)) for v in values]
    if all(a is None or a == a.to_integral_value() for a in amounts):
        return [_money(a) for a in amounts]
    return ["" if a is None else ("-" if a < 0 else "") + f"£{abs(a):,.2f}" for a in amounts]


def _money_column(table: Table, name: str, values: list[str]) -> None:
    width = max([len(name)] + [len(v) for v in values])
    table.add_column(name, justify="right", no_wrap=True, min_width=width)


def _show(run, titles: dict[str, str], costs: dict, out: Console | None = None) -> None:
    """A run as tables that fit 80 columns on a terminal without cutting a figure: money
    columns never wrap or shrink; titles and reasons wrap."""
    out = out or console
    result = run.result
    objective = _money(result["objective"])
    gap = "n/a" if result["gap"] is None else f"{float(result['gap']):.2e}"
    out.print(Text.assemble((f"Run {run.id}", "bold"), f" of round {run.round_id}: {result['status']}, "
                     f"value {objective}, gap {gap}, solver {run.solver}"))  # fmt: skip
    for conflict in result.get("conflicts", []):
        out.print(Text.assemble(("conflict:", "red"), f" {conflict}"))
    order = {"funded": 0, "reserve": 1, "not_funded": 2}
    schemes = sorted(
        result["schemes"], key=lambda s: (order[s["outcome"]], s.get("reserve_rank") or 0)
    )
    cost_text = [_money(costs.get(s["id"], ("", None))[1]) for s in schemes]
    outcomes = Table(title="Schemes", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    outcomes.add_column("id", justify="right", no_wrap=True)
    outcomes.add_column("org", no_wrap=True)
    outcomes.add_column("outcome", no_wrap=True)
    outcomes.add_column("start", no_wrap=True)
    _money_column(outcomes, "cost", cost_text)
    outcomes.add_column("title / reason", ratio=1, overflow="fold")
    for scheme, cost in zip(schemes, cost_text, strict=True):
        outcomes.add_row(
            scheme["id"], costs.get(scheme["id"], ("", None))[0], scheme["outcome"].replace("_", " "),
            scheme.get("start_year") or "", cost,
            Text.assemble(titles.get(scheme["id"], ""), "\n", (scheme["reason"], "dim")),
        )  # fmt: skip
    out.print(outcomes)
    keys = ("envelope", "reserve", "limit", "spend", "headroom")
    years = Table(title="Spend by year", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    years.add_column("year", no_wrap=True)
    columns = {k: _money_texts([r[k] for r in result["by_year"]]) for k in keys}
    for key in keys:
        _money_column(years, key, columns[key])
    for index, row in enumerate(result["by_year"]):
        years.add_row(row["year"], *[columns[k][index] for k in keys])
    out.print(years)
    shares = Table(title="Fair shares", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    shares.add_column("org", no_wrap=True)
    shares.add_column("share", justify="right", no_wrap=True)
    keys = ("target", "floor", "ceiling", "allocated")
    columns = {k: _money_texts([r[k] for r in result["by_organisation"]]) for k in keys}
    for key in keys:
        _money_column(shares, key, columns[key])
    for index, row in enumerate(result["by_organisation"]):
        share = "" if row["share"] is None else f"{float(row['share']):.1%}"
        shares.add_row(row["organisation"], share, *[columns[k][index] for k in keys])
    out.print(shares)
    price = result.get("price_of_rules") or {}
    greedy = result.get("greedy") or {}
    out.print(f"value given up to fair shares: {_money(price.get('fair_shares')) or 'n/a'}; "
              f"to category limits: {_money(price.get('category_limits')) or 'n/a'}; greedy baseline "
              f"(fund by score per £): {_money(greedy.get('objective')) or 'n/a'} with "
              f"{greedy.get('funded')} funded")  # fmt: skip


def _compare(a, b, titles: dict[str, str], costs: dict, out: Console | None = None) -> None:
    out = out or console
    ra, rb = a.result, b.result
    out.print(Text.assemble((f"Run {a.id}", "bold"), f" ({ra['status']}) against ", (f"run {b.id}", "bold"),
                     f" ({rb['status']}): differences are {b.id} minus {a.id}"))  # fmt: skip
    no_portfolio = [
        r for r, res in ((a, ra), (b, rb)) if res["status"] in ("infeasible", "time_limit")
    ]
    if no_portfolio:
        out.print("not comparable scheme by scheme: "
                  + "; ".join(f"run {r.id} is {r.result['status']} (no portfolio)" for r in no_portfolio))  # fmt: skip
        return
    value = Decimal(str(rb["objective"])) - Decimal(str(ra["objective"]))
    out.print(
        f"value {_money(ra['objective'])} -> {_money(rb['objective'])} ({'+' if value >= 0 else ''}{_money(value)})"
    )
    spend_a = {r["year"]: r["spend"] for r in ra["by_year"]}
    years = Table(title="Spend by year", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False)
    years.add_column("year", no_wrap=True)
    rows = [(r["year"], _money(spend_a.get(r["year"], 0)), _money(r["spend"]),
             _money(Decimal(str(r["spend"])) - Decimal(str(spend_a.get(r["year"], 0))))) for r in rb["by_year"]]  # fmt: skip
    for index, name in enumerate((f"run {a.id}", f"run {b.id}", "difference"), start=1):
        _money_column(years, name, [r[index] for r in rows])
    for row in rows:
        years.add_row(*row)
    out.print(years)
    funded_a = {s["id"]: s for s in ra["schemes"] if s["outcome"] == "funded"}
    funded_b = {s["id"]: s for s in rb["schemes"] if s["outcome"] == "funded"}
    for title, ids, source in (
        (f"Funded only in run {b.id}", [i for i in funded_b if i not in funded_a], funded_b),
        (f"Funded only in run {a.id}", [i for i in funded_a if i not in funded_b], funded_a),
    ):
        cost_text = [_money(costs.get(i, ("", None))[1]) for i in ids]
        table = Table(
            title=f"{title}: {len(ids)}", box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False
        )
        table.add_column("id", justify="right", no_wrap=True)
        table.add_column("org", no_wrap=True)
        table.add_column("start", no_wrap=True)
        _money_column(table, "cost", cost_text)
        table.add_column("title", ratio=1, overflow="fold")
        for i, cost in zip(ids, cost_text, strict=True):
            table.add_row(
                i,
                costs.get(i, ("", None))[0],
                source[i].get("start_year") or "",
                cost,
                titles.get(i, ""),
            )
        out.print(table)
    moved = [
        i
        for i in funded_a
        if i in funded_b and funded_a[i]["start_year"] != funded_b[i]["start_year"]
    ]
    if moved:
        table = Table(
            title="Funded in both, different start",
            box=box.SIMPLE_HEAD,
            padding=(0, 1),
            pad_edge=False,
        )
        for column in ("id", "org", f"start {a.id}", f"start {b.id}"):
            table.add_column(column, no_wrap=True)
        table.add_column("title", ratio=1, overflow="fold")
        for i in moved:
            table.add_row(i, costs.get(i, ("", None))[0], funded_a[i]["start_year"], funded_b[i]["start_year"],
                          titles.get(i, ""))  # fmt: skip
        out.print(table)


# -- jobs --------------------------------------------------------------------------------


def _wait(client: "CapitalClient", job_id: int, timeout: float | None):
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
                             highlight=False)  # fmt: skip
                last[0] = state

        try:
            return client.wait_job(job_id, timeout=timeout, on_progress=show)
        except TimeoutError as exc:
            fail(str(exc), 1)


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
        fail(f"job {job.id} {job.status}: {job.error}", 1)


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
    console.print(f"job {job.id} {job.status}", highlight=False)


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
