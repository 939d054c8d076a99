"""Shared value types: exact money and financial years (`2026/27`)."""

import re
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

_FY = re.compile(r"^(\d{4})/(\d{2})$")


def check_financial_year(value: str) -> str:
    """`2026/27`: the second half is the first plus one, mod 100."""
    match = _FY.match(value)
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"'{value}' is not a financial year like 2026/27")
    return value


def financial_year_start(year: str) -> int:
    return int(year[:4])


def financial_year(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def _money_json(value: Decimal) -> float | int:
    # JSON numbers, as DESIGN.md shows them. Values have at most 2 dp and < 1e13,
    # so the shortest float repr reproduces the exact decimal text.
    return int(value) if value == value.to_integral_value() else float(value)


FinancialYear = Annotated[str, AfterValidator(check_financial_year)]

Money = Annotated[
    Decimal,
    Field(ge=0, le=Decimal("9999999999999.99"), decimal_places=2, allow_inf_nan=False),
    PlainSerializer(_money_json, return_type=float | int, when_used="json"),
]

# A difference between two amounts: exact pence, either sign.
SignedMoney = Annotated[
    Decimal,
    Field(
        ge=Decimal("-9999999999999.99"),
        le=Decimal("9999999999999.99"),
        decimal_places=2,
        allow_inf_nan=False,
    ),
    PlainSerializer(_money_json, return_type=float | int, when_used="json"),
]
