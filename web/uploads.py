"""Scheme spreadsheet upload for the web page: the same service as the API's multipart
`POST /schemes/import` (and so `capital schemes import`), dry run or for real."""

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from api.deps import Principal
from api.errors import InvalidInput
from api.schemes import imports
from api.schemes.schemas import SchemeImportResult

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
    problems: list[Problem] = field(default_factory=list)
    result: SchemeImportResult | None = None

    @property
    def file_error(self) -> str | None:
        """What is wrong with the file as a whole (none chosen, not a spreadsheet), said at the
        file field; problems in its rows and columns are listed instead."""
        for p in self.problems:
            if p.row == 0 and p.column == "file":
                name = self.filename
                starts_with_name = bool(name) and p.message.startswith(name)
                return p.message if starts_with_name else p.message[:1].upper() + p.message[1:]
        return None


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
    try:
        outcome.result = imports.import_spreadsheet(
            session, principal=principal, content=content, filename=filename,
            content_type=None, system=system, dry_run=dry_run, submit=submit,
        )  # fmt: skip
    except InvalidInput as exc:
        outcome.problems = [
            Problem(e.get("row") or 0,
                    "file" if e.get("loc") == "form.file" else e.get("header") or "",
                    e.get("column") or "", e["msg"])
            for e in exc.errors or []
        ] or [Problem(0, "file", "", exc.detail)]  # fmt: skip
    return outcome
