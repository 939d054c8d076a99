"""Bulk import: every row validated first; then all are written in one transaction, or none."""

from sqlalchemy.orm import Session

from api.audit.models import AuditEvent
from api.deps import Principal
from api.errors import InvalidInput, field_error
from api.schemes import repository
from api.schemes.models import Scheme, SchemeCost
from api.schemes.schemas import SchemeImport, SchemeImportResult
from api.systems import repository as systems_repository
from optimiser.graphs import find_cycle


def import_schemes(
    session: Session, *, principal: Principal, body: SchemeImport
) -> SchemeImportResult:
    """Create every row as a scheme of `body.system` (drafts, or submitted with `submit`)."""
    principal.require_role("trust", "admin")
    system = systems_repository.get_system_by_code(session, code=body.system)
    if system is None:
        raise InvalidInput(
            "Unknown system.", errors=[field_error("body.system", f"no system {body.system}")]
        )
    principal.require_system(system.id)
    organisations = {o.code: o for o in system.organisations}
    wanted = {d for row in body.schemes for d in row.depends_on}
    existing = (
        {s.id: s for s in repository.get_schemes(session, ids=sorted(wanted))} if wanted else {}
    )
    errors = []
    for index, row in enumerate(body.schemes):
        here = f"body.schemes[{index}]"
        organisation = organisations.get(row.organisation)
        if organisation is None:
            errors.append(
                field_error(
                    f"{here}.organisation",
                    f"{row.organisation} is not an organisation of {system.code}",
                )
            )
        elif principal.role == "trust" and organisation.id != principal.organisation_id:
            errors.append(
                field_error(
                    f"{here}.organisation",
                    "trust users may only import their own organisation's schemes",
                )
            )
        for position, dependency in enumerate(row.depends_on):
            found = existing.get(dependency)
            if found is None or found.system_id != system.id:
                errors.append(
                    field_error(
                        f"{here}.depends_on[{position}]", f"no scheme {dependency} in {system.code}"
                    )
                )
        for position, other in enumerate(row.depends_on_rows):
            if not 0 <= other < len(body.schemes) or other == index:
                errors.append(
                    field_error(
                        f"{here}.depends_on_rows[{position}]",
                        f"no other row {other} in this import",
                    )
                )
    if not errors:
        cycle = find_cycle({i: row.depends_on_rows for i, row in enumerate(body.schemes)})
        if cycle is not None:
            errors.append(
                field_error(
                    f"body.schemes[{cycle[0]}].depends_on_rows",
                    "rows depend on each other in a cycle: " + " -> ".join(map(str, cycle)),
                )
            )
    if errors:
        raise InvalidInput(
            f"{len(errors)} problem(s) in the import; nothing was written.", errors=errors
        )
    if body.dry_run:
        return SchemeImportResult(dry_run=True, created=0, ids=[])

    status = "submitted" if body.submit else "draft"
    schemes = []
    for row in body.schemes:
        scheme = Scheme(
            system_id=system.id,
            organisation_id=organisations[row.organisation].id,
            title=row.title, description=row.description, category=row.category,
            business_case_stage=row.business_case_stage, backlog_risk=row.backlog_risk,
            mandatory=row.mandatory, mandatory_reason=row.mandatory_reason,
            alternative_group=row.alternative_group, max_deferral_years=row.max_deferral_years,
            status=status, created_by_id=principal.user.id,
            costs=[SchemeCost(year=y, amount=a) for y, a in sorted(row.cost_profile.items())],
            depends_on=[existing[d] for d in dict.fromkeys(row.depends_on)],
        )  # fmt: skip
        schemes.append(scheme)
    for scheme, row in zip(schemes, body.schemes, strict=True):
        scheme.depends_on += [schemes[i] for i in dict.fromkeys(row.depends_on_rows)]
    session.add_all(schemes)
    session.flush()
    session.add_all(
        AuditEvent(
            actor_id=principal.user.id, actor_name=principal.name, action="import", entity="scheme",
            entity_id=str(scheme.id), system_id=system.id,
            after={"title": scheme.title, "organisation": row.organisation, "status": status,
                   "cost_profile": {y: float(a) for y, a in row.cost_profile.items()}},
        )
        for scheme, row in zip(schemes, body.schemes, strict=True)
    )  # fmt: skip
    session.flush()
    return SchemeImportResult(dry_run=False, created=len(schemes), ids=[s.id for s in schemes])
