"""The route table: one `Binding` per `google.api.http` rule (and additional binding) of every
method of the given services, matched by HTTP method and path template."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import grpc
from google.api import annotations_pb2, http_pb2
from google.protobuf.descriptor import (
    Descriptor,
    FieldDescriptor,
    MethodDescriptor,
    ServiceDescriptor,
)

from onehub.transport.gateway.errors import GatewayError, invalid_argument
from onehub.transport.gateway.templates import PathTemplate, parse_template, split_path

_PATTERN_METHODS = {
    "get": "GET",
    "put": "PUT",
    "post": "POST",
    "delete": "DELETE",
    "patch": "PATCH",
}


@dataclass(frozen=True, slots=True)
class Binding:
    """One HTTP mapping of one RPC.

    `path_fields` resolves each template variable to its chain of fields (outermost first);
    `body` is "" (no body), "*" (the whole request) or a top-level field name;
    `response_body` is "" (the whole response) or the response field to answer with.
    """

    http_method: str
    template: PathTemplate
    method: MethodDescriptor
    body: str
    response_body: str
    path_fields: tuple[tuple[str, tuple[FieldDescriptor, ...]], ...]
    # The template written OpenAPI-style (`/v1/topics/{id}`): the span's route name.
    route: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "route", self.template.openapi_path)

    @property
    def rpc_path(self) -> str:
        """The gRPC method path, `/onehub.v1.TopicService/GetTopic`."""
        return f"/{self.method.containing_service.full_name}/{self.method.name}"


@dataclass(frozen=True, slots=True)
class RouteMatch:
    binding: Binding
    path_values: dict[str, str]


def bindings_for(services: Sequence[ServiceDescriptor]) -> list[Binding]:
    """Every HTTP binding of the services' methods; methods without a rule are not served.

    Raise ValueError when a rule cannot be served: a streaming method, a bad template, a
    variable or body naming a field the request lacks, or two rules on one method and path.
    """
    bindings: list[Binding] = []
    for service in services:
        for method in service.methods:
            options = method.GetOptions()
            if not options.HasExtension(annotations_pb2.http):
                continue
            if method.client_streaming or method.server_streaming:
                raise ValueError(f"{method.full_name}: streaming methods are not supported")
            rule = options.Extensions[annotations_pb2.http]
            for each in _rules(rule):
                bindings.append(_binding(method, each))
    seen: set[tuple[str, tuple[str, ...], str | None]] = set()
    for binding in bindings:
        key = (binding.http_method, binding.template.segments, binding.template.verb)
        if key in seen:
            raise ValueError(f"two rules map {binding.http_method} {binding.route}")
        seen.add(key)
    return bindings


def _rules(rule: http_pb2.HttpRule) -> Iterator[http_pb2.HttpRule]:
    yield rule
    for extra in rule.additional_bindings:
        yield from _rules(extra)


def _binding(method: MethodDescriptor, rule: http_pb2.HttpRule) -> Binding:
    kind = rule.WhichOneof("pattern")
    if kind is None:
        raise ValueError(f"{method.full_name}: http rule has no pattern")
    if kind == "custom":
        http_method, source = rule.custom.kind.upper(), rule.custom.path
    else:
        http_method, source = _PATTERN_METHODS[kind], getattr(rule, kind)
    template = parse_template(source)
    request = method.input_type
    path_fields = tuple(
        (v.field_path, resolve_path_field(request, v.field_path, method.full_name))
        for v in template.variables
    )
    if rule.body not in ("", "*") and rule.body not in request.fields_by_name:
        raise ValueError(f"{method.full_name}: body field {rule.body!r} does not exist")
    response_body = rule.response_body
    if response_body and response_body not in method.output_type.fields_by_name:
        raise ValueError(f"{method.full_name}: response_body {response_body!r} does not exist")
    return Binding(http_method, template, method, rule.body, response_body, path_fields)


def resolve_path_field(
    message: Descriptor, field_path: str, owner: str
) -> tuple[FieldDescriptor, ...]:
    """The fields a dotted path walks through: singular messages, then a singular scalar."""
    chain: list[FieldDescriptor] = []
    current: Descriptor | None = message
    for name in field_path.split("."):
        if current is None or (field := current.fields_by_name.get(name)) is None:
            raise ValueError(f"{owner}: path variable {field_path!r} names no field")
        if field.is_repeated:
            raise ValueError(f"{owner}: path variable {field_path!r} is repeated")
        chain.append(field)
        current = field.message_type
    if chain[-1].type == FieldDescriptor.TYPE_MESSAGE:
        raise ValueError(f"{owner}: path variable {field_path!r} is a message")
    return tuple(chain)


class RouteTable:
    """Precompiled bindings, most specific template first (a verb beats a variable, so
    `/v1/topics:batchGet` never reaches `/v1/topics/{id}`)."""

    def __init__(self, bindings: Sequence[Binding]) -> None:
        self.bindings = sorted(bindings, key=lambda b: b.template.specificity, reverse=True)

    def match(self, http_method: str, raw_path: str) -> RouteMatch:
        """The binding for the method and raw path. Raise GatewayError: 404 when no template
        fits the path, 405 (with `Allow`) when templates fit but none for this method, 400
        when the path's percent-escapes are not UTF-8."""
        try:
            split = split_path(raw_path)
        except UnicodeDecodeError:
            raise invalid_argument("the request path is not valid percent-encoded UTF-8") from None
        allowed: list[str] = []
        for binding in self.bindings:
            template = binding.template
            if template.verb is None:
                values = template.match(split.raw, split.decoded)
            elif template.verb == split.verb:
                values = template.match(split.verb_raw, split.verb_decoded)
            else:
                continue
            if values is None:
                continue
            if binding.http_method == http_method:
                return RouteMatch(binding, values)
            allowed.append(binding.http_method)
        if allowed:
            allow = ", ".join(sorted(set(allowed))).encode()
            raise GatewayError(
                grpc.StatusCode.UNIMPLEMENTED,
                f"method {http_method} is not allowed on this path",
                status=405,
                headers=((b"allow", allow),),
            )
        raise GatewayError(grpc.StatusCode.NOT_FOUND, "no route matches this path")


def body_limit_table(
    bindings: Sequence[Binding], default: int, overrides: Mapping[str, int]
) -> dict[str, int]:
    """The largest request body each method accepts, by full method name: `overrides` where
    given, else `default`. Raise ValueError for an override naming no served method, or a
    limit that is not positive."""
    served = {binding.method.full_name for binding in bindings}
    unknown = sorted(set(overrides) - served)
    if unknown:
        raise ValueError(f"body limits name methods that are not served: {', '.join(unknown)}")
    limits = {name: overrides.get(name, default) for name in served}
    bad = sorted(name for name, limit in limits.items() if limit <= 0)
    if bad:
        raise ValueError(f"body limits must be positive: {', '.join(bad)}")
    return limits
