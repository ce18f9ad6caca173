"""The REST gateway: a generic HTTP/JSON ↔ gRPC transcoder driven only by the
`google.api.http` options of the service descriptors (no per-RPC code)."""

from onehub.transport.gateway.app import create_gateway_app
from onehub.transport.gateway.local_server import LocalGrpcServer

__all__ = ["LocalGrpcServer", "create_gateway_app"]
