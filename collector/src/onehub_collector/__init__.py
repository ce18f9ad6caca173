"""OneHub's collector, a distribution of its own (onehub-collector): OTLP receivers, a
configurable pipeline, an on-disk trace store, a Jaeger-compatible query API and a trace viewer.
It knows nothing of OneHub and serves any OTLP sender; OneHub embeds it.

Public API:
    start_collector(config) -> RunningCollector   start everything (async)
    CollectorConfig                               addresses, data directory, pipeline
    main(argv) -> int                             the `onehub-collector` command

The names below are loaded on first use, so that importing a light module of the package (such
as `onehub_collector.netaddr`) does not import the servers, gRPC and the store as well.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from onehub_collector.cli import main
    from onehub_collector.collector import RunningCollector, start_collector
    from onehub_collector.config import CollectorConfig, CollectorStartError, ConfigError
    from onehub_collector.config_yaml import (
        default_pipeline_config,
        load_config_file,
        parse_config,
    )

# Each public name and the module that defines it.
_HOMES = {
    "CollectorConfig": "onehub_collector.config",
    "CollectorStartError": "onehub_collector.config",
    "ConfigError": "onehub_collector.config",
    "RunningCollector": "onehub_collector.collector",
    "default_pipeline_config": "onehub_collector.config_yaml",
    "load_config_file": "onehub_collector.config_yaml",
    "main": "onehub_collector.cli",
    "parse_config": "onehub_collector.config_yaml",
    "start_collector": "onehub_collector.collector",
}

__all__ = [
    "CollectorConfig",
    "CollectorStartError",
    "ConfigError",
    "RunningCollector",
    "default_pipeline_config",
    "load_config_file",
    "main",
    "parse_config",
    "start_collector",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
