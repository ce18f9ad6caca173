"""Per-method memory of the handler an interceptor made, so a call does not build it again.

A server interceptor runs on every call, and ours wrap the method's handler in a new behaviour.
The handler they are given is the same object call after call (the servicer's, or the one the
next interceptor remembered), so the wrapped one can be kept and handed out again; a different
handler for the method (a server rebuilt, an interceptor that does make new ones) is wrapped anew.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import grpc

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"


class HandlerCache:
    """Wrapped handlers by method name, each valid for the handler it was made from."""

    def __init__(self) -> None:
        self._by_method: dict[str, tuple[Handler, Handler]] = {}

    def wrapped(self, method: str, handler: Handler, wrap: Callable[[Handler], Handler]) -> Handler:
        """`wrap(handler)`, made once per method and handler."""
        cached = self._by_method.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        made = wrap(handler)
        self._by_method[method] = (handler, made)
        return made
