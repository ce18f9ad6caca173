"""The embedded collector: OTLP receivers, a configurable pipeline, an on-disk trace store and a
Jaeger-compatible query API. It knows nothing of chat and serves any OTLP sender.

Public API:
    start_collector(config) -> RunningCollector   start everything (async)
    CollectorConfig                               addresses, data directory, pipeline
    main(argv) -> int                             the `onehub collector` command
"""

from onehub.collector.cli import main
from onehub.collector.collector import RunningCollector, start_collector
from onehub.collector.config import CollectorConfig, CollectorStartError, ConfigError
from onehub.collector.config_yaml import default_pipeline_config, load_config_file, parse_config

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
