"""Scheme spreadsheet upload for the web page: the same reading and row checks as
`capital schemes import`, then the server's import service (dry run or for real).

The reading code lives with the command-line tool today (`capital_cli.spreadsheets`); when
the spreadsheet endpoints move server-side (`POST /schemes/import` multipart), point
`_spreadsheets` at that module: nothing else here changes.
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from capital_cli import spreadsheets as _spreadsheets
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.deps import Principal
from api.errors import InvalidInput, field_error
from api.errors import _loc as api_loc
from api.schemes import imports
from api.schemes.schemas import SchemeImport, SchemeImportResult

MAX_BYTES = 10 * 1024 * 1024
SUFFIXES = (".xlsx", ".csv")


@dataclass
class Problem:
    row: int
    column: str
    letter: str
    message: str


@dataclass
class UploadOutcome:
    filename: str
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    result: SchemeImportResult | None = None


def _problems(found) -> list[Problem]:
    return [Problem(p.row, p.column, p.letter, p.message) for p in found]


def check_and_import(
    session: Session,
    *,
    principal: Principal,
    system: str,
    filename: str,
    content: bytes,
    submit: bool,
    dry_run: bool,
) -> UploadOutcome:
    """Read the file, check every row, then run the import service; nothing is written when
    any row is wrong or on a dry run."""
    outcome = UploadOutcome(filename=filename)
    suffix = Path(filename).suffix.lower()
    if suffix not in SUFFIXES:
        outcome.problems.append(Problem(0, "file", "", "choose an .xlsx or .csv file"))
        return outcome
    if len(content) > MAX_BYTES:
        outcome.problems.append(Problem(0, "file", "", "the file is larger than 10 MB"))
        return outcome
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        try:
            sheet = _spreadsheets.read_sheet(path)
        except ValueError as exc:
            outcome.problems.append(Problem(0, "file", "", str(exc).replace(path.name, filename)))
            return outcome
        except Exception as exc:  # openpyxl's errors for a file that is not a workbook
            outcome.problems.append(
                Problem(
                    0, "file", "", f"cannot be read as a spreadsheet ({exc.__class__.__name__})"
                )
            )
            return outcome
    outcome.rows = len(sheet.rows)
    if not sheet.rows:
        outcome.problems.append(Problem(0, "file", "", "no rows to import"))
        return outcome
    payloads, found = _spreadsheets.rows_to_import(sheet)
    if found:
        outcome.problems = _problems(found)
        return outcome
    try:
        body = SchemeImport(system=system, schemes=payloads, submit=submit, dry_run=dry_run)
        outcome.result = imports.import_schemes(session, principal=principal, body=body)
    except ValidationError as exc:
        errors = [field_error(api_loc(("body", *e["loc"])), e["msg"]) for e in exc.errors()]
        outcome.problems = _problems(_spreadsheets.server_problems(sheet, errors))
    except InvalidInput as exc:
        outcome.problems = _problems(_spreadsheets.server_problems(sheet, exc.errors or []))
        if not outcome.problems:
            outcome.problems.append(Problem(0, "", "", exc.detail))
    return outcome
