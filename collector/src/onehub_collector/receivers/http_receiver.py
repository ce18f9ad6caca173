"""OTLP/HTTP receiver: `POST /v1/traces`, `/v1/metrics`, `/v1/logs` (Starlette).

Protobuf (`application/x-protobuf`) or JSON (`application/json`) bodies, gzip or deflate
Content-Encoding, any transfer encoding uvicorn accepts (fixed length or chunked). The answer
uses the request's content type: an empty Export*ServiceResponse on success, a google.rpc.Status
on failure. Bodies are read incrementally and refused with 413 as soon as they pass the limit,
compressed or not, so an oversized or zip-bomb body never sits in memory whole.
"""

from __future__ import annotations

import fnmatch
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

# googleapis-common-protos ships no type information (pyproject ignores it only for google.api).
from google.rpc import status_pb2  # type: ignore[import-untyped]
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onehub_collector.config import ReceiverConfig, Signal
from onehub_collector.otlp_json import to_otlp_json
from onehub_collector.pipeline import Pipelines
from onehub_collector.receivers.ingest import (
    BadRequestError,
    Encoding,
    ReceiveError,
    TooLargeError,
    UnsupportedMediaTypeError,
    decode,
    export_response,
    ingest,
    wait_for_room,
)

_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


def http_receiver_app(pipelines: Pipelines, config: ReceiverConfig) -> Starlette:
    """The receiver's ASGI app; CORS (with preflight) for the configured origin globs."""
    routes = [
        Route(
            f"/v1/{signal}",
            _endpoint(pipelines, signal, config.http_max_body_bytes),
            methods=["POST"],
        )
        for signal in ("traces", "metrics", "logs")
    ]
    middleware = []
    if config.cors_allowed_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origin_regex=_origins_regex(config.cors_allowed_origins),
                allow_methods=["POST"],
                allow_headers=["content-type", "content-encoding", *config.cors_allowed_headers],
                max_age=7200,
            )
        )
    return Starlette(routes=routes, middleware=middleware)


def _origins_regex(globs: tuple[str, ...]) -> str:
    """One regex for origin globs such as `http://localhost:*` (Starlette full-matches it)."""
    parts = [fnmatch.translate(glob).removesuffix(r"\Z") for glob in globs]
    return "|".join(f"(?:{part})" for part in parts)


def _endpoint(
    pipelines: Pipelines, signal: Signal, max_bytes: int
) -> Callable[[Request], Awaitable[Response]]:
    async def receive(request: Request) -> Response:
        encoding: Encoding = "protobuf"
        try:
            encoding = _content_encoding_of(request.headers.get("content-type", ""))
            body = await _read_body(request, max_bytes)
            await wait_for_room(pipelines, signal, len(body))
            message = decode(signal, body, encoding)
            rejected = await ingest(pipelines, signal, message, len(body))
        except ReceiveError as exc:
            return _error(exc, encoding)
        answer = export_response(signal, rejected)
        if encoding == "json":
            return Response(json.dumps(to_otlp_json(answer)).encode(), media_type=_JSON)
        return Response(answer.SerializeToString(), media_type=_PROTOBUF)

    return receive


def _content_encoding_of(content_type: str) -> Encoding:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == _PROTOBUF:
        return "protobuf"
    if media == _JSON:
        return "json"
    raise UnsupportedMediaTypeError(
        f"unsupported content type {media or '(none)'!r}: use {_PROTOBUF} or {_JSON}"
    )


async def _read_body(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise TooLargeError(f"request body of {declared} bytes is over the {max_bytes} byte limit")
    coding = request.headers.get("content-encoding", "identity").strip().lower()
    if coding in ("", "identity"):
        return await _collect(request.stream(), max_bytes)
    if coding not in ("gzip", "deflate"):
        raise BadRequestError(f"unsupported content encoding {coding!r}: use gzip or none")
    # wbits 32+ accepts both gzip and zlib headers; deflate may also come raw.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32 if coding == "gzip" else zlib.MAX_WBITS)
    out = bytearray()
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > max_bytes:
                raise TooLargeError(f"request body is over the {max_bytes} byte limit")
            out += inflater.decompress(chunk, max_bytes + 1 - len(out))
            if len(out) > max_bytes or inflater.unconsumed_tail:
                raise TooLargeError(f"decompressed request body is over the {max_bytes} byte limit")
        out += inflater.flush()
    except zlib.error:
        raise BadRequestError(f"request body is not valid {coding} data") from None
    if not inflater.eof:
        raise BadRequestError(f"request body is truncated {coding} data")
    if len(out) > max_bytes:
        raise TooLargeError(f"decompressed request body is over the {max_bytes} byte limit")
    return bytes(out)


async def _collect(chunks: AsyncIterator[bytes], max_bytes: int) -> bytes:
    parts: list[bytes] = []
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > max_bytes:
            raise TooLargeError(f"request body is over the {max_bytes} byte limit")
        parts.append(chunk)
    return b"".join(parts)


def _error(exc: ReceiveError, encoding: Encoding) -> Response:
    headers = {} if exc.retry_after_s is None else {"Retry-After": str(exc.retry_after_s)}
    code = exc.grpc_code.value[0]
    message = str(exc)
    if encoding == "json":
        body = json.dumps({"code": code, "message": message}).encode()
        return Response(body, status_code=exc.http_status, media_type=_JSON, headers=headers)
    status = status_pb2.Status(code=code, message=message)
    return Response(
        status.SerializeToString(),
        status_code=exc.http_status,
        media_type=_PROTOBUF,
        headers=headers,
    )
