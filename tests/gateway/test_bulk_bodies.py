"""Per-method body limits, and the element-by-element decoding and rendering of bulk bodies:
every input decodes (or is refused) exactly as json_format would, every response renders as
json_format would render it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from google.protobuf import json_format
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2
from onehub.transport.gateway.errors import GatewayError
from onehub.transport.gateway.json_body import check_objects, fill_whole_body, first_non_space
from onehub.transport.gateway.rendering import render_json
from onehub.transport.gateway.routes import bindings_for, body_limit_table

from .conftest import Gateway, RecordingBackend, _gateway, all_services
from .library import library_service

IMPORT = "onehub.v1.MessageService.ImportMessages"


@pytest.fixture
async def bulk_gateway(
    backend_port: tuple[RecordingBackend, int],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> AsyncIterator[Gateway]:
    options: dict[str, Any] = {"max_body_bytes": 4096, "body_limits": {IMPORT: 100_000}}
    async for each in _gateway(backend_port, tracer_provider, span_exporter, **options):
        yield each


async def test_a_method_with_its_own_limit_takes_larger_bodies(bulk_gateway: Gateway) -> None:
    messages = [{"topic_id": "t", "content_base": {"content_text": "x" * 100}}] * 500
    response = await bulk_gateway.client.post("/v1/messages:import", json={"messages": messages})
    assert response.status_code == 200, response.text
    assert len(bulk_gateway.backend.last.request.messages) == 500  # type: ignore[attr-defined]

    too_big = await bulk_gateway.client.post("/v1/messages:import", json={"messages": messages * 3})
    assert too_big.status_code == 413
    assert "100000 bytes" in too_big.json()["message"]
    # Every other method keeps the default.
    topic = await bulk_gateway.client.post("/v1/topics", json={"topic": {"name": "x" * 5000}})
    assert topic.status_code == 413
    assert "4096 bytes" in topic.json()["message"]


async def test_the_openapi_document_states_each_methods_limit(bulk_gateway: Gateway) -> None:
    document = (await bulk_gateway.client.get("/api/openapi.json")).json()
    bulk = document["paths"]["/v1/messages:import"]["post"]
    assert bulk["requestBody"]["x-max-body-bytes"] == 100_000
    assert "413" in bulk["responses"]
    assert document["paths"]["/v1/topics"]["post"]["requestBody"]["x-max-body-bytes"] == 4096


def test_a_limit_for_a_method_that_is_not_served_or_not_positive_is_refused() -> None:
    bindings = bindings_for(all_services())
    with pytest.raises(ValueError, match=r"not served: onehub\.v1\.MessageService\.Typo"):
        body_limit_table(bindings, 4096, {"onehub.v1.MessageService.Typo": 1})
    with pytest.raises(ValueError, match="must be positive"):
        body_limit_table(bindings, 4096, {IMPORT: 0})
    assert body_limit_table(bindings, 4096, {IMPORT: 9})[IMPORT] == 9


def _books_request() -> Message:
    descriptor = library_service().file.message_types_by_name["ListBooksRequest"]
    return GetMessageClass(descriptor)()


def _decode(text: str) -> Message | str:
    request = _books_request()
    try:
        start = first_non_space(text)
        assert start is not None
        fill_whole_body(text, start, request, lambda rest: json_format.ParseDict(rest, request))
    except GatewayError as error:
        return f"refused: {error.message}"
    return request


def _reference(text: str) -> Message | str:
    request = _books_request()
    try:
        document = json.loads(text)
        check_objects(document, request.DESCRIPTOR, "")
        json_format.ParseDict(document, request, ignore_unknown_fields=True)
    except (GatewayError, json_format.ParseError, ValueError):
        return "refused"
    return request


BOOKS: list[Any] = [
    {"name": "a", "title": "T", "pages": 3, "isbn": 9780000000000, "lent": True},
    {"isbn": "9780000000000", "pages": "12", "rating": 4.5, "cover": "AAE=", "shelf": "FICTION"},
    {"published": "2024-03-01T12:00:00Z"},
    {"published": "2024-03-01T12:00:00.5Z"},
    {"published": "2024-03-01T12:00:00.123456789Z"},
    {"published": "2024-03-01T12:00:00+02:00"},
    {"published": "2024-02-30T12:00:00Z"},
    {"published": "2024-03-01T24:00:00Z"},
    {"published": "0001-01-01T00:00:00Z"},
    {"published": "9999-12-31T23:59:59.999999999Z"},
    {"published": "2024-03-01 12:00:00Z"},
    {"published": 5},
    {"tags": ["x", "y"], "counts": {"a": 1, "b": -2}},
    {"tags": "x"},
    {"counts": {"a": "1"}},
    {"pages": 2**31},
    {"pages": -1.0},
    {"pages": True},
    {"title": None, "published": None},
    {"title": 5},
    {"unknown": {"deep": [1]}, "title": "t"},
    {"title": "a", "Title": "b"},
    {"name": "proto", "title": "t", "pages": 1, "PAGES": 2},
    "not an object",
    None,
    [],
    {"title": "\ud800"},
]


@pytest.mark.parametrize("book", BOOKS, ids=[json.dumps(book)[:40] for book in BOOKS])
def test_each_element_decodes_as_json_format_decodes_it(book: Any) -> None:
    text = json.dumps({"books": [{"title": "first"}, book], "page": 2})
    fast, reference = _decode(text), _reference(text)
    if isinstance(reference, str):
        assert isinstance(fast, str), fast
        assert "books[1]" in fast or "page" in fast or "JSON" in fast, fast
    else:
        assert fast == reference


@pytest.mark.parametrize(
    ("text", "wording"),
    [
        ('{"books": [{}, {}', "not valid JSON"),
        ('{"books": [{} {}]}', "Expecting ',' delimiter"),
        ('{"books": []} x', "Extra data"),
        ('{"books": [], "books": []}', "twice"),
        ('{"books": [{"pages": NaN}]}', "NaN is not JSON"),
        ('{"books": [{"rating": 1e999}]}', "too large"),
        ('{"books" []}', "Expecting ':' delimiter"),
        ("{'books': []}", "double quotes"),
        ('{"books": [' + "[" * 100_000 + "]" * 100_000 + "]}", "nested too deeply"),
    ],
)
def test_bad_bodies_are_refused_with_a_plain_reason(text: str, wording: str) -> None:
    result = _decode(text)
    assert isinstance(result, str)
    assert wording in result


def test_an_empty_array_and_other_fields_decode() -> None:
    request = _decode(' {"books": [ ], "page": 3, "shelves": ["FICTION"]} ')
    assert not isinstance(request, str)
    assert request.page == 3  # type: ignore[attr-defined]
    assert len(request.books) == 0  # type: ignore[attr-defined]


def _responses() -> list[Message]:
    book_class = GetMessageClass(library_service().file.message_types_by_name["Book"])
    books_class = GetMessageClass(library_service().file.message_types_by_name["ListBooksResponse"])
    stamp = {"seconds": 1_700_000_000, "nanos": 120_000_000}
    message = {
        "base": {"id": "m", "creator_id": "u", "created_at": stamp},
        "content_base": {"content_text": "hi", "content_data": {"k": [1, "x", None, 2.5]}},
        "topic_id": "t",
    }
    return [
        messages_pb2.ImportMessagesResponse(messages=[message, {}, {"topic_id": "x"}]),
        messages_pb2.ImportMessagesResponse(),
        messages_pb2.ListMessagesResponse(
            pagination={"next_page_key": "k", "total_num_results": 3}
        ),
        messages_pb2.GetMessagesResponse(messages={"m": message}),
        topics_pb2.GetTopicResponse(topic={"base": {"id": "t"}, "users": {"a": True, "b": False}}),
        topics_pb2.GetTopicResponse(),
        users_pb2.GetUserResponse(user={"id": "u", "profile_data": {"x": 1}}),
        users_pb2.ListUsersResponse(users=[models_pb2.User(id="u")]),
        books_class(
            books=[
                book_class(
                    name="n",
                    pages=-3,
                    isbn=2**60,
                    lent=True,
                    rating=0.1,
                    cover=b"\x00\xff",
                    shelf=1,
                    published={"seconds": -5, "nanos": 1},
                    tags=["a"],
                    counts={"x": 1},
                ),
                book_class(),
            ]
        ),
    ]


@pytest.mark.parametrize("response", _responses(), ids=lambda r: r.DESCRIPTOR.name)
def test_responses_render_as_json_format_renders_them(response: Message) -> None:
    reference = json_format.MessageToDict(response, always_print_fields_with_no_presence=True)
    rendered = json.loads(render_json(response))
    # json_format leaves unset message fields out; the gateway renders them as null.
    assert _without_nulls(rendered) == _without_nulls(reference)
    if response.DESCRIPTOR.name == "ImportMessagesResponse" and len(response.messages) == 3:  # type: ignore[attr-defined]
        assert rendered["messages"][1]["base"] is None
        assert rendered["messages"][1]["contentBase"] is None


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.fixture
async def small_grpc_gateway(
    backend_port: tuple[RecordingBackend, int],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
) -> AsyncIterator[Gateway]:
    options: dict[str, Any] = {"max_body_bytes": 100_000, "max_request_bytes": 10_000}
    async for each in _gateway(backend_port, tracer_provider, span_exporter, **options):
        yield each


async def test_a_body_that_grows_past_the_grpc_limit_once_encoded_is_413(
    small_grpc_gateway: Gateway,
) -> None:
    # 2 bytes of JSON per number, 11 once encoded (a Struct's list of doubles).
    numbers = [1] * 2000
    message = {"topic_id": "t", "content_base": {"content_data": {"k": numbers}}}
    body = json.dumps({"messages": [message]}, separators=(",", ":")).encode()
    assert len(body) < 10_000
    response = await small_grpc_gateway.client.post("/v1/messages:import", content=body)
    assert response.status_code == 413, response.text
    assert "larger than 10000 bytes once encoded" in response.json()["message"]
    assert small_grpc_gateway.backend.calls == []
    # Under the limit it goes through.
    fits = {"messages": [{"topic_id": "t", "content_base": {"content_data": {"k": [1] * 500}}}]}
    assert (
        await small_grpc_gateway.client.post("/v1/messages:import", json=fits)
    ).status_code == 200
