"""MessageService over gRPC: decode, one service call, encode."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from onehub.gen.onehub.v1 import messages_pb2 as pb
from onehub.gen.onehub.v1 import messages_pb2_grpc
from onehub.services.messages import MessageService
from onehub.transport.grpc import convert
from onehub.transport.grpc.principal import current_principal

# A string: ServicerContext is generic only in the type stubs.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class MessageServicer(messages_pb2_grpc.MessageServiceServicer):
    def __init__(self, service: MessageService) -> None:
        self._service = service

    async def CreateMessages(
        self, request: pb.CreateMessagesRequest, context: Context
    ) -> pb.CreateMessagesResponse:
        messages = await self._service.create_messages(
            current_principal(),
            request.topic_id,
            convert.messages_from_proto(request.messages),
            allow_userids=request.allow_userids,
        )
        response = pb.CreateMessagesResponse()
        convert.add_messages(response.messages, messages)
        return response

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: Context
    ) -> pb.ListMessagesResponse:
        page = await self._service.list_messages(
            current_principal(),
            request.topic_id,
            convert.page_request_from_proto(request.pagination),
        )
        response = pb.ListMessagesResponse(pagination=convert.page_to_proto(page))
        convert.add_messages(response.messages, page.items)
        return response

    async def SearchMessages(
        self, request: pb.SearchMessagesRequest, context: Context
    ) -> pb.SearchMessagesResponse:
        query = convert.message_query_from_proto(
            request.search_phrase, request.sender_id, request.topic_id, request.order_by
        )
        page = await self._service.search_messages(
            current_principal(), query, convert.page_request_from_proto(request.pagination)
        )
        response = pb.SearchMessagesResponse(pagination=convert.page_to_proto(page))
        convert.add_messages(response.messages, page.items)
        return response

    async def ImportMessages(
        self, request: pb.ImportMessagesRequest, context: Context
    ) -> pb.ImportMessagesResponse:
        messages = await self._service.import_messages(
            current_principal(), convert.messages_from_proto(request.messages)
        )
        response = pb.ImportMessagesResponse()
        convert.add_messages(response.messages, messages)
        return response

    async def GetMessage(
        self, request: pb.GetMessageRequest, context: Context
    ) -> pb.GetMessageResponse:
        message = await self._service.get_message(current_principal(), request.id)
        return pb.GetMessageResponse(message=convert.message_to_proto(message))

    async def GetMessages(
        self, request: pb.GetMessagesRequest, context: Context
    ) -> pb.GetMessagesResponse:
        messages = await self._service.get_messages(current_principal(), list(request.ids))
        return pb.GetMessagesResponse(
            messages={
                message_id: convert.message_to_proto(message)
                for message_id, message in messages.items()
            }
        )

    async def DeleteMessage(
        self, request: pb.DeleteMessageRequest, context: Context
    ) -> pb.DeleteMessageResponse:
        await self._service.delete_message(current_principal(), request.id)
        return pb.DeleteMessageResponse()

    async def UpdateMessage(
        self, request: pb.UpdateMessageRequest, context: Context
    ) -> pb.UpdateMessageResponse:
        message = await self._service.update_message(
            current_principal(),
            convert.message_from_proto(request.message),
            update_mask=convert.message_mask_paths(request.update_mask),
            append_mask=convert.message_mask_paths(request.append_mask),
        )
        return pb.UpdateMessageResponse(message=convert.message_to_proto(message))
