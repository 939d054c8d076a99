from decimal import Decimal
from typing import Literal

from pydantic import Field

from api.schemas_common import ResponseModel
from api.types import Money


class ImportCounts(ResponseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    skipped: int = 0


class ImportChange(ResponseModel):
    entity: Literal["system", "organisation"]
    code: str
    action: Literal["create", "rename", "close", "reopen", "join"]
    detail: str


class SkippedRow(ResponseModel):
    row: int
    code: str
    reason: str


class OdsImportReport(ResponseModel):
    """What an ODS import did (or, with dry_run, would do)."""

    dry_run: bool
    systems: ImportCounts
    organisations: ImportCounts
    changes: list[ImportChange] = Field(description="every change, in file order")
    skipped: list[SkippedRow] = Field(description="rows that could not be placed, with the reason")


class UnmatchedRow(ResponseModel):
    row: int
    code: str
    name: str


class EricImportReport(ResponseModel):
    """What an ERIC import stored: backlog by risk for each matched organisation."""

    dry_run: bool
    year: str
    fact: Literal["backlog"] = "backlog"
    rows: int
    matched: int
    replaced: int = Field(description="organisations whose facts for this year were replaced")
    unmatched: list[UnmatchedRow] = Field(description="codes that match no organisation")
    total: dict[str, Money] = Field(description="the matched organisations' backlog by risk")


class Backlog(ResponseModel):
    high: Money
    significant: Money
    moderate: Money
    low: Money


def backlog_of(values: dict[str, Decimal]) -> Backlog:
    return Backlog(**{risk: values.get(risk, Decimal("0.00")) for risk in Backlog.model_fields})
