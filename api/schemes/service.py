"""Scheme register: trusts record schemes; everyone in a system reads the submitted ones."""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from api.assessments.models import CRITERIA
from api.audit import service as audit
from api.deps import Principal
from api.errors import (
    CapitalError,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    a_or_an,
    field_error,
)
from api.schemes import repository
from api.schemes.models import Scheme, SchemeCost
from api.schemes.schemas import SchemeCreate, SchemePage, SchemeRead, SchemeUpdate, Scores, total
from api.systems import repository as systems_repository
from api.systems import service as systems_service
from api.systems.models import Organisation
from api.types import datetime_json, money_json
from api.versioning import check_version, flush_versioned, parse_if_match
from optimiser.graphs import find_cycle

Node = TypeVar("Node")

WRITERS = ("trust", "admin")  # the roles that record and change schemes
EDITABLE_STATUSES = ("draft", "submitted")
# action -> (statuses it may start from, status it leads to)
_TRANSITIONS = {
    "submit": (("draft",), "submitted"),
    "withdraw": (("draft", "submitted"), "withdrawn"),
}


def scheme_view(scheme: Scheme, scores: dict | None = None) -> SchemeRead:
    scores = scores or {"assessments": 0}
    profile = scheme.cost_profile
    return SchemeRead(
        id=scheme.id,
        system=scheme.system.code,
        organisation=scheme.organisation.code,
        title=scheme.title,
        description=scheme.description,
        category=scheme.category,
        cost_profile=profile,
        total_cost=total(profile),
        business_case_stage=scheme.business_case_stage,
        backlog_risk=scheme.backlog_risk,
        mandatory=scheme.mandatory,
        mandatory_reason=scheme.mandatory_reason,
        depends_on=[d.id for d in scheme.depends_on],
        alternative_group=scheme.alternative_group,
        max_deferral_years=scheme.max_deferral_years,
        status=scheme.status,
        approved_run_id=scheme.approved_run_id,
        approved_deferral_years=scheme.approved_deferral_years,
        version=scheme.version,
        scores=Scores(**{c: scores.get(c) for c in CRITERIA}, assessments=scores["assessments"]),
        created_at=scheme.created_at,
        updated_at=scheme.updated_at,
    )


def read_scheme(session: Session, scheme: Scheme) -> SchemeRead:
    scores = repository.mean_scores(session, scheme_ids=[scheme.id]).get(scheme.id)
    return scheme_view(scheme, scores)


def _audit_view(scheme: Scheme) -> dict:
    view = scheme_view(scheme).model_dump(mode="json", exclude={"scores", "created_at"})
    return view


def can_read(principal: Principal, scheme: Scheme) -> bool:
    if not principal.in_system(scheme.system_id):
        return False
    return (
        scheme.status != "draft"
        or principal.role == "admin"
        or scheme.organisation_id == principal.organisation_id
    )


def get_scheme(session: Session, *, principal: Principal, scheme_id: int) -> Scheme:
    """The scheme, if the caller may read it (other organisations' drafts are private)."""
    scheme = repository.get_scheme(session, scheme_id=scheme_id)
    if scheme is None or not can_read(principal, scheme):
        # Out of scope (another system, another organisation's draft) reads like missing.
        raise NotFound(f"No scheme with id {scheme_id}.")
    return scheme


