"""Transports: the gRPC server (`grpc`) and the REST gateway in front of it (`gateway`)."""
