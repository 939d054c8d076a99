"""A typed Python client for the capital prioritisation service."""

from typing import TYPE_CHECKING

from capital_client.errors import (
    ApiError,
    BadRequest,
    CapitalError,
    Conflict,
    Forbidden,
    InvalidArgument,
    JobFailed,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServerUnavailable,
    ValidationFailed,
)

if TYPE_CHECKING:
    from capital_client.client import CapitalClient


def __getattr__(name: str):
    # The client (httpx and its pydantic models: 0.4 s of imports) is loaded when first asked
    # for, so `capital` commands that never talk to a server (optimise, db, users) and code
    # that only catches the client's errors do not pay for it.
    if name == "CapitalClient":
        from capital_client.client import CapitalClient

        return CapitalClient
    raise AttributeError(f"module 'capital_client' has no attribute {name!r}")


__all__ = [
    "ApiError",
    "BadRequest",
    "CapitalClient",
    "CapitalError",
    "Conflict",
    "Forbidden",
    "InvalidArgument",
    "JobFailed",
    "NotAuthenticated",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServerUnavailable",
    "ValidationFailed",
]
