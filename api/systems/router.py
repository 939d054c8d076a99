from fastapi import APIRouter

from api.deps import CurrentUser, SessionDep
from api.systems import repository, service
from api.systems.schemas import (
    OrganisationCreate,
    OrganisationDetail,
    OrganisationRead,
    OrganisationUpdate,
    SystemCreate,
    SystemRead,
    SystemUpdate,
)

router = APIRouter(tags=["systems"])


@router.get("/systems", operation_id="systems_list")
def list_systems(session: SessionDep, principal: CurrentUser) -> list[SystemRead]:
    """The systems you can see."""
    return [
        service.system_view(s) for s in repository.list_systems(session, ids=principal.system_ids)
    ]


@router.post("/systems", status_code=201, operation_id="systems_create")
def create_system(session: SessionDep, principal: CurrentUser, body: SystemCreate) -> SystemRead:
    return service.system_view(service.create_system(session, principal=principal, body=body))


@router.get("/systems/{code}", operation_id="systems_get")
def get_system(session: SessionDep, principal: CurrentUser, code: str) -> SystemRead:
    return service.system_view(service.get_system(session, principal=principal, code=code))


@router.patch("/systems/{code}", operation_id="systems_update")
def update_system(
    session: SessionDep, principal: CurrentUser, code: str, body: SystemUpdate
) -> SystemRead:
    system = service.update_system(session, principal=principal, code=code, body=body)
    return service.system_view(system)


@router.get("/organisations", operation_id="organisations_list")
def list_organisations(
    session: SessionDep, principal: CurrentUser, system: str | None = None
) -> list[OrganisationRead]:
    """Organisations in your systems, optionally in one system."""
    organisations = repository.list_organisations(
        session, system_ids=principal.system_ids, system_code=system
    )
    return [service.organisation_view(o) for o in organisations]


@router.post("/organisations", status_code=201, operation_id="organisations_create")
def create_organisation(
    session: SessionDep, principal: CurrentUser, body: OrganisationCreate
) -> OrganisationRead:
    organisation = service.create_organisation(session, principal=principal, body=body)
    return service.organisation_view(organisation)


@router.get("/organisations/{code}", operation_id="organisations_get")
def get_organisation(session: SessionDep, principal: CurrentUser, code: str) -> OrganisationDetail:
    """The organisation, its status and its published facts (e.g. ERIC backlog by year)."""
    organisation = service.get_organisation(session, principal=principal, code=code)
    return service.organisation_detail(session, organisation)


@router.patch("/organisations/{code}", operation_id="organisations_update")
def update_organisation(
    session: SessionDep, principal: CurrentUser, code: str, body: OrganisationUpdate
) -> OrganisationRead:
    organisation = service.update_organisation(session, principal=principal, code=code, body=body)
    return service.organisation_view(organisation)
