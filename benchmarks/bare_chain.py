"""The bare chain: what GET topic costs with the libraries OneHub's gateway path is made of and
none of OneHub's code, the baseline of the dispatch benchmark.

A Starlette route (`GET /v1/topics/{id}`, on uvicorn as OneHub's gateway runs) makes a grpc.aio
unary call over a loopback channel to a grpc.aio server in the same process, whose handler
runs one primary-key SELECT through aiosqlite and answers with the generated
`GetTopicResponse`; the route renders it as JSON. No authentication, tracing, admission, error
mapping, ORM or route table: each is what OneHub adds on top.

It runs on the event loop `onehub serve` would pick (`ONEHUB_LOOP`, default auto: uvloop where
it is installed), so the two differ only in OneHub's code.

`python -m benchmarks.bare_chain DIRECTORY` creates `DIRECTORY/bare.db` with one topic, prints
`bare chain ready: http=HOST:PORT topic=ID` and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import aiosqlite
import grpc
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from onehub.app import event_loop
from onehub.config import ENV_LOOP
from onehub.gen.onehub.v1 import models_pb2, topics_pb2

TOPIC_ID = "bare-topic"
_GET_TOPIC = "/onehub.v1.TopicService/GetTopic"


async def _database(path: Path) -> aiosqlite.Connection:
    connection = await aiosqlite.connect(path)
    await connection.execute("CREATE TABLE IF NOT EXISTS topics (id TEXT PRIMARY KEY, name TEXT)")
    await connection.execute("INSERT OR REPLACE INTO topics VALUES (?, ?)", (TOPIC_ID, "benchmark"))
    await connection.commit()
    return connection


def _grpc_handler(database: aiosqlite.Connection) -> grpc.GenericRpcHandler:
    async def get_topic(
        request: topics_pb2.GetTopicRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> topics_pb2.GetTopicResponse:
        async with database.execute(
            "SELECT id, name FROM topics WHERE id = ?", (request.id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such topic")
        topic = models_pb2.Topic(name=row[1])
        topic.base.id = row[0]
        return topics_pb2.GetTopicResponse(topic=topic)

    handler = grpc.unary_unary_rpc_method_handler(
        get_topic,
        request_deserializer=topics_pb2.GetTopicRequest.FromString,
        response_serializer=topics_pb2.GetTopicResponse.SerializeToString,
    )
    return grpc.method_handlers_generic_handler("onehub.v1.TopicService", {"GetTopic": handler})


def _app(channel: grpc.aio.Channel) -> Starlette:
    call = channel.unary_unary(
        _GET_TOPIC,
        request_serializer=topics_pb2.GetTopicRequest.SerializeToString,
        response_deserializer=topics_pb2.GetTopicResponse.FromString,
    )

    async def get_topic(request: Request) -> Response:
        try:
            response = await call(topics_pb2.GetTopicRequest(id=request.path_params["id"]))
        except grpc.aio.AioRpcError as error:
            message = json.dumps({"message": error.details()})
            return Response(message, 404, media_type="application/json")
        topic = response.topic
        body = {"topic": {"base": {"id": topic.base.id}, "name": topic.name}}
        return Response(json.dumps(body), media_type="application/json")

    return Starlette(routes=[Route("/v1/topics/{id}", get_topic, methods=["GET"])])


async def serve(directory: Path) -> None:
    database = await _database(directory / "bare.db")
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([_grpc_handler(database)])
    grpc_port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
        listening = socket.create_server(("127.0.0.1", 0))
        # asyncio sets TCP_NODELAY only on sockets it knows to be TCP: without it, Nagle adds
        # tens of milliseconds to small responses.
        listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        config = uvicorn.Config(
            _app(channel), log_config=None, access_log=False, lifespan="off", ws="none"
        )
        # uvicorn stops on SIGTERM or SIGINT, then re-raises the signal: the process ends there.
        http = uvicorn.Server(config)
        serving = asyncio.create_task(http.serve(sockets=[listening]))
        # uvicorn says it has started only through this flag; it offers nothing to await.
        while not http.started:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        print(
            f"bare chain ready: http=127.0.0.1:{listening.getsockname()[1]} topic={TOPIC_ID}",
            flush=True,
        )
        await serving
    await server.stop(None)
    await database.close()


if __name__ == "__main__":
    event_loop.run(serve(Path(sys.argv[1])), os.environ.get(ENV_LOOP, "auto"))
