from datetime import datetime

from api.paging import Page
from api.schemas_common import ResponseModel
from api.strict_json import JSONObject


class AuditEventRead(ResponseModel):
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    action: str
    entity: str
    entity_id: str
    before: JSONObject | None
    after: JSONObject | None


class AuditPage(Page[AuditEventRead]):
    pass
