"""A typed Python client for the capital prioritisation service."""

from capital_client.client import CapitalClient
from capital_client.errors import (
    ApiError,
    BadRequest,
    CapitalError,
    Conflict,
    Forbidden,
    JobFailed,
    NotAuthenticated,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
    ServerUnavailable,
    ValidationFailed,
)

__all__ = [
    "ApiError",
    "BadRequest",
    "CapitalClient",
    "CapitalError",
    "Conflict",
    "Forbidden",
    "JobFailed",
    "NotAuthenticated",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "ServerUnavailable",
    "ValidationFailed",
]
