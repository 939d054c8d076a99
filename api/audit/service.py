"""The append-only audit trail."""

from typing import Any

from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.users.models import User


def record(
    session: Session,
    *,
    actor: User | None,
    action: str,
    entity: str,
    entity_id: Any,
    system_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit event in the caller's transaction (so it commits or rolls back with it)."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        actor_name=actor.name if actor else "system",
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        system_id=system_id,
        before=before,
        after=after,
    )
    session.add(event)
    session.flush()
    return event
