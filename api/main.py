"""The FastAPI application: routers under /api/v1, problem+json errors, /health."""

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel

from api.assessments.router import router as assessments_router
from api.audit.router import router as audit_router
from api.delivery.router import router as delivery_router
from api.errors import (
    API_ERROR_RESPONSES,
    PROBLEM_JSON,
    install_error_handlers,
    problem,
    problem_response,
)
from api.jobs.router import router as jobs_router
from api.limits import BodySizeLimit
from api.page_cache import CachedPages
from api.reference.router import router as reference_router
from api.rounds.router import router as rounds_router
from api.schemes.router import router as schemes_router
from api.settings import get_settings
from api.strict_json import StrictJSONResponse
from api.systems.router import router as systems_router
from optimiser.solver import solves_past_their_limit, stuck_solves

API_PREFIX = "/api/v1"


class Health(BaseModel):
    status: Literal["ok"]


def _operation_id(route: APIRoute) -> str:
    return route.name


def _finish_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """What FastAPI cannot say by itself: errors are problem+json only (it would also list
    application/json), and an operation marked `x-if-match-required` requires If-Match."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status[0] in "45" and "application/json" in content:
                    content[PROBLEM_JSON] = content.pop("application/json")
            if operation.pop("x-if-match-required", False):
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "header" and parameter["name"].lower() == "if-match":
                        parameter["required"] = True
                        parameter["schema"] = {"type": "string", "maxLength": 64}
    return schema


def create_app() -> FastAPI:
    app = FastAPI(
        title="Capital prioritisation service",
        version="1.0.0",
        description="The shared capital database of an integrated care system, "
        "with an optimiser that proposes the best portfolio within the capital envelope.",
        generate_unique_id_function=_operation_id,
        # The docs page is the web package's (/docs, Swagger UI served from its own npm
        # package): FastAPI's own loads Swagger UI and ReDoc from a CDN (DESIGN §9).
        docs_url=None,
        redoc_url=None,
        # Strict JSON: a non-finite number fails the response instead of leaving as null.
        default_response_class=StrictJSONResponse,
    )
    install_error_handlers(app)
    app.add_middleware(BodySizeLimit, max_bytes=get_settings().max_body_bytes)
    app.add_middleware(CachedPages, paths=frozenset({f"{API_PREFIX}/schemes"}))
    for router in (systems_router, schemes_router, assessments_router, rounds_router, jobs_router,
                   audit_router, reference_router, delivery_router):  # fmt: skip
        app.include_router(router, prefix=API_PREFIX, responses=API_ERROR_RESPONSES)

    @app.get("/health", tags=["health"], operation_id="health", response_model=Health,
             responses={503: problem_response("A solve went past its time limit and still "
                                               "holds a core: restart this process")})  # fmt: skip
    def health() -> Any:
        # A solve answered without past its deadline may run inside HiGHS for ever, and
        # only a new process frees its core: tell whatever watches /health to restart this
        # one (docs/decisions.md).
        stuck = solves_past_their_limit()
        if stuck:
            return problem(503, "Service degraded",
                           f"{stuck_solves(stuck)}; restart this process to free them")  # fmt: skip
        return {"status": "ok"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _finish_openapi(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi

    from web.app import install_web  # the web application of DESIGN §9, on the same services

    install_web(app)
    return app


app = create_app()
