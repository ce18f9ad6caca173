"""What a worker process of `onehub serve --workers N` is told by its supervisor."""

from __future__ import annotations

from dataclasses import dataclass

from onehub.app.embedded_collector import CollectorAddresses
from onehub.config import Settings

# The resource attribute telling one worker's telemetry from its siblings'.
SERVICE_INSTANCE_ID = "service.instance.id"


@dataclass(frozen=True)
class WorkerSpec:
    """One worker's orders: `settings` with concrete ports (shared with its siblings through
    SO_REUSEPORT), its slot `index`, the `instance_id` its telemetry carries, and the embedded
    collector the supervisor runs for all (None: `settings.collector` decides, as usual)."""

    settings: Settings
    index: int
    instance_id: str
    collector: CollectorAddresses | None
