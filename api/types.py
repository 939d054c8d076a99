"""Shared value types, validated at the boundary the same way on SQLite and PostgreSQL.

Every request field and parameter uses one of these, so hostile input is a clear 422 as a
class, never a 500 or a silent loss:

- `Id`: a database id, 1..2^31-1 (PostgreSQL's INTEGER; SQLite's is wider) - path, query and
  body alike (`IdPath`, `IdQuery` for FastAPI parameters).
- `Code`, `CodePath`, `CodeQuery`: system and organisation codes, ASCII, 2-16 characters.
- paging: `Limit`, `Offset` and `Page` in api/paging.py.
- `FinancialYear`: ASCII `2026/27`, from 2000/01 to 2099/00 (`\\d` would match other scripts'
  digits).
- `Text` / `Line`: strings without NUL or other control characters (`Text` allows newline,
  carriage return and tab).
- `Finite`: a float that is neither NaN nor infinite, within +-1e12 (`NonNegativeFinite` too).
- `Money`: exact, 2 dp, 0..9,999,999,999,999.99; a JSON number or an ASCII decimal string
  (`Percent` likewise, 0..100).
- `IdList`: a list of ids of bounded length (`MAX_LIST`).
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    PlainSerializer,
    StrictInt,
)

MAX_ID = 2**31 - 1
MAX_LIST = 1000
MAX_NUMBER = 1e12

_FY = re.compile(r"^(20[0-9]{2})/([0-9]{2})$", re.ASCII)
FINANCIAL_YEAR_PATTERN = r"^20[0-9]{2}/[0-9]{2}$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)


def check_financial_year(value: str) -> str:
    """`2026/27`: ASCII digits, 2000/01 to 2099/00, the second half the first plus one mod 100."""
    match = _FY.fullmatch(value)  # not match: `$` would let a trailing newline through
    if not match or (int(match.group(1)) + 1) % 100 != int(match.group(2)):
        raise ValueError(f"'{value}' is not a financial year like 2026/27 (2000/01 to 2099/00)")
    return value


def financial_year_start(year: str) -> int:
    return int(year[:4])


def financial_year(start: int) -> str:
    return f"{start}/{(start + 1) % 100:02d}"


def _no_control(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL or other control characters")
    return value


def _no_control_or_newline(value: str) -> str:
    if _CONTROL_OR_NEWLINE.search(value):
        raise ValueError("must not contain NUL, newlines or other control characters")
    return value


def ascii_digits(text: str) -> bool:
    """Whether `text` is digits 0-9 only: `str.isdigit` also takes '²', which `int` refuses (a
    500), and other scripts' digits, which no spreadsheet or form here means."""
    return bool(_ASCII_DIGITS.fullmatch(text))


def has_control_or_newline(value: str) -> bool:
    """Whether `value` has a character a one-line name must not (a workbook refuses them)."""
    return bool(_CONTROL_OR_NEWLINE.search(value))


def money_json(value: Decimal) -> float | int:
    """Money as a JSON number, as DESIGN.md shows it. Values have at most 2 dp and < 1e13,
    so the shortest float repr reproduces the exact decimal text."""
    return int(value) if value == value.to_integral_value() else float(value)


