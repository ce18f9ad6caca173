"""`GET/PUT /admin/faults`: see and switch the faults to find at run time (admin only).

    GET /admin/faults   -> {"faults": {"db-latency": "1200ms@0.3"}, "defaults": {...},
                            "switchable": true}
    PUT /admin/faults   <- {"faults": {"n-plus-one": "", "rpc-errors": "GetTopic@0.5"}}

PUT replaces the whole set: a fault not named is switched off, `{}` switches every fault off, an
empty value takes the fault's default. Every value is checked before anything changes (400 and
no change for a bad one). HTTP Basic credentials as for the API: 401 without valid ones, 403 for
anyone but admin, and 403 for every PUT when the server refuses run-time faults (a non-loopback
bind without --force-faults). Errors use the gateway's error body.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from onehub.domain.errors import OneHubError, PermissionDenied
from onehub.domain.faults import DEFAULT_VALUES, Fault, parse_fault
from onehub.services.auth import Authenticator
from onehub.services.authz import require_admin
from onehub.services.faults import FaultSwitchboard
from onehub.transport.gateway.auth import PASSWORD_KEY, USERNAME_KEY, credentials_metadata
from onehub.transport.gateway.errors import (
    UNAUTHENTICATED_HEADERS,
    GatewayError,
    error_body,
    invalid_argument,
)

FAULTS_PATH = "/admin/faults"
_MAX_BODY_BYTES = 16 * 1024


def fault_routes(switchboard: FaultSwitchboard, authenticator: Authenticator) -> list[BaseRoute]:
    """The admin endpoint over `switchboard`, checking credentials with `authenticator`."""

    async def faults(request: Request) -> Response:
        try:
            await _require_admin(request, authenticator)
            if request.method == "PUT":
                _replace(switchboard, await _body(request))
        except GatewayError as error:
            headers = {k.decode(): v.decode() for k, v in error.headers}
            return Response(
                error_body(error, None),
                status_code=error.status,
                media_type="application/json",
                headers=headers,
            )
        return JSONResponse(_state(switchboard))

    return [Route(FAULTS_PATH, faults, methods=["GET", "PUT"])]


async def _require_admin(request: Request, authenticator: Authenticator) -> None:
    metadata = dict(credentials_metadata(request.headers.get("authorization")))
    try:
        principal = await authenticator.authenticate(
            metadata.get(USERNAME_KEY, ""), metadata.get(PASSWORD_KEY, "")
        )
        require_admin(principal, "switch faults")
    except OneHubError as error:
        raise _gateway_error(error) from None


def _gateway_error(error: OneHubError) -> GatewayError:
    code = grpc.StatusCode[error.code.upper()]
    headers = UNAUTHENTICATED_HEADERS if code == grpc.StatusCode.UNAUTHENTICATED else ()
    return GatewayError(code, error.message, headers=headers)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > _MAX_BODY_BYTES:
        raise invalid_argument("the body is too large")
    try:
        document = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise invalid_argument("the body is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("faults"), dict):
        raise invalid_argument('the body must be {"faults": {"NAME": "VALUE", ...}}')
    return document


def _replace(switchboard: FaultSwitchboard, document: dict[str, Any]) -> None:
    if not switchboard.switchable:
        raise _gateway_error(
            PermissionDenied(
                "faults cannot be switched on a non-loopback address; start with --force-faults"
            )
        )
    wanted: list[Fault] = []
    for name, value in document["faults"].items():
        if value is not None and not isinstance(value, str):
            raise invalid_argument(f"fault {name}: the value must be a string")
        try:
            wanted.append(parse_fault(f"{name}={value or ''}"))
        except OneHubError as error:
            raise invalid_argument(error.message) from None
    try:
        switchboard.replace(wanted)
    except OneHubError as error:
        raise invalid_argument(error.message) from None


def _state(switchboard: FaultSwitchboard) -> dict[str, Any]:
    return {
        "faults": {name: fault.value for name, fault in sorted(switchboard.active().items())},
        "defaults": DEFAULT_VALUES,
        "switchable": switchboard.switchable,
    }
