"""Queries of in-year delivery."""

from collections.abc import Iterable
from decimal import Decimal

from sqlalchemy import case, func, literal, select
from sqlalchemy.orm import Session

from api.delivery.models import DeliveryMonth, PeriodClose, ReportingPeriod, SchemeDelivery
from api.rounds.models import Round, RoundYear
from api.schemes.models import Scheme
from api.systems.models import Organisation, System


def get_delivery(session: Session, *, scheme_id: int) -> SchemeDelivery | None:
    return session.get(SchemeDelivery, scheme_id)


def get_deliveries(session: Session, *, scheme_ids: Iterable[int]) -> dict[int, SchemeDelivery]:
    ids = list(scheme_ids)
    if not ids:
        return {}
    rows = session.scalars(select(SchemeDelivery).where(SchemeDelivery.scheme_id.in_(ids)))
    return {d.scheme_id: d for d in rows}


def lock_deliveries(session: Session, *, scheme_ids: Iterable[int]) -> None:
    """Lock the schemes whose delivery is about to change, in id order, until the transaction
    ends: on PostgreSQL a second writer of any of them waits here, then reads what the first
    committed. (FOR NO KEY UPDATE: rows that merely reference the scheme are not blocked.) On
    SQLite a writer already holds the database's write lock from BEGIN IMMEDIATE."""
    ids = sorted(set(scheme_ids))
    if ids and session.get_bind().dialect.name == "postgresql":
        statement = select(Scheme.id).where(Scheme.id.in_(ids)).order_by(Scheme.id)
        session.execute(statement.with_for_update(key_share=True)).all()


def lock_period(session: Session, *, system_id: int, closing: bool = False) -> None:
    """Hold the system's reporting period steady until the transaction ends (PostgreSQL):
    delivery writers share the lock and a close takes it alone, so a write never lands in a
    month closed while it was being made. On SQLite writers are serialised already."""
    if session.get_bind().dialect.name != "postgresql":
        return
    statement = select(System.id).where(System.id == system_id)
    statement = statement.with_for_update(key_share=True) if closing else statement.with_for_update(read=True)  # fmt: skip
    session.execute(statement).all()


def get_reporting_period(session: Session, *, system_id: int) -> ReportingPeriod | None:
    # Always read from the database: a close may have committed since this session last looked.
    return session.get(ReportingPeriod, system_id, populate_existing=True)


def add_close(session: Session, *, close: PeriodClose) -> None:
    session.add(close)


def first_agreed_year(session: Session, *, system_id: int) -> str | None:
    """The earliest year of any agreed round of the system: delivery starts in its April."""
    statement = (
        select(func.min(RoundYear.year))
        .join(Round, Round.id == RoundYear.round_id)
        .where(Round.system_id == system_id, Round.status == "agreed")
    )
    return session.scalar(statement)


def envelope_for(session: Session, *, system_id: int, year: str) -> Decimal | None:
    """The year's envelope in the most recently agreed round that covers it (a later round
    restates the system's envelope; envelopes of two rounds are never added)."""
    statement = (
        select(RoundYear.envelope)
        .join(Round, Round.id == RoundYear.round_id)
        .where(Round.system_id == system_id, Round.status == "agreed", RoundYear.year == year)
        .order_by(Round.id.desc())
        .limit(1)
    )
    return session.scalar(statement)


def approved_schemes(
    session: Session, *, system_id: int, organisation_id: int | None = None
) -> list[Scheme]:
    statement = select(Scheme).where(Scheme.system_id == system_id, Scheme.status == "approved")
    if organisation_id is not None:
        statement = statement.where(Scheme.organisation_id == organisation_id)
    return list(session.scalars(statement.order_by(Scheme.id)))


def approved_without_delivery(
    session: Session, *, system_id: int, organisation_id: int | None = None
) -> list[Scheme]:
    """Approved schemes with no delivery stored (approved before delivery was recorded)."""
    statement = select(Scheme).where(
        Scheme.system_id == system_id,
        Scheme.status == "approved",
        ~select(SchemeDelivery.scheme_id).where(SchemeDelivery.scheme_id == Scheme.id).exists(),
    )
    if organisation_id is not None:
        statement = statement.where(Scheme.organisation_id == organisation_id)
    return list(session.scalars(statement.order_by(Scheme.id)))


def year_sums(
    session: Session,
    *,
    system_id: int,
    years: Iterable[str],
    reporting_period: str | None,
    organisation_id: int | None = None,
) -> list[tuple]:
    """(scheme_id, organisation code, year, annual plan, plan of closed months, actual of closed
    months, forecast of open months) per approved scheme and year: the database sums at most
    twelve months per row, so the report reads one row per scheme, not twelve."""
    closed = DeliveryMonth.period <= reporting_period if reporting_period else literal(False)
    zero = literal(0)
    statement = (
        select(
            DeliveryMonth.scheme_id, Organisation.code, DeliveryMonth.year,
            func.sum(DeliveryMonth.plan),
            func.sum(case((closed, DeliveryMonth.plan), else_=zero)),
            func.sum(case((closed, func.coalesce(DeliveryMonth.actual, zero)), else_=zero)),
            func.sum(case((closed, zero), else_=DeliveryMonth.forecast)),
        )
        .join(Scheme, Scheme.id == DeliveryMonth.scheme_id)
        .join(Organisation, Organisation.id == Scheme.organisation_id)
        .where(Scheme.system_id == system_id, Scheme.status == "approved",
               DeliveryMonth.year.in_(list(years)))
        .group_by(DeliveryMonth.scheme_id, Organisation.code, DeliveryMonth.year)
    )  # fmt: skip
    if organisation_id is not None:
        statement = statement.where(Scheme.organisation_id == organisation_id)
    return list(session.execute(statement))


def rags(session: Session, *, system_id: int) -> dict[int, str | None]:
    statement = (
        select(SchemeDelivery.scheme_id, SchemeDelivery.rag)
        .join(Scheme, Scheme.id == SchemeDelivery.scheme_id)
        .where(Scheme.system_id == system_id, Scheme.status == "approved")
    )
    return {scheme_id: rag for scheme_id, rag in session.execute(statement)}


def month_returns(
    session: Session, *, system_id: int, period: str, organisation_id: int | None = None
) -> dict[int, tuple[Decimal | None, Decimal]]:
    """scheme id -> (actual, forecast) of one month, for the approved schemes of a system."""
    statement = (
        select(DeliveryMonth.scheme_id, DeliveryMonth.actual, DeliveryMonth.forecast)
        .join(Scheme, Scheme.id == DeliveryMonth.scheme_id)
        .where(Scheme.system_id == system_id, Scheme.status == "approved",
               DeliveryMonth.period == period)
    )  # fmt: skip
    if organisation_id is not None:
        statement = statement.where(Scheme.organisation_id == organisation_id)
    return {
        scheme_id: (actual, forecast) for scheme_id, actual, forecast in session.execute(statement)
    }
