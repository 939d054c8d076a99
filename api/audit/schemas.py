from datetime import datetime
from typing import Any

from pydantic import BaseModel

from api.paging import Page


class AuditEventRead(BaseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    model_config = {"from_attributes": True}


class AuditPage(Page[AuditEventRead]):
    pass
