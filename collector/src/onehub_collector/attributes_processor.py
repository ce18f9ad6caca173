"""The `attributes` processor: insert, update, upsert or delete attributes of every span, log
record and metric data point, as the OpenTelemetry Collector's processor of that name does."""

from __future__ import annotations

from collections.abc import Iterator, MutableSequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from onehub_collector.batch import ExportRequest
from onehub_collector.config import AttributesConfig
from onehub_collector.otlp_values import python_to_any_value

Attributes = MutableSequence[KeyValue]


class AttributesProcessor:
    """Applies its actions in order to each item's attributes, in place."""

    def __init__(self, config: AttributesConfig) -> None:
        self._actions = [
            (
                a.key,
                a.action,
                None if a.value is None else python_to_any_value(a.value),
                a.from_attribute,
            )
            for a in config.actions
        ]

    def process(self, request: ExportRequest) -> None:
        for attributes in _attribute_lists(request):
            for key, action, value, source in self._actions:
                _apply(attributes, key, action, value, source)


def _apply(
    attributes: Attributes, key: str, action: str, value: AnyValue | None, source: str | None
) -> None:
    index = _index_of(attributes, key)
    if action == "delete":
        if index is not None:
            del attributes[index]
        return
    if source is not None:
        source_index = _index_of(attributes, source)
        if source_index is None:
            return  # as upstream: nothing to copy from, nothing changes
        value = attributes[source_index].value
    if value is None:
        return
    if index is None:
        if action in ("insert", "upsert"):
            attributes.append(KeyValue(key=key, value=value))
    elif action in ("update", "upsert"):
        attributes[index].value.CopyFrom(value)


def _index_of(attributes: Attributes, key: str) -> int | None:
    for index, kv in enumerate(attributes):
        if kv.key == key:
            return index
    return None


def _attribute_lists(request: ExportRequest) -> Iterator[Attributes]:
    if isinstance(request, ExportTraceServiceRequest):
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    yield span.attributes
    elif isinstance(request, ExportLogsServiceRequest):
        for resource_logs in request.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                for record in scope_logs.log_records:
                    yield record.attributes
    else:
        for resource_metrics in request.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    which = metric.WhichOneof("data")
                    if which is not None:
                        for point in getattr(metric, which).data_points:
                            yield point.attributes
