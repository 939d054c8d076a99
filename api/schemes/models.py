from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.systems.models import Organisation, System

CATEGORIES = ("estates_backlog", "estates_capacity", "digital", "equipment", "other")
BUSINESS_CASE_STAGES = ("none", "soc", "obc", "fbc")
BACKLOG_RISKS = ("high", "significant", "moderate", "low")
STATUSES = ("draft", "submitted", "withdrawn", "approved")

MONEY = Numeric(15, 2)

scheme_dependencies = Table(
    "scheme_dependencies",
    Base.metadata,
    Column("scheme_id", ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True),
    Column("depends_on_id", ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True),
)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """SQL for "column is one of values": enumerations are enforced by the database too."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Scheme(Base):
    """A capital scheme an organisation asks its system to fund."""

    __tablename__ = "schemes"
    __table_args__ = (
        CheckConstraint(one_of("category", CATEGORIES), name="category"),
        CheckConstraint(
            one_of("business_case_stage", BUSINESS_CASE_STAGES), name="business_case_stage"
        ),
        CheckConstraint(
            f"backlog_risk IS NULL OR {one_of('backlog_risk', BACKLOG_RISKS)}", name="backlog_risk"
        ),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint("max_deferral_years BETWEEN 0 AND 5", name="max_deferral_years"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    system_id: Mapped[int] = mapped_column(ForeignKey("systems.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(32), index=True)
    business_case_stage: Mapped[str] = mapped_column(String(8), default="none")
    backlog_risk: Mapped[str | None] = mapped_column(String(16))
    mandatory: Mapped[bool] = mapped_column(default=False)
    mandatory_reason: Mapped[str | None] = mapped_column(Text)
    alternative_group: Mapped[str | None] = mapped_column(String(100))
    max_deferral_years: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    # Set when a round is agreed: the run that approved the scheme and the deferral it agreed,
    # so later rounds hold the scheme at the start the system committed to.
    approved_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("runs.id", use_alter=True, name="fk_schemes_approved_run_id_runs")
    )
    approved_deferral_years: Mapped[int | None]
    version: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    system: Mapped[System] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    costs: Mapped[list["SchemeCost"]] = relationship(
        cascade="all, delete-orphan", order_by="SchemeCost.year", lazy="selectin"
    )
    depends_on: Mapped[list["Scheme"]] = relationship(
        secondary=scheme_dependencies,
        primaryjoin=id == scheme_dependencies.c.scheme_id,
        secondaryjoin=id == scheme_dependencies.c.depends_on_id,
        order_by="Scheme.id",
        lazy="selectin",
    )

    # Optimistic concurrency: every UPDATE says "WHERE version = <the one I read>".
    __mapper_args__ = {"version_id_col": version}

    @property
    def cost_profile(self) -> dict[str, Decimal]:
        return {cost.year: cost.amount for cost in self.costs}


class SchemeCost(Base):
    """Capital cost of a scheme in one financial year, in pounds to the penny."""

    __tablename__ = "scheme_costs"
    __table_args__ = (CheckConstraint("amount >= 0", name="amount_not_negative"),)

    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[str] = mapped_column(String(7), primary_key=True)
    amount: Mapped[Decimal] = mapped_column(MONEY)
