"""`capital delivery`: monthly returns as a workbook, and the system's delivery report."""

import io
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from capital_client import NotFound, ValidationFailed
from rich import box
from rich.table import Table
from rich.text import Text

from capital_cli.checks import fail, output_file
from capital_cli.remote import (
    LARGEST_AMOUNT,
    Token,
    Url,
    _report,
    _write,
    connect,
    console,
)

# openpyxl and the spreadsheet reader (0.4 s of imports) are imported by the commands that use
# them, not by every `capital` command.

delivery_app = typer.Typer(
    help="In-year delivery: monthly returns (template, import) and the report.",
    no_args_is_help=True,
)

# ASCII digits, the whole string (used with fullmatch): `\d` matches other scripts' digits.
PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])", re.ASCII)
YEAR = re.compile(r"([0-9]{4})/([0-9]{2})", re.ASCII)
AMOUNT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)", re.ASCII)
FIXED = ["scheme_id", "organisation", "title", "annual plan"]
TAIL = ["rag", "commentary"]
Period = Annotated[
    str, typer.Option("--period", help="The month the actuals are for, e.g. 2026-10.")
]
System = Annotated[str, typer.Option("--system", help="System code, e.g. QWV.")]


def _check_period(period: str) -> None:
    if not PERIOD.fullmatch(period):
        fail(f"--period '{period}' is not a month like 2026-10", 2)


