from fastapi import APIRouter, Response

from api.assessments import service
from api.assessments.schemas import AssessmentPage, AssessmentRead, AssessmentWrite
from api.deps import CurrentUser, SessionDep
from api.errors import API_ERROR_RESPONSES
from api.paging import Limit, Offset
from api.types import IdPath

router = APIRouter(prefix="/schemes/{scheme_id}/assessments", tags=["assessments"])


@router.get("", operation_id="assessments_list")
def list_assessments(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: IdPath,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AssessmentPage:
    assessments, total = service.list_assessments(
        session, principal=principal, scheme_id=scheme_id, limit=limit, offset=offset
    )
    items = [service.assessment_view(a) for a in assessments]
    return AssessmentPage(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "",
    status_code=201,
    operation_id="assessments_put",
    responses={
        200: {"description": "Your earlier assessment was replaced."},
        201: {
            "headers": {
                "Location": {
                    "description": "The scheme's assessments.",
                    "schema": {"type": "string"},
                }
            }
        },
        409: API_ERROR_RESPONSES[404] | {"description": "Only submitted schemes are scored"},
    },
)
def put_assessment(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: IdPath,
    body: AssessmentWrite,
    response: Response,
) -> AssessmentRead:
    """Score a scheme (201), or replace your earlier scores for it (200)."""
    assessment, created = service.put_assessment(
        session, principal=principal, scheme_id=scheme_id, body=body
    )
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = f"/api/v1/schemes/{scheme_id}/assessments"
    return service.assessment_view(assessment)
