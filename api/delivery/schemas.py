"""Request and response bodies of in-year delivery (DESIGN.md section 7)."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PlainSerializer

from api.delivery.periods import check_period
from api.schemas_common import RequestModel, ResponseModel
from api.types import FinancialYear, Money, Text

Period = Annotated[str, AfterValidator(check_period)]
Rag = Literal["green", "amber", "red"]


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# Variances and headroom may be negative; still exact, still 2 dp.
SignedMoney = Annotated[
    Decimal, PlainSerializer(_json_number, return_type=int | float, when_used="json")
]
SchemeId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class MonthRead(ResponseModel):
    period: str
    plan: Money
    actual: Money | None
    # The forecast of an open month; null once the month is closed (its actual stands).
    forecast: Money | None
    closed: bool


class Figures(ResponseModel):
    """The section 7 figures of one year, for a scheme, an organisation or the system."""

    ytd_plan: SignedMoney
    ytd_actual: SignedMoney
    ytd_variance: SignedMoney
    annual_plan: SignedMoney
    forecast_outturn: SignedMoney
    forecast_variance: SignedMoney
    slippage: SignedMoney


class YearRead(Figures):
    year: str
    months: list[MonthRead]


class DeliveryRead(ResponseModel):
    scheme_id: int
    title: str
    system: str
    organisation: str
    version: int
    reporting_period: str | None
    next_period: str | None
    current_year: str | None
    years: list[YearRead]
    later_years: dict[str, Money]
    rag: Rag | None
    commentary: str


class DeliveryUpdate(RequestModel):
    """Any of: re-phased plan months, actuals, forecasts, later years' forecasts, RAG, commentary."""

    plan: dict[Period, Money] | None = None
    actual: dict[Period, Money | None] | None = None
    forecast: dict[Period, Money] | None = None
    later_years: dict[FinancialYear, Money] | None = None
    rag: Rag | None = None
    commentary: Text | None = Field(default=None, max_length=4000)


class DeliveryImportRow(RequestModel):
    """One scheme's return for the period: its actual, forecasts, later years, RAG, commentary."""

    scheme_id: SchemeId
    actual: Money | None = None
    forecast: dict[Period, Money] = Field(default_factory=dict)
    later_years: dict[FinancialYear, Money] = Field(default_factory=dict)
    rag: Rag | None = None
    commentary: Text | None = Field(default=None, max_length=4000)


class DeliveryImport(RequestModel):
    """Many schemes' monthly returns at once: all are applied, or none."""

    period: Period
    schemes: list[DeliveryImportRow] = Field(min_length=1, max_length=10000)


class DeliveryImportResult(ResponseModel):
    system: str
    period: str
    updated: int
    scheme_ids: list[int]


class ClosePeriod(RequestModel):
    """Which month the caller means to close. Optional, but a retried or doubled request
    that names it closes that month once, where one without closes the month after it too."""

    period: Period | None = None


class PeriodRead(ResponseModel):
    system: str
    reporting_period: str | None
    next_period: str | None
    current_year: str | None


class OrganisationFigures(Figures):
    organisation: str
    schemes: int
    red: int
    amber: int


class TotalFigures(Figures):
    schemes: int
    red: int
    amber: int


class SchemeFigures(Figures):
    """One approved scheme's figures for a year, and what it has returned for the month to close."""

    scheme_id: int
    title: str
    organisation: str
    rag: Rag | None
    next_period: str | None
    next_actual: Money | None  # recorded for the next month to close; None: not yet
    next_forecast: Money | None  # that month's forecast (what closing without an actual loses)


class SystemDeliveryRead(ResponseModel):
    system: str
    year: str
    reporting_period: str | None
    envelope: Money | None
    organisations: list[OrganisationFigures]
    total: TotalFigures
    # envelope - total forecast outturn; negative: the system forecasts over its limit.
    headroom: SignedMoney | None