def list_schemes(
    session: Session,
    *,
    principal: Principal,
    system: str | None,
    organisation: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> SchemePage:
    """A page of the schemes the caller may read, filtered."""
    systems_service.check_list_filters(session, principal=principal, system=system,
                                       organisation=organisation)  # fmt: skip
    visible = repository.visible_schemes(
        system_ids=principal.system_ids,
        organisation_id=principal.organisation_id,
        see_all_drafts=principal.role == "admin",
    )
    schemes, count = repository.list_schemes(
        session, visible=visible, system_code=system, organisation_code=organisation,
        category=category, status=status, limit=limit, offset=offset,
    )  # fmt: skip
    scores = repository.mean_scores(session, scheme_ids=[s.id for s in schemes])
    items = [scheme_view(s, scores.get(s.id)) for s in schemes]
    return SchemePage(items=items, total=count, limit=limit, offset=offset)


def all_schemes(
    session: Session,
    *,
    principal: Principal,
    system: str | None = None,
    organisation: str | None = None,
    category: str | None = None,
    status: str | None = None,
) -> list[SchemeRead]:
    """Every scheme the caller may read that matches the filters (an export, an assessor's
    queue), fetched a page of 500 at a time so that no query names more ids than a database
    takes."""
    schemes: list[SchemeRead] = []
    while True:
        page = list_schemes(
            session, principal=principal, system=system, organisation=organisation,
            category=category, status=status, limit=500, offset=len(schemes),
        )  # fmt: skip
        schemes += page.items
        if not page.items or len(schemes) >= page.total:
            return schemes


def list_scheme_documents(
    session: Session,
    *,
    principal: Principal,
    system: str | None,
    organisation: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """The same page as `list_schemes`, as the JSON document `SchemePage` would give (same
    fields, order and values), built from plain rows without the ORM or pydantic: a 50-item
    page in a few milliseconds of CPU instead of about 25 (docs/benchmarks.md, issue 9).
    tests/api/test_scheme_list_json.py holds the two paths to the same bytes."""
    systems_service.check_list_filters(session, principal=principal, system=system,
                                       organisation=organisation)  # fmt: skip
    visible = repository.visible_schemes(
        system_ids=principal.system_ids,
        organisation_id=principal.organisation_id,
        see_all_drafts=principal.role == "admin",
    )
    page = repository.list_scheme_rows(
        session, visible=visible, system_code=system, organisation_code=organisation,
        category=category, status=status, limit=limit, offset=offset,
    )  # fmt: skip
    scores = repository.mean_scores(session, scheme_ids=[row.id for row in page.schemes])
    items = []
    for row in page.schemes:
        costs = page.costs.get(row.id, ())
        mean = scores.get(row.id) or {"assessments": 0}
        items.append({
            "id": row.id, "system": row.system, "organisation": row.organisation,
            "title": row.title, "description": row.description, "category": row.category,
            "cost_profile": {year: money_json(amount) for year, amount in costs},
            "total_cost": money_json(sum((amount for _, amount in costs), Decimal("0.00"))),
            "business_case_stage": row.business_case_stage, "backlog_risk": row.backlog_risk,
            "mandatory": row.mandatory, "mandatory_reason": row.mandatory_reason,
            "depends_on": page.depends_on.get(row.id, []),
            "alternative_group": row.alternative_group,
            "max_deferral_years": row.max_deferral_years, "status": row.status,
            "approved_run_id": row.approved_run_id,
            "approved_deferral_years": row.approved_deferral_years, "version": row.version,
            "scores": {**{c: mean.get(c) for c in CRITERIA}, "assessments": mean["assessments"]},
            "created_at": datetime_json(row.created_at), "updated_at": datetime_json(row.updated_at),
        })  # fmt: skip
    return {"items": items, "total": page.total, "limit": limit, "offset": offset}


def importable_organisations(
    session: Session, *, principal: Principal, system: str
) -> list[str] | None:
    """Codes of the open organisations of `system` the caller may import new schemes for (a
    trust: its own; an admin: all), or every open organisation for read-only roles; None if
    the system is unknown or outside the caller's scope. A closed organisation records no
    new schemes, so the template's drop-down does not offer it."""
    found = systems_repository.get_system_by_code(session, code=system)
    if found is None or not principal.in_system(found.id):
        return None
    open_ones = [o for o in found.organisations if o.closed_on is None]
    if principal.role == "trust":
        return [o.code for o in open_ones if o.id == principal.organisation_id]
    return [o.code for o in open_ones]


def _require_writer(principal: Principal, *, system_id: int, organisation_id: int) -> None:
    principal.require_role(*WRITERS)
    principal.require_system(system_id)
    if principal.role == "trust" and principal.organisation_id != organisation_id:
        raise Forbidden("Trust users may only change their own organisation's schemes.")


def closed_refusal(organisation: Organisation) -> str | None:
    """Why a closed organisation records and submits no new schemes (its existing ones stay
    and can still change), in the words every path gives; None while it is open. Each caller
    chooses the error and where it points."""
    if organisation.closed_on is None:
        return None
    return (
        f"{organisation.code} closed on {organisation.closed_on.isoformat()}; a closed "
        "organisation can submit no new schemes"
    )


def _require_open(organisation: Organisation) -> None:
    if refused := closed_refusal(organisation):
        raise InvalidInput(
            f"{refused}.",
            errors=[field_error("body.organisation", f"{organisation.code} is closed")],
        )


def new_scheme_refusal(principal: Principal) -> CapitalError | None:
    """What create_scheme would refuse the caller whatever they typed: a role that records no
    schemes, or a trust whose organisation has closed; None if they may record one. Pages
    offer "Record a new scheme" only when this is None."""
    try:
        principal.require_role(*WRITERS)
        if principal.role == "trust":
            _require_open(principal.user.organisation)
    except CapitalError as exc:
        return exc
    return None


def _require_state(scheme: Scheme, action: str) -> None:
    """Whether the scheme, as it stands, can be edited ("edit"), submitted or withdrawn."""
    if action == "edit":
        if scheme.status not in EDITABLE_STATUSES:
            raise Conflict(f"{a_or_an(scheme.status).capitalize()} scheme cannot be changed.")
        return
    allowed, new_status = _TRANSITIONS[action]
    if scheme.status not in allowed:
        raise Conflict(f"{a_or_an(scheme.status).capitalize()} scheme cannot be {new_status}.")
    if action == "submit" and (refused := closed_refusal(scheme.organisation)):
        raise Conflict(f"{refused}.")


def can_change(principal: Principal, scheme: Scheme) -> bool:
    """Whether the caller writes for the scheme's organisation (a trust, its own; an admin)."""
    try:
        _require_writer(
            principal, system_id=scheme.system_id, organisation_id=scheme.organisation_id
        )
    except Forbidden:
        return False
    return True


def refusal(principal: Principal, scheme: Scheme, action: str) -> CapitalError | None:
    """What update_scheme ("edit") or change_status ("submit", "withdraw") would refuse the
    caller now, for a scheme they can read, version aside; None if it would go ahead. Pages
    offer an action only when this is None."""
    try:
        _require_writer(
            principal, system_id=scheme.system_id, organisation_id=scheme.organisation_id
        )
        _require_state(scheme, action)
    except CapitalError as exc:
        return exc
    return None


def can_depend_on(
    principal: Principal, dependency: Scheme | None, *, system_id: int, held: set[int]
) -> bool:
    """Whether a scheme of `system_id` may name `dependency`: it exists in the system and the
    caller can read it, or the scheme already depends on it (its id is shown already)."""
    if dependency is None or dependency.system_id != system_id:
        return False
    return dependency.id in held or can_read(principal, dependency)


UNSEEN = "one or more schemes you cannot see"


def cycle_path(
    session: Session,
    *,
    principal: Principal,
    cycle: list[Node],
    scheme_id: Callable[[Node], int | None] = lambda node: node,
) -> str:
    """A dependency cycle (first node = last) as "1 -> 4 -> 1", naming only schemes the caller
    can read: each run of others is UNSEEN, so neither their ids nor how many they are is
    told. `scheme_id` gives a node's scheme (None for a node that is no stored scheme, such
    as an import's new row, which is the caller's own); the path starts at a node the
    caller can see."""
    nodes = cycle[:-1]
    ids = [i for i in map(scheme_id, nodes) if i is not None]
    found = {s.id: s for s in repository.get_schemes(session, ids=ids)}

    def seen(node: Node) -> bool:
        i = scheme_id(node)
        return i is None or (i in found and can_read(principal, found[i]))

    start = next((n for n, node in enumerate(nodes) if seen(node)), None)
    if start is None:
        return UNSEEN
    nodes = nodes[start:] + nodes[:start]
    parts: list[str] = []
    for node in nodes:
        if seen(node):
            parts.append(str(node))
        elif parts[-1] != UNSEEN:
            parts.append(UNSEEN)
    return " -> ".join([*parts, str(nodes[0])])


def _check_dependencies(
    session: Session, *, principal: Principal, scheme: Scheme, system_id: int,
    depends_on: list[int],
) -> list[Scheme]:  # fmt: skip
    """Dependencies must exist, be in the same system, be readable by the caller, and never
    form a cycle."""
    errors = []
    found = {s.id: s for s in repository.get_schemes(session, ids=depends_on)}
    held = {d.id for d in scheme.depends_on} if scheme.id is not None else set()
    for index, dependency_id in enumerate(depends_on):
        dependency = found.get(dependency_id)
        loc = f"body.depends_on[{index}]"
        if not can_depend_on(principal, dependency, system_id=system_id, held=held):
            # One message for missing, other-system and unreadable ids (another organisation's
            # draft): no probing of what the caller cannot read.
            errors.append(field_error(loc, f"no scheme with id {dependency_id} in this system"))
        elif dependency_id == scheme.id:
            errors.append(field_error(loc, "a scheme cannot depend on itself"))
    if errors:
        raise InvalidInput("Invalid dependencies.", errors=errors)
    if scheme.id is not None:
        graph = repository.dependency_graph(session, system_id=system_id)
        graph[scheme.id] = set(depends_on)
        cycle = find_cycle(graph)  # the graph was acyclic, so any cycle runs through this scheme
        if cycle:
            path = cycle_path(session, principal=principal, cycle=cycle)
            raise InvalidInput(
                f"Dependencies would form a cycle: {path}.",
                errors=[field_error("body.depends_on", f"forms a cycle {path}")],
            )
    return [found[i] for i in dict.fromkeys(depends_on)]


def _apply(scheme: Scheme, fields: dict) -> None:
    for name in (
        "title", "description", "category", "business_case_stage", "backlog_risk", "mandatory",
        "mandatory_reason", "alternative_group", "max_deferral_years",
    ):  # fmt: skip
        if name in fields:
            setattr(scheme, name, fields[name])
    if "cost_profile" in fields:
        scheme.costs = [
            SchemeCost(year=year, amount=amount)
            for year, amount in sorted(fields["cost_profile"].items())
        ]


def create_scheme(session: Session, *, principal: Principal, body: SchemeCreate) -> Scheme:
    """Record a new draft scheme for an organisation in a system."""
    system = systems_repository.get_system_by_code(session, code=body.system)
    organisation = systems_repository.get_organisation_by_code(session, code=body.organisation)
    errors = []
    if system is None:
        errors.append(field_error("body.system", f"no system with code {body.system}"))
    if organisation is None:
        errors.append(field_error("body.organisation", f"no organisation {body.organisation}"))
    elif system is not None and system not in organisation.systems:
        errors.append(
            field_error("body.organisation", f"{organisation.code} is not in system {system.code}")
        )
    if errors:
        raise InvalidInput("Unknown system or organisation.", errors=errors)
    _require_writer(principal, system_id=system.id, organisation_id=organisation.id)
    _require_open(organisation)
    scheme = Scheme(system=system, organisation=organisation, created_by_id=principal.user.id)
    fields = body.model_dump(exclude={"system", "organisation", "depends_on"})
    _apply(scheme, fields)
    scheme.depends_on = _check_dependencies(
        session, principal=principal, scheme=scheme, system_id=system.id,
        depends_on=body.depends_on,
    )  # fmt: skip
    session.add(scheme)
    session.flush()
    audit.record(
        session, actor=principal.user, action="create", entity="scheme", entity_id=scheme.id,
        system_id=scheme.system_id, after=_audit_view(scheme),
    )  # fmt: skip
    return scheme


def _editable(
    session: Session, *, principal: Principal, scheme_id: int, if_match: str | None
) -> Scheme:
    expected = parse_if_match(if_match)
    scheme = get_scheme(session, principal=principal, scheme_id=scheme_id)
    _require_writer(principal, system_id=scheme.system_id, organisation_id=scheme.organisation_id)
    check_version(scheme, expected, what=f"Scheme {scheme.id}")
    return scheme


def update_scheme(
    session: Session,
    *,
    principal: Principal,
    scheme_id: int,
    body: SchemeUpdate,
    if_match: str | None,
) -> Scheme:
    """Change a draft or submitted scheme, if the caller has read its current version."""
    scheme = _editable(session, principal=principal, scheme_id=scheme_id, if_match=if_match)
    _require_state(scheme, "edit")
    before = _audit_view(scheme)
    fields = body.model_dump(exclude_unset=True)
    for name in ("title", "category", "cost_profile", "mandatory", "max_deferral_years"):
        if name in fields and fields[name] is None:
            raise InvalidInput(
                f"{name} cannot be null.", errors=[field_error(f"body.{name}", "cannot be null")]
            )
    _apply(scheme, {k: v for k, v in fields.items() if k != "depends_on"})
    if scheme.mandatory and not scheme.mandatory_reason:
        raise InvalidInput(
            "A mandatory scheme needs a reason.",
            errors=[field_error("body.mandatory_reason", "required when mandatory is true")],
        )
    if "depends_on" in fields:
        scheme.depends_on = _check_dependencies(
            session, principal=principal, scheme=scheme, system_id=scheme.system_id,
            depends_on=fields["depends_on"] or [],
        )  # fmt: skip
    flush_versioned(session, scheme, what=f"Scheme {scheme.id}")
    audit.record(
        session, actor=principal.user, action="update", entity="scheme", entity_id=scheme.id,
        system_id=scheme.system_id, before=before, after=_audit_view(scheme),
    )  # fmt: skip
    return scheme


def change_status(
    session: Session,
    *,
    principal: Principal,
    scheme_id: int,
    action: str,
    if_match: str | None = None,
) -> Scheme:
    """Submit a draft to its system, or withdraw a draft or submitted scheme."""
    scheme = get_scheme(session, principal=principal, scheme_id=scheme_id)
    _require_writer(principal, system_id=scheme.system_id, organisation_id=scheme.organisation_id)
    check_version(scheme, parse_if_match(if_match, required=False), what=f"Scheme {scheme.id}")
    _require_state(scheme, action)
    before = _audit_view(scheme)
    scheme.status = _TRANSITIONS[action][1]
    flush_versioned(session, scheme, what=f"Scheme {scheme.id}")
    audit.record(
        session, actor=principal.user, action=action, entity="scheme", entity_id=scheme.id,
        system_id=scheme.system_id, before=before, after=_audit_view(scheme),
    )  # fmt: skip
    return scheme
