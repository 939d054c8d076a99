"""Assessors score submitted schemes; a scheme's score is the mean of its assessments."""

from sqlalchemy.orm import Session

from api.assessments import repository
from api.assessments.models import CRITERIA, Assessment
from api.assessments.schemas import AssessmentRead, AssessmentWrite
from api.audit import service as audit
from api.db import utcnow
from api.deps import Principal
from api.errors import CapitalError, Conflict, Forbidden
from api.schemes import service as schemes_service
from api.schemes.models import Scheme


def assessment_view(assessment: Assessment) -> AssessmentRead:
    return AssessmentRead(
        id=assessment.id,
        scheme_id=assessment.scheme_id,
        assessor=assessment.assessor.name,
        **{c: getattr(assessment, c) for c in CRITERIA},
        rationale=assessment.rationale,
        created_at=assessment.created_at,
        updated_at=assessment.updated_at,
    )


def list_assessments(
    session: Session, *, principal: Principal, scheme_id: int, limit: int, offset: int
) -> tuple[list[Assessment], int]:
    """A scheme's assessments; an assessor sees only their own, so scoring stays independent."""
    schemes_service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    own = principal.user.id if principal.role == "assessor" else None
    return repository.page_for_scheme(
        session, scheme_id=scheme_id, assessor_id=own, limit=limit, offset=offset
    )


def _require_scorable(principal: Principal, scheme: Scheme) -> None:
    principal.require_role("assessor")
    if scheme.organisation_id == principal.organisation_id:
        raise Forbidden("Assessors may not score their own organisation's schemes.")
    if scheme.status != "submitted":
        raise Conflict(f"Only submitted schemes are scored; this one is {scheme.status}.")


def scoring_refusal(principal: Principal, scheme: Scheme) -> CapitalError | None:
    """What put_assessment would refuse the caller for a scheme they can read; None if they
    may score it. Pages offer the scoring form only when this is None."""
    try:
        _require_scorable(principal, scheme)
    except CapitalError as exc:
        return exc
    return None


def put_assessment(
    session: Session, *, principal: Principal, scheme_id: int, body: AssessmentWrite
) -> tuple[Assessment, bool]:
    """Create or replace the caller's assessment of a submitted scheme; True if created."""
    principal.require_role("assessor")
    scheme = schemes_service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    _require_scorable(principal, scheme)
    assessment = repository.get_own(session, scheme_id=scheme.id, assessor_id=principal.user.id)
    created = assessment is None
    before = None if created else assessment_view(assessment).model_dump(mode="json")
    if created:
        assessment = Assessment(scheme_id=scheme.id, assessor_id=principal.user.id)
        session.add(assessment)
    for name, value in body.model_dump().items():
        setattr(assessment, name, value)
    assessment.updated_at = utcnow()
    session.flush()
    session.refresh(assessment)
    audit.record(
        session, actor=principal.user, action="create" if created else "replace",
        entity="assessment", entity_id=assessment.id, system_id=scheme.system_id, before=before,
        after=assessment_view(assessment).model_dump(mode="json"),
    )  # fmt: skip
    return assessment, created


def awaiting_score(session: Session, *, principal: Principal) -> list:
    """An assessor's queue: submitted schemes of their systems, not of their own organisation,
    that they have not scored yet."""
    principal.require_role("assessor")
    scored = repository.scored_by(session, assessor_id=principal.user.id)
    own = principal.user.organisation.code if principal.user.organisation else None
    submitted = schemes_service.all_schemes(session, principal=principal, status="submitted")
    return [s for s in submitted if s.id not in scored and s.organisation != own]
