"""Queries for audit events (there are no update or delete queries: the trail is append-only)."""

from sqlalchemy import String, and_, cast, not_, select
from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.paging import paginate
from api.schemes.models import Scheme


def list_events(
    session: Session,
    *,
    system_ids: frozenset[int] | None,
    hide_drafts_of_others: bool,
    organisation_id: int | None,
    entity: str | None,
    entity_id: str | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditEvent], int]:
    """Events in the caller's systems, with the visibility of the records they describe: the
    events of a draft scheme are seen only by those who may read the draft itself."""
    statement = select(AuditEvent)
    if system_ids is not None:
        statement = statement.where(AuditEvent.system_id.in_(system_ids))
    if hide_drafts_of_others:
        private = select(cast(Scheme.id, String)).where(Scheme.status == "draft")
        if organisation_id is not None:
            private = private.where(Scheme.organisation_id != organisation_id)
        statement = statement.where(
            not_(and_(AuditEvent.entity == "scheme", AuditEvent.entity_id.in_(private)))
        )
    if entity is not None:
        statement = statement.where(AuditEvent.entity == entity)
    if entity_id is not None:
        statement = statement.where(AuditEvent.entity_id == entity_id)
    return paginate(session, statement.order_by(AuditEvent.id), limit=limit, offset=offset)
