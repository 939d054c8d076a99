"""Administrators: systems, organisations and users (tokens shown once)."""

from typing import get_args

from fastapi import APIRouter, Request
from pydantic import ValidationError

from api.audit import service as audit
from api.deps import SessionDep
from api.errors import CapitalError
from api.systems import repository as systems_repository
from api.systems import service as systems_service
from api.systems.schemas import OrganisationCreate, OrganisationKind, SystemCreate
from api.users import repository as users_repository
from api.users import service as users_service
from api.users.models import ROLES
from web.app import redirect, render
from web.lists import all_of
from web.routes.schemes import _field_errors, _pydantic_errors
from web.security import CheckedForm, WebUser, require_role

router = APIRouter()
KINDS = list(get_args(OrganisationKind))


def _page(request, session, *, errors=None, values=None, token=None, created=None, status_code=200):
    return render(request, "admin.html", status_code=status_code,
                  systems=all_of(systems_repository.list_systems, session, ids=None),
                  organisations=all_of(systems_repository.list_organisations, session, system_ids=None),
                  users=users_repository.list_users(session), kinds=KINDS, roles=ROLES,
                  errors=errors or {}, values=values or {}, token=token, created=created)  # fmt: skip


@router.get("/admin")
def admin(request: Request, session: SessionDep, principal: WebUser, created: str | None = None):
    require_role(principal, "admin")
    return _page(request, session, created=created)


def _errors(exc: Exception, prefix: str) -> dict[str, str]:
    if isinstance(exc, ValidationError):
        raw = _pydantic_errors(exc)
    else:
        raw = exc.errors or [{"loc": "", "msg": exc.detail}]
    return {f"{prefix}-{k}": v for k, v in _field_errors(raw).items()}


@router.post("/admin/systems")
def create_system(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "admin")
    values = {"system-code": form.get("code"), "system-name": form.get("name")}
    try:
        body = SystemCreate(
            code=str(form.get("code") or "").strip(), name=str(form.get("name") or "").strip()
        )
        systems_service.create_system(session, principal=principal, body=body)
        return redirect(f"/admin?created=system+{body.code}")
    except (ValidationError, CapitalError) as exc:
        return _page(
            request, session, errors=_errors(exc, "system"), values=values, status_code=422
        )


@router.post("/admin/organisations")
def create_organisation(request: Request, session: SessionDep, principal: WebUser,
                        form: CheckedForm):  # fmt: skip
    require_role(principal, "admin")
    values = {f"organisation-{k}": form.get(k) for k in ("code", "name", "kind", "systems")}
    try:
        body = OrganisationCreate(
            code=str(form.get("code") or "").strip(), name=str(form.get("name") or "").strip(),
            kind=form.get("kind") or "", systems=[str(s) for s in form.getlist("systems")],
        )  # fmt: skip
        systems_service.create_organisation(session, principal=principal, body=body)
        return redirect(f"/admin?created=organisation+{body.code}")
    except (ValidationError, CapitalError) as exc:
        return _page(request, session, errors=_errors(exc, "organisation"), values=values,
                     status_code=422)  # fmt: skip


@router.post("/admin/users")
def create_user(request: Request, session: SessionDep, principal: WebUser, form: CheckedForm):
    require_role(principal, "admin")
    values = {f"user-{k}": form.get(k) for k in ("name", "role", "system", "organisation")}
    name = str(form.get("name") or "").strip()
    errors = {}
    if not name:
        errors["user-name"] = "Enter the person's name"
    if form.get("role") not in ROLES:  # no role until one is chosen: never admin by default
        errors["user-role"] = "Choose the person's role"
    if errors:
        return _page(request, session, errors=errors, values=values, status_code=422)
    try:
        user = users_service.create_user(
            session, name=name, role=str(form.get("role") or ""),
            system_code=str(form.get("system") or "") or None,
            organisation_code=str(form.get("organisation") or "") or None,
        )  # fmt: skip
        token = users_service.issue_token(session, user=user)
    except CapitalError as exc:  # its errors name the field; its detail is the command line's
        return _page(request, session, errors=_errors(exc, "user"), values=values,
                     status_code=422)  # fmt: skip
    audit.record(session, actor=principal.user, action="create", entity="user", entity_id=user.id,
                 system_id=user.system_id, after={"name": user.name, "role": user.role})  # fmt: skip
    return _page(request, session, token={"user": user, "value": token})
