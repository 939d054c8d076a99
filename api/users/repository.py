"""Queries for users and their tokens."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.users.models import ApiToken, User


def get_active_token(session: Session, *, token_hash: str) -> ApiToken | None:
    statement = select(ApiToken).where(
        ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
    )
    return session.scalars(statement).first()


def get_user_by_name(session: Session, *, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name).order_by(User.id)).first()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def active_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    statement = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(statement))
