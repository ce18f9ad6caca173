"""Where the auth interceptor leaves the caller for the servicers: a context variable."""

from __future__ import annotations

from contextvars import ContextVar

from onehub.domain.errors import Unauthenticated
from onehub.domain.models import Principal

_current_principal: ContextVar[Principal | None] = ContextVar(
    "onehub_current_principal", default=None
)


def current_principal() -> Principal:
    """The authenticated caller of the RPC being served.

    Raise Unauthenticated if none was set, i.e. the method was served without the auth
    interceptor (never the case for a server built by `start_grpc_server`).
    """
    principal = _current_principal.get()
    if principal is None:
        raise Unauthenticated("no authenticated caller")
    return principal
