from fastapi import APIRouter, Response

from api.assessments import service
from api.assessments.schemas import AssessmentRead, AssessmentWrite
from api.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/schemes/{scheme_id}/assessments", tags=["assessments"])


@router.get("", operation_id="assessments_list")
def list_assessments(
    session: SessionDep, principal: CurrentUser, scheme_id: int
) -> list[AssessmentRead]:
    assessments = service.list_assessments(session, principal=principal, scheme_id=scheme_id)
    return [service.assessment_view(a) for a in assessments]


@router.post(
    "",
    status_code=201,
    operation_id="assessments_put",
    responses={200: {"description": "Your earlier assessment was replaced."}},
)
def put_assessment(
    session: SessionDep,
    principal: CurrentUser,
    scheme_id: int,
    body: AssessmentWrite,
    response: Response,
) -> AssessmentRead:
    """Score a scheme (201), or replace your earlier scores for it (200)."""
    assessment, created = service.put_assessment(
        session, principal=principal, scheme_id=scheme_id, body=body
    )
    response.status_code = 201 if created else 200
    return service.assessment_view(assessment)