def datetime_json(value: datetime) -> str:
    """A timestamp as pydantic writes it in JSON: ISO 8601, UTC as `Z`."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


FinancialYear = Annotated[
    str,
    # One plain message for any wrong year ("'2026/7' is not a financial year like 2026/27"),
    # not pydantic's length and regular-expression errors beside it; the published schema
    # still gives the pattern and length, so clients can check before they send.
    AfterValidator(check_financial_year),
    Field(examples=["2026/27"], json_schema_extra={"pattern": FINANCIAL_YEAR_PATTERN,
                                                   "minLength": 7, "maxLength": 7}),
]  # fmt: skip

MONEY_STRING_PATTERN = r"^[0-9]{1,13}(\.[0-9]{1,2})?$"
_MONEY_STRING = re.compile(MONEY_STRING_PATTERN, re.ASCII)


def _decimal_in(value: Any) -> Any:
    """Exact decimals from a JSON number or an ASCII decimal string (`"1200000.50"`): strings
    are allowed so a client can send amounts without going through a binary float, but only
    plain ASCII digits (no `1e3`, `1_000`, other scripts' digits, spaces or signs)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if isinstance(value, str):
        if not _MONEY_STRING.match(value):
            raise ValueError("must be a number, or a string of ASCII digits with up to 2 decimals")
        return Decimal(value)
    return value


MAX_POUNDS = Decimal("9999999999999.99")
# Pounds as people type them once "£" and thousands commas are gone: a sign, ASCII digits and
# a point. No exponent: nobody means 1e30 as money, and Decimal would carry it past its
# precision (`quantize` raises) before any range check.
_TYPED_POUNDS = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$", re.ASCII)


class NotPounds(ValueError):
    """Text that is not an amount in pounds; `too_large` if it is, beyond what is stored."""

    def __init__(self, *, too_large: bool = False) -> None:
        super().__init__("too large" if too_large else "not an amount in pounds")
        self.too_large = too_large


def typed_pounds(value: Any) -> Decimal:
    """An amount from a form field or a spreadsheet cell ("125,000.50", "£125000", 125000.5),
    exact; NotPounds if it is not one or is beyond ±MAX_POUNDS. The caller words the error for
    its field and checks sign and pence."""
    if isinstance(value, bool):
        raise NotPounds
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = repr(value)  # the float's shortest text: 1e+30 is refused like typed "1e30"
    else:
        text = str(value).replace(",", "").replace("£", "").strip()
    if not _TYPED_POUNDS.match(text):
        raise NotPounds
    amount = Decimal(text)
    if abs(amount) > MAX_POUNDS:
        raise NotPounds(too_large=True)
    return amount


TOO_MANY_POUNDS = f"is more than £{MAX_POUNDS:,}, the largest amount the register holds"


@dataclass(frozen=True)
class _DecimalJsonSchema:
    """In request schemas, a decimal is a number in range or a string with
    MONEY_STRING_PATTERN; in responses, a number."""

    maximum: float

    def __get_pydantic_json_schema__(self, core_schema, handler):
        number = {"type": "number", "minimum": 0, "maximum": self.maximum}
        if handler.mode == "serialization":
            return number
        return {"anyOf": [number, {"type": "string", "pattern": MONEY_STRING_PATTERN}]}


Money = Annotated[
    Decimal,
    BeforeValidator(_decimal_in),
    Field(ge=0, le=MAX_POUNDS, decimal_places=2, allow_inf_nan=False),
    PlainSerializer(money_json, return_type=float | int, when_used="json"),
    _DecimalJsonSchema(float(MAX_POUNDS)),
]

# A difference between two amounts: exact pence, either sign.
SignedMoney = Annotated[
    Decimal,
    Field(
        ge=-MAX_POUNDS,
        le=MAX_POUNDS,
        decimal_places=2,
        allow_inf_nan=False,
    ),
    PlainSerializer(money_json, return_type=float | int, when_used="json"),
]

Percent = Annotated[
    Decimal,
    BeforeValidator(_decimal_in),
    Field(ge=0, le=100, decimal_places=2, allow_inf_nan=False),
    _DecimalJsonSchema(100),
]

Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int, Query(ge=1, le=MAX_ID)]
IdList = Annotated[list[Id], Field(max_length=MAX_LIST)]

Text = Annotated[str, AfterValidator(_no_control)]
Line = Annotated[str, AfterValidator(_no_control_or_newline)]
# System and organisation codes (RX1, QWV): upper-case ASCII letters, digits and hyphens.
CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]*$"
Code = Annotated[str, Field(min_length=2, max_length=16, pattern=CODE_PATTERN)]
CodePath = Annotated[str, Path(min_length=2, max_length=16, pattern=CODE_PATTERN)]
CodeQuery = Annotated[
    str | None, Query(min_length=2, max_length=16, pattern=CODE_PATTERN, description="A code.")
]

Finite = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
NonNegativeFinite = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False)]
