"""The resource every span, metric and log carries: detected at start, then merged with config.

Precedence, lowest first: detected (telemetry SDK, host, process, service version) <
OTEL_RESOURCE_ATTRIBUTES < OTEL_SERVICE_NAME. The process's command line is left out on purpose:
it can hold a database URL with a password.
"""

from __future__ import annotations

import platform
import socket
from importlib import metadata

from opentelemetry.sdk.resources import (
    SERVICE_NAME,
    SERVICE_VERSION,
    TELEMETRY_SDK_LANGUAGE,
    TELEMETRY_SDK_NAME,
    TELEMETRY_SDK_VERSION,
    ProcessResourceDetector,
    Resource,
)

from onehub.telemetry.config import DEFAULT_SERVICE_NAME, TelemetryConfig

HOST_NAME = "host.name"
HOST_ARCH = "host.arch"


def onehub_version() -> str:
    return _version("onehub")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "0+unknown"


class _HashCachedResource(Resource):
    """A Resource whose hash is computed once. The OTLP encoder hashes the resource of every
    span it encodes, and Resource.__hash__ JSON-serialises all attributes each time (measured:
    1.3% of a traced request). Resources are immutable, so caching is safe."""

    _hash: int | None = None

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = super().__hash__()
        return self._hash

    def __eq__(self, other: object) -> bool:
        return super().__eq__(other)


def build_resource(config: TelemetryConfig) -> Resource:
    """Detect and merge. Never raises: a detector that fails just contributes nothing."""
    detected = Resource.get_empty()  # not Resource.create(): that reads os.environ itself
    for part in (_sdk(), _host(), _process()):
        detected = detected.merge(part)
    detected = detected.merge(Resource({SERVICE_VERSION: onehub_version()}))
    configured = Resource(dict(config.resource_attributes))
    named = Resource({SERVICE_NAME: _service_name(config)})
    merged = detected.merge(configured).merge(named)
    return _HashCachedResource(merged.attributes, merged.schema_url)


def _service_name(config: TelemetryConfig) -> str:
    # OTEL_SERVICE_NAME wins; without it a service.name in OTEL_RESOURCE_ATTRIBUTES does.
    if config.service_name is not None:
        return config.service_name
    return config.resource_attributes.get(SERVICE_NAME, DEFAULT_SERVICE_NAME)


def _sdk() -> Resource:
    return Resource(
        {
            TELEMETRY_SDK_LANGUAGE: "python",
            TELEMETRY_SDK_NAME: "opentelemetry",
            TELEMETRY_SDK_VERSION: _version("opentelemetry-sdk"),
        }
    )


def _host() -> Resource:
    try:
        return Resource({HOST_NAME: socket.gethostname(), HOST_ARCH: platform.machine()})
    except OSError:
        return Resource.get_empty()


def _process() -> Resource:
    return ProcessResourceDetector().detect()
