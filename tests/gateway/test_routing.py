"""Which RPC a method and path reach, and what the path binds."""

from __future__ import annotations

import pytest

from .conftest import Gateway


@pytest.mark.parametrize("prefix", ["", "/api"])
@pytest.mark.parametrize(
    ("method", "path", "rpc", "expected"),
    [
        ("GET", "/v1/topics", "ListTopics", {}),
        ("GET", "/v1/topics/t1", "GetTopic", {"id": "t1"}),
        ("DELETE", "/v1/topics/t1", "DeleteTopic", {"id": "t1"}),
        ("GET", "/v1/topics:batchGet", "GetTopics", {}),
        ("GET", "/v1/topics/t1/messages", "ListMessages", {"topicId": "t1"}),
        ("GET", "/v1/messages", "SearchMessages", {}),
        ("GET", "/v1/messages/m1", "GetMessage", {"id": "m1"}),
        ("GET", "/v1/messages:batchGet", "GetMessages", {}),
        ("DELETE", "/v1/messages/m1", "DeleteMessage", {"id": "m1"}),
        ("GET", "/v1/users", "ListUsers", {}),
        ("GET", "/v1/users/u1", "GetUser", {"id": "u1"}),
        ("GET", "/v1/users:batchGet", "GetUsers", {}),
        ("DELETE", "/v1/users/u1", "DeleteUser", {"id": "u1"}),
    ],
)
async def test_each_template_reaches_its_rpc_with_its_path_values(
    gateway: Gateway, prefix: str, method: str, path: str, rpc: str, expected: dict[str, str]
) -> None:
    response = await gateway.client.request(method, prefix + path)

    assert response.status_code == 200, response.text
    assert gateway.backend.last.method == rpc
    from google.protobuf import json_format

    assert json_format.MessageToDict(gateway.backend.last.request) == expected
