"""The OpenAPI 3.1 document: valid, complete, and truthful enough for schemathesis."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from onehub.transport.gateway.routes import bindings_for

from .conftest import ONEHUB_SERVICES, Gateway, LiveGateway, all_services


@pytest.fixture
async def document(gateway: Gateway) -> dict[str, Any]:
    response = await gateway.client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    result: dict[str, Any] = response.json()
    return result


def _operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][path][method]
    return operation


def _parameters(operation: dict[str, Any], where: str) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation["parameters"] if p["in"] == where}


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    errors = [error.message for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert errors == []


def test_every_component_schema_is_valid_json_schema(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        assert jsonschema_rs.meta.is_valid(schema), name


def test_every_binding_is_one_operation_with_its_path_parameters(
    document: dict[str, Any],
) -> None:
    bindings = bindings_for(all_services())
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert len(operations) == len(bindings)
    for path, method, operation in operations:
        in_path = re.findall(r"\{([^}]+)\}", path)
        assert list(_parameters(operation, "path")) == in_path, (method, path)
        assert all(p["required"] for p in _parameters(operation, "path").values())
    ids = [operation["operationId"] for _, _, operation in operations]
    assert len(set(ids)) == len(ids)


def test_routes_of_one_shape_share_a_path_and_say_what_they_bind(
    document: dict[str, Any],
) -> None:
    assert set(document["paths"]["/v1/topics/{id}"]) == {"get", "delete", "patch"}
    (patch_id,) = _parameters(_operation(document, "/v1/topics/{id}", "patch"), "path").values()
    assert "topic.base.id" in patch_id["description"]
    assert "/v1/topics:batchGet" in document["paths"]
    assert "/v1/messages:import" in document["paths"]


def test_get_and_delete_list_their_non_path_fields_as_query_parameters(
    document: dict[str, Any],
) -> None:
    listed = _parameters(_operation(document, "/v1/topics", "get"), "query")
    searched = _parameters(_operation(document, "/v1/messages", "get"), "query")
    batch = _parameters(_operation(document, "/v1/topics:batchGet", "get"), "query")
    per_topic = _operation(document, "/v1/topics/{topic_id}/messages", "get")

    assert set(listed) == {"pagination.page_key", "pagination.page_size"}
    assert listed["pagination.page_size"]["schema"]["maximum"] == 2**31 - 1
    assert set(searched) == {
        "search_phrase",
        "sender_id",
        "topic_id",
        "order_by",
        "pagination.page_key",
        "pagination.page_size",
    }
    assert searched["order_by"]["schema"] == {"type": "array", "items": {"type": "string"}}
    assert batch["ids"]["schema"]["type"] == "array"
    assert set(_parameters(per_topic, "query")) == {"pagination.page_key", "pagination.page_size"}
    assert _parameters(_operation(document, "/v1/topics/{id}", "delete"), "query") == {}


def test_body_operations_describe_their_body(document: dict[str, Any]) -> None:
    create = _operation(document, "/v1/topics", "post")
    update_book = _operation(document, "/v2/{name}", "patch")

    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/onehub.v1.CreateTopicRequest"
    }
    assert _parameters(create, "query") == {}
    assert update_book["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/gatewaytest.v1.Book"
    }
    assert set(_parameters(update_book, "query")) == {"update_mask"}
    assert "requestBody" not in _operation(document, "/v1/topics", "get")


def test_schemas_follow_the_proto3_json_mapping(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    topic = schemas["onehub.v1.Topic"]["properties"]
    base = schemas["onehub.v1.MessageBase"]["properties"]
    user = schemas["onehub.v1.User"]["properties"]
    book = schemas["gatewaytest.v1.Book"]["properties"]

    assert set(topic) == {"base", "name", "users"}
    assert topic["users"] == {
        "type": ["object", "null"],
        "additionalProperties": {"type": "boolean"},
        "maxProperties": 1000,
        "description": "members keyed by user id, each an existing user (or the caller); at "
        "most 1000, their ids taking at most 32768 bytes of UTF-8 together",
    }
    assert topic["name"] == {"type": ["string", "null"], "maxLength": 256}
    assert (user["name"]["maxLength"], user["avatar"]["maxLength"]) == (256, 2048)
    assert topic["base"] == {
        "anyOf": [{"$ref": "#/components/schemas/onehub.v1.MessageBase"}, {"type": "null"}]
    }
    assert base["createdAt"]["format"] == "date-time"
    assert user["profileData"] == {
        "type": ["object", "null"],
        "additionalProperties": True,
        "description": "any JSON object, at most 30 levels of objects and arrays deep, taking "
        "at most 32768 bytes as a protobuf Struct",
    }
    assert schemas["onehub.v1.UpdateTopicRequest"]["properties"]["updateMask"]["type"] == [
        "string",
        "null",
    ]
    assert book["tags"]["type"] == ["array", "null"]
    assert book["shelf"]["enum"] == ["SHELF_UNSPECIFIED", "FICTION", "SCIENCE", None]
    assert book["isbn"]["format"] == "int64"


def test_errors_and_security_are_described(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    operation = _operation(document, "/v1/users/{id}", "get")

    assert set(error["required"]) == {"code", "message", "details"}
    assert document["components"]["securitySchemes"]["basicAuth"]["scheme"] == "basic"
    assert document["security"] == [{"basicAuth": []}]
    assert "default" in operation["responses"]
    assert "WWW-Authenticate" in operation["responses"]["401"]["headers"]


@pytest.mark.slow
async def test_schemathesis_finds_no_fault(live_gateway: LiveGateway, tmp_path: Path) -> None:
    """Generated requests, valid and invalid, against a real server: no 5xx, responses that
    match the document, 401 without credentials, valid data accepted."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        f"{live_gateway.url}/api/openapi.json",
        "--auth",
        "alice:alice123",
        "--checks",
        "all",
        # The gateway ignores unknown query parameters and reads a blank body as `{}`, as
        # grpc-gateway does; schemathesis counts both as invalid input accepted.
        "--exclude-checks",
        "negative_data_rejection",
        "--max-examples",
        "8",
        "--phases",
        "coverage,fuzzing",
        "--workers",
        "1",
        "--seed",
        "1",
        "--no-color",
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=90)
    assert process.returncode == 0, output.decode()[-6000:]


def test_only_onehub_services_make_the_onehub_document() -> None:
    from onehub.transport.gateway.openapi import openapi_document

    document = openapi_document(bindings_for(ONEHUB_SERVICES))
    assert not [path for path in document["paths"] if not path.startswith("/v1/")]
    assert len([op for item in document["paths"].values() for op in item]) == 20
