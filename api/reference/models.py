from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, UTCDateTime, utcnow

FACTS = ("backlog",)
# fact -> its measures, in the order they are shown.
MEASURES = {"backlog": ("high", "significant", "moderate", "low")}


class OrganisationFact(Base):
    """One published figure about an organisation for a financial year, e.g. the cost to
    eradicate its high-risk backlog maintenance in 2016/17 (ERIC). Exact pounds."""

    __tablename__ = "organisation_facts"
    __table_args__ = (
        UniqueConstraint("organisation_id", "fact", "year", "measure", name="uq_organisation_facts_key"),
        CheckConstraint("fact IN ('backlog')", name="fact"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True
    )
    fact: Mapped[str] = mapped_column(String(32))
    year: Mapped[str] = mapped_column(String(7))
    measure: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Numeric(15, 2))
    source: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
