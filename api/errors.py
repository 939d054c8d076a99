"""Domain errors carry their HTTP status; one set of handlers renders RFC 9457 problems."""

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.strict_json import StrictJSONResponse

PROBLEM_JSON = "application/problem+json"


class CapitalError(Exception):
    """Base of every error the service reports to a caller."""

    status: int = 400
    title: str = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class NotAuthenticated(CapitalError):
    status, title = 401, "Not authenticated"


class Forbidden(CapitalError):
    status, title = 403, "Forbidden"


class NotFound(CapitalError):
    status, title = 404, "Not found"


class Conflict(CapitalError):
    status, title = 409, "Conflict"


class PreconditionFailed(CapitalError):
    status, title = 412, "Precondition failed"


class UnsupportedMediaType(CapitalError):
    status, title = 415, "Unsupported media type"


class PreconditionRequired(CapitalError):
    status, title = 428, "Precondition required"


class InvalidInput(CapitalError):
    status, title = 422, "Validation failed"


def invalid_fields(errors: list[dict[str, str]]) -> str:
    """The detail of a 422 whose `errors` are the request's own fields, one per error."""
    return f"Invalid fields: {', '.join(e['loc'] for e in errors)}"


class FieldError(BaseModel):
    loc: str
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details, as every error response carries them."""

    type: str = "about:blank"
    status: int
    title: str
    detail: str
    errors: list[FieldError] | None = None


def problem_response(description: str) -> dict[str, Any]:
    return {"model": Problem, "description": description, "content": {PROBLEM_JSON: {}}}


# Documented on every /api/v1 operation, so generated clients know the error shape.
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response("Malformed request body"),
    401: problem_response("Missing or invalid bearer token"),
    403: problem_response("Role or scope does not allow this"),
    404: problem_response("No such resource"),
    413: problem_response("The request body is larger than the service accepts"),
    422: problem_response("Validation failed; `errors` names each field"),
}


def field_error(loc: str, msg: str) -> dict[str, str]:
    return {"loc": loc, "msg": msg}


def a_or_an(word: str) -> str:
    """The word after its article, for messages about a status or role: "an approved",
    "a draft", "an assessor"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def problem(
    status: int, title: str, detail: str, errors: list | None = None, headers=None
) -> StrictJSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "status": status, "title": title}
    body["detail"] = detail
    if errors is not None:
        body["errors"] = errors
    return StrictJSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _loc(parts) -> str:
    """A dotted path with list indices in brackets: `body.schemes[3].cost_profile.2026/27`.
    Pydantic's `[key]` marker is dropped: the path already names the offending key."""
    loc = ""
    for part in parts:
        if part == "[key]":
            continue
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    return loc


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(CapitalError)
    async def _capital_error(_request: Request, exc: CapitalError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem(exc.status, exc.title, exc.detail, exc.errors, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_request: Request, exc: RequestValidationError):
        raw = exc.errors()
        if any(e.get("type") == "json_invalid" for e in raw):
            return problem(400, "Malformed JSON", "The request body is not valid JSON.")
        errors = [field_error(_loc(e["loc"]), e["msg"]) for e in raw]
        return problem(422, "Validation failed", invalid_fields(errors), errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        title = _TITLES.get(exc.status_code, "Error")
        return problem(exc.status_code, title, str(exc.detail), headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method the OpenAPI documents at this path (Starlette's own 405 names only the
    first route that matched). The most specific template that matches wins, as in routing:
    a literal path (`/schemes/import`) or one with more literal text (`/schemes/export.{kind}`)
    over `/schemes/{scheme_id}`, which would also match it."""
    path = request.url.path
    best, allowed = -1, set()
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            literal = len(re.sub(r"\{[^}]+\}", "", template)) + (1000 if "{" not in template else 0)
            methods = {m.upper() for m in operations if m in _METHODS}
            if literal > best:
                best, allowed = literal, methods
            elif literal == best:
                allowed |= methods
    return sorted(allowed)


_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})
_TITLES = {
    404: "Not found",
    405: "Method not allowed",
    401: "Not authenticated",
    413: "Request body too large",
}
