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


def format_apart(more: Decimal, less: Decimal) -> tuple[str, str]:
    """Two amounts a sentence compares ("need X but the limit is Y"), each as format_pounds
    writes it unless that makes them look equal (£1.2m against £1.2m): then both exactly, to
    the penny where either has pence."""
    if format_pounds(more) != format_pounds(less):
        return format_pounds(more), format_pounds(less)
    exact = [Decimal(str(v)) for v in (more, less)]
    places = 2 if any(v != v.to_integral_value() for v in exact) else 0
    return f"£{exact[0]:,.{places}f}", f"£{exact[1]:,.{places}f}"


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
