"""Queries for audit events (there are no update or delete queries: the trail is append-only)."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent


def list_events(
    session: Session,
    *,
    system_ids: frozenset[int] | None,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    statement = select(AuditEvent)
    if system_ids is not None:
        statement = statement.where(AuditEvent.system_id.in_(system_ids))
    if entity is not None:
        statement = statement.where(AuditEvent.entity == entity)
    if entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == entity_id)
    total = session.scalar(select(func.count()).select_from(statement.subquery())) or 0
    page = session.scalars(statement.order_by(AuditEvent.id).limit(limit).offset(offset))
    return list(page), total
