"""Months of a financial year (`2026-04` is month 1 of `2026/27`, `2027-03` month 12)."""

import re
from decimal import ROUND_DOWN, Decimal

from api.types import financial_year, financial_year_start

# ASCII digits only, the whole string: `\d` matches other scripts' digits (`２０２６-10`), which
# int() reads but no month key equals (a KeyError, 500); `$` would let a trailing newline by.
_PERIOD = re.compile(r"([0-9]{4})-([0-9]{2})", re.ASCII)
PENNY = Decimal("0.01")


def check_period(value: str) -> str:
    """`YYYY-MM` with a month 01-12, else a ValueError naming the value."""
    match = _PERIOD.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValueError(f"'{value}' is not a month like 2026-04")
    return value


def year_of(period: str) -> str:
    """The financial year a month belongs to: April starts it."""
    year, month = int(period[:4]), int(period[5:])
    return financial_year(year if month >= 4 else year - 1)


def months_of(year: str) -> list[str]:
    """The twelve months of a financial year, April to March."""
    start = financial_year_start(year)
    return [f"{start}-{m:02d}" for m in range(4, 13)] + [f"{start + 1}-{m:02d}" for m in (1, 2, 3)]


def next_month(period: str) -> str:
    year, month = int(period[:4]), int(period[5:])
    return f"{year + 1}-01" if month == 12 else f"{year}-{month + 1:02d}"


def label(period: str) -> str:
    """`M06 2026/27`, as reports show a month."""
    return f"M{months_of(year_of(period)).index(period) + 1:02d} {year_of(period)}"


def phase(amount: Decimal, months: list[str]) -> dict[str, Decimal]:
    """`amount` in equal parts over `months` (in order), pennies in the last month."""
    if not months:
        return {}
    share = (amount / len(months)).quantize(PENNY, rounding=ROUND_DOWN)
    phased = dict.fromkeys(months, share)
    phased[months[-1]] = amount - share * (len(months) - 1)
    return phased
