from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from api.paging import Page
from api.schemas_common import RequestModel, ResponseModel, optional
from api.types import Code, FinancialYear, IdList, Line, Money, Text

Category = Literal["estates_backlog", "estates_capacity", "digital", "equipment", "other"]
BusinessCaseStage = Literal["none", "soc", "obc", "fbc"]
BacklogRisk = Literal["high", "significant", "moderate", "low"]
SchemeStatus = Literal["draft", "submitted", "withdrawn", "approved"]

CostProfile = Annotated[dict[FinancialYear, Money], Field(min_length=1, max_length=100)]
MAX_DEFERRAL_YEARS = 5


def _check_profile(profile: CostProfile | None) -> None:
    if profile is not None and (not profile or sum(profile.values()) <= 0):
        raise ValueError("cost_profile needs at least one year with a cost above zero")


class SchemeFields(RequestModel):
    """What a trust may set on a scheme (all optional: shared by create and update). Omit a
    field to keep it; `null` unsets `backlog_risk`, `mandatory_reason` and
    `alternative_group`, and is a 422 for every other field."""

    title: Line = optional(min_length=1, max_length=200)
    description: Text = optional(max_length=20000)
    category: Category = optional()
    cost_profile: CostProfile = optional()
    business_case_stage: BusinessCaseStage = optional()
    backlog_risk: BacklogRisk | None = None
    mandatory: bool = optional()
    mandatory_reason: Text | None = Field(default=None, max_length=2000)
    depends_on: IdList = optional()
    alternative_group: Line | None = Field(default=None, min_length=1, max_length=100)
    max_deferral_years: int = optional(ge=0, le=MAX_DEFERRAL_YEARS)

    @model_validator(mode="after")
    def _profile_has_cost(self) -> Self:
        _check_profile(self.cost_profile)
        return self


class SchemeNew(SchemeFields):
    """A new scheme's fields, with the required ones required."""

    organisation: Code
    title: Line = Field(min_length=1, max_length=200)
    description: Text = Field(default="", max_length=20000)
    category: Category
    cost_profile: CostProfile
    business_case_stage: BusinessCaseStage = "none"
    mandatory: bool = False
    depends_on: IdList = Field(default_factory=list)
    max_deferral_years: int = Field(default=0, ge=0, le=MAX_DEFERRAL_YEARS)

    @model_validator(mode="after")
    def _mandatory_has_reason(self) -> Self:
        if self.mandatory and not self.mandatory_reason:
            raise ValueError("mandatory_reason is required when mandatory is true")
        return self


class SchemeCreate(SchemeNew):
    system: Code


class SchemeUpdate(SchemeFields):
    pass


class Scores(ResponseModel):
    strategic_fit: float | None
    safety_quality: float | None
    value_for_money: float | None
    deliverability: float | None
    assessments: int


class SchemeRead(ResponseModel):
    id: int
    system: str
    organisation: str
    title: str
    description: str
    category: Category
    cost_profile: CostProfile
    total_cost: Money
    business_case_stage: BusinessCaseStage
    backlog_risk: BacklogRisk | None
    mandatory: bool
    mandatory_reason: str | None
    depends_on: list[int]
    alternative_group: str | None
    max_deferral_years: int
    status: SchemeStatus
    approved_run_id: int | None = None
    approved_deferral_years: int | None = None
    version: int
    scores: Scores
    created_at: datetime
    updated_at: datetime


class SchemePage(Page[SchemeRead]):
    pass


def total(profile: dict[str, Decimal]) -> Decimal:
    return sum(profile.values(), Decimal("0.00"))


# The most rows one import takes (JSON or spreadsheet), in one transaction.
MAX_IMPORT_ROWS = 50000


class SchemeImportRow(SchemeNew):
    """One scheme of a bulk import; `depends_on_rows` names other rows of the same import
    (0-based). With `id` (and the `version` last read) the row updates that scheme."""

    id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)
    depends_on_rows: list[Annotated[int, Field(ge=0, le=MAX_IMPORT_ROWS)]] = Field(
        default_factory=list, max_length=1000
    )


class SchemeImport(RequestModel):
    """Many schemes for one system in one transaction: all are created, or none."""

    system: Code
    schemes: list[SchemeImportRow] = Field(min_length=1, max_length=MAX_IMPORT_ROWS)
    submit: bool = Field(default=False, description="Submit every imported scheme at once.")
    dry_run: bool = Field(default=False, description="Validate everything, write nothing.")


class SchemeImportResult(ResponseModel):
    """What the import did or, in a dry run, would do: rows with an `id` update their scheme
    (or are unchanged), rows without one create a scheme."""

    dry_run: bool
    created: int
    updated: int = 0
    unchanged: int = 0
    ids: list[int] = Field(description="Ids of the schemes created (empty in a dry run).")
    updated_ids: list[int] = Field(default_factory=list)
