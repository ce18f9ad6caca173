"""The REST gateway: a generic HTTP/JSON ↔ gRPC transcoder driven only by the
`google.api.http` options of the service descriptors (no per-RPC code)."""

from onehub.transport.gateway.app import create_gateway_app

__all__ = ["create_gateway_app"]
