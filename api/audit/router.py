from typing import Annotated

from fastapi import APIRouter, Query

from api.audit import repository
from api.audit.schemas import AuditPage
from api.deps import CurrentUser, SessionDep
from api.paging import Offset

router = APIRouter(prefix="/audit", tags=["audit"])

Word = Annotated[str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_/-]+$")]


@router.get("", response_model=AuditPage, operation_id="audit_list")
def list_audit_events(
    session: SessionDep,
    principal: CurrentUser,
    entity: Word = None,
    entity_id: Word = None,
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page, 1-500.")] = 100,
    offset: Offset = 0,
) -> AuditPage:
    """Audit events in your systems, oldest first, optionally for one entity. Events of a
    record you may not read (another organisation's draft scheme) are not shown."""
    principal.require_role("admin", "ics_finance", "viewer")
    items, total = repository.list_events(
        session,
        system_ids=principal.system_ids,
        hide_drafts_of_others=principal.role != "admin",
        organisation_id=principal.organisation_id,
        entity=entity,
        entity_id=entity_id,
        limit=limit,
        offset=offset,
    )
    return AuditPage(items=items, total=total, limit=limit, offset=offset)
