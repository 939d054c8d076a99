"""`capital reference`: load the real NHS organisations (ODS) and their facts (ERIC) into the
database named by DATABASE_URL, as an administrator on the machine that runs the service."""

import json
from pathlib import Path

import typer

from capital_cli.checks import fail
from capital_cli.local import transaction

reference_app = typer.Typer(
    help="Reference data about the real NHS: organisations from ODS, backlog from ERIC.",
    no_args_is_help=True,
)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        fail(f"{path}: no such file")
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror})")


def _errors(exc) -> None:
    for message in exc.errors:
        typer.echo(f"error: {message}", err=True)
    typer.echo("nothing was imported", err=True)
    raise typer.Exit(2)


def _counts(label: str, counts) -> str:
    parts = [f"{n} {name}" for name, n in counts.model_dump().items()]
    return f"{label:<14} " + ", ".join(parts)


@reference_app.command("ods")
def ods(
    trusts_csv: Path = typer.Argument(..., metavar="TRUSTS_CSV", help="ODS NHS trusts (etr.csv)."),
    icbs_csv: Path = typer.Argument(..., metavar="ICBS_CSV", help="ONS ICB names and codes."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would change; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:  # fmt: skip
    """One system per ICB, one organisation per trust in its ICB's system. Idempotent; renames
    and closures applied and audited; nothing is ever deleted; all or nothing."""
    from api.reference import parsing, service
    from api.reference.parsing import ReferenceFileInvalid

    try:
        trusts = parsing.parse_trusts(_read(trusts_csv), trusts_csv.name)
        icbs = parsing.parse_icbs(_read(icbs_csv), icbs_csv.name)
    except ReferenceFileInvalid as exc:
        _errors(exc)
    with transaction() as session:
        report = service.import_ods(session, actor=None, trusts=trusts, icbs=icbs, dry_run=dry_run)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    for change in report.changes:
        if change.action != "create":
            typer.echo(f"{change.action:<7} {change.entity:<12} {change.code:<6} {change.detail}")
    for row in report.skipped:
        typer.echo(f"skipped row {row.row:<4} {row.code:<6} {row.reason}")
    typer.echo(_counts("systems", report.systems))
    typer.echo(_counts("organisations", report.organisations))
    typer.echo("dry run: nothing written" if dry_run else "imported")


@reference_app.command("eric")
def eric(
    file: Path = typer.Argument(..., metavar="FILE", help="ERIC trust-level data (CSV)."),
    year: str = typer.Option(..., "--year", help="The collection year, e.g. 2016/17."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be stored; write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:  # fmt: skip
    """Store each organisation's backlog (high, significant, moderate, low risk) for YEAR,
    replacing that year; list the codes that match no organisation."""
    from api.reference import parsing, service
    from api.reference.parsing import ReferenceFileInvalid
    from api.types import check_financial_year

    try:
        check_financial_year(year)
    except ValueError as exc:
        fail(f"--year: {exc}")
    try:
        rows = parsing.parse_eric(_read(file), file.name)
    except ReferenceFileInvalid as exc:
        _errors(exc)
    with transaction() as session:
        report = service.import_eric(
            session, actor=None, rows=rows, year=year, source=f"ERIC {year}: {file.name}",
            dry_run=dry_run,
        )  # fmt: skip
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json"), indent=2))
        return
    for row in report.unmatched:
        typer.echo(f"unmatched row {row.row:<4} {row.code:<6} {row.name}")
    typer.echo(
        f"{report.year}: {report.rows} rows, {report.matched} organisations matched, "
        f"{len(report.unmatched)} codes unmatched, {report.replaced} replaced"
    )
    if not report.matched:
        typer.echo("no code matched an organisation: load them first (capital reference ods)")
    for risk, amount in report.total.items():
        typer.echo(f"backlog at {risk + ' risk':<17} £{amount:>17,.2f}")
    typer.echo("dry run: nothing written" if dry_run else "imported")
