"""UserService over gRPC: decode, one service call, encode."""

from __future__ import annotations

from typing import Any, TypeAlias

import grpc

from onehub.gen.onehub.v1 import users_pb2 as pb
from onehub.gen.onehub.v1 import users_pb2_grpc
from onehub.services.users import UserService
from onehub.transport.grpc import convert
from onehub.transport.grpc.principal import current_principal

# A string: ServicerContext is generic only in the type stubs.
Context: TypeAlias = "grpc.aio.ServicerContext[Any, Any]"


class UserServicer(users_pb2_grpc.UserServiceServicer):
    def __init__(self, service: UserService) -> None:
        self._service = service

    async def CreateUser(
        self, request: pb.CreateUserRequest, context: Context
    ) -> pb.CreateUserResponse:
        user = await self._service.create_user(
            current_principal(), convert.user_from_proto(request.user)
        )
        return pb.CreateUserResponse(user=convert.user_to_proto(user))

    async def ListUsers(
        self, request: pb.ListUsersRequest, context: Context
    ) -> pb.ListUsersResponse:
        page = await self._service.list_users(
            current_principal(), convert.page_request_from_proto(request.pagination)
        )
        return pb.ListUsersResponse(
            users=[convert.user_to_proto(user) for user in page.items],
            pagination=convert.page_to_proto(page),
        )

    async def GetUser(self, request: pb.GetUserRequest, context: Context) -> pb.GetUserResponse:
        user = await self._service.get_user(current_principal(), request.id)
        return pb.GetUserResponse(user=convert.user_to_proto(user))

    async def GetUsers(self, request: pb.GetUsersRequest, context: Context) -> pb.GetUsersResponse:
        users = await self._service.get_users(current_principal(), list(request.ids))
        return pb.GetUsersResponse(
            users={user_id: convert.user_to_proto(user) for user_id, user in users.items()}
        )

    async def DeleteUser(
        self, request: pb.DeleteUserRequest, context: Context
    ) -> pb.DeleteUserResponse:
        await self._service.delete_user(current_principal(), request.id)
        return pb.DeleteUserResponse()

    async def UpdateUser(
        self, request: pb.UpdateUserRequest, context: Context
    ) -> pb.UpdateUserResponse:
        user = await self._service.update_user(
            current_principal(),
            convert.user_from_proto(request.user),
            update_mask=convert.mask_paths(request.update_mask),
        )
        return pb.UpdateUserResponse(user=convert.user_to_proto(user))
