"""How the query string and JSON body become the request message (grpc-gateway v2 rules)."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf import json_format

from .conftest import Gateway


def _sent(gateway: Gateway) -> dict[str, Any]:
    return json_format.MessageToDict(gateway.backend.last.request, preserving_proto_field_name=True)


async def test_nested_query_params_fill_nested_fields(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/api/v1/topics", params={"pagination.page_size": "10", "pagination.page_key": "k1"}
    )

    assert response.status_code == 200
    assert _sent(gateway) == {"pagination": {"page_size": 10, "page_key": "k1"}}


async def test_query_params_accept_json_names_too(gateway: Gateway) -> None:
    await gateway.client.get(
        "/v1/messages", params={"searchPhrase": "hi", "pagination.pageSize": "3"}
    )

    assert _sent(gateway) == {"search_phrase": "hi", "pagination": {"page_size": 3}}


async def test_repeated_query_params_collect_every_repetition(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics:batchGet?ids=a&ids=b&ids=a")

    assert _sent(gateway) == {"ids": ["a", "b", "a"]}


async def test_unknown_query_params_are_ignored(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/messages?order_by=-created_at&nope=1&a.b.c=2")

    assert response.status_code == 200
    assert _sent(gateway) == {"order_by": ["-created_at"]}


async def test_query_params_never_override_path_values(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics/t1/messages?topic_id=other&topicId=other")

    assert _sent(gateway) == {"topic_id": "t1"}


async def test_typed_query_params_are_converted(gateway: Gateway) -> None:
    query = (
        "filter.min_pages=-5&filter.shelf=SCIENCE&filter.years=1999&filter.years=2001"
        "&include_lent=true&after_isbn=9780000000001&min_rating=4.5&token=aGk_&shelf=2"
        "&since=2024-05-01T10:00:00Z&mask=title,pages&limit=7&shelves=FICTION&shelves=1&page=3"
    )
    response = await gateway.client.get(f"/v2/books?{query}")

    assert response.status_code == 200, response.text
    assert _sent(gateway) == {
        "filter": {"min_pages": -5, "shelf": "SCIENCE", "years": [1999, 2001]},
        "include_lent": True,
        "after_isbn": "9780000000001",
        "min_rating": 4.5,
        "token": "aGk/",  # the url-safe alphabet was accepted; the backend sees the bytes
        "shelf": "SCIENCE",
        "since": "2024-05-01T10:00:00Z",
        "mask": "title,pages",
        "limit": 7,
        "shelves": ["FICTION", "FICTION"],
        "page": 3,
    }


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("pagination.page_size=ten", ["pagination.page_size", "ten", "int32"]),
        ("pagination.page_size=99999999999", ["pagination.page_size", "out of range"]),
        ("pagination.page_size=1.5", ["int32"]),
        ("pagination.page_size=1&pagination.page_size=2", ["takes one value"]),
    ],
)
async def test_bad_onehub_query_values_are_400_naming_the_parameter(
    gateway: Gateway, query: str, words: list[str]
) -> None:
    response = await gateway.client.get(f"/v1/topics?{query}")

    assert response.status_code == 400
    assert response.json()["code"] == 3
    for word in words:
        assert word in response.json()["message"]
    assert gateway.backend.calls == []


@pytest.mark.parametrize(
    ("query", "expected_word"),
    [
        ("include_lent=maybe", "boolean"),
        ("shelf=POETRY", "FICTION"),  # the message lists the valid names
        ("page=-1", "include_lent" if False else "page"),
        ("min_rating=fast", "number"),
        ("token=%25%25%25", "base64"),
        ("since=yesterday", "Timestamp"),
        ("limit=many", "int32"),
        ("labels=x", "cannot set"),
        ("books=x", "cannot set"),
        ("filter=x", "cannot set"),
    ],
)
async def test_bad_typed_query_values_are_400(
    gateway: Gateway, query: str, expected_word: str
) -> None:
    response = await gateway.client.get(f"/v2/books?{query}")

    assert response.status_code == 400, response.text
    assert expected_word in response.json()["message"]


async def test_body_star_fills_the_request_and_path_values_win(gateway: Gateway) -> None:
    body = {
        "topic": {
            "base": {"id": "from-body", "creator_id": "u1"},
            "name": "Chat",
            "users": {"a": True},
        },
        "update_mask": "name,users",
        "addUsers": ["b"],
    }
    response = await gateway.client.patch("/v1/topics/from-path", json=body)

    assert response.status_code == 200, response.text
    assert _sent(gateway) == {
        "topic": {
            "base": {"id": "from-path", "creator_id": "u1"},
            "name": "Chat",
            "users": {"a": True},
        },
        "update_mask": "name,users",
        "add_users": ["b"],
    }


async def test_body_star_ignores_the_query_string(gateway: Gateway) -> None:
    await gateway.client.post("/v1/topics/t1/messages?allow_userids=true", json={})

    assert _sent(gateway) == {"topic_id": "t1"}


@pytest.mark.parametrize(
    "body",
    [
        {
            "messages": [{"content_base": {"content_text": "hi"}, "topic_id": "t"}],
            "allow_userids": True,
        },
        {
            "messages": [{"contentBase": {"contentText": "hi"}, "topicId": "t"}],
            "allowUserids": True,
        },
    ],
)
async def test_bodies_accept_proto_and_json_names(gateway: Gateway, body: dict[str, Any]) -> None:
    response = await gateway.client.post("/v1/topics/t1/messages", json=body)

    assert response.status_code == 200, response.text
    assert _sent(gateway) == {
        "topic_id": "t1",
        "messages": [{"content_base": {"content_text": "hi"}, "topic_id": "t"}],
        "allow_userids": True,
    }


async def test_unknown_body_fields_are_ignored(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/topics", json={"topic": {"name": "x", "color": "red"}, "extra": [1, 2]}
    )

    assert response.status_code == 200
    assert _sent(gateway) == {"topic": {"name": "x"}}


async def test_an_empty_body_is_an_empty_request(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/topics", content=b"")

    assert response.status_code == 200
    assert _sent(gateway) == {}


async def test_a_body_field_binding_parses_the_body_into_that_field(gateway: Gateway) -> None:
    response = await gateway.client.patch(
        "/v2/shelves/s/books/b?update_mask=title&book.title=ignored",
        json={"title": "Dune", "pages": 412, "name": "overridden"},
    )

    assert response.status_code == 200, response.text
    assert _sent(gateway) == {
        "book": {"name": "shelves/s/books/b", "title": "Dune", "pages": 412},
        "update_mask": "title",
    }


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"topic": {"name": "x"}', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'"a string"', "must be a JSON object"),
        (b"42", "must be a JSON object"),
        (b"null", "must be a JSON object"),
        (b'{"topic": "not an object"}', "topic must be a JSON object"),
        (b'{"topic": {"base": [1]}}', "topic.base must be a JSON object"),
        (b'{"topic": {"name": 5}}', "name"),
        (b'{"topic": {"users": {"a": "yes"}}}', "users"),
        (b'{"topic": {"base": {"created_at": "last tuesday"}}}', "created_at"),
        (b'{"topic": {"base": {"id": 5}}}', "id"),
        (b'{"topic": {"name": NaN}}', "NaN"),
        (b'{"x": 1e999}', "too large"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"topic": {"base": ' * 200 + b"{}" + b"}}" * 200, "topic"),
    ],
)
async def test_malformed_or_mistyped_bodies_are_400_with_a_clear_message(
    gateway: Gateway, content: bytes, words: str
) -> None:
    response = await gateway.client.post(
        "/v1/topics", content=content, headers={"content-type": "application/json"}
    )

    assert response.status_code in (400, 413), response.text
    if response.status_code == 400:
        assert response.json()["code"] == 3
        assert words in response.json()["message"]
        assert "Traceback" not in response.text
    assert gateway.backend.calls == []


async def test_a_form_body_is_parsed_as_json_like_grpc_gateway(gateway: Gateway) -> None:
    # `curl -d '{...}'` sends application/x-www-form-urlencoded; the original accepted it.
    form = {"content-type": "application/x-www-form-urlencoded"}
    accepted = await gateway.client.post(
        "/v1/topics", content=b'{"topic": {"name": "x"}}', headers=form
    )
    refused = await gateway.client.post("/v1/topics", content=b"name=x", headers=form)

    assert accepted.status_code == 200
    assert refused.status_code == 400
    assert refused.json()["code"] == 3


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "application/merge-patch+json"]
)
async def test_json_media_types_are_accepted(gateway: Gateway, content_type: str) -> None:
    response = await gateway.client.post(
        "/v1/topics", content=b'{"topic": {"name": "x"}}', headers={"content-type": content_type}
    )

    assert response.status_code == 200


async def test_a_declared_oversized_body_is_413_without_being_read(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/topics", json={"topic": {"name": "x" * 5000}}
    )  # the fixture's limit is 4096 bytes

    assert response.status_code == 413
    assert response.json()["code"] == 8
    assert "4096" in response.json()["message"]
    assert gateway.backend.calls == []


async def test_a_streamed_body_past_the_limit_is_413(gateway: Gateway) -> None:
    async def chunks() -> Any:
        yield b'{"topic": {"name": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}}'

    response = await gateway.client.post(
        "/v1/topics", content=chunks(), headers={"content-type": "application/json"}
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert gateway.backend.calls == []


async def test_a_streamed_body_under_the_limit_is_read_whole(gateway: Gateway) -> None:
    async def chunks() -> Any:
        yield b'{"topic": '
        yield b'{"name": "streamed"}}'

    response = await gateway.client.post("/v1/topics", content=chunks())

    assert response.status_code == 200
    assert _sent(gateway) == {"topic": {"name": "streamed"}}


async def test_a_bad_content_length_is_400(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/topics", content=b"{}", headers={"content-length": "-1"}
    )

    assert response.status_code == 400


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"update_mask": 7}, "update_mask"),
        ({"topic": {"base": {"id": "x"}}, "addUsers": "u1"}, "addUsers"),
        ({"topic": {"users": [1]}}, "users"),
    ],
)
async def test_mistyped_update_bodies_are_400(
    gateway: Gateway, body: dict[str, Any], words: str
) -> None:
    response = await gateway.client.patch("/v1/topics/t1", json=body)

    assert response.status_code == 400
    assert words in response.json()["message"]


async def test_repeated_messages_must_hold_objects(gateway: Gateway) -> None:
    response = await gateway.client.post("/v1/messages:import", json={"messages": [{}, "x"]})

    assert response.status_code == 400
    assert "messages[1] must be a JSON object" in response.json()["message"]
