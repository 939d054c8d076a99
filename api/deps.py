"""Request dependencies: the session, and who is calling with what scope."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.db import get_session
from api.errors import Forbidden, NotAuthenticated
from api.users import service as users_service
from api.users.models import ROLE_NAMES, User

SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="A token from `capital users create`.")


@dataclass(frozen=True)
class Principal:
    """The caller: a user, their role and the systems and organisation they act for."""

    user: User
    role: str
    organisation_id: int | None
    # None means every system (administrators).
    system_ids: frozenset[int] | None

    @property
    def name(self) -> str:
        return self.user.name

    def in_system(self, system_id: int) -> bool:
        return self.system_ids is None or system_id in self.system_ids

    def require_role(self, *roles: str, page: bool = False) -> None:
        """Refuse (403) unless the caller has one of `roles`, in words: as an action ("Only ...
        may do this") or, for the web application's pages, as a page ("This page is for ...")."""
        if self.role not in roles:
            who = roles_in_words(roles)
            refusal = f"This page is for {who}" if page else f"Only {who} may do this"
            raise Forbidden(f"{refusal}; {self.you_are}.")

    @property
    def you_are(self) -> str:
        return f"you are {ROLE_NAMES.get(self.role, self.role)}"

    def require_system(self, system_id: int) -> None:
        if not self.in_system(system_id):
            raise Forbidden("That system is outside your scope.")


def roles_in_words(roles: tuple[str, ...]) -> str:
    """`("trust", "admin")` as "a trust user or an administrator"."""
    return " or ".join(ROLE_NAMES.get(r, r) for r in roles)


def principal_for(user: User) -> Principal:
    if user.role == "admin":
        system_ids = None
    elif user.role == "trust":
        system_ids = (
            frozenset(s.id for s in user.organisation.systems) if user.organisation else frozenset()
        )
    else:
        system_ids = frozenset({user.system_id}) if user.system_id else frozenset()
    return Principal(
        user=user, role=user.role, organisation_id=user.organisation_id, system_ids=system_ids
    )


def get_principal(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("Send 'Authorization: Bearer <token>'.")
    return principal_for(users_service.authenticate(session, token=credentials.credentials))


CurrentUser = Annotated[Principal, Depends(get_principal)]
