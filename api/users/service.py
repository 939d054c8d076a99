"""Users, tokens and the rules that say who may act where."""

import hashlib
import secrets

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from api.audit import service as audit
from api.db import utcnow
from api.errors import InvalidInput, NotAuthenticated, field_error
from api.systems import repository as systems_repository
from api.types import has_control_or_newline
from api.users import repository
from api.users.models import ROLE_NAMES, ROLES, ApiToken, User

TOKEN_PREFIX = "cap_"


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough: no dictionary to attack.
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session,
    *,
    name: str,
    role: str,
    system_code: str | None = None,
    organisation_code: str | None = None,
) -> User:
    """Create a user with a role and the scope that role needs."""
    name = name.strip()
    if not name or len(name) > 200 or has_control_or_newline(name):
        # Audit entries, run records and the board pack name people by this.
        raise InvalidInput("the name must be 1 to 200 characters on one line", errors=[
            field_error("name", "The name must be 200 characters or fewer, on one line")])  # fmt: skip
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}")
    if role == "admin" and (system_code or organisation_code):
        # An administrator sees every system: a scope would be shown but never applied.
        given = [
            f for f, code in (("system", system_code), ("organisation", organisation_code)) if code
        ]
        raise InvalidInput(
            "an admin user sees every system: leave out --system and --organisation",
            errors=[field_error(f, f"An administrator sees every system: leave the {f} empty") for f in given],
        )  # fmt: skip
    # Each role takes only the scope it uses, as the administrator above: a trust user works in
    # its organisation's systems, and finance and viewer users act for the whole system (an
    # organisation would quietly open that organisation's drafts to them). An assessor's
    # organisation is used: it keeps them from scoring their own organisation's schemes.
    if role == "trust" and system_code:
        raise InvalidInput(
            "a trust user works in its organisation's systems: leave out --system",
            errors=[field_error("system", "A trust user works in its organisation's systems: leave the system empty")],
        )  # fmt: skip
    if role in ("ics_finance", "viewer") and organisation_code:
        who = ROLE_NAMES[role]
        raise InvalidInput(
            f"{who} acts for the whole system: leave out --organisation",
            errors=[field_error("organisation", f"{who[0].upper()}{who[1:]} acts for the whole system: leave the organisation empty")],
        )  # fmt: skip
    system = (
        systems_repository.get_system_by_code(session, code=system_code) if system_code else None
    )
    if system_code and system is None:
        raise InvalidInput(f"no system with code {system_code}", errors=[
            field_error("system", f"There is no system {system_code}")])  # fmt: skip
    organisation = (
        systems_repository.get_organisation_by_code(session, code=organisation_code)
        if organisation_code
        else None
    )
    if organisation_code and organisation is None:
        raise InvalidInput(f"no organisation with code {organisation_code}", errors=[
            field_error("organisation", f"There is no organisation {organisation_code}")])  # fmt: skip
    # The detail is the command line's (its options); each error names the form's field.
    if role == "trust" and organisation is None:
        raise InvalidInput("a trust user needs --organisation", errors=[
            field_error("organisation", "Choose the organisation a trust user works for")])  # fmt: skip
    if role in ("assessor", "ics_finance", "viewer") and system is None:
        who = ROLE_NAMES[role]
        raise InvalidInput(f"{who} needs --system", errors=[
            field_error("system", f"Choose the system {who} works in")])  # fmt: skip
    if system and organisation and system not in organisation.systems:
        message = f"{organisation.code} is not in system {system.code}"
        raise InvalidInput(f"organisation {message}", errors=[
            field_error("organisation", f"{message}: choose one of its organisations, or another system")])  # fmt: skip
    user = User(name=name, role=role, system=system, organisation=organisation)
    session.add(user)
    session.flush()
    return user


def issue_token(session: Session, *, user: User) -> str:
    """Mint a new bearer token for `user`; the secret is returned once and stored hashed."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token)))
    session.flush()
    return token


def authenticate(session: Session, *, token: str) -> User:
    """The active user holding `token`, or 401."""
    record = repository.get_active_token(session, token_hash=hash_token(token))
    if record is None or not record.user.active:
        raise NotAuthenticated("The bearer token is not valid.")
    return record.user


def token_holder(connection: Connection, *, token: str) -> tuple[int, str | None] | None:
    """(user id, database snapshot) for the active user holding `token`, or None: one
    statement on a connection, without a session or ORM objects, for pages served from
    memory (api/page_cache.py); the snapshot is None where the database names none."""
    holder = repository.active_token_holder(connection, token_hash=hash_token(token))
    return None if holder is None else (holder[0], holder[1])


def revoke_tokens(session: Session, *, user_id: int) -> int:
    """Revoke every active token of a user (e.g. when someone leaves); how many were revoked."""
    if session.get(User, user_id) is None:
        raise InvalidInput(f"no user with id {user_id}")
    tokens = repository.active_tokens(session, user_id=user_id)
    for token in tokens:
        token.revoked_at = utcnow()
    audit.record(session, actor=None, action="revoke_tokens", entity="user", entity_id=user_id,
                 after={"revoked": len(tokens)})  # fmt: skip
    return len(tokens)
