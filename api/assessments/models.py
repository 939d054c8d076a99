from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.users.models import User

CRITERIA = ("strategic_fit", "safety_quality", "value_for_money", "deliverability")


class Assessment(Base):
    """One assessor's scores (0-5) for one scheme on the four criteria."""

    __tablename__ = "assessments"
    __table_args__ = (
        UniqueConstraint("scheme_id", "assessor_id"),
        *(CheckConstraint(f"{c} BETWEEN 0 AND 5", name=f"{c}_0_to_5") for c in CRITERIA),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("schemes.id", ondelete="CASCADE"), index=True)
    assessor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    strategic_fit: Mapped[int]
    safety_quality: Mapped[int]
    value_for_money: Mapped[int]
    deliverability: Mapped[int]
    rationale: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    assessor: Mapped[User] = relationship(lazy="joined")
