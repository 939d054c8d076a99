"""Scheme spreadsheets, server side: the import template, reading a filled one (XLSX or CSV)
and exporting. The API serves them (`/schemes/template.xlsx`, `/schemes/import`,
`/schemes/export.xlsx`), so neither the `capital` command nor the web pages need Python
spreadsheet code of their own.

Every problem is reported by spreadsheet row number and column (letter and header), so a
trust capital team can find and fix it in the file they filled in.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from api.cells import as_text, csv_field, from_csv_field
from api.types import TOO_MANY_POUNDS, NotPounds, ascii_digits, check_financial_year, typed_pounds

COLUMNS = [
    "organisation", "title", "description", "category", "business_case_stage", "backlog_risk",
    "mandatory", "mandatory_reason", "depends_on", "alternative_group", "max_deferral_years",
]  # fmt: skip
# Written by export. On import a row with an `id` updates that scheme (its `version` must be
# the one exported); `status` is for reading only.
EXPORT_EXTRA = ["id", "version", "status"]
POUNDS = '"£"#,##0.00'
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CATEGORIES = ["estates_backlog", "estates_capacity", "digital", "equipment", "other"]
STAGES = ["none", "soc", "obc", "fbc"]
RISKS = ["high", "significant", "moderate", "low"]
YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0", ""}
ROW_REFERENCE = re.compile(r"^row\s*([0-9]+)$", re.IGNORECASE | re.ASCII)
NOTES = [
    ("organisation", "Required. Your organisation's code, e.g. R0A (choose from the list)."),
    ("title", "Required. A short name for the scheme, up to 200 characters."),
    ("description", "Optional. What the scheme is and why it is needed."),
    ("category", "Required. estates_backlog, estates_capacity, digital, equipment or other."),
    ("business_case_stage", "none, soc (strategic outline), obc (outline) or fbc (full). Blank means none."),
    ("backlog_risk", "For backlog schemes: high, significant, moderate or low. May be blank."),
    ("mandatory", "yes if the scheme must be funded (e.g. a statutory safety requirement); blank or no otherwise."),
    ("mandatory_reason", "Required when mandatory is yes: why it must be funded."),
    ("depends_on", "Schemes this one needs: ids of existing schemes (e.g. 17) and/or rows of this sheet (e.g. row 5), separated by commas."),
    ("alternative_group", "Options of which at most one may be funded share the same group name. May be blank."),
    ("max_deferral_years", "How many years the start may slip: 0 (fixed) to 5. Blank means 0."),
    ("2026/27 and later years", "Capital cost in pounds for each financial year, at most 2 decimal places. Blank means nothing that year."),
    ("id, version", "Only in an export: a row with an id updates that scheme, if nobody changed it since (same version). Leave both blank for a new scheme."),
]  # fmt: skip


def is_financial_year(text: str) -> bool:
    """A financial year the register holds (2000/01 to 2099/00, as the API's FinancialYear)."""
    try:
        check_financial_year(text)
    except ValueError:
        return False
    return True


def financial_years(first: str, count: int) -> list[str]:
    start = int(first[:4])
    return [f"{start + i}/{(start + i + 1) % 100:02d}" for i in range(count)]


@dataclass
class Problem:
    row: int
    column: str  # header name
    letter: str
    message: str

    def __str__(self) -> str:
        where = (
            f"row {self.row}, column {self.letter} ({self.column})"
            if self.letter
            else f"row {self.row}"
        )
        return f"{where}: {self.message}"


@dataclass
class Sheet:
    """A read spreadsheet: its header, and each data row with its spreadsheet row number."""

    header: list[str]
    rows: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    # What reading found that no row's dict can hold: a header named twice, a value in a
    # column without a header. Either would be lost silently, so the import refuses them.
    problems: list[Problem] = field(default_factory=list)

    def letter(self, column: str) -> str:
        return get_column_letter(self.header.index(column) + 1) if column in self.header else ""


def column_order(problem: Problem) -> int:
    """Where a problem's column is in the sheet, left to right (0: the row as a whole)."""
    return column_index_from_string(problem.letter) if problem.letter else 0


def _save(book: Workbook) -> bytes:
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template(*, years: list[str], organisations: list[str]) -> bytes:
    """An XLSX to fill in: header row, drop-downs for the enumerations, and a notes sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Schemes"
    header = COLUMNS + years
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="005EB8")
    lists = {
        "organisation": organisations, "category": CATEGORIES, "business_case_stage": STAGES,
        "backlog_risk": RISKS, "mandatory": ["yes", "no"],
    }  # fmt: skip
    for column, choices in lists.items():
        if not choices:
            continue
        letter = get_column_letter(header.index(column) + 1)
        validation = DataValidation(
            type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True
        )
        validation.error, validation.errorTitle = f"Choose one of: {', '.join(choices)}", column
        sheet.add_data_validation(validation)
        validation.add(f"{letter}2:{letter}10001")
    money = DataValidation(
        type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True
    )
    money.error = "A cost in pounds, not negative"
    sheet.add_data_validation(money)
    for index, name in enumerate(header, start=1):
        letter = get_column_letter(index)
        # Every header readable as it opens (a filled header cell does not spill into the next).
        width = {"title": 40, "description": 50, "mandatory_reason": 30}.get(name, len(name) + 4)
        sheet.column_dimensions[letter].width = width
        if index > len(COLUMNS):
            money.add(f"{letter}2:{letter}10001")
            sheet.column_dimensions[letter].width = max(width, 16)
            # The column's own format: a cost typed anywhere in it shows as £1,500,000.00.
            sheet.column_dimensions[letter].number_format = POUNDS
    sheet.freeze_panes = "C2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    notes = book.create_sheet("Notes")
    notes.append(["column", "what to enter"])
    for cell in notes[1]:
        cell.font = Font(bold=True)
    for row in NOTES:
        notes.append(list(row))
    notes.column_dimensions["A"].width, notes.column_dimensions["B"].width = 26, 110
    return _save(book)


class Unreadable(ValueError):
    """The upload is not a spreadsheet this module can read. The message names the file and
    says why; `reason` says why alone, for a place that already names the file (an upload's
    file field; the command line, which puts the path first)."""

    def __init__(self, name: str, reason: str):
        super().__init__(f"{name}: {reason}")
        self.reason = reason


def kind_of(filename: str | None, content_type: str | None = None) -> str:
    """`xlsx` or `csv`, from the file name (or, failing that, the content type)."""
    name = (filename or "").lower()
    if "." in name.rpartition("/")[2] and not name.endswith((".xlsx", ".xlsm", ".csv")):
        raise Unreadable(filename, "use an .xlsx or .csv file")
    if name.endswith((".xlsx", ".xlsm")) or content_type == XLSX:
        return "xlsx"
    if name.endswith(".csv") or (content_type or "").startswith(("text/csv", "application/csv")):
        return "csv"
    raise Unreadable(filename or "the file", "use an .xlsx or .csv file")


def read_sheet(content: bytes, *, kind: str, name: str = "the file") -> Sheet:
    """The first sheet of an XLSX, or a CSV, as header plus numbered rows (blank rows skipped)."""
    rows: Iterator[list[Any]]
    if kind == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unreadable(name, "not UTF-8 text (save the CSV as 'CSV UTF-8')") from exc
        # An export's CSV quotes formula-like text with an apostrophe; the text is without it.
        rows = iter(
            [[from_csv_field(f) for f in r] for r in csv.reader(io.StringIO(text, newline=""))]
        )
    else:
        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            rows = iter([list(r) for r in book.worksheets[0].iter_rows(values_only=True)])
        except Exception as exc:  # openpyxl's errors for a file that is not a workbook
            raise Unreadable(
                name,
                "not a spreadsheet that can be read: save it from Excel as an Excel Workbook "
                "(.xlsx) or as CSV UTF-8, and upload that",
            ) from exc
    header_row = next(rows, None)
    if not header_row:
        raise Unreadable(name, "the first row must be the header")
    header = [str(h).strip() if h is not None else "" for h in header_row]
    while header and header[-1] == "":
        header.pop()
    sheet = Sheet(header=header)
    first: dict[str, int] = {}
    for index, name in enumerate(header):
        if name and name in first:
            sheet.problems.append(Problem(1, name, get_column_letter(index + 1),
                f"is column {get_column_letter(first[name] + 1)} too: each column once"))  # fmt: skip
        first.setdefault(name, index)
    for number, values in enumerate(rows, start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        for index in range(len(header), len(values)):
            if values[index] is not None and str(values[index]).strip() != "":
                sheet.problems.append(Problem(number, "(no header)", get_column_letter(index + 1),
                    f"'{values[index]}' is in a column without a header: move it or delete it"))  # fmt: skip
        sheet.rows.append((number, dict(zip(header, values, strict=False))))
    return sheet


def header_problems(sheet: Sheet) -> list[Problem]:
    problems = list(sheet.problems)
    for column in COLUMNS:
        if column not in sheet.header:
            problems.append(Problem(1, column, "", f"the header has no '{column}' column"))
    for index, name in enumerate(sheet.header):
        letter = get_column_letter(index + 1)
        if name in COLUMNS or name in EXPORT_EXTRA or is_financial_year(name):
            continue
        problems.append(
            Problem(
                1,
                name or "(blank)",
                letter,
                "not a column of the template (financial years are written like 2026/27)",
            )
        )
    if not any(is_financial_year(h) for h in sheet.header):
        problems.append(Problem(1, "years", "", "no financial-year columns (like 2026/27)"))
    return problems


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def rows_to_import(sheet: Sheet) -> tuple[list[dict[str, Any]], list[Problem]]:
    """Validate every row; the API payload for each, and every problem found (not just the first)."""
    problems = header_problems(sheet)
    if any(p.row == 1 for p in problems):  # a value without a header leaves the rest readable
        return [], problems
    years = [h for h in sheet.header if is_financial_year(h)]
    index_of_row = {number: index for index, (number, _values) in enumerate(sheet.rows)}
    payloads = []
    for number, values in sheet.rows:

        def problem(column: str, message: str, number: int = number) -> None:
            problems.append(Problem(number, column, sheet.letter(column), message))

        row: dict[str, Any] = {}
        for column in ("id", "version"):
            text = _text(values.get(column))
            if text and (not ascii_digits(text) or not 1 <= int(text) <= 2**31 - 1):
                problem(
                    column, f"'{text}' should be a whole number (leave it blank for a new scheme)"
                )
            elif text:
                row[column] = int(text)
        for column in ("organisation", "title", "category"):
            row[column] = _text(values.get(column))
            if not row[column]:
                problem(column, "required")
        row["description"] = _text(values.get("description"))
        for column, allowed in (
            ("category", CATEGORIES),
            ("business_case_stage", STAGES),
            ("backlog_risk", RISKS),
        ):
            text = _text(values.get(column)).lower()
            if text and text not in allowed:
                problem(column, f"'{text}' is not one of {', '.join(allowed)}")
            row[column] = text or None
        row["business_case_stage"] = row["business_case_stage"] or "none"
        mandatory = _text(values.get("mandatory")).lower()
        if mandatory not in YES | NO:
            problem("mandatory", f"'{mandatory}' should be yes or no")
        row["mandatory"] = mandatory in YES
        row["mandatory_reason"] = _text(values.get("mandatory_reason")) or None
        if row["mandatory"] and not row["mandatory_reason"]:
            problem("mandatory_reason", "required when mandatory is yes")
        row["alternative_group"] = _text(values.get("alternative_group")) or None
        deferral = _text(values.get("max_deferral_years")) or "0"
        if not ascii_digits(deferral) or int(deferral) > 5:
            problem("max_deferral_years", f"'{deferral}' should be a whole number from 0 to 5")
        else:
            row["max_deferral_years"] = int(deferral)
        row["depends_on"], row["depends_on_rows"] = [], []
        for part in filter(None, (p.strip() for p in _text(values.get("depends_on")).split(","))):
            reference = ROW_REFERENCE.match(part)
            if ascii_digits(part):
                row["depends_on"].append(int(part))
            elif reference and int(reference.group(1)) == number:
                problem("depends_on", f"'{part}' is this row: a scheme cannot depend on itself")
            elif reference and int(reference.group(1)) in index_of_row:
                row["depends_on_rows"].append(index_of_row[int(reference.group(1))])
            else:
                problem(
                    "depends_on", f"'{part}' is neither a scheme id nor 'row N' of a filled row"
                )
        profile, wrong = {}, False  # a wrong amount is its own problem, not "no cost"
        for year in years:
            value = values.get(year)
            if value is None or _text(value) == "":
                continue
            try:
                amount = typed_pounds(value if isinstance(value, int | float) else _text(value))
            except NotPounds as error:
                why = TOO_MANY_POUNDS if error.too_large else "is not an amount in pounds"
                problem(year, f"'{_text(value)}' {why}")
                wrong = True
                continue
            if amount < 0:
                problem(year, "cannot be negative")
                wrong = True
            elif amount != amount.quantize(Decimal("0.01")):
                problem(year, "at most 2 decimal places (pounds and pence)")
                wrong = True
            elif amount > 0:
                profile[year] = amount
        if not profile and not wrong:
            problem(years[0], "no cost in any year: fill at least one financial-year column")
        row["cost_profile"] = profile
        payloads.append(row)
    return payloads, problems


def server_problems(sheet: Sheet, errors: list[dict[str, str]]) -> list[Problem]:
    """The import's field errors (`body.schemes[3].cost_profile.2026/27`) as rows and columns."""
    problems = []
    pattern = re.compile(r"^body\.schemes\[(\d+)\]\.?([^.\[]*)(?:[.\[](.*))?$")
    for error in errors:
        match = pattern.match(error.get("loc", ""))
        if not match:
            problems.append(Problem(0, error.get("loc", ""), "", error.get("msg", "")))
            continue
        index, column, rest = int(match.group(1)), match.group(2), match.group(3) or ""
        number = sheet.rows[index][0] if index < len(sheet.rows) else 0
        if column == "cost_profile" and rest:
            column = rest.split(".")[0]
        if column == "depends_on_rows":
            column = "depends_on"
        problems.append(
            Problem(number, column or "(row)", sheet.letter(column), error.get("msg", ""))
        )
    return problems


def as_errors(problems: list[Problem]) -> list[dict[str, Any]]:
    """Problems as problem+json `errors`: a `loc` like the API's, plus row, column and header."""
    return [
        {"loc": f"file.row[{p.row}].{p.column}", "msg": p.message, "row": p.row,
         "column": p.letter or None, "header": p.column}
        for p in problems
    ]  # fmt: skip


def export_rows(schemes: list[Any], years: list[str]) -> tuple[list[str], list[list[Any]]]:
    """Export rows in the template's layout (plus id, version and status), money as Decimals."""
    header = COLUMNS + years + EXPORT_EXTRA
    rows = []
    for scheme in schemes:
        rows.append([
            scheme.organisation, scheme.title, scheme.description, scheme.category,
            scheme.business_case_stage, scheme.backlog_risk or "", "yes" if scheme.mandatory else "no",
            scheme.mandatory_reason or "", ", ".join(str(d) for d in scheme.depends_on),
            scheme.alternative_group or "", scheme.max_deferral_years,
            *[scheme.cost_profile.get(y, "") for y in years], scheme.id, scheme.version, scheme.status,
        ])  # fmt: skip
    return header, rows


def csv_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """UTF-8 with a byte-order mark (so Excel reads "£" and accents), plain numbers, and text
    that a spreadsheet would run as a formula quoted with an apostrophe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(
        [[f"{v:.2f}" if isinstance(v, Decimal) else csv_field(v) for v in row] for row in rows]
    )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def xlsx_bytes(header: list[str], rows: list[list[Any]]) -> bytes:
    """The export workbook: bold header, £ money, every column wide enough for its values."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Schemes"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
        for cell in sheet[sheet.max_row]:
            as_text(cell)  # a title like =HYPERLINK(...) is text, not a formula
    for index, name in enumerate(header, start=1):
        letter = get_column_letter(index)
        money = is_financial_year(name)
        longest = len(name)
        for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
            if money:
                cell.number_format = POUNDS
            if cell.value not in (None, ""):
                text = f"£{cell.value:,.2f}" if money else str(cell.value)
                longest = max(longest, len(text))
        cap = {"description": 60, "title": 50, "mandatory_reason": 40}.get(name)
        sheet.column_dimensions[letter].width = min(longest + 3, cap) if cap else longest + 3
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = sheet.dimensions
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    return _save(book)


def write_rows(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    """An export (or a file to import) written to disk, as .xlsx or .csv by its name."""
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise ValueError(f"{path.name}: use an .xlsx or .csv file")
    path.write_bytes(
        csv_bytes(header, rows) if path.suffix.lower() == ".csv" else xlsx_bytes(header, rows)
    )
