"""In-year delivery: each approved scheme's monthly plan, actual and forecast, and periods."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.schemes.models import one_of

MONEY = Numeric(15, 2)
RAGS = ("green", "amber", "red")


class SchemeDelivery(Base):
    """One approved scheme in delivery: its months, RAG and commentary. Versioned (If-Match)."""

    __tablename__ = "scheme_deliveries"
    __table_args__ = (CheckConstraint(f"rag IS NULL OR {one_of('rag', RAGS)}", name="rag"),)

    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("schemes.id", ondelete="CASCADE"), primary_key=True
    )
    rag: Mapped[str | None] = mapped_column(String(8))
    commentary: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    months: Mapped[list["DeliveryMonth"]] = relationship(
        cascade="all, delete-orphan", order_by="DeliveryMonth.period", lazy="selectin"
    )

    __mapper_args__ = {"version_id_col": version}


class DeliveryMonth(Base):
    """One month of a scheme's delivery. A later year's forecast is held as its months'
    forecasts, so a year's forecast has one source whether it is current or later."""

    __tablename__ = "delivery_months"
    __table_args__ = (
        CheckConstraint("plan >= 0", name="plan_not_negative"),
        CheckConstraint("actual IS NULL OR actual >= 0", name="actual_not_negative"),
        CheckConstraint("forecast >= 0", name="forecast_not_negative"),
    )

    scheme_id: Mapped[int] = mapped_column(
        ForeignKey("scheme_deliveries.scheme_id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)  # 2026-04
    year: Mapped[str] = mapped_column(String(7), index=True)  # 2026/27, for the report's query
    plan: Mapped[Decimal] = mapped_column(MONEY)
    actual: Mapped[Decimal | None] = mapped_column(MONEY)
    forecast: Mapped[Decimal] = mapped_column(MONEY)


class ReportingPeriod(Base):
    """A system's reporting period: its last closed month (null before the first close)."""

    __tablename__ = "reporting_periods"

    system_id: Mapped[int] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str | None] = mapped_column(String(7))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PeriodClose(Base):
    """One month closed for a system: who closed it and when. The primary key makes two
    finance directors closing the same month at once a conflict, not two closes."""

    __tablename__ = "period_closes"

    system_id: Mapped[int] = mapped_column(
        ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    closed_by_name: Mapped[str] = mapped_column(String(200))
