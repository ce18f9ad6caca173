"""The http rule path template grammar, parsed and matched on its own."""

from __future__ import annotations

import pytest

from onehub.transport.gateway.templates import TemplateError, parse_template, split_path


def _match(template: str, path: str) -> dict[str, str] | None:
    compiled = parse_template(template)
    split = split_path(path)
    if compiled.verb is None:
        return compiled.match(split.raw, split.decoded)
    if compiled.verb != split.verb:
        return None
    return compiled.match(split.verb_raw, split.verb_decoded)


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("/v1/topics", "/v1/topics", {}),
        ("/v1/topics", "/v1/topics/x", None),
        ("/v1/topics/{id}", "/v1/topics/t1", {"id": "t1"}),
        ("/v1/topics/{id=*}", "/v1/topics/t1", {"id": "t1"}),
        ("/v1/topics/{id=*}", "/v1/topics/", None),
        ("/v1/topics/{id=*}", "/v1/topics/a/b", None),
        ("/v1/topics/{topic.base.id=*}", "/v1/topics/t9", {"topic.base.id": "t9"}),
        ("/v1/{name=topics/*}", "/v1/topics/t1", {"name": "topics/t1"}),
        ("/v1/{name=topics/*}", "/v1/users/u1", None),
        ("/v1/{name=shelves/*/books/*}", "/v1/shelves/s/books/b", {"name": "shelves/s/books/b"}),
        ("/v1/files/{path=**}", "/v1/files/a/b/c.txt", {"path": "a/b/c.txt"}),
        ("/v1/files/{path=**}", "/v1/files/a", {"path": "a"}),
        ("/v1/{parent=shelves/*}/books", "/v1/shelves/s1/books", {"parent": "shelves/s1"}),
        ("/v1/topics:batchGet", "/v1/topics:batchGet", {}),
        ("/v1/topics:batchGet", "/v1/topics", None),
        ("/v1/topics:batchGet", "/v1/topics:other", None),
        ("/v1/{name=books/*}:move", "/v1/books/b1:move", {"name": "books/b1"}),
        ("/v1/topics/*/messages", "/v1/topics/anything/messages", {}),
    ],
)
def test_templates_match_the_paths_the_grammar_says(
    template: str, path: str, expected: dict[str, str] | None
) -> None:
    assert _match(template, path) == expected


def test_a_variable_without_a_verb_keeps_a_colon_in_its_value() -> None:
    assert _match("/v1/topics/{id}", "/v1/topics/a:b") == {"id": "a:b"}


def test_single_segment_values_are_fully_percent_decoded() -> None:
    assert _match("/v1/topics/{id}", "/v1/topics/caf%C3%A9%2F..%20x") == {"id": "café/.. x"}


def test_multi_segment_values_keep_encoded_slashes_encoded() -> None:
    assert _match("/v1/files/{path=**}", "/v1/files/a%2Fb/c%20d") == {"path": "a%2Fb/c d"}


def test_openapi_path_names_variables_by_field_path() -> None:
    assert (
        parse_template("/v1/topics/{topic.base.id=*}").openapi_path == "/v1/topics/{topic.base.id}"
    )
    assert parse_template("/v1/{name=books/*}:move").openapi_path == "/v1/{name}:move"
    assert parse_template("/v1/topics:batchGet").openapi_path == "/v1/topics:batchGet"


def test_a_verb_outranks_a_variable_in_specificity() -> None:
    assert (
        parse_template("/v1/topics:batchGet").specificity > parse_template("/v1/{id}").specificity
    )


@pytest.mark.parametrize(
    "template",
    [
        "v1/topics",
        "/v1/{id",
        "/v1/{id}x",
        "/v1/{bad-name}",
        "/v1/{a}/{a}",
        "/v1/**/x",
        "/v1/to{p}ics",
        "/v1/topics:",
        "/v1//topics",
    ],
)
def test_templates_that_break_the_grammar_are_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        parse_template(template)


def test_bad_utf8_escapes_in_a_path_are_refused() -> None:
    with pytest.raises(UnicodeDecodeError):
        split_path("/v1/topics/%FF")
