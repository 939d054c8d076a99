"""Sign in with a bearer token; sign out."""

from fastapi import APIRouter, Request

from api.deps import SessionDep, principal_for
from api.errors import NotAuthenticated
from api.users import service as users_service
from web import security
from web.app import redirect, render

router = APIRouter()


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login")
def login_page(request: Request, session: SessionDep, next: str | None = None):
    if security.principal_of(session, request) is not None:
        return redirect(_safe_next(next))
    return render(request, "login.html", next=_safe_next(next), errors={})


@router.post("/login")
def login(request: Request, session: SessionDep, form: security.CheckedForm):
    token = str(form.get("token") or "").strip()
    target = _safe_next(str(form.get("next") or "/"))
    try:
        if not token:
            raise NotAuthenticated("Enter your access token")
        user = users_service.authenticate(session, token=token)
    except NotAuthenticated:
        message = (
            "Enter your access token"
            if not token
            else "That access token is not valid or has been revoked"
        )
        return render(request, "login.html", status_code=401, next=target,
                      errors={"token": message})  # fmt: skip
    security.sign_in(request, token_hash=users_service.hash_token(token))
    request.state.principal = principal_for(user)
    return redirect(target)


@router.post("/logout")
def logout(request: Request, form: security.CheckedForm):
    security.sign_out(request)
    return redirect("/login")
