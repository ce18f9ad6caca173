"""OneHub's benchmarks: `python -m benchmarks` (what `make bench` runs).

- `service`: GET topic and POST message, over REST (through the gateway) and over direct gRPC,
  on SQLite and PostgreSQL, with the REST/gRPC throughput ratio.
- `telemetry`: GET topic through the gateway, every request traced and exported over OTLP to the
  collector in another process, against the same server with `OTEL_SDK_DISABLED=true`.
- `profile`: the same load under py-spy, with the top costs (`python -m benchmarks.profile`).

Servers run as `onehub serve` subprocesses and the load comes from other processes, so a client
never competes with the server for one interpreter.
"""
