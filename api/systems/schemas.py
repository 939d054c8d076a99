from datetime import date
from typing import Literal

from pydantic import Field

from api.paging import Page
from api.schemas_common import RequestModel, ResponseModel, optional
from api.types import Code, Line, Money

OrganisationKind = Literal[
    "acute", "community", "mental_health", "ambulance", "primary_care", "local_authority", "icb",
    "other",
]  # fmt: skip


class SystemCreate(RequestModel):
    code: Code = Field(description="Upper-case ASCII letters, digits and hyphens, like RX1 or QMM.")
    name: Line = Field(min_length=1, max_length=200)


class SystemUpdate(RequestModel):
    name: Line = Field(min_length=1, max_length=200)


class SystemRead(ResponseModel):
    code: str
    name: str
    organisations: list[str]


class OrganisationCreate(RequestModel):
    code: Code = Field(description="Upper-case ASCII letters, digits and hyphens, like RX1 or QMM.")
    name: Line = Field(min_length=1, max_length=200)
    kind: OrganisationKind
    systems: list[Code] = Field(min_length=1, max_length=50)


class OrganisationUpdate(RequestModel):
    name: Line = optional(min_length=1, max_length=200)
    kind: OrganisationKind = optional()
    systems: list[Code] = optional(min_length=1, max_length=50)


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


class SystemPage(Page[SystemRead]):
    pass


class OrganisationPage(Page[OrganisationRead]):
    pass
