"""Systems and organisations: the structure every scheme hangs from."""

from sqlalchemy.orm import Session

from api.audit import service as audit
from api.deps import Principal
from api.errors import Conflict, InvalidInput, NotFound, field_error, invalid_fields
from api.systems import repository
from api.systems.models import Organisation, System
from api.systems.schemas import (
    OrganisationCreate,
    OrganisationDetail,
    OrganisationRead,
    OrganisationUpdate,
    SystemCreate,
    SystemRead,
    SystemUpdate,
)


def system_view(system: System) -> SystemRead:
    return SystemRead(
        code=system.code,
        name=system.name,
        organisations=sorted(o.code for o in system.organisations),
    )


def organisation_view(organisation: Organisation) -> OrganisationRead:
    return OrganisationRead(
        code=organisation.code,
        name=organisation.name,
        kind=organisation.kind,
        systems=sorted(s.code for s in organisation.systems),
        status=organisation.status,
        closed_on=organisation.closed_on,
    )


def organisation_detail(session: Session, organisation: Organisation) -> OrganisationDetail:
    """The organisation with its published facts (ERIC backlog by year and risk)."""
    from api.reference.service import facts_view

    return OrganisationDetail(
        **organisation_view(organisation).model_dump(),
        facts=facts_view(session, organisation=organisation),
    )


def get_system(session: Session, *, principal: Principal, code: str) -> System:
    """The system with `code`, if the caller may see it."""
    system = repository.get_system_by_code(session, code=code)
    if system is None or not principal.in_system(system.id):
        # Out of scope answers exactly like missing: no probing which codes exist elsewhere.
        raise NotFound(f"No system with code {code}.")
    return system


def check_list_filters(
    session: Session, *, principal: Principal, system: str | None, organisation: str | None = None
) -> None:
    """A list filtered by a system or organisation the caller cannot see would be empty, as if
    there were nothing in it: a mistyped code read as "0 schemes", and an export wrote an empty
    file. Each such filter is named instead (422), alike for a code that does not exist and
    one outside the caller's scope (no probing which codes exist elsewhere)."""
    errors = []
    if system is not None:
        found = repository.get_system_by_code(session, code=system)
        if found is None or not principal.in_system(found.id):
            errors.append(field_error("query.system", f"no system {system} that you can see"))
    if organisation is not None:
        found = repository.get_organisation_by_code(session, code=organisation)
        if found is None or not any(principal.in_system(s.id) for s in found.systems):
            errors.append(field_error("query.organisation",
                                      f"no organisation {organisation} that you can see"))  # fmt: skip
    if errors:
        raise InvalidInput(invalid_fields(errors), errors=errors)  # as pydantic's are


def create_system(session: Session, *, principal: Principal, body: SystemCreate) -> System:
    """Create a system (administrators only)."""
    principal.require_role("admin")
    if repository.get_system_by_code(session, code=body.code):
        message = f"A system with code {body.code} already exists"
        raise Conflict(message + ".", errors=[field_error("body.code", message)])
    system = System(code=body.code, name=body.name)
    session.add(system)
    session.flush()
    audit.record(
        session, actor=principal.user, action="create", entity="system", entity_id=system.code,
        system_id=system.id, after=body.model_dump(mode="json"),
    )  # fmt: skip
    return system


def update_system(
    session: Session, *, principal: Principal, code: str, body: SystemUpdate
) -> System:
    """Rename a system (administrators only)."""
    principal.require_role("admin")
    system = get_system(session, principal=principal, code=code)
    before = system_view(system).model_dump(mode="json")
    system.name = body.name
    session.flush()
    audit.record(
        session, actor=principal.user, action="update", entity="system", entity_id=system.code,
        system_id=system.id, before=before, after=system_view(system).model_dump(mode="json"),
    )  # fmt: skip
    return system


def get_organisation(session: Session, *, principal: Principal, code: str) -> Organisation:
    """The organisation with `code`, if it is in one of the caller's systems."""
    organisation = repository.get_organisation_by_code(session, code=code)
    if organisation is None or not any(principal.in_system(s.id) for s in organisation.systems):
        raise NotFound(f"No organisation with code {code}.")
    return organisation


def _systems_by_code(session: Session, codes: list[str]) -> list[System]:
    systems, errors = [], []
    for index, code in enumerate(codes):
        system = repository.get_system_by_code(session, code=code)
        if code in codes[:index]:
            # Named twice: the link table's key would refuse it at flush (a 500).
            where = codes.index(code)
            errors.append(field_error(f"body.systems[{index}]", f"{code} is already systems[{where}]"))  # fmt: skip
        elif system is None:
            errors.append(field_error(f"body.systems[{index}]", f"no system with code {code}"))
        else:
            systems.append(system)
    if errors:
        raise InvalidInput("Check the system codes.", errors=errors)
    return systems


def create_organisation(
    session: Session, *, principal: Principal, body: OrganisationCreate
) -> Organisation:
    """Create an organisation in one or more systems (administrators only)."""
    principal.require_role("admin")
    if repository.get_organisation_by_code(session, code=body.code):
        message = f"An organisation with code {body.code} already exists"
        raise Conflict(message + ".", errors=[field_error("body.code", message)])
    organisation = Organisation(code=body.code, name=body.name, kind=body.kind)
    organisation.systems = _systems_by_code(session, body.systems)
    session.add(organisation)
    session.flush()
    audit.record(
        session, actor=principal.user, action="create", entity="organisation",
        entity_id=organisation.code, after=body.model_dump(mode="json"),
    )  # fmt: skip
    return organisation


def update_organisation(
    session: Session, *, principal: Principal, code: str, body: OrganisationUpdate
) -> Organisation:
    """Change an organisation's name, kind or systems (administrators only)."""
    principal.require_role("admin")
    organisation = get_organisation(session, principal=principal, code=code)
    before = organisation_view(organisation).model_dump(mode="json")
    if body.name is not None:
        organisation.name = body.name
    if body.kind is not None:
        organisation.kind = body.kind
    if body.systems is not None:
        organisation.systems = _systems_by_code(session, body.systems)
    session.flush()
    audit.record(
        session, actor=principal.user, action="update", entity="organisation",
        entity_id=organisation.code, before=before,
        after=organisation_view(organisation).model_dump(mode="json"),
    )  # fmt: skip
    return organisation
