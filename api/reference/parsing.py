"""Reading the published reference files, strictly: a file not in its published format is an
error naming the row and column, and nothing is imported from it.

- ODS `etr.csv` (NHS trusts): 27 columns, no header row. Used: 1 code, 2 name, 3 region,
  4 ICB code, 11 open date (YYYYMMDD), 12 close date (empty while open).
- ONS ICB names and codes: header `ICByyCD,ICByyCDH,ICByyNM,...` (ONS code, ODS code, name).
- ERIC trust-level data: header row with the published column names; four are used, the cost
  to eradicate high, significant, moderate and low risk backlog (£).
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from api.reference.kinds import ERIC_2016_17_KINDS, LATER_KINDS
from api.types import has_control_or_newline

ETR_COLUMNS = 27
ETR_NAMES = {
    1: "ODS code",
    2: "name",
    3: "region",
    4: "ICB code",
    11: "open date",
    12: "close date",
}
_CODE = re.compile(r"^[A-Z0-9]{3,16}$")
_ICB = re.compile(r"^Q[A-Z0-9]{2}$")
_DATE = re.compile(r"^\d{8}$")
ERIC_COLUMNS = {
    "high": "Cost to eradicate high risk backlog (£)",
    "significant": "Cost to eradicate significant risk backlog (£)",
    "moderate": "Cost to eradicate moderate risk backlog (£)",
    "low": "Cost to eradicate low risk backlog (£)",
}
ERIC_CODE = "Organisation Code"
MAX_AMOUNT = Decimal("9999999999999.99")


class ReferenceFileInvalid(Exception):
    """A file that is not in its published format; `errors` are one line each."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class TrustRow:
    row: int
    code: str
    name: str
    region: str
    icb: str
    opened_on: date | None
    closed_on: date | None


@dataclass(frozen=True)
class IcbRow:
    row: int
    code: str
    name: str


@dataclass(frozen=True)
class EricRow:
    row: int
    code: str
    name: str
    backlog: dict[str, Decimal]


def _text(content: bytes | str, filename: str) -> str:
    if isinstance(content, str):
        return content.removeprefix("\ufeff")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReferenceFileInvalid([f"{filename}: not a text file"])  # pragma: no cover


def _rows(text: str, filename: str) -> list[list[str]]:
    try:
        return list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise ReferenceFileInvalid([f"{filename}: not a CSV file ({exc})"]) from None


def _date(value: str) -> date | None:
    if not _DATE.match(value):
        return None
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        return None


