"""The load generator's transports: gRPC through the generated stubs, REST through the gateway."""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import grpc
import httpx

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2

from .client import Hub
from .load_engine import OperationError


class GrpcLoadClient:
    """Calls the gRPC API on an open `Hub` (its credentials and per-call timeout)."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def create_user(self, user_id: str, name: str) -> None:
        request = users_pb2.CreateUserRequest(user=models_pb2.User(id=user_id, name=name))
        await self._call(self._hub.users.CreateUser(request, **self._options()))

    async def create_topic(self, topic_id: str, name: str, members: Sequence[str]) -> None:
        topic = models_pb2.Topic(
            base=models_pb2.MessageBase(id=topic_id), name=name, users=dict.fromkeys(members, True)
        )
        request = topics_pb2.CreateTopicRequest(topic=topic)
        await self._call(self._hub.topics.CreateTopic(request, **self._options()))

    async def create_message(self, topic_id: str, creator_id: str, text: str) -> None:
        message = models_pb2.Message(
            base=models_pb2.MessageBase(creator_id=creator_id),
            content_base=models_pb2.ContentBase(content_type="text/plain", content_text=text),
            topic_id=topic_id,
        )
        request = messages_pb2.CreateMessagesRequest(
            topic_id=topic_id, messages=[message], allow_userids=True
        )
        await self._call(self._hub.messages.CreateMessages(request, **self._options()))

    async def delete_topic(self, topic_id: str) -> None:
        request = topics_pb2.DeleteTopicRequest(id=topic_id)
        await self._call(self._hub.topics.DeleteTopic(request, **self._options()))

    async def delete_user(self, user_id: str) -> None:
        request = users_pb2.DeleteUserRequest(id=user_id)
        await self._call(self._hub.users.DeleteUser(request, **self._options()))

    def _options(self) -> dict[str, Any]:
        return {"metadata": self._hub.metadata, "timeout": self._hub.timeout}

    @staticmethod
    async def _call(call: Any) -> None:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            raise OperationError(error.code().name, error.details() or "") from None


# gRPC status names by number, to name the `code` of a gateway error body.
_GRPC_CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


class RestLoadClient:
    """Calls the REST gateway at `base_url` (e.g. http://127.0.0.1:9080) with Basic auth."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http

    @classmethod
    def open(cls, base_url: str, user: str, password: str, timeout: float) -> RestLoadClient:
        """Build a client; the caller closes it with `aclose()`."""
        http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"), auth=(user, password), timeout=timeout
        )
        return cls(http)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def create_user(self, user_id: str, name: str) -> None:
        await self._post("/v1/users", {"user": {"id": user_id, "name": name}})

    async def create_topic(self, topic_id: str, name: str, members: Sequence[str]) -> None:
        topic = {"base": {"id": topic_id}, "name": name, "users": dict.fromkeys(members, True)}
        await self._post("/v1/topics", {"topic": topic})

    async def create_message(self, topic_id: str, creator_id: str, text: str) -> None:
        message = {
            "base": {"creatorId": creator_id},
            "contentBase": {"contentType": "text/plain", "contentText": text},
            "topicId": topic_id,
        }
        body = {"messages": [message], "allowUserids": True}
        await self._post(f"/v1/topics/{topic_id}/messages", body)

    async def delete_topic(self, topic_id: str) -> None:
        await self._send("DELETE", f"/v1/topics/{topic_id}")

    async def delete_user(self, user_id: str) -> None:
        await self._send("DELETE", f"/v1/users/{user_id}")

    async def _post(self, path: str, body: dict[str, Any]) -> None:
        await self._send("POST", path, body)

    async def _send(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        try:
            response = await self._http.request(method, path, json=body)
        except httpx.TimeoutException as error:
            raise OperationError("DEADLINE_EXCEEDED", str(error)) from None
        except httpx.TransportError as error:
            raise OperationError("UNAVAILABLE", str(error) or type(error).__name__) from None
        if response.is_success:
            return
        raise OperationError(*_describe_failure(response))


def _describe_failure(response: httpx.Response) -> tuple[str, str]:
    """(code, message) from the gateway's `{"code", "message"}` body, else from the status."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("code"), int):
        name = _GRPC_CODE_NAMES.get(body["code"], f"HTTP_{response.status_code}")
        return name, str(body.get("message", ""))
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = "unexpected status"
    return f"HTTP_{response.status_code}", phrase
