"""The `onehub` command: the server's entry point and a gRPC client of a running server."""
