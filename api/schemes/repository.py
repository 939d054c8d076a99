"""Queries for schemes and their dependency graph."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Row, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session, lazyload, selectinload

from api.assessments.models import CRITERIA, Assessment
from api.paging import paginate
from api.schemes.models import Scheme, SchemeCost, scheme_dependencies
from api.systems.models import Organisation, System


def get_scheme(session: Session, *, scheme_id: int) -> Scheme | None:
    return session.get(Scheme, scheme_id)


IN_CHUNK = 5000  # PostgreSQL takes at most 65,535 bound parameters in one statement


def get_schemes(session: Session, *, ids) -> list[Scheme]:
    ids = sorted(set(ids))
    found: list[Scheme] = []
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        found += session.scalars(select(Scheme).where(Scheme.id.in_(chunk)))
    return found


def scheme_versions(session: Session, *, ids) -> dict[int, int]:
    """id -> version of the schemes, read as rows (a run records what it was computed from)."""
    ids = sorted(set(ids))
    versions: dict[int, int] = {}
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        statement = select(Scheme.id, Scheme.version).where(Scheme.id.in_(chunk))
        versions |= dict(session.execute(statement.order_by(Scheme.id)).all())
    return versions


def visible_schemes(
    *, system_ids: frozenset[int] | None, organisation_id: int | None, see_all_drafts: bool
) -> Select:
    """Schemes a caller may read: their systems' non-drafts, plus their own organisation's drafts."""
    statement = select(Scheme)
    if system_ids is not None:
        statement = statement.where(Scheme.system_id.in_(system_ids))
    if not see_all_drafts:
        statement = statement.where(
            or_(Scheme.status != "draft", Scheme.organisation_id == organisation_id)
        )
    return statement


def list_schemes(
    session: Session,
    *,
    visible: Select,
    system_code: str | None,
    organisation_code: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Scheme], int]:
    statement = _filtered(visible, system_code=system_code, organisation_code=organisation_code,
                          category=category, status=status)  # fmt: skip
    # A constant number of statements whatever the page size: the page (with system and
    # organisation joined), one COUNT, one IN query each for costs and dependencies (whose
    # own costs and dependencies are not loaded: only their ids are shown).
    statement = statement.order_by(Scheme.id).options(
        selectinload(Scheme.costs),
        selectinload(Scheme.depends_on).options(
            lazyload(Scheme.costs), lazyload(Scheme.depends_on),
            lazyload(Scheme.system), lazyload(Scheme.organisation),
        ),
    )  # fmt: skip
    return paginate(session, statement, limit=limit, offset=offset)


def _filtered(
    visible: Select,
    *,
    system_code: str | None,
    organisation_code: str | None,
    category: str | None,
    status: str | None,
) -> Select:
    statement = visible
    if system_code:
        statement = statement.where(
            Scheme.system_id.in_(select(System.id).where(System.code == system_code))
        )
    if organisation_code:
        statement = statement.where(
            Scheme.organisation_id.in_(
                select(Organisation.id).where(Organisation.code == organisation_code)
            )
        )
    if category:
        statement = statement.where(Scheme.category == category)
    if status:
        statement = statement.where(Scheme.status == status)
    return statement


# The columns of a scheme as the list shows them, in SchemeRead's order.
_LIST_COLUMNS = (
    Scheme.id, System.code.label("system"), Organisation.code.label("organisation"),
    Scheme.title, Scheme.description, Scheme.category, Scheme.business_case_stage,
    Scheme.backlog_risk, Scheme.mandatory, Scheme.mandatory_reason, Scheme.alternative_group,
    Scheme.max_deferral_years, Scheme.status, Scheme.approved_run_id,
    Scheme.approved_deferral_years, Scheme.version, Scheme.created_at, Scheme.updated_at,
)  # fmt: skip


# Fixed statements with one expanding parameter: built and compiled once, not per request
# (an IN of 50 literals costs more CPU to build than to run).
_PAGE_COSTS = (
    select(SchemeCost.scheme_id, SchemeCost.year, SchemeCost.amount)
    .where(SchemeCost.scheme_id.in_(bindparam("ids", expanding=True)))
    .order_by(SchemeCost.scheme_id, SchemeCost.year)
)
_PAGE_DEPENDENCIES = (
    select(scheme_dependencies.c.scheme_id, scheme_dependencies.c.depends_on_id)
    .where(scheme_dependencies.c.scheme_id.in_(bindparam("ids", expanding=True)))
    .order_by(scheme_dependencies.c.scheme_id, scheme_dependencies.c.depends_on_id)
)


@dataclass
class SchemeRows:
    """A page of schemes as plain rows (no ORM objects): what the list's JSON is built from."""

    schemes: list[Row]
    total: int
    costs: dict[int, list[tuple[str, Decimal]]]  # scheme id -> (year, amount), by year
    depends_on: dict[int, list[int]]  # scheme id -> the ids it depends on, ascending


