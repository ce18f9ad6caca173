"""The collector's benchmarks: `python -m benchmarks.collector [--quick]`.

Ingest over OTLP/gRPC and OTLP/HTTP from another process, search and trace-fetch latency with
the store full, and the collector's memory. The collector runs as `python -m onehub_collector`
(its own process); the load comes from `benchmarks.collector.sender` processes.
"""
