"""Text in the spreadsheets the service writes, never run as a formula.

Excel and LibreOffice take a cell whose text starts with = + - @, a tab or a carriage return
as a formula (CSV or formula injection, OWASP): a scheme titled `=HYPERLINK(...)` would
become a link, or worse, in the workbook of everyone who opens the export or a run's report.

- XLSX (`as_text`): a string is written as a text cell, so the cell shows exactly what was
  typed; one that looks like a formula also gets Excel's quote prefix, so editing the cell
  keeps it text.
- CSV (`csv_field`): such a string gets a leading apostrophe, as OWASP recommends; a CSV has
  no cell types. Reading a CSV back (`from_csv_field`) removes that apostrophe again.

Only strings are touched: money and other numbers stay numbers, negative ones included.
No openpyxl import here, so the CSV writers do not pay for it.
"""

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula_like(text: str) -> bool:
    # Past any apostrophes: a text that already starts '= gets one more, so reading the CSV
    # back removes exactly the one the export added.
    return text.lstrip("'").startswith(FORMULA_STARTS)


def as_text(cell: Any) -> Any:
    """An openpyxl cell just given its value: a string is made a text cell (openpyxl makes
    any string starting with = a formula)."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
        if cell.value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell


def csv_field(value: Any) -> Any:
    """A value for csv.writer: a string a spreadsheet would run gets a leading apostrophe."""
    if isinstance(value, str) and _formula_like(value):
        return "'" + value
    return value


def from_csv_field(text: str) -> str:
    """A field read from a CSV, without the apostrophe `csv_field` added (and only that one:
    an apostrophe before anything but = + - @ tab, CR or another such apostrophe stays)."""
    if text.startswith("'") and _formula_like(text[1:]):
        return text[1:]
    return text
