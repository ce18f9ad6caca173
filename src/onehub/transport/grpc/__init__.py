"""OneHub's gRPC server: thin servicers, proto conversions, auth and error interceptors.

Start it with `onehub.transport.grpc.server.start_grpc_server`.
"""
