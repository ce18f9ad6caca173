"""The one mapping from OneHub errors to gRPC status codes."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import grpc

from onehub.domain.errors import OneHubError

# OneHubError.code is the lowercase name of a grpc.StatusCode, so the table is derived, not typed.
STATUS_BY_ERROR_CODE: Mapping[str, grpc.StatusCode] = MappingProxyType(
    {status.name.lower(): status for status in grpc.StatusCode}
)

INTERNAL_ERROR_MESSAGE = "internal error"


def status_for(error: OneHubError) -> grpc.StatusCode:
    """The gRPC status for `error`; INTERNAL for a code gRPC does not know."""
    return STATUS_BY_ERROR_CODE.get(error.code, grpc.StatusCode.INTERNAL)
