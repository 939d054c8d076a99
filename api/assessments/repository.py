"""Queries for assessments."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.assessments.models import Assessment
from api.paging import paginate


def list_for_scheme(
    session: Session, *, scheme_id: int, assessor_id: int | None = None
) -> list[Assessment]:
    statement = select(Assessment).where(Assessment.scheme_id == scheme_id)
    if assessor_id is not None:
        statement = statement.where(Assessment.assessor_id == assessor_id)
    return list(session.scalars(statement.order_by(Assessment.id)))


def page_for_scheme(
    session: Session, *, scheme_id: int, assessor_id: int | None, limit: int, offset: int
) -> tuple[list[Assessment], int]:
    statement = select(Assessment).where(Assessment.scheme_id == scheme_id)
    if assessor_id is not None:
        statement = statement.where(Assessment.assessor_id == assessor_id)
    return paginate(session, statement.order_by(Assessment.id), limit=limit, offset=offset)


def get_own(session: Session, *, scheme_id: int, assessor_id: int) -> Assessment | None:
    found = list_for_scheme(session, scheme_id=scheme_id, assessor_id=assessor_id)
    return found[0] if found else None


def scored_by(session: Session, *, assessor_id: int) -> set[int]:
    """Ids of the schemes an assessor has scored."""
    statement = select(Assessment.scheme_id).where(Assessment.assessor_id == assessor_id)
    return set(session.scalars(statement))
