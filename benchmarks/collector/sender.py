"""A load process: `python -m benchmarks.collector.sender grpc|http HOST:PORT SPANS [INFLIGHT]`.

Builds its request templates, prints `ready`, waits for a line on stdin, sends SPANS spans (in
512-span requests, INFLIGHT at a time, retrying when the collector says it is busy), prints
`sent SECONDS` and exits.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import time
from collections.abc import Iterator

import grpc
import httpx

from benchmarks.collector.workload import SPANS_PER_REQUEST, Workload

_TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED}


async def _send_grpc(target: str, bodies: Iterator[bytes], inflight: int) -> None:
    async with grpc.aio.insecure_channel(target) as channel:
        # Bodies are already-encoded requests: no (de)serialiser on either side.
        export: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes]
        export = channel.unary_unary(_TRACE_EXPORT, None, None)
        queue = bodies

        async def worker() -> None:
            for body in queue:
                while True:
                    try:
                        await export(body, timeout=60)
                        break
                    except grpc.aio.AioRpcError as exc:
                        if exc.code() not in _RETRYABLE:
                            raise
                        await asyncio.sleep(0.05)

        await asyncio.gather(*(worker() for _ in range(inflight)))


async def _send_http(target: str, bodies: Iterator[bytes], inflight: int) -> None:
    headers = {"Content-Type": "application/x-protobuf"}
    async with httpx.AsyncClient(base_url=f"http://{target}", timeout=60) as client:
        queue = bodies

        async def worker() -> None:
            for body in queue:
                while True:
                    response = await client.post("/v1/traces", content=body, headers=headers)
                    if response.status_code == 200:
                        break
                    if response.status_code not in (429, 503):
                        raise RuntimeError(f"collector answered {response.status_code}")
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(worker() for _ in range(inflight)))


def main() -> int:
    protocol, target, spans = sys.argv[1], sys.argv[2], int(sys.argv[3])
    inflight = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    supply = Workload().requests()
    # Making a request is one bytes.replace: cheap enough to do while sending.
    bodies = itertools.islice(supply, max(1, spans // SPANS_PER_REQUEST))
    print("ready", flush=True)
    sys.stdin.readline()
    started = time.perf_counter()
    send = _send_grpc if protocol == "grpc" else _send_http
    asyncio.run(send(target, bodies, inflight))
    print(f"sent {time.perf_counter() - started:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
