from datetime import datetime

from pydantic import Field, StrictInt

from api.paging import Page
from api.schemas_common import RequestModel, ResponseModel
from api.types import Text

Score = StrictInt


class AssessmentWrite(RequestModel):
    """Your scores for a scheme: whole numbers 0-5 on each criterion, and why."""

    strategic_fit: Score = Field(ge=0, le=5)
    safety_quality: Score = Field(ge=0, le=5)
    value_for_money: Score = Field(ge=0, le=5)
    deliverability: Score = Field(ge=0, le=5)
    rationale: Text = Field(min_length=1, max_length=20000)


class AssessmentRead(ResponseModel):
    id: int
    scheme_id: int
    assessor: str
    strategic_fit: int
    safety_quality: int
    value_for_money: int
    deliverability: int
    rationale: str
    created_at: datetime
    updated_at: datetime


class AssessmentPage(Page[AssessmentRead]):
    pass
