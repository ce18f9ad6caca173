"""The private part of grpc.aio that the gateway relies on: a multicallable's interceptors.

Checked against grpcio 1.85.3 (`CHECKED_AGAINST`), the only version pyproject.toml allows;
tests/compat/test_grpc_aio.py fails, naming the installed version, when the interceptors are no
longer where we look or replacing them no longer keeps them out of the calls.

Touched: `grpc.aio._channel._BaseMultiCallable._interceptors`, the sequence of client
interceptors a multicallable (what `Channel.unary_unary` returns) runs on each call; a call
goes through `InterceptedUnaryUnaryCall` when it is non-empty and straight to `UnaryUnaryCall`
when it is empty. grpc.aio has no public way to leave an interceptor out of one method's calls
(a second channel without interceptors would mean a second connection to manage).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import grpc.aio

CHECKED_AGAINST: Final = {"grpcio": "1.85.3"}


def client_interceptors(
    call: grpc.aio.UnaryUnaryMultiCallable[Any, Any],
) -> Sequence[object] | None:
    """The interceptors `call` runs, or None when this grpc keeps them where we do not look."""
    interceptors: object = getattr(call, "_interceptors", None)
    return interceptors if isinstance(interceptors, Sequence) else None


def replace_client_interceptors(
    call: grpc.aio.UnaryUnaryMultiCallable[Any, Any], interceptors: Sequence[object]
) -> None:
    """Make `call` (this multicallable only: never the channel, whose list others share) run
    `interceptors` instead; none at all takes grpc.aio's plain call path."""
    call._interceptors = list(interceptors)  # type: ignore[attr-defined]
