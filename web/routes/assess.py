"""Assessors: the queue of schemes awaiting their score, and the scoring form."""

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.assessments import repository as assessments_repository
from api.assessments import service
from api.assessments.models import CRITERIA
from api.assessments.schemas import AssessmentWrite
from api.deps import Principal, SessionDep
from api.schemes import service as schemes_service
from api.types import IdPath, ascii_digits
from web import formatting
from web.app import redirect, render
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()


def queue_for(session, principal: Principal) -> list:
    return service.awaiting_score(session, principal=principal)


@router.get("/assess")
def queue(request: Request, session: SessionDep, principal: WebUser, scored: int | None = None):
    require_role(principal, "assessor")
    return render(request, "assess_queue.html", queue=queue_for(session, principal), scored=scored)


def _form(request, session, principal, scheme_id: int, values=None, errors=None, status_code=200):
    scheme = schemes_service.get_scheme(session, principal=principal, scheme_id=scheme_id)
    if refused := service.scoring_refusal(principal, scheme):
        raise refused  # no scoring form for a score the service would refuse
    view = schemes_service.read_scheme(session, scheme)
    if values is None:
        own = assessments_repository.get_own(
            session, scheme_id=scheme.id, assessor_id=principal.user.id
        )
        values = service.assessment_view(own).model_dump() if own else {}
    return render(request, "assess_form.html", status_code=status_code, scheme=view,
                  organisation=scheme.organisation, values=values, errors=errors or {})  # fmt: skip


@router.get("/assess/{scheme_id}")
def score_page(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath):
    require_role(principal, "assessor")
    return _form(request, session, principal, scheme_id)


def _message(name: str, kind: str) -> str:
    """What is wrong with one field of the form, naming it (the summary lists them all)."""
    if name != "rationale":
        return f"Choose a score from 0 to 5 for {formatting.CRITERIA.get(name, name).lower()}"
    if kind == "string_too_long":
        return "Your rationale is over 20,000 characters: shorten it"
    if kind == "value_error":
        return "Your rationale has a control character that cannot be stored: remove it"
    return "Enter your rationale"


@router.post("/assess/{scheme_id}")
def score(request: Request, session: SessionDep, principal: WebUser, scheme_id: IdPath,
          form: CheckedForm):  # fmt: skip
    require_role(principal, "assessor")
    values = {name: form.get(name) for name in (*CRITERIA, "rationale")}
    errors = {}
    try:
        scores = {c: int(v) if isinstance(v, str) and ascii_digits(v) else None
                  for c, v in values.items() if c != "rationale"}  # fmt: skip
        body = AssessmentWrite(**scores, rationale=str(values.get("rationale") or "").strip())
    except ValidationError as exc:
        for e in exc.errors():
            name = str(e["loc"][0]) if e["loc"] else "form"
            errors[name] = _message(name, e["type"])
        return _form(request, session, principal, scheme_id, values=values, errors=errors,
                     status_code=422)  # fmt: skip
    service.put_assessment(session, principal=principal, scheme_id=scheme_id, body=body)
    return redirect(f"/assess?scored={scheme_id}")
