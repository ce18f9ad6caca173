"""Null for unset message fields inside maps and lists, on a message type built for the test."""

from __future__ import annotations

import json

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass

from onehub.transport.gateway.rendering import render_json

_FIELD = descriptor_pb2.FieldDescriptorProto


def _outer_class() -> type[Message]:
    """message Inner { Leaf leaf = 1; string name = 2; }  message Leaf { string v = 1; }
    message Outer { map<int64, Inner> by_number = 1; map<bool, Inner> by_flag = 2;
                    map<string, Inner> by_name = 3; repeated Inner items = 4; }"""
    file = descriptor_pb2.FileDescriptorProto(name="rendering_test.proto", package="rt")
    file.syntax = "proto3"
    leaf = file.message_type.add(name="Leaf")
    leaf.field.add(name="v", number=1, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    inner = file.message_type.add(name="Inner")
    inner.field.add(
        name="leaf", number=1, type=_FIELD.TYPE_MESSAGE, type_name=".rt.Leaf",
        label=_FIELD.LABEL_OPTIONAL,
    )  # fmt: skip
    inner.field.add(name="name", number=2, type=_FIELD.TYPE_STRING, label=_FIELD.LABEL_OPTIONAL)
    outer = file.message_type.add(name="Outer")
    for number, (name, key_type) in enumerate(
        [("by_number", _FIELD.TYPE_INT64), ("by_flag", _FIELD.TYPE_BOOL),
         ("by_name", _FIELD.TYPE_STRING)],
        start=1,
    ):  # fmt: skip
        entry_name = "".join(part.title() for part in name.split("_")) + "Entry"
        entry = outer.nested_type.add(name=entry_name)
        entry.options.map_entry = True
        entry.field.add(name="key", number=1, type=key_type, label=_FIELD.LABEL_OPTIONAL)
        entry.field.add(
            name="value", number=2, type=_FIELD.TYPE_MESSAGE, type_name=".rt.Inner",
            label=_FIELD.LABEL_OPTIONAL,
        )  # fmt: skip
        outer.field.add(
            name=name, number=number, type=_FIELD.TYPE_MESSAGE,
            type_name=f".rt.Outer.{entry_name}", label=_FIELD.LABEL_REPEATED,
        )  # fmt: skip
    outer.field.add(
        name="items", number=4, type=_FIELD.TYPE_MESSAGE, type_name=".rt.Inner",
        label=_FIELD.LABEL_REPEATED,
    )  # fmt: skip
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return GetMessageClass(pool.FindMessageTypeByName("rt.Outer"))


def test_unset_fields_of_messages_in_maps_and_lists_are_null() -> None:
    outer = _outer_class()()
    outer.by_number[-7].name = "n"  # type: ignore[attr-defined]  # a dynamic message
    outer.by_flag[True].leaf.v = "set"  # type: ignore[attr-defined]
    outer.by_name["x"].name = "x"  # type: ignore[attr-defined]
    outer.items.add(name="i")  # type: ignore[attr-defined]

    rendered = json.loads(render_json(outer))

    assert rendered == {
        "byNumber": {"-7": {"name": "n", "leaf": None}},
        "byFlag": {"true": {"name": "", "leaf": {"v": "set"}}},
        "byName": {"x": {"name": "x", "leaf": None}},
        "items": [{"name": "i", "leaf": None}],
    }
