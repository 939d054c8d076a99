"""Queries for reference data: organisations and systems in bulk, facts by organisation."""

from collections import defaultdict
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, selectinload

from api.reference.models import OrganisationFact
from api.systems.models import Organisation, System


def systems_by_code(session: Session) -> dict[str, System]:
    return {s.code: s for s in session.scalars(select(System))}


def organisations_by_code(session: Session) -> dict[str, Organisation]:
    statement = select(Organisation).options(selectinload(Organisation.systems))
    return {o.code: o for o in session.scalars(statement)}


def organisation_ids_by_code(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Organisation.code, Organisation.id)).all())


def count_facts(session: Session, *, fact: str, year: str) -> int:
    """How many organisations hold `fact` for `year`."""
    statement = select(func.count(func.distinct(OrganisationFact.organisation_id))).where(
        OrganisationFact.fact == fact, OrganisationFact.year == year
    )
    return session.scalar(statement) or 0


def delete_facts(session: Session, *, fact: str, year: str) -> None:
    session.execute(
        delete(OrganisationFact).where(OrganisationFact.fact == fact, OrganisationFact.year == year)
    )


def facts_of(session: Session, *, organisation_id: int) -> dict[str, dict[str, dict[str, Decimal]]]:
    """fact -> year -> measure -> amount, for one organisation."""
    facts: dict[str, dict[str, dict[str, Decimal]]] = defaultdict(lambda: defaultdict(dict))
    statement = select(OrganisationFact).where(OrganisationFact.organisation_id == organisation_id)
    for row in session.scalars(statement.order_by(OrganisationFact.fact, OrganisationFact.year)):
        facts[row.fact][row.year][row.measure] = row.amount
    return {fact: dict(years) for fact, years in facts.items()}


def fact_values(
    session: Session, *, organisation_ids: list[int], fact: str, year: str
) -> dict[int, dict[str, Decimal]]:
    """organisation id -> measure -> amount, for one fact and year."""
    statement = select(OrganisationFact).where(
        OrganisationFact.organisation_id.in_(organisation_ids),
        OrganisationFact.fact == fact,
        OrganisationFact.year == year,
    )
    values: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in session.scalars(statement):
        values[row.organisation_id][row.measure] = row.amount
    return dict(values)
