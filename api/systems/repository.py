"""Queries for systems and organisations."""

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.paging import paginate
from api.systems.models import Organisation, System, system_organisations


def get_system_by_code(session: Session, *, code: str) -> System | None:
    return session.scalars(select(System).where(System.code == code)).first()


def get_organisation_by_code(session: Session, *, code: str) -> Organisation | None:
    return session.scalars(select(Organisation).where(Organisation.code == code)).first()


def list_systems(
    session: Session, *, ids: set[int] | None, limit: int, offset: int
) -> tuple[list[System], int]:
    statement = select(System).order_by(System.code)
    if ids is not None:
        statement = statement.where(System.id.in_(ids))
    return paginate(session, statement, limit=limit, offset=offset)


def list_organisations(
    session: Session,
    *,
    system_ids: set[int] | None,
    system_code: str | None = None,
    limit: int,
    offset: int,
) -> tuple[list[Organisation], int]:
    statement = select(Organisation).order_by(Organisation.code)
    if system_ids is not None or system_code is not None:
        member = select(system_organisations.c.organisation_id).join(
            System, System.id == system_organisations.c.system_id
        )
        if system_ids is not None:
            member = member.where(System.id.in_(system_ids))
        if system_code is not None:
            member = member.where(System.code == system_code)
        statement = statement.where(Organisation.id.in_(member))
    return paginate(session, statement, limit=limit, offset=offset)


def count_systems(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(System)) or 0
