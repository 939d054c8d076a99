from fastapi import APIRouter, Response

from api.deps import CurrentUser, SessionDep
from api.paging import Limit, Offset
from api.systems import repository, service
from api.systems.schemas import (
    OrganisationCreate,
    OrganisationDetail,
    OrganisationPage,
    OrganisationRead,
    OrganisationUpdate,
    SystemCreate,
    SystemPage,
    SystemRead,
    SystemUpdate,
)
from api.types import CodePath, CodeQuery

router = APIRouter(tags=["systems"])
CREATED = {201: {"headers": {"Location": {"description": "The new record's URL.",
                                          "schema": {"type": "string"}}}},
           409: {"description": "A record with that code already exists"}}  # fmt: skip


@router.get("/systems", operation_id="systems_list")
def list_systems(
    session: SessionDep, principal: CurrentUser, limit: Limit = 50, offset: Offset = 0
) -> SystemPage:
    """The systems you can see."""
    systems, total = repository.list_systems(
        session, ids=principal.system_ids, limit=limit, offset=offset
    )
    items = [service.system_view(s) for s in systems]
    return SystemPage(items=items, total=total, limit=limit, offset=offset)


@router.post("/systems", status_code=201, operation_id="systems_create", responses=CREATED)
def create_system(
    session: SessionDep, principal: CurrentUser, body: SystemCreate, response: Response
) -> SystemRead:
    system = service.create_system(session, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/systems/{system.code}"
    return service.system_view(system)


@router.get("/systems/{code}", operation_id="systems_get")
def get_system(session: SessionDep, principal: CurrentUser, code: CodePath) -> SystemRead:
    return service.system_view(service.get_system(session, principal=principal, code=code))


@router.patch("/systems/{code}", operation_id="systems_update")
def update_system(
    session: SessionDep, principal: CurrentUser, code: CodePath, body: SystemUpdate
) -> SystemRead:
    system = service.update_system(session, principal=principal, code=code, body=body)
    return service.system_view(system)


@router.get("/organisations", operation_id="organisations_list")
def list_organisations(
    session: SessionDep,
    principal: CurrentUser,
    system: CodeQuery = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> OrganisationPage:
    """Organisations in your systems, optionally in one system."""
    service.check_list_filters(session, principal=principal, system=system)
    organisations, total = repository.list_organisations(
        session, system_ids=principal.system_ids, system_code=system, limit=limit, offset=offset
    )
    items = [service.organisation_view(o) for o in organisations]
    return OrganisationPage(items=items, total=total, limit=limit, offset=offset)


@router.post(
    "/organisations", status_code=201, operation_id="organisations_create", responses=CREATED
)
def create_organisation(
    session: SessionDep, principal: CurrentUser, body: OrganisationCreate, response: Response
) -> OrganisationRead:
    organisation = service.create_organisation(session, principal=principal, body=body)
    response.headers["Location"] = f"/api/v1/organisations/{organisation.code}"
    return service.organisation_view(organisation)


@router.get("/organisations/{code}", operation_id="organisations_get")
def get_organisation(
    session: SessionDep, principal: CurrentUser, code: CodePath
) -> OrganisationDetail:
    """The organisation, its status and its published facts (e.g. ERIC backlog by year)."""
    organisation = service.get_organisation(session, principal=principal, code=code)
    return service.organisation_detail(session, organisation)


@router.patch("/organisations/{code}", operation_id="organisations_update")
def update_organisation(
    session: SessionDep, principal: CurrentUser, code: CodePath, body: OrganisationUpdate
) -> OrganisationRead:
    organisation = service.update_organisation(session, principal=principal, code=code, body=body)
    return service.organisation_view(organisation)
