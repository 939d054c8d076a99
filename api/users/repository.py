"""Queries for users and their tokens."""

from sqlalchemy import Connection, Row, select
from sqlalchemy.orm import Session

from api.db import snapshot_name
from api.users.models import ApiToken, User


def get_active_token(session: Session, *, token_hash: str) -> ApiToken | None:
    statement = select(ApiToken).where(
        ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None)
    )
    return session.scalars(statement).first()


def active_token_holder(
    connection: Connection, *, token_hash: str
) -> Row[tuple[int, str | None]] | None:
    """(user id, database snapshot) for the active user holding an unrevoked token with this
    hash, in one statement; the snapshot is None where the database names none (api/db.py)."""
    statement = (
        select(ApiToken.user_id, snapshot_name(connection.dialect.name))
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.active)
    )
    return connection.execute(statement).first()


def get_user_by_name(session: Session, *, name: str) -> User | None:
    return session.scalars(select(User).where(User.name == name).order_by(User.id)).first()


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.id)))


def active_tokens(session: Session, *, user_id: int) -> list[ApiToken]:
    statement = select(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
    return list(session.scalars(statement))