def parse_trusts(content: bytes | str, filename: str = "etr.csv") -> list[TrustRow]:
    """The ODS NHS trusts file, as published (no header row)."""
    rows = _rows(_text(content, filename), filename)
    errors: list[str] = []

    def error(row: int, column: int, message: str) -> None:
        errors.append(f"{filename}: row {row}, column {column} ({ETR_NAMES[column]}): {message}")

    trusts, seen = [], {}
    for number, row in enumerate(rows, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != ETR_COLUMNS:
            errors.append(
                f"{filename}: row {number}: has {len(row)} columns; the published ODS trusts "
                f"file has {ETR_COLUMNS} and no header row"
            )
            continue
        cells = [cell.strip() for cell in row]
        code, name, region, icb = cells[0], cells[1], cells[2], cells[3]
        opened, closed = _date(cells[10]), _date(cells[11])
        if not _CODE.match(code):
            error(number, 1, f"'{code}' is not an ODS code (upper-case letters and digits)")
        elif code in seen:
            error(number, 1, f"{code} is listed again (first at row {seen[code]})")
        seen.setdefault(code, number)
        if not name or len(name) > 200:
            error(number, 2, "a name of 1 to 200 characters is needed")
        elif has_control_or_newline(name):
            error(number, 2, "a name cannot hold control characters or line breaks")
        if icb and not _ICB.match(icb):
            error(number, 4, f"'{icb}' is not an ICB code like QT1")
        if cells[10] and opened is None:
            error(number, 11, f"'{cells[10]}' is not a date like 20170401 (YYYYMMDD)")
        if cells[11] and closed is None:
            error(number, 12, f"'{cells[11]}' is not a date like 20240930 (YYYYMMDD)")
        if len(errors) >= 20:
            break
        trusts.append(TrustRow(number, code, name, region, icb, opened, closed))
    if errors:
        raise ReferenceFileInvalid(errors)
    if not trusts:
        raise ReferenceFileInvalid([f"{filename}: has no rows"])
    return trusts


_ICB_HEADER = re.compile(r"^ICB\d{2}(CD|CDH|NM)$")


def parse_icbs(content: bytes | str, filename: str = "icbs.csv") -> list[IcbRow]:
    """The ONS ICB names and codes file (header `ICB24CD,ICB24CDH,ICB24NM,ObjectId`)."""
    rows = _rows(_text(content, filename), filename)
    if not rows:
        raise ReferenceFileInvalid([f"{filename}: is empty"])
    header = [cell.strip() for cell in rows[0]]
    columns = {}
    for index, name in enumerate(header):
        match = _ICB_HEADER.match(name)
        if match:
            columns[match.group(1)] = index
    if "CDH" not in columns or "NM" not in columns:
        raise ReferenceFileInvalid(
            [f"{filename}: row 1: the header needs the ICB's ODS code and name columns "
             f"(ICByyCDH and ICByyNM, as ONS publishes them); it has {','.join(header)}"]
        )  # fmt: skip
    errors, icbs, seen = [], [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(f"{filename}: row {number}: has {len(row)} columns, not {len(header)}")
            continue
        code, name = row[columns["CDH"]].strip(), row[columns["NM"]].strip()
        if not _ICB.match(code):
            errors.append(
                f"{filename}: row {number}, column {columns['CDH'] + 1} ({header[columns['CDH']]}): "
                f"'{code}' is not an ICB code like QT1"
            )
        elif code in seen:
            errors.append(
                f"{filename}: row {number}: {code} is listed again (first at row {seen[code]})"
            )
        seen.setdefault(code, number)
        if not name or len(name) > 200 or has_control_or_newline(name):
            errors.append(
                f"{filename}: row {number}, column {columns['NM'] + 1} ({header[columns['NM']]}): "
                "a name of 1 to 200 characters, without control characters or line breaks, is needed"
            )
        icbs.append(IcbRow(number, code, name))
    if errors:
        raise ReferenceFileInvalid(errors[:20])
    if not icbs:
        raise ReferenceFileInvalid([f"{filename}: has no ICBs"])
    return icbs


def _amount(value: str) -> Decimal | None:
    text = value.strip().replace(",", "").removeprefix("£")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        return None
    if amount != amount.quantize(Decimal("0.01")):
        return None
    return amount.quantize(Decimal("0.01"))


def parse_eric(content: bytes | str, filename: str = "eric.csv") -> list[EricRow]:
    """ERIC trust-level data: the organisation code and the four backlog cost columns."""
    rows = _rows(_text(content, filename), filename)
    if not rows:
        raise ReferenceFileInvalid([f"{filename}: is empty"])
    header = [cell.strip() for cell in rows[0]]
    missing = [c for c in (ERIC_CODE, *ERIC_COLUMNS.values()) if c not in header]
    if missing:
        raise ReferenceFileInvalid(
            [f"{filename}: row 1: the header has no column '{c}' (ERIC's published names)" for c in missing]
        )  # fmt: skip
    code_at = header.index(ERIC_CODE)
    name_at = header.index("Organisation Name") if "Organisation Name" in header else code_at
    at = {risk: header.index(column) for risk, column in ERIC_COLUMNS.items()}
    errors, result, seen = [], [], {}
    for number, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            errors.append(f"{filename}: row {number}: has {len(row)} columns, not {len(header)}")
            continue
        code = row[code_at].strip()
        if not _CODE.match(code):
            errors.append(
                f"{filename}: row {number}, column {code_at + 1} ({ERIC_CODE}): '{code}' is not an ODS code"
            )
        elif code in seen:
            errors.append(
                f"{filename}: row {number}: {code} is listed again (first at row {seen[code]})"
            )
        seen.setdefault(code, number)
        backlog = {}
        for risk, index in at.items():
            amount = _amount(row[index])
            if amount is None:
                errors.append(
                    f"{filename}: row {number}, column {index + 1} ({ERIC_COLUMNS[risk]}): "
                    f"'{row[index]}' is not an amount in pounds (0 or more, at most 2 decimal places)"
                )
            backlog[risk] = amount
        if len(errors) >= 20:
            break
        result.append(EricRow(number, code, row[name_at].strip(), backlog))
    if errors:
        raise ReferenceFileInvalid(errors[:20])
    return result


# Words kept in lower case inside a name, and words kept as written.
_SMALL = {"and", "of", "the", "upon", "on", "for", "in", "with"}
_UPPER = {"NHS", "ICB", "UK"}


def readable_name(name: str) -> str:
    """ODS publishes names in capitals; show them as people write them:
    `NOTTINGHAM UNIVERSITY HOSPITALS NHS TRUST` -> `Nottingham University Hospitals NHS Trust`,
    `GUY'S AND ST THOMAS' NHS FOUNDATION TRUST` -> `Guy's and St Thomas' NHS Foundation Trust`.
    A name already in mixed case is kept as it is."""
    if name != name.upper():
        return name
    words = []
    for index, word in enumerate(name.split()):
        if word in _UPPER:
            words.append(word)
        elif index and word.lower() in _SMALL:
            words.append(word.lower())
        else:
            words.append("-".join(part[:1].upper() + part[1:].lower() for part in word.split("-")))
    return " ".join(words)


def system_name(icb_name: str) -> str:
    """An ICB's name without `NHS ` and ` Integrated Care Board`: the system's own name
    (`NHS Nottingham and Nottinghamshire Integrated Care Board` -> `Nottingham and Nottinghamshire`)."""
    name = icb_name.strip()
    name = name.removeprefix("NHS ").removesuffix(" Integrated Care Board").strip()
    return name or icb_name


_KEYWORDS = (
    ("AMBULANCE", "ambulance"),
    ("COMMUNITY", "community"),
    ("MENTAL HEALTH", "mental_health"),
    ("PARTNERSHIP", "mental_health"),
)


def infer_kind(code: str, name: str) -> str:
    """A trust's kind: ERIC 2016/17's estate type for the trusts it lists (api/reference/kinds.py);
    otherwise the first keyword of the name that matches (AMBULANCE -> ambulance, COMMUNITY ->
    community, MENTAL HEALTH or PARTNERSHIP -> mental_health), else acute. Five trusts formed since
    2017 are listed with the kind of the trusts they were formed from (`LATER_KINDS`)."""
    if code in ERIC_2016_17_KINDS:
        return ERIC_2016_17_KINDS[code]
    if code in LATER_KINDS:
        return LATER_KINDS[code]
    upper = name.upper()
    for keyword, kind in _KEYWORDS:
        if keyword in upper:
            return kind
    return "acute"
