"""Size limits of OneHub's gRPC hops, shared by the server, the gateway's channel and the CLI.

Both hops (gateway -> server and server -> gateway) must accept the largest message either side
may legitimately send: a bulk import request, or a page of 1,000 messages at the largest content
size a message may have. gRPC's own default (4 MiB) is too small for either, so every channel and
server OneHub makes uses these options.
"""

from __future__ import annotations

MAX_GRPC_MESSAGE_BYTES = 64 * 1024 * 1024

GRPC_SIZE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_GRPC_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_GRPC_MESSAGE_BYTES),
)
