"""Unexpected failures: INTERNAL with a generic message for the client, the details in the log."""

from __future__ import annotations

import logging

import grpc
import pytest

from onehub.gen.onehub.v1 import models_pb2, topics_pb2
from onehub.services.ports import UnitOfWork

from .conftest import ALICE, StartHub


class _BrokenFactory:
    def __call__(self) -> UnitOfWork:
        raise RuntimeError("connection to db-primary.internal:5432 refused")


async def test_an_unexpected_error_is_internal_and_logged_not_leaked(
    start_hub: StartHub, caplog: pytest.LogCaptureFixture
) -> None:
    hub = await start_hub(_BrokenFactory())
    caplog.set_level(logging.ERROR, logger="onehub")

    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await hub.topics.CreateTopic(
            topics_pb2.CreateTopicRequest(topic=models_pb2.Topic(name="t")), metadata=ALICE
        )

    assert failed.value.code() is grpc.StatusCode.INTERNAL
    assert failed.value.details() == "internal error"
    assert "db-primary" not in str(failed.value)
    [record] = [r for r in caplog.records if r.name.startswith("onehub.transport")]
    assert "/onehub.v1.TopicService/CreateTopic" in record.getMessage()
    assert record.exc_info is not None
    assert "db-primary.internal" in str(record.exc_info[1])


async def test_an_unknown_method_is_unimplemented(start_hub: StartHub) -> None:
    hub = await start_hub(_BrokenFactory())
    call = hub.channel.unary_unary("/onehub.v1.TopicService/Nope")
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call(b"", metadata=ALICE)
    assert failed.value.code() is grpc.StatusCode.UNIMPLEMENTED
