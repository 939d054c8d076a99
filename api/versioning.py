"""Optimistic concurrency for versioned records (schemes, rounds): If-Match in, 412 out.

Models declare `version_id_col`, so SQLAlchemy makes every UPDATE conditional on the version
that was read; these helpers turn the caller's If-Match and a lost race into clear errors.
"""

import re
from typing import Annotated, Any, Protocol

from fastapi import Header
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.db import utcnow
from api.errors import (
    API_ERROR_RESPONSES,
    InvalidInput,
    PreconditionFailed,
    PreconditionRequired,
    field_error,
)
from api.types import MAX_ID

_VERSION = re.compile(r"^[0-9]{1,10}$", re.ASCII)

IfMatch = Annotated[
    str | None,
    Header(max_length=64, description='The version you last read, e.g. 3 (or "3", W/"3").'),
]
# An operation whose If-Match is required says so in its OpenAPI (api/main.py reads this).
IF_MATCH_REQUIRED: dict[str, Any] = {"x-if-match-required": True}


def _problem(description: str) -> dict[str, Any]:
    return API_ERROR_RESPONSES[404] | {"description": description}


# The responses of a write to a versioned record, for its OpenAPI.
VERSIONED_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"headers": {"ETag": {"description": 'The new version, e.g. "4".',
                               "schema": {"type": "string"}}}},
    409: _problem("The record's status does not allow this"),
    412: _problem("Stale If-Match: someone changed the record since you read it"),
    428: _problem("If-Match is required"),
}  # fmt: skip


def set_etag(response, version: int) -> None:
    response.headers["ETag"] = f'"{version}"'


class Versioned(Protocol):
    version: int


def parse_if_match(value: str | None, *, required: bool = True) -> int | None:
    """The version a writer last read, from `If-Match: 3` (quoted or weak forms accepted)."""
    if value is None:
        if not required:
            return None
        raise PreconditionRequired(
            "Send If-Match with the version you last read, so no one else's change is lost."
        )
    text = value.strip().removeprefix("W/").strip('"')
    # ASCII digits only, at most 10 of them (str.isdigit() accepts other scripts' digits and
    # superscripts, which int() then rejects), and within the id range.
    if not _VERSION.match(text) or int(text) > MAX_ID:
        raise InvalidInput(
            "If-Match must be a version number.",
            errors=[field_error("header.If-Match", "must be a version number like 3")],
        )
    return int(text)


def check_version(record: Versioned, expected: int | None, *, what: str) -> None:
    """412 unless the caller read the version the record is at now (None: nothing to check)."""
    if expected is not None and record.version != expected:
        raise PreconditionFailed(
            f"{what} is at version {record.version}, not {expected}; read it again and retry."
        )


def flush_versioned(session: Session, record, *, what: str) -> None:
    """Flush a change to a versioned record; a writer who committed first makes it 412."""
    record.updated_at = utcnow()
    try:
        session.flush()
    except StaleDataError as exc:
        raise PreconditionFailed(
            f"{what} was changed by someone else; read it again and retry."
        ) from exc
