from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.db import Base, UTCDateTime, utcnow
from api.systems.models import Organisation, System

ROLES = ("admin", "trust", "assessor", "ics_finance", "viewer")
# Each role in words, for messages people read ("you are an ICS finance user"),
# not the codes the API and the database use.
ROLE_NAMES = {"admin": "an administrator", "trust": "a trust user", "assessor": "an assessor",
              "ics_finance": "an ICS finance user", "viewer": "a viewer"}  # fmt: skip


class User(Base):
    """A person or service with a role, scoped to a system and/or an organisation."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(r) for r in ROLES)})", name="role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    system_id: Mapped[int | None] = mapped_column(ForeignKey("systems.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    system: Mapped[System | None] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")


class ApiToken(Base):
    """A bearer token, kept only as its SHA-256 hash; the secret is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
