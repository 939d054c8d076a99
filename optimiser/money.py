"""Exact money for the optimiser's documents: Decimal with at most 2 dp, JSON numbers."""

from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer


def to_json_number(value: Decimal) -> int | float:
    # Amounts have at most 2 dp and stay below 1e13, so the shortest float text is exact.
    return int(value) if value == value.to_integral_value() else float(value)


def format_pounds(value: Decimal | float) -> str:
    """£1.2m, £350k or £900 — how a finance paper writes amounts."""
    amount = float(value)
    sign = "-" if amount < 0 else ""
    amount = abs(amount)
    if amount >= 1_000_000:
        millions = f"{amount / 1_000_000:,.2f}".rstrip("0").rstrip(".")
        return f"{sign}£{millions}m"
    if amount >= 10_000:
        return f"{sign}£{amount / 1_000:,.0f}k"
    return f"{sign}£{amount:,.2f}".replace(".00", "")


Money = Annotated[
    Decimal,
    Field(ge=0, decimal_places=2, allow_inf_nan=False, le=Decimal("9999999999999.99")),
    PlainSerializer(to_json_number, return_type=int | float, when_used="json"),
]
SignedMoney = Annotated[
    Decimal,
    Field(decimal_places=2, allow_inf_nan=False),
    PlainSerializer(to_json_number, return_type=int | float, when_used="json"),
]
