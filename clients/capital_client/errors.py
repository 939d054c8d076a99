"""The client's exceptions, carrying the server's problem+json details."""

from typing import Any


class CapitalError(Exception):
    """Any error talking to the capital service."""

    def __init__(
        self, message: str, *, status: int | None = None, problem: dict[str, Any] | None = None
    ):
        super().__init__(message)
        self.status = status
        self.problem = problem or {}

    @property
    def errors(self) -> list[dict[str, str]]:
        """Each offending field as {"loc": ..., "msg": ...} (validation failures)."""
        return list(self.problem.get("errors") or [])


class InvalidArgument(CapitalError, ValueError):
    """A value the client cannot send, named with its field (a token outside printable ASCII,
    an amount that is NaN or infinite): raised before anything is sent. Also a ValueError."""


class ServerUnavailable(CapitalError):
    """The server could not be reached (after retries where they are safe)."""


class JobFailed(CapitalError):
    """A job the client waited for failed or was cancelled; `job` is its last state."""

    def __init__(self, message: str, *, job: Any):
        super().__init__(message)
        self.job = job


class ApiError(CapitalError):
    """The server answered with an error status."""


class BadRequest(ApiError):
    """400: the request could not be read."""


class NotAuthenticated(ApiError):
    """401: no token, or one the server does not know."""


class Forbidden(ApiError):
    """403: your role or scope does not allow this."""


class NotFound(ApiError):
    """404: no such resource."""


class Conflict(ApiError):
    """409: the resource's state does not allow this (e.g. an agreed round)."""


class PreconditionFailed(ApiError):
    """412: someone changed the resource since you read it."""


class ValidationFailed(ApiError):
    """422: the request broke a rule; `errors` names each field."""


class PreconditionRequired(ApiError):
    """428: send If-Match with the version you read."""


BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest, 401: NotAuthenticated, 403: Forbidden, 404: NotFound, 409: Conflict,
    412: PreconditionFailed, 422: ValidationFailed, 428: PreconditionRequired,
}  # fmt: skip
