"""The two interceptors every OneHub RPC passes: error mapping (outer) and authentication.

Both wrap the method's handler rather than acting before it, so they run in the RPC's own task
and context: the error mapper sees every exception the handler raises, and the principal the
auth interceptor sets is the one the servicer reads.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias
from urllib.parse import unquote

import grpc
from google.protobuf.message import DecodeError
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from onehub.domain.errors import OneHubError, Unauthenticated
from onehub.domain.limits import MAX_JSON_DEPTH
from onehub.services.auth import Authenticator
from onehub.services.instrumentation import ENDUSER_ID
from onehub.transport.grpc.admission import retry_pushback_metadata
from onehub.transport.grpc.errors import INTERNAL_ERROR_MESSAGE, status_for
from onehub.transport.grpc.handler_cache import HandlerCache
from onehub.transport.grpc.principal import _current_principal

logger = logging.getLogger(__name__)

ONEHUB_METHOD_PREFIX = "/onehub.v1."
# Health and reflection answer without credentials, so probes and grpcurl work.
UNAUTHENTICATED_METHOD_PREFIXES = ("/grpc.health.v1.", "/grpc.reflection.")
USERNAME_KEY = "onehubusername"
PASSWORD_KEY = "onehubpassword"
AUTHORIZATION_KEY = "authorization"
# The gateway's HTTP client address, believed only next to the gateway's per-process token: any
# other caller is known by its own peer address.
CLIENT_ADDRESS_KEY = "onehub-client-address"
FORWARDING_TOKEN_KEY = "onehub-forwarding-token"

# Strings: grpc's classes are generic only in the type stubs, not at run time.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"
Behavior: TypeAlias = "Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]"


def _method(details: grpc.HandlerCallDetails) -> str:
    return details.method


UNDECODABLE_MESSAGE = (
    "the request message could not be decoded: it is malformed or nests JSON far deeper than "
    f"the {MAX_JSON_DEPTH} levels allowed"
)


def _rewrap(handler: Handler, behavior: Behavior, *, decodes: bool = False) -> Handler:
    """`handler` with `behavior`; with `decodes`, the behavior gets the request's raw bytes."""
    return grpc.unary_unary_rpc_method_handler(
        behavior,
        request_deserializer=None if decodes else handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


class ErrorMappingInterceptor(grpc.aio.ServerInterceptor):
    """Turns exceptions of OneHub's unary methods into gRPC statuses.

    A `OneHubError` becomes its own code with its (client-safe) message, and a
    `grpc-retry-pushback-ms` trailer when it says when to retry. A request message that cannot
    be decoded (garbage, or a Struct nested past protobuf's decoder depth limit) is
    INVALID_ARGUMENT with a plain message: the handler is rewrapped to take the raw bytes and
    decode them here, as grpc's own decoding failure would reach the client as UNKNOWN naming
    Python classes. Anything else is logged with its traceback, recorded on the current span,
    and reaches the client only as INTERNAL "internal error".
    """

    def __init__(self) -> None:
        self._handlers = HandlerCache()

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        method = _method(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        if not method.startswith(ONEHUB_METHOD_PREFIX):
            return handler
        return self._handlers.wrapped(method, handler, functools.partial(self._mapped, method))

    @staticmethod
    def _mapped(method: str, handler: Handler) -> Handler:
        inner: Behavior = handler.unary_unary  # type: ignore[assignment]
        decode: Callable[[bytes], Any] | None = handler.request_deserializer

        async def mapped(raw: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            try:
                request = decode(raw) if decode is not None else raw
            except DecodeError:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, UNDECODABLE_MESSAGE)
            try:
                return await inner(request, context)
            except OneHubError as exc:
                if exc.retry_after_s is not None:
                    context.set_trailing_metadata(retry_pushback_metadata(exc.retry_after_s))
                await context.abort(status_for(exc), exc.message)
            except grpc.aio.AbortError:
                raise
            except Exception as exc:
                logger.exception("unexpected error serving %s", method)
                span = trace.get_current_span()
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                await context.abort(grpc.StatusCode.INTERNAL, INTERNAL_ERROR_MESSAGE)

        return _rewrap(handler, mapped, decodes=True)


def _first(metadata: Sequence[tuple[str, str | bytes]], key: str) -> str:
    for name, value in metadata:
        if name.lower() == key and isinstance(value, str):
            return value
    return ""


def credentials_from_metadata(metadata: Sequence[tuple[str, str | bytes]]) -> tuple[str, str]:
    """Return (username, password) from `onehubusername`/`onehubpassword`, else from
    `authorization: Basic ...`; ("", "") when neither is present.

    Raise Unauthenticated for a malformed Authorization value (never quoting it).
    """
    username, password = _first(metadata, USERNAME_KEY), _first(metadata, PASSWORD_KEY)
    if username or password:
        return username, password
    authorization = _first(metadata, AUTHORIZATION_KEY)
    if not authorization:
        return "", ""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise Unauthenticated("unsupported authorization scheme: use Basic")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthenticated("malformed Basic authorization") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise Unauthenticated("malformed Basic authorization")
    return username, password


def peer_host(peer: str) -> str:
    """The address part of a grpc peer string ("ipv4:127.0.0.1:5000", "ipv6:[::1]:5000", the
    brackets possibly percent-encoded); the transport name for others ("unix")."""
    kind, _, rest = unquote(peer).partition(":")
    if kind == "ipv4":
        return rest.rpartition(":")[0]
    if kind == "ipv6":
        return rest.rpartition(":")[0].strip("[]")
    return kind


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Authenticates every RPC but health and reflection, then exposes the caller through
    `onehub.transport.grpc.principal.current_principal()`.

    The caller also goes on the current span (the gRPC server span) as `enduser.id`. Streaming
    methods outside the exempt services are refused (UNIMPLEMENTED), as none are authenticated.
    The client address the authenticator throttles by is the call's peer, or the address the
    gateway forwards in `onehub-client-address` when the call carries `forwarding_token`.
    """

    def __init__(self, authenticator: Authenticator, forwarding_token: str | None = None) -> None:
        self._authenticator = authenticator
        self._forwarding_token = forwarding_token.encode() if forwarding_token else None
        self._handlers = HandlerCache()

    def _client(
        self, context: grpc.aio.ServicerContext[Any, Any], metadata: Sequence[tuple[str, Any]]
    ) -> str:
        token = self._forwarding_token
        if token is not None:
            sent = _first(metadata, FORWARDING_TOKEN_KEY).encode()
            forwarded = _first(metadata, CLIENT_ADDRESS_KEY)
            if forwarded and hmac.compare_digest(sent, token):
                return forwarded
        return peer_host(context.peer() or "")

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        method = _method(handler_call_details)
        if method.startswith(UNAUTHENTICATED_METHOD_PREFIXES):
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return None
        return self._handlers.wrapped(method, handler, self._authenticated)

    def _authenticated(self, handler: Handler) -> Handler:
        inner: Behavior = handler.unary_unary  # type: ignore[assignment]
        authenticator = self._authenticator

        async def authenticated(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            metadata = context.invocation_metadata() or ()
            username, password = credentials_from_metadata(metadata)  # type: ignore[arg-type]
            client = self._client(context, metadata)  # type: ignore[arg-type]
            principal = await authenticator.authenticate(username, password, client)
            trace.get_current_span().set_attribute(ENDUSER_ID, principal.user_id)
            token = _current_principal.set(principal)
            try:
                return await inner(request, context)
            finally:
                _current_principal.reset(token)

        return _rewrap(handler, authenticated)
