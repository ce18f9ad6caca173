"""HTTP Basic credentials → gRPC metadata, as the original gateway forwarded them.

The credentials are never logged, echoed in an error or put on a span.
"""

from __future__ import annotations

import binascii
from base64 import b64decode

import grpc

from onehub.services.ids import MAX_ID_LENGTH
from onehub.services.users import MAX_PASSWORD_LENGTH
from onehub.transport.gateway.errors import UNAUTHENTICATED_HEADERS, GatewayError

USERNAME_KEY = "onehubusername"
PASSWORD_KEY = "onehubpassword"
# The HTTP client's address, for the server's sign-in throttling; the token (shared with the
# server of this process) makes the server believe it.
CLIENT_ADDRESS_KEY = "onehub-client-address"
FORWARDING_TOKEN_KEY = "onehub-forwarding-token"

Metadata = tuple[tuple[str, str], ...]


def credentials_metadata(authorization: str | None) -> Metadata:
    """The metadata that carries the `Authorization: Basic` credentials: empty when the
        header is absent (the server then answers Unauthenticated if the RPC needs a user).
        Raise GatewayError (401) when the header is present but not usable Basic credentials:
        another scheme, bad base64, no ':' separator, or characters gRPC metadata cannot carry
        (non-printable or non-ASCII), or a username or password longer than any account can have
    (they could never be right, and would not fit the gRPC hop's metadata)."""
    if authorization is None:
        return ()
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _unauthenticated("only Basic authorization is supported")
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthenticated("the Basic credentials are not valid base64 UTF-8") from None
    username, colon, password = decoded.partition(":")
    if not colon or not username:
        raise _unauthenticated("the Basic credentials must be 'username:password'")
    if len(username) > MAX_ID_LENGTH or len(password) > MAX_PASSWORD_LENGTH:
        raise _unauthenticated("invalid username or password")
    if not (_is_metadata_safe(username) and _is_metadata_safe(password)):
        raise _unauthenticated("the Basic credentials must be printable ASCII")
    return ((USERNAME_KEY, username), (PASSWORD_KEY, password))


def client_metadata(client_host: str | None, forwarding_token: str | None) -> Metadata:
    """The metadata that tells the gRPC server which address the HTTP request came from;
    empty without a token or a client address."""
    if forwarding_token is None or not client_host:
        return ()
    return ((CLIENT_ADDRESS_KEY, client_host), (FORWARDING_TOKEN_KEY, forwarding_token))


def _is_metadata_safe(value: str) -> bool:
    return value.isascii() and value.isprintable()


def _unauthenticated(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.UNAUTHENTICATED, message, headers=UNAUTHENTICATED_HEADERS)
