"""Optimistic concurrency for versioned records (schemes, rounds): If-Match in, 412 out.

Models declare `version_id_col`, so SQLAlchemy makes every UPDATE conditional on the version
that was read; these helpers turn the caller's If-Match and a lost race into clear errors.
"""

from typing import Protocol

from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from api.db import utcnow
from api.errors import InvalidInput, PreconditionFailed, PreconditionRequired, field_error


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
    if not text.isdigit():
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
