"""Mount the web application on the API's FastAPI app: pages, assets, sessions, error pages."""

import logging
import os
import re
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.db import get_read_sessionmaker, unit_of_work
from api.errors import CapitalError
from web import formatting, security

logger = logging.getLogger(__name__)
HERE = Path(__file__).parent
# The npm packages of package.json, installed by `npm ci` (make run / make test). Never in git.
NODE_MODULES = Path(os.environ.get("CAPITAL_NODE_MODULES", HERE.parent / "node_modules"))
NHSUK = NODE_MODULES / "nhsuk-frontend" / "dist" / "nhsuk"
SWAGGER_UI = NODE_MODULES / "swagger-ui-dist"
NON_WEB = ("/api/", "/docs", "/openapi.json", "/health")

# The API docs: Swagger UI from its npm package, served here. Nothing loads from elsewhere
# (NHS networks and air-gapped deployments block CDNs), and no inline script runs.
API_DOCS = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Capital prioritisation service: API</title>
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body>
</html>
"""
# Swagger UI sets style attributes from script, hence 'unsafe-inline' for styles only.
API_DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "object-src 'none'"
)

templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters.update(formatting.filters())
templates.env.globals["CRITERIA"] = formatting.CRITERIA


def is_web(path: str) -> bool:
    return not path.startswith(NON_WEB)


def render(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    context.setdefault("principal", getattr(request.state, "principal", None))
    who = getattr(request.state, "who", None)
    context.setdefault("records_schemes", bool(who and who.records_schemes))
    context["csrf_token"] = security.csrf_token(request)
    context["path"] = request.url.path
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@lru_cache
def _nhsuk_css() -> str:
    """The design system's stylesheet without its @font-face rules: those load Frutiger from
    the NHS's CDN, which the CSP forbids and air-gapped networks cannot reach. Text falls back
    to the design system's own stack (Arial)."""
    css = (NHSUK / "nhsuk-frontend.min.css").read_text(encoding="utf-8")
    return re.sub(r"@font-face\{[^}]*\}", "", css)


# Error pages' headings, by status, in the design system's plain words: the API's problem
# titles ("Validation failed", "Conflict") mean little to finance and estates staff. The
# service's own sentence (the detail) follows, saying what is wrong.
PAGE_TITLES = {
    401: "You need to sign in",
    403: "You do not have permission to do this",
    404: "Page not found",
    409: "This cannot be done now",
    412: "Someone else has changed this",
    413: "What you sent is too large",
    422: "There is a problem",
}
PAGE_TITLE = "Sorry, there is a problem"
# For Starlette's own errors, whose detail is only the status's name.
PLAIN_DETAILS = {
    405: "This address is where a form is sent; it cannot be opened as a page. Go back and "
    "use the page's button.",
}
NOTHING_HERE = "There is nothing at this address. Check it, or start from the home page."


def page_title(status: int) -> str:
    return PAGE_TITLES.get(status, PAGE_TITLE)


async def _error_page(
    request: Request, status: int, detail: str, title: str | None = None
) -> HTMLResponse:
    # The request's database session may have ended (rolled back): use plain values only.
    await run_in_threadpool(_signed_in, request)
    return render(request, "error.html", status_code=status, principal=getattr(request.state, "who", None),
                  title=title or page_title(status), detail=detail)  # fmt: skip


def _signed_in(request: Request) -> None:
    """Who is signed in, when the error came before any page looked (an unknown address, a
    form's address opened as a page), so the header still shows them, the menu and Sign out.
    In a session of its own: the request's may have been rolled back."""
    if getattr(request.state, "who", None) is not None or not request.state.web_session.get("t"):
        return
    try:
        with unit_of_work(get_read_sessionmaker()) as session:
            if principal := security.principal_of(session, request):
                security.remember(request, principal)
    except SQLAlchemyError:  # an error page is still shown, without the header's name
        logger.exception("Could not look up who is signed in for an error page")


