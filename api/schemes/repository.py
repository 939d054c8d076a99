"""Queries for schemes and their dependency graph."""

from collections import defaultdict

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, lazyload, selectinload

from api.assessments.models import CRITERIA, Assessment
from api.paging import paginate
from api.schemes.models import Scheme, scheme_dependencies
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


def mean_scores(session: Session, *, scheme_ids: list[int]) -> dict[int, dict[str, float | int]]:
    """Per scheme: the mean of each criterion over its assessments, and how many there are."""
    if not scheme_ids:
        return {}
    if len(scheme_ids) > IN_CHUNK:
        scores: dict[int, dict[str, float | int]] = {}
        for start in range(0, len(scheme_ids), IN_CHUNK):
            scores |= mean_scores(session, scheme_ids=scheme_ids[start : start + IN_CHUNK])
        return scores
    columns = [func.avg(getattr(Assessment, c)) for c in CRITERIA]
    rows = session.execute(
        select(Assessment.scheme_id, func.count(Assessment.id), *columns)
        .where(Assessment.scheme_id.in_(scheme_ids))
        .group_by(Assessment.scheme_id)
    )
    scores: dict[int, dict[str, float | int]] = {}
    for scheme_id, count, *means in rows:
        scores[scheme_id] = {"assessments": count}
        scores[scheme_id].update({c: float(m) for c, m in zip(CRITERIA, means, strict=True)})
    return scores
