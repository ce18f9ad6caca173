"""The one error hierarchy. Each error names its gRPC status code (as the lowercase name of
`grpc.StatusCode`, so the domain needs no gRPC import); transports map codes, never classes."""

from __future__ import annotations


class OneHubError(Exception):
    """Base of every error a caller may see. `message` is safe to show to the client."""

    code: str = "internal"
    # True when the server failed rather than the caller: telemetry marks the span an ERROR.
    server_fault: bool = False

    def __init__(self, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        #: When set, the caller may retry after this many seconds (transports pass it on).
        self.retry_after_s = retry_after_s


class InvalidArgument(OneHubError):
    code = "invalid_argument"


class NotFound(OneHubError):
    code = "not_found"


class AlreadyExists(OneHubError):
    code = "already_exists"


class PermissionDenied(OneHubError):
    code = "permission_denied"


class Unauthenticated(OneHubError):
    code = "unauthenticated"


class Aborted(OneHubError):
    """A concurrent write won: re-read and retry."""

    code = "aborted"


class ResourceExhausted(OneHubError):
    code = "resource_exhausted"


class Unavailable(OneHubError):
    """The server cannot answer now; the caller may retry later."""

    code = "unavailable"
    server_fault = True