class WebSessions:
    """Loads the sign-in session into `request.state` and, on pages, adds the security headers
    and writes the session cookie back. Pure ASGI (not `@app.middleware`, whose
    BaseHTTPMiddleware costs every API request a task and a stream of its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        state = request.state
        state.web_session = security.load_session(request)
        state.web_session_dirty = False
        state.web_session_clear = False
        path = scope["path"]
        if not is_web(path):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security.SECURITY_HEADERS.items():
                    if name == "Cache-Control" and path.startswith(("/assets", "/static")):
                        continue
                    headers.setdefault(name, value)
                secure = request.url.scheme == "https"
                cookie = Response()
                if state.web_session_clear:
                    cookie.delete_cookie(security.COOKIE, path="/", secure=secure, httponly=True,
                                         samesite="lax")  # fmt: skip
                elif state.web_session_dirty:
                    cookie.set_cookie(
                        security.COOKIE, security.dump_session(state.web_session),
                        max_age=security.MAX_AGE_S, path="/", secure=secure, httponly=True,
                        samesite="lax",
                    )  # fmt: skip
                for name, value in cookie.raw_headers:
                    if name == b"set-cookie":
                        headers.append("set-cookie", value.decode("latin-1"))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install_web(app: FastAPI) -> None:
    from web.routes import admin, assess, auth, delivery, home, rounds, runs, schemes

    # delivery before schemes: POST /schemes/{id}/delivery is not a scheme's status action.
    for module in (auth, home, delivery, schemes, assess, rounds, runs, admin):
        app.include_router(module.router, include_in_schema=False)

    @app.get("/assets/nhsuk-frontend.min.css", include_in_schema=False)
    def nhsuk_css() -> Response:
        return Response(_nhsuk_css(), media_type="text/css",
                        headers={"Cache-Control": "public, max-age=3600"})  # fmt: skip

    @app.get("/assets/nhsuk-frontend.min.js", include_in_schema=False)
    def nhsuk_js() -> Response:
        return Response((NHSUK / "nhsuk-frontend.min.js").read_bytes(),
                        media_type="text/javascript")  # fmt: skip

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return HTMLResponse(API_DOCS, headers={"Content-Security-Policy": API_DOCS_CSP,
                                               "X-Frame-Options": "DENY"})  # fmt: skip

    if SWAGGER_UI.is_dir():
        app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="swagger-ui")
    if (NHSUK / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=NHSUK / "assets"), name="nhsuk-assets")
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="web-static")

    app.add_middleware(WebSessions)

    api_capital = app.exception_handlers[CapitalError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    @app.exception_handler(CapitalError)
    async def capital_error(request: Request, exc: CapitalError):
        if not is_web(request.url.path):
            return await api_capital(request, exc)
        return await _error_page(request, exc.status, exc.detail)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        if not is_web(request.url.path):
            return await api_validation(request, exc)
        return await _error_page(request, 404, NOTHING_HERE)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if not is_web(request.url.path):
            return await api_http(request, exc)
        if exc.status_code == 404:
            return await _error_page(request, 404, NOTHING_HERE)
        detail = str(exc.detail)
        if detail == HTTPStatus(exc.status_code).phrase:  # Starlette's own: "Method Not Allowed"
            detail = PLAIN_DETAILS.get(exc.status_code, "Go back and try again.")
        return await _error_page(request, exc.status_code, detail)

    @app.exception_handler(security.LoginRequired)
    async def login_required(request: Request, _exc: security.LoginRequired):
        return redirect("/login?next=" + quote(request.url.path))

    @app.exception_handler(security.CsrfFailed)
    async def csrf_failed(request: Request, _exc: security.CsrfFailed):
        return await _error_page(request, 403, "The form was not sent from this service's own page (or "
                           "your session ended). Go back, reload the page and try again.",
                           title="This form has expired")  # fmt: skip
