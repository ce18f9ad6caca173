"""Which RPC an HTTP method and path reach, and what the path binds."""

from __future__ import annotations

import pytest
from google.protobuf import json_format

from .conftest import Gateway


@pytest.mark.parametrize("prefix", ["", "/api"])
@pytest.mark.parametrize(
    ("method", "path", "rpc", "expected"),
    [
        ("GET", "/v1/topics", "ListTopics", {}),
        ("POST", "/v1/topics", "CreateTopic", {}),
        ("GET", "/v1/topics/t1", "GetTopic", {"id": "t1"}),
        ("DELETE", "/v1/topics/t1", "DeleteTopic", {"id": "t1"}),
        ("PATCH", "/v1/topics/t1", "UpdateTopic", {"topic": {"base": {"id": "t1"}}}),
        ("GET", "/v1/topics:batchGet", "GetTopics", {}),
        ("POST", "/v1/topics/t1/messages", "CreateMessages", {"topicId": "t1"}),
        ("GET", "/v1/topics/t1/messages", "ListMessages", {"topicId": "t1"}),
        ("GET", "/v1/messages", "SearchMessages", {}),
        ("POST", "/v1/messages:import", "ImportMessages", {}),
        ("GET", "/v1/messages/m1", "GetMessage", {"id": "m1"}),
        ("GET", "/v1/messages:batchGet", "GetMessages", {}),
        ("DELETE", "/v1/messages/m1", "DeleteMessage", {"id": "m1"}),
        ("PATCH", "/v1/messages/m1", "UpdateMessage", {"message": {"base": {"id": "m1"}}}),
        ("POST", "/v1/users", "CreateUser", {}),
        ("GET", "/v1/users", "ListUsers", {}),
        ("GET", "/v1/users/u1", "GetUser", {"id": "u1"}),
        ("GET", "/v1/users:batchGet", "GetUsers", {}),
        ("DELETE", "/v1/users/u1", "DeleteUser", {"id": "u1"}),
        ("PATCH", "/v1/users/u1", "UpdateUser", {"user": {"id": "u1"}}),
    ],
)
async def test_every_onehub_route_reaches_its_rpc_with_its_path_values(
    gateway: Gateway, prefix: str, method: str, path: str, rpc: str, expected: dict[str, object]
) -> None:
    response = await gateway.client.request(method, prefix + path)

    assert response.status_code == 200, response.text
    assert gateway.backend.last.method == rpc
    assert json_format.MessageToDict(gateway.backend.last.request) == expected


@pytest.mark.parametrize(
    ("method", "path", "rpc", "expected"),
    [
        ("GET", "/v2/shelves/s1/books", "ListBooks", {"parent": "shelves/s1"}),
        ("GET", "/v2/books", "ListBooks", {}),  # the additional binding
        ("GET", "/v2/shelves/s1/books/b2", "GetBook", {"name": "shelves/s1/books/b2"}),
        (
            "PATCH",
            "/v2/shelves/s1/books/b2",
            "UpdateBook",
            {"book": {"name": "shelves/s1/books/b2"}},
        ),
        ("POST", "/v2/shelves/s1/books/b2:move", "MoveBook", {"name": "shelves/s1/books/b2"}),
        ("GET", "/v2/files/a/b/c.txt", "ReadFile", {"path": "a/b/c.txt"}),
        ("OPTIONS", "/v2/ping", "Ping", {}),  # a custom pattern
        ("GET", "/api/v2/books", "ListBooks", {}),
    ],
)
async def test_templates_of_any_shape_route_by_descriptor_alone(
    gateway: Gateway, method: str, path: str, rpc: str, expected: dict[str, object]
) -> None:
    response = await gateway.client.request(method, path)

    assert response.status_code == 200, response.text
    assert gateway.backend.last.method == rpc
    assert json_format.MessageToDict(gateway.backend.last.request) == expected


async def test_a_custom_verb_is_not_swallowed_by_an_id_variable(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics:batchGet", params={"ids": ["a", "b"]})
    assert gateway.backend.last.method == "GetTopics"

    await gateway.client.get("/v1/topics/batchGet")
    assert gateway.backend.last.method == "GetTopic"

    await gateway.client.get("/v1/topics/x:batchGet")  # no such template: the colon is data
    assert gateway.backend.last.method == "GetTopic"
    assert gateway.backend.last.request.id == "x:batchGet"  # type: ignore[attr-defined]


async def test_path_values_are_percent_decoded(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/topics/caf%C3%A9%20%2F%20bar")

    assert response.status_code == 200
    assert gateway.backend.last.request.id == "café / bar"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "path",
    [
        "/v1/nothing",
        "/v1/topics/t1/extra",
        "/v1/topics:unknownVerb",
        "/v1/topics/",
        "/api/x",
        "/api",
        "/v1",
        "/api/v1",
        "/api/api/v1/topics",
    ],
)
async def test_an_unknown_path_is_404_with_the_error_shape(gateway: Gateway, path: str) -> None:
    response = await gateway.client.get(path)

    assert response.status_code == 404
    assert response.json()["code"] == 5
    assert response.json()["details"] == []
    assert response.json()["message"]
    assert gateway.backend.calls == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/v1/topics/t1", "DELETE, GET, PATCH"),
        ("DELETE", "/v1/topics", "GET, POST"),
        ("POST", "/api/v1/topics:batchGet", "GET"),
        ("HEAD", "/v1/users", "GET, POST"),
    ],
)
async def test_a_wrong_method_on_a_known_path_is_405_naming_the_allowed_ones(
    gateway: Gateway, method: str, path: str, allowed: str
) -> None:
    response = await gateway.client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    if method != "HEAD":
        assert response.json()["code"] == 12
        assert "not allowed" in response.json()["message"]
    assert gateway.backend.calls == []


async def test_the_openapi_document_is_not_shadowed_by_the_api_mount(gateway: Gateway) -> None:
    response = await gateway.client.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.json()["openapi"] == "3.1.0"
