"""Queries for rounds, runs and the schemes a round considers."""

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from api.paging import paginate
from api.rounds.models import Round, Run
from api.schemes.models import Scheme, SchemeCost, scheme_dependencies
from api.systems.models import Organisation


def get_round(session: Session, *, round_id: int) -> Round | None:
    return session.get(Round, round_id)


def list_rounds(
    session: Session,
    *,
    system_ids: frozenset[int] | None,
    system_code: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Round], int]:
    statement = select(Round).order_by(Round.id)
    if system_ids is not None:
        statement = statement.where(Round.system_id.in_(system_ids))
    if system_code is not None:
        from api.systems.models import System

        statement = statement.where(
            Round.system_id.in_(select(System.id).where(System.code == system_code))
        )
    return paginate(session, statement, limit=limit, offset=offset)


def get_run(session: Session, *, run_id: int) -> Run | None:
    return session.get(Run, run_id)


def list_runs(session: Session, *, round_id: int, limit: int, offset: int) -> tuple[list[Run], int]:
    statement = select(Run).where(Run.round_id == round_id).order_by(Run.id)
    return paginate(session, statement, limit=limit, offset=offset)


def _of_system(statement, *, system_id: int, statuses: tuple[str, ...]):
    return statement.where(Scheme.system_id == system_id, Scheme.status.in_(statuses))


def first_years(session: Session, *, run_ids: set[int]) -> dict[int, str | None]:
    """The first year of each run's snapshot: where an approved scheme's agreement starts (a
    re-allocation's years start at its current year, not the round's, so the run's own
    snapshot is the record of what it solved). One JSON read per run, however many schemes
    each approved: a snapshot can be megabytes."""
    if not run_ids:
        return {}
    first = Run.snapshot[("years", 0)].as_string()
    statement = select(Run.id, first).where(Run.id.in_(sorted(run_ids)))
    return {run_id: year for run_id, year in session.execute(statement)}


def scheme_rows(session: Session, *, system_id: int, statuses: tuple[str, ...]) -> list[Row]:
    """The schemes a snapshot considers, as rows (id order): what the snapshot needs of each,
    with its organisation's code. One query, however many schemes."""
    statement = select(
        Scheme.id, Scheme.status, Organisation.code.label("organisation"), Scheme.category,
        Scheme.mandatory, Scheme.alternative_group, Scheme.max_deferral_years,
        Scheme.approved_deferral_years, Scheme.approved_run_id,
    ).join(Organisation, Organisation.id == Scheme.organisation_id)  # fmt: skip
    statement = _of_system(statement, system_id=system_id, statuses=statuses)
    return list(session.execute(statement.order_by(Scheme.id)))


def cost_rows(session: Session, *, system_id: int, statuses: tuple[str, ...]) -> list[Row]:
    """(scheme_id, year, amount) of the same schemes, by scheme and year."""
    statement = select(SchemeCost.scheme_id, SchemeCost.year, SchemeCost.amount).join(
        Scheme, Scheme.id == SchemeCost.scheme_id
    )
    statement = _of_system(statement, system_id=system_id, statuses=statuses)
    return list(session.execute(statement.order_by(SchemeCost.scheme_id, SchemeCost.year)))


def dependency_rows(session: Session, *, system_id: int, statuses: tuple[str, ...]) -> list[Row]:
    """(scheme_id, id, status): each dependency of the same schemes, with the status of the
    scheme depended on (whatever it is), by scheme and dependency id."""
    ids = _of_system(select(Scheme.id), system_id=system_id, statuses=statuses)
    statement = (
        select(scheme_dependencies.c.scheme_id, Scheme.id, Scheme.status)
        .join(Scheme, Scheme.id == scheme_dependencies.c.depends_on_id)
        .where(scheme_dependencies.c.scheme_id.in_(ids.scalar_subquery()))
        .order_by(scheme_dependencies.c.scheme_id, Scheme.id)
    )
    return list(session.execute(statement))
