from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import repository
from api.audit.schemas import AuditPage
from api.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage, operation_id="audit_list")
def list_audit_events(
    session: SessionDep,
    principal: CurrentUser,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPage:
    """Audit events in your systems, oldest first, optionally for one entity."""
    principal.require_role("admin", "ics_finance", "viewer")
    items, total = repository.list_events(
        session,
        system_ids=principal.system_ids,
        entity=entity,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    return AuditPage(items=items, total=total)