def list_scheme_rows(
    session: Session,
    *,
    visible: Select,
    system_code: str | None,
    organisation_code: str | None,
    category: str | None,
    status: str | None,
    limit: int,
    offset: int,
) -> SchemeRows:
    """The same page as `list_schemes`, as Core rows: the ORM's identity map, instance state
    and eager loaders cost more CPU than the queries themselves on a 50-row page."""
    filtered = _filtered(visible, system_code=system_code, organisation_code=organisation_code,
                         category=category, status=status)  # fmt: skip
    connection = session.connection()
    total = connection.scalar(
        select(func.count()).select_from(filtered.with_only_columns(Scheme.id).subquery())
    )
    page = (
        filtered.with_only_columns(*_LIST_COLUMNS)
        .join(System, System.id == Scheme.system_id)
        .join(Organisation, Organisation.id == Scheme.organisation_id)
        .order_by(Scheme.id)
        .limit(limit)
        .offset(offset)
    )
    schemes = list(connection.execute(page))
    ids = {"ids": [row.id for row in schemes]}
    costs: dict[int, list[tuple[str, Decimal]]] = defaultdict(list)
    depends_on: dict[int, list[int]] = defaultdict(list)
    if schemes:
        for scheme_id, year, amount in connection.execute(_PAGE_COSTS, ids):
            costs[scheme_id].append((year, amount))
        for scheme_id, depends_on_id in connection.execute(_PAGE_DEPENDENCIES, ids):
            depends_on[scheme_id].append(depends_on_id)
    return SchemeRows(schemes=schemes, total=total or 0, costs=costs, depends_on=depends_on)


def dependency_graph(session: Session, *, system_id: int) -> dict[int, set[int]]:
    """scheme id -> ids it depends on, for every scheme of a system."""
    rows = session.execute(
        select(scheme_dependencies.c.scheme_id, scheme_dependencies.c.depends_on_id)
        .join(Scheme, Scheme.id == scheme_dependencies.c.scheme_id)
        .where(Scheme.system_id == system_id)
    )
    graph: dict[int, set[int]] = defaultdict(set)
    for scheme_id, depends_on_id in rows:
        graph[scheme_id].add(depends_on_id)
    return graph


_MEAN_SCORES = (
    select(
        Assessment.scheme_id,
        func.count(Assessment.id),
        *(func.avg(getattr(Assessment, c)) for c in CRITERIA),
    )
    .where(Assessment.scheme_id.in_(bindparam("ids", expanding=True)))
    .group_by(Assessment.scheme_id)
)


def mean_scores(session: Session, *, scheme_ids: list[int]) -> dict[int, dict[str, float | int]]:
    """Per scheme: the mean of each criterion over its assessments, and how many there are."""
    if not scheme_ids:
        return {}
    if len(scheme_ids) > IN_CHUNK:
        scores: dict[int, dict[str, float | int]] = {}
        for start in range(0, len(scheme_ids), IN_CHUNK):
            scores |= mean_scores(session, scheme_ids=scheme_ids[start : start + IN_CHUNK])
        return scores
    rows = session.execute(_MEAN_SCORES, {"ids": scheme_ids})
    scores: dict[int, dict[str, float | int]] = {}
    for scheme_id, count, *means in rows:
        scores[scheme_id] = {"assessments": count}
        scores[scheme_id].update({c: float(m) for c, m in zip(CRITERIA, means, strict=True)})
    return scores
