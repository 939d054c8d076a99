"""One list envelope everywhere: `{"items": [...], "total": N, "limit": L, "offset": O}`.

A list endpoint takes `limit: Limit = 50, offset: Offset = 0`, asks its repository for
`paginate(session, statement, limit=limit, offset=offset)` (one COUNT and one page query), and
returns a subclass of `Page[ItemRead]` (subclass it so the OpenAPI schema has a plain name):

    class SchemePage(Page[SchemeRead]): ...
"""

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.types import MAX_ID

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"Items per page, 1-{MAX_LIMIT}.")]
Offset = Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip (0 to 2^31-1).")]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def paginate(session: Session, statement: Select, *, limit: int, offset: int) -> tuple[list, int]:
    """A page of `statement` (which must be ordered) and how many rows match in all."""
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    return list(session.scalars(statement.limit(limit).offset(offset))), total or 0
