"""TopicService over gRPC: decode, one service call, encode."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from onehub.gen.onehub.v1 import topics_pb2 as pb
from onehub.gen.onehub.v1 import topics_pb2_grpc
from onehub.services.topics import TopicService
from onehub.transport.grpc import convert
from onehub.transport.grpc.principal import current_principal

# A string: ServicerContext is generic only in the type stubs.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class TopicServicer(topics_pb2_grpc.TopicServiceServicer):
    def __init__(self, service: TopicService) -> None:
        self._service = service

    async def CreateTopic(
        self, request: pb.CreateTopicRequest, context: Context
    ) -> pb.CreateTopicResponse:
        topic = await self._service.create_topic(
            current_principal(), convert.topic_from_proto(request.topic)
        )
        return pb.CreateTopicResponse(topic=convert.topic_to_proto(topic))

    async def ListTopics(
        self, request: pb.ListTopicsRequest, context: Context
    ) -> pb.ListTopicsResponse:
        page = await self._service.list_topics(
            current_principal(), convert.page_request_from_proto(request.pagination)
        )
        return pb.ListTopicsResponse(
            topics=[convert.topic_to_proto(topic) for topic in page.items],
            pagination=convert.page_to_proto(page),
        )

    async def GetTopic(self, request: pb.GetTopicRequest, context: Context) -> pb.GetTopicResponse:
        topic = await self._service.get_topic(current_principal(), request.id)
        return pb.GetTopicResponse(topic=convert.topic_to_proto(topic))

    async def GetTopics(
        self, request: pb.GetTopicsRequest, context: Context
    ) -> pb.GetTopicsResponse:
        topics = await self._service.get_topics(current_principal(), list(request.ids))
        return pb.GetTopicsResponse(
            topics={topic_id: convert.topic_to_proto(topic) for topic_id, topic in topics.items()}
        )

    async def DeleteTopic(
        self, request: pb.DeleteTopicRequest, context: Context
    ) -> pb.DeleteTopicResponse:
        await self._service.delete_topic(current_principal(), request.id)
        return pb.DeleteTopicResponse()

    async def UpdateTopic(
        self, request: pb.UpdateTopicRequest, context: Context
    ) -> pb.UpdateTopicResponse:
        topic = await self._service.update_topic(
            current_principal(),
            convert.topic_from_proto(request.topic),
            update_mask=convert.mask_paths(request.update_mask),
            add_users=list(request.add_users),
            remove_users=list(request.remove_users),
        )
        return pb.UpdateTopicResponse(topic=convert.topic_to_proto(topic))
