"""Sign-in sessions, CSRF protection and the security headers every page carries.

The session is a signed (itsdangerous), HttpOnly, SameSite=Lax cookie holding the sha256 of
the bearer token the person signed in with, never the token itself: each request looks the
token up again, so revoking it ends the session at once, and the session can never give more
than the token's role and scope. The cookie also carries a random CSRF secret that every
POST form must echo back in its `csrf_token` field.
"""

import hmac
import os
import secrets
from types import SimpleNamespace
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.deps import Principal, SessionDep, principal_for
from api.schemes import service as schemes_service
from api.users import repository as users_repository

COOKIE = "capital_session"
MAX_AGE_S = 8 * 3600  # a working day
_SECRET = os.environ.get("CAPITAL_SECRET_KEY") or secrets.token_urlsafe(32)
_serializer = URLSafeTimedSerializer(_SECRET, salt="capital-web-session")

# Every page may use only the application's own origin: no inline script, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'self'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


class LoginRequired(Exception):
    """No valid session: the person is sent to /login."""


class CsrfFailed(Exception):
    """A POST without the session's CSRF token."""


def load_session(request: Request) -> dict[str, Any]:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return {}
    try:
        data = _serializer.loads(raw, max_age=MAX_AGE_S)
    except BadSignature:
        return {}
    return data if isinstance(data, dict) else {}


def dump_session(data: dict[str, Any]) -> str:
    return _serializer.dumps(data)


def web_session(request: Request) -> dict[str, Any]:
    """The request's session (loaded by the middleware), created with a CSRF secret if new."""
    data = request.state.web_session
    if "c" not in data:
        data["c"] = secrets.token_urlsafe(24)
        request.state.web_session_dirty = True
    return data


def csrf_token(request: Request) -> str:
    return web_session(request)["c"]


def sign_in(request: Request, *, token_hash: str) -> None:
    # A fresh CSRF secret at sign-in: nothing from before the session carries over.
    request.state.web_session = {"t": token_hash, "c": secrets.token_urlsafe(24)}
    request.state.web_session_dirty = True


def sign_out(request: Request) -> None:
    request.state.web_session = {}
    request.state.web_session_clear = True


def principal_of(session: Session, request: Request) -> Principal | None:
    token_hash = request.state.web_session.get("t")
    if not token_hash:
        return None
    record = users_repository.get_active_token(session, token_hash=token_hash)
    if record is None or not record.user.active:
        return None
    return principal_for(record.user)


def web_principal(session: SessionDep, request: Request) -> Principal:
    principal = principal_of(session, request)
    if principal is None:
        raise LoginRequired()
    remember(request, principal)
    return principal


def remember(request: Request, principal: Principal) -> None:
    """The signed-in person, for the pages of this request."""
    request.state.principal = principal
    # Plain values for pages rendered after the request's session has ended (error pages).
    # Whether pages offer "Record a new scheme" (in the menu, on error pages too).
    records_schemes = schemes_service.new_scheme_refusal(principal) is None
    request.state.who = SimpleNamespace(
        name=principal.name, role=principal.role, records_schemes=records_schemes
    )


WebUser = Annotated[Principal, Depends(web_principal)]


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token matches the session's."""
    form = await request.form()
    expected = request.state.web_session.get("c")
    sent = form.get("csrf_token")
    if not expected or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise CsrfFailed()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def require_role(principal: Principal, *roles: str) -> None:
    """The services' role check, worded for a page."""
    principal.require_role(*roles, page=True)