def _year_of(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    start = year if month >= 4 else year - 1
    return f"{start}/{(start + 1) % 100:02d}"


def _months_after(period: str) -> list[str]:
    """The months of the period's financial year after it."""
    start = int(_year_of(period)[:4])
    months = [f"{start}-{m:02d}" for m in range(4, 13)] + [
        f"{start + 1}-{m:02d}" for m in (1, 2, 3)
    ]
    return months[months.index(period) + 1 :]


@delivery_app.command("template")
def delivery_template(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx", callback=output_file)],
    system: System,
    period: Period,
    url: Url,
    token: Token,
) -> None:
    """Write the monthly return: one row per approved scheme of your organisation, with the
    actual for PERIOD, a forecast per remaining month, later years, RAG and commentary, filled
    with what the server holds now."""
    _check_period(period)
    if path.suffix.lower() != ".xlsx":
        fail(f"{path}: the template is an .xlsx file", 2)
    year = _year_of(period)
    remaining = _months_after(period)
    deliveries = []
    with connect(url, token) as client:
        for scheme in client.iter_schemes(system=system, status="approved"):
            try:
                deliveries.append((scheme, client.get_delivery(scheme.id)))
            except NotFound:
                continue  # another organisation's scheme
    if not deliveries:
        fail(f"system {system} has no approved schemes of yours in delivery", 1)
    later = sorted({y for _s, d in deliveries for y in d.later_years})
    header = [*FIXED, f"actual {period}", *[f"forecast {m}" for m in remaining],
              *[f"later {y}" for y in later], *TAIL]  # fmt: skip
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from api.cells import as_text

    book = Workbook()
    sheet = book.active
    sheet.title = f"Return {period}"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for scheme, delivery in deliveries:
        months = {m["period"]: m for y in delivery.years for m in y["months"]}
        annual = next((y["annual_plan"] for y in delivery.years if y["year"] == year), 0)
        actual = months.get(period, {}).get("actual")
        row = [scheme.id, scheme.organisation, scheme.title, annual, actual]
        row += [months.get(m, {}).get("forecast") for m in remaining]
        row += [delivery.later_years.get(y) for y in later]
        row += [delivery.rag, delivery.commentary]
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
        for cell in sheet[sheet.max_row]:
            as_text(cell)  # a title or commentary starting = is text, not a formula
    rag = DataValidation(type="list", formula1='"green,amber,red"', allow_blank=True)
    letter = get_column_letter(header.index("rag") + 1)
    rag.add(f"{letter}2:{letter}{len(deliveries) + 1}")
    sheet.add_data_validation(rag)
    for index, name in enumerate(header, start=1):
        width = 44 if name in ("title", "commentary") else max(12, len(name) + 2)
        sheet.column_dimensions[get_column_letter(index)].width = width
        if name not in ("scheme_id", "organisation", "title", "rag", "commentary"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "£#,##0.00"
    sheet.freeze_panes = "D2"
    # Printed for a sign-off meeting: landscape and one page wide, the header on every page.
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    # Saved to memory and written as the other downloads are: a folder gone or unwritable since
    # the check above is exit 2 naming the path, not openpyxl's traceback.
    content = io.BytesIO()
    book.save(content)
    _write(path, content.getvalue())
    console.print(f"return for {period} written to {path} ({len(deliveries)} schemes)")


def _amount(value: Any) -> Decimal:
    """Pounds to the penny: a cell's number (float noise within a millionth forgiven) or text
    of plain ASCII digits (Decimal() would also take `1e30`, `1_000`, `Infinity` and other
    scripts' digits)."""
    if isinstance(value, bool):
        raise ValueError("must be an amount in pounds")
    if isinstance(value, int | float | Decimal):
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        text = str(value).replace("£", "").replace(",", "").strip()
        if not AMOUNT.fullmatch(text):
            raise ValueError(f"'{value}' is not an amount in pounds")
        amount = Decimal(text)
    if not amount.is_finite():
        raise ValueError(f"'{value}' is not an amount in pounds")
    if amount < 0:
        raise ValueError("cannot be negative")
    if amount > LARGEST_AMOUNT:  # also keeps quantize below within its 28 digits
        raise ValueError(f"{value} is more than the largest amount, £{LARGEST_AMOUNT:,}")
    pennies = amount.quantize(Decimal("0.01"))
    tolerance = Decimal("0.000001") if isinstance(value, float) else Decimal(0)
    if abs(amount - pennies) > tolerance:
        raise ValueError(f"{value} has more than 2 decimal places")
    return pennies


def rows_to_returns(sheet, period: str) -> tuple[list[dict], list, dict]:
    """Each row as one scheme's return; problems name row and column. Also: for each payload
    index, (row number, {field path: column name}) to place the server's errors."""
    from api.schemes import spreadsheets

    problems, payloads, where = list(sheet.problems), [], {}
    Problem = spreadsheets.Problem
    if "scheme_id" not in sheet.header:
        return [], [Problem(1, "scheme_id", "", "the header has no 'scheme_id' column")], {}
    for column in sheet.header:
        if column.startswith("actual ") and column != f"actual {period}":
            problems.append(Problem(1, column, sheet.letter(column),
                                    f"this return is for {period}; use the column 'actual {period}'"))  # fmt: skip
    if problems:
        return [], problems, {}
    for number, values in sheet.rows:
        row_problems = []
        columns = {}
        try:
            scheme_id = int(str(values.get("scheme_id")).strip())
        except ValueError:
            row_problems.append(Problem(number, "scheme_id", sheet.letter("scheme_id"), "must be a scheme id"))  # fmt: skip
            scheme_id = None
        payload: dict[str, Any] = {"scheme_id": scheme_id, "forecast": {}, "later_years": {}}
        for column, value in values.items():
            if value is None or str(value).strip() == "":
                continue
            letter = sheet.letter(column)
            try:
                if column == f"actual {period}":
                    payload["actual"] = _amount(value)
                    columns[f"actual.{period}"] = column
                elif column.startswith("actual "):
                    raise ValueError(
                        f"this return is for {period}; use the column 'actual {period}'"
                    )
                elif column.startswith("forecast "):
                    month = column.removeprefix("forecast ")
                    if not PERIOD.fullmatch(month):
                        raise ValueError(f"'{month}' is not a month like 2026-11")
                    payload["forecast"][month] = _amount(value)
                    columns[f"forecast.{month}"] = column
                elif column.startswith("later "):
                    year = column.removeprefix("later ")
                    if not YEAR.fullmatch(year):
                        raise ValueError(f"'{year}' is not a financial year like 2027/28")
                    payload["later_years"][year] = _amount(value)
                    columns[f"later_years.{year}"] = column
                elif column == "rag":
                    rag = str(value).strip().lower()
                    if rag not in ("green", "amber", "red"):
                        raise ValueError("must be green, amber or red")
                    payload["rag"] = rag
                elif column == "commentary":
                    text = str(value).strip()
                    if len(text) > 4000:  # the API's limit: said, not cut off unseen
                        raise ValueError(f"is {len(text):,} characters; at most 4,000")
                    payload["commentary"] = text
                elif column not in FIXED and column:
                    raise ValueError("is not a column of the delivery return")
            except ValueError as exc:
                row_problems.append(Problem(number, column, letter, str(exc)))
        problems += row_problems
        if not row_problems:
            where[len(payloads)] = (number, {"scheme_id": "scheme_id", "rag": "rag", **columns})
            payloads.append(payload)
    return payloads, problems, where


def _server_problems(sheet, where: dict, errors: list[dict]) -> list:
    from api.schemes import spreadsheets

    problems = []
    for error in errors:
        match = re.match(r"^body\.schemes\[(\d+)\]\.?(.*)$", error["loc"])
        if not match or int(match.group(1)) not in where:
            problems.append(spreadsheets.Problem(0, "", "", f"{error['loc']}: {error['msg']}"))
            continue
        number, columns = where[int(match.group(1))]
        column = columns.get(match.group(2), match.group(2).split(".")[0])
        problems.append(spreadsheets.Problem(number, column, sheet.letter(column), error["msg"]))
    return problems


@delivery_app.command("import")
def delivery_import(
    path: Annotated[Path, typer.Argument(metavar="FILE.xlsx|FILE.csv")],
    system: System,
    period: Period,
    url: Url,
    token: Token,
) -> None:
    """Import a filled monthly return: every row, or (if any row is wrong) none."""
    from api.schemes import spreadsheets

    _check_period(period)
    if not path.exists():
        fail(f"{path}: no such file", 2)
    try:
        kind = spreadsheets.kind_of(path.name)
        sheet = spreadsheets.read_sheet(path.read_bytes(), kind=kind, name=str(path))
    except spreadsheets.Unreadable as exc:
        fail(str(exc), 2)
    except OSError as exc:
        fail(f"{path}: cannot be read ({exc.strerror or exc})", 2)
    if not sheet.rows:
        fail(f"{path}: no rows to import", 2)
    payloads, problems, where = rows_to_returns(sheet, period)
    if problems:
        _report(path, spreadsheets.as_errors(problems))
    with connect(url, token) as client:
        try:
            result = client.import_delivery(system, period=period, schemes=payloads)
        except ValidationFailed as exc:
            _report(path, spreadsheets.as_errors(_server_problems(sheet, where, exc.errors)))
    console.print(f"{result['updated']} schemes' returns for {period} imported into {system}")


def _number(value: Any) -> int | float:
    """Money as the API sends it: a JSON number with at most 2 decimal places."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _pounds(value) -> str:
    amount = Decimal(str(value))
    return f"-£{-amount:,.0f}" if amount < 0 else f"£{amount:,.0f}"


@delivery_app.command("report")
def delivery_report(
    system: System,
    url: Url,
    token: Token,
    year: Annotated[str, typer.Option("--year", help="Financial year, e.g. 2026/27.")],
    as_json: Annotated[bool, typer.Option("--json", help="The exact figures as JSON.")] = False,
) -> None:
    """Plan, actuals, forecast outturn and slippage by organisation, and the headroom."""
    if not YEAR.fullmatch(year) or (int(year[:4]) + 1) % 100 != int(year[5:]):
        fail(f"--year '{year}' is not a financial year like 2026/27", 2)
    with connect(url, token, system=system) as client:
        report = client.delivery_report(system, year=year)
    if as_json:
        typer.echo(json.dumps(report.model_dump(), indent=1, allow_nan=False, default=_number))
        return
    period = report.reporting_period or "none closed yet"
    console.print(Text.assemble((f"{report.system} delivery {report.year}", "bold"),
                         f" - reporting period {period} (figures rounded to the pound; --json "
                         "for pennies)"))  # fmt: skip
    rows = [*report.organisations, {**report.total, "organisation": "Total"}]
    ytd = Table(title="Year to date", box=box.SIMPLE_HEAVY)
    ytd.add_column("org")
    for column in ("plan", "actual", "variance"):
        ytd.add_column(column, justify="right", min_width=12, no_wrap=True)
    for row in rows:
        style = "bold" if row["organisation"] == "Total" else None
        ytd.add_row(row["organisation"], _pounds(row["ytd_plan"]), _pounds(row["ytd_actual"]),
                    _pounds(row["ytd_variance"]), style=style)  # fmt: skip
    console.print(ytd)
    outturn = Table(title="Full year (R/A: schemes rated red / amber)", box=box.SIMPLE_HEAVY)
    outturn.add_column("org")
    for column in ("plan", "outturn", "variance", "slippage"):
        outturn.add_column(column, justify="right", min_width=12, no_wrap=True)
    outturn.add_column("R/A", justify="right", no_wrap=True)
    for row in rows:
        style = "bold" if row["organisation"] == "Total" else None
        outturn.add_row(row["organisation"], _pounds(row["annual_plan"]),
                        _pounds(row["forecast_outturn"]), _pounds(row["forecast_variance"]),
                        _pounds(row["slippage"]), f"{row['red']}/{row['amber']}", style=style)  # fmt: skip
    console.print(outturn)
    if report.envelope is not None:
        colour = "green" if report.headroom >= 0 else "red"
        console.print(Text.assemble(f"Envelope {_pounds(report.envelope)}; forecast outturn "
                             f"{_pounds(report.total['forecast_outturn'])}; headroom ",
                             (_pounds(report.headroom), colour)))  # fmt: skip
