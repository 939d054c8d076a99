from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow

ORGANISATION_KINDS = (
    "acute",
    "community",
    "mental_health",
    "ambulance",
    "primary_care",
    "local_authority",
    "icb",
    "other",
)

# An organisation may belong to several systems (ambulance and mental health trusts do).
system_organisations = Table(
    "system_organisations",
    Base.metadata,
    Column("system_id", ForeignKey("systems.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True),
)


class System(Base):
    """An integrated care system."""

    __tablename__ = "systems"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisations: Mapped[list["Organisation"]] = relationship(
        secondary=system_organisations, back_populates="systems", order_by="Organisation.code"
    )


class Organisation(Base):
    """An NHS body or partner (ODS-style code)."""

    __tablename__ = "organisations"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in ORGANISATION_KINDS)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    # Set when ODS publishes a close date: the organisation is closed (never deleted); its
    # schemes and history stay, and it can submit no new schemes.
    closed_on: Mapped[date | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    systems: Mapped[list[System]] = relationship(
        secondary=system_organisations, back_populates="organisations", order_by=System.code
    )

    @property
    def status(self) -> str:
        return "closed" if self.closed_on is not None else "open"
