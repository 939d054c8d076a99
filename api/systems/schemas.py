from datetime import date
from typing import Literal

from pydantic import Field, field_validator

from api.schemas_common import RequestModel, ResponseModel
from api.types import Money

OrganisationKind = Literal[
    "acute", "community", "mental_health", "ambulance", "primary_care", "local_authority", "icb",
    "other",
]  # fmt: skip
Code = str


def _code(value: str) -> str:
    if not value or not value.replace("-", "").isalnum() or value.upper() != value:
        raise ValueError("codes are upper-case letters and digits, like RX1 or QMM")
    return value


class SystemCreate(RequestModel):
    code: Code = Field(min_length=2, max_length=16)
    name: str = Field(min_length=1, max_length=200)

    _check_code = field_validator("code")(_code)


class SystemUpdate(RequestModel):
    name: str = Field(min_length=1, max_length=200)


class SystemRead(ResponseModel):
    code: str
    name: str
    organisations: list[str]


class OrganisationCreate(RequestModel):
    code: Code = Field(min_length=2, max_length=16)
    name: str = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    systems: list[Code] = Field(min_length=1)

    _check_code = field_validator("code")(_code)


class OrganisationUpdate(RequestModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    kind: OrganisationKind | None = None
    systems: list[Code] | None = Field(default=None, min_length=1)


class OrganisationRead(ResponseModel):
    code: str
    name: str
    kind: str
    systems: list[str]
    status: Literal["open", "closed"] = "open"
    closed_on: date | None = None


class OrganisationDetail(OrganisationRead):
    """One organisation with its published facts: fact -> year -> measure -> £, e.g.
    `facts.backlog["2016/17"] = {high, significant, moderate, low}` (ERIC)."""

    facts: dict[str, dict[str, dict[str, Money]]] = {}
