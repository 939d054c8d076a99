"""Queries for rounds, runs and the schemes a round considers."""

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.paging import paginate
from api.rounds.models import Round, Run
from api.schemes.models import Scheme


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


def schemes_in_system(
    session: Session, *, system_id: int, statuses: tuple[str, ...]
) -> list[Scheme]:
    # Dependencies in one query: a self-referential relationship is not eagerly loaded by its
    # own `lazy="selectin"` (no join depth), which cost one query per scheme (the demo: 64).
    statement = (
        select(Scheme)
        .where(Scheme.system_id == system_id, Scheme.status.in_(statuses))
        .options(selectinload(Scheme.depends_on))
    )
    return list(session.scalars(statement.order_by(Scheme.id)))
