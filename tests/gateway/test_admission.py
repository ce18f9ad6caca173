"""The gateway's admission limit: ordinary requests and long-lived event streams are counted
apart, each against its own bound."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from onehub.transport.gateway.admission import AdmissionLimit


def _app(release: asyncio.Event, started: asyncio.Queue[str]) -> AdmissionLimit:
    async def hold(request: Request) -> Response:
        await started.put(request.url.path)
        await release.wait()
        return PlainTextResponse("done")

    app = Starlette(routes=[Route("/slow", hold), Route("/events", hold)])
    return AdmissionLimit(app, max_in_flight=2, stream_paths=frozenset({"/events"}), max_streams=3)


async def test_open_streams_take_no_request_slots_and_have_their_own_bound() -> None:
    release = asyncio.Event()
    started: asyncio.Queue[str] = asyncio.Queue()
    transport = httpx.ASGITransport(app=_app(release, started))
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as client:
        streams = [asyncio.create_task(client.get("/events")) for _ in range(3)]
        for _ in streams:
            await asyncio.wait_for(started.get(), 5)
        # Three open streams, yet both request slots are free.
        requests = [asyncio.create_task(client.get("/slow")) for _ in range(2)]
        for _ in requests:
            await asyncio.wait_for(started.get(), 5)
        extra_request = await client.get("/slow")
        extra_stream = await client.get("/events")
        release.set()
        answered = await asyncio.gather(*streams, *requests)

    assert [r.status_code for r in answered] == [200] * 5
    assert extra_request.status_code == 503
    assert extra_request.headers["retry-after"] == "1"
    assert extra_stream.status_code == 503
