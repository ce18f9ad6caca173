"""Compile library.proto at test time (grpcio-tools' protoc) into the default pool."""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import google.api
import grpc_tools  # type: ignore[import-untyped]  # no stubs are published
from google.api import annotations_pb2
from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    field_mask_pb2,
    timestamp_pb2,
    wrappers_pb2,
)
from google.protobuf.descriptor import ServiceDescriptor
from grpc_tools import protoc

_HERE = Path(__file__).parent
# The imports of library.proto, loaded by importing their generated modules.
_ALREADY_LOADED = {
    module.DESCRIPTOR.name
    for module in (annotations_pb2, field_mask_pb2, timestamp_pb2, wrappers_pb2)
} | {"google/api/http.proto", "google/protobuf/descriptor.proto"}


@cache
def library_service() -> ServiceDescriptor:
    """The LibraryService descriptor, compiled once per process."""
    googleapis = Path(next(iter(google.api.__path__))).parent.parent
    well_known = Path(next(iter(grpc_tools.__path__))) / "_proto"
    with tempfile.TemporaryDirectory() as out_dir:
        descriptor_set = Path(out_dir) / "library.pb"
        status = protoc.main(
            [
                "protoc",
                f"-I{_HERE}",
                f"-I{googleapis}",
                f"-I{well_known}",
                f"--descriptor_set_out={descriptor_set}",
                str(_HERE / "library.proto"),
            ]
        )
        assert status == 0, "protoc failed on library.proto"
        files = descriptor_pb2.FileDescriptorSet.FromString(descriptor_set.read_bytes())
    pool = descriptor_pool.Default()
    for file in files.file:
        if file.name not in _ALREADY_LOADED:
            pool.AddSerializedFile(file.SerializeToString())
    return pool.FindServiceByName("gatewaytest.v1.LibraryService")
