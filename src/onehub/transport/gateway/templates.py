"""Parse and match `google.api.http` path templates.

The grammar (from google/api/http.proto)::

    Template = "/" Segments [ Verb ] ;
    Segments = Segment { "/" Segment } ;
    Segment  = "*" | "**" | LITERAL | Variable ;
    Variable = "{" FieldPath [ "=" Segments ] "}" ;
    FieldPath = IDENT { "." IDENT } ;
    Verb     = ":" LITERAL ;

`{id}` is short for `{id=*}`. `*` matches one non-empty segment, `**` zero or more (and must
be the last segment). A variable bound to one segment receives it fully percent-decoded; one
bound to several keeps `%2F` encoded, so a decoded `/` inside a segment stays distinguishable
from a separator, as google.api.http's path template rules ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple
from urllib.parse import unquote

SINGLE = "*"
MULTI = "**"

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LITERAL = re.compile(r"[^/{}=:*]+")
_ENCODED_SLASH = re.compile(r"(%2[Ff])")


class TemplateError(ValueError):
    """A path template that does not follow the grammar."""


@dataclass(frozen=True, slots=True)
class Variable:
    """A `{field.path=...}` capture spanning template segments `start` to `end` (exclusive)."""

    field_path: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled template; `match` binds a request path's segments to its variables."""

    source: str
    segments: tuple[str, ...]
    variables: tuple[Variable, ...]
    verb: str | None
    # Where `**` is, or -1: fixed at parse time, read on every match.
    multi_at: int = -1

    @property
    def openapi_path(self) -> str:
        """The template as OpenAPI writes it: every variable becomes `{field.path}`."""
        parts: list[str] = []
        index = 0
        for variable in self.variables:
            parts.extend(self.segments[index : variable.start])
            parts.append("{" + variable.field_path + "}")
            index = variable.end
        parts.extend(self.segments[index:])
        path = "/" + "/".join(parts)
        return path + ":" + self.verb if self.verb else path

    @property
    def specificity(self) -> tuple[int, int, int]:
        """Sort key, higher first: a verb, then more literals, then no `**`."""
        literals = sum(1 for s in self.segments if s not in (SINGLE, MULTI))
        return (self.verb is not None, literals, MULTI not in self.segments)

    def match(self, raw: list[str], decoded: list[str]) -> dict[str, str] | None:
        """Bind the path segments (raw and percent-decoded, verb already removed) to the
        variables, or return None when the path does not fit the template."""
        count = len(self.segments)
        multi_at = self.multi_at
        if multi_at < 0:
            if len(decoded) != count:
                return None
            spans = [(i, i + 1) for i in range(count)]
        else:
            extra = len(decoded) - (count - 1)
            if extra < 0:
                return None
            spans = [(i, i + 1) for i in range(multi_at)]
            spans.append((multi_at, multi_at + extra))
            spans.extend((i + extra - 1, i + extra) for i in range(multi_at + 1, count))
        for segment, (start, _) in zip(self.segments, spans, strict=True):
            if segment == SINGLE:
                if not decoded[start]:
                    return None
            elif segment != MULTI and decoded[start] != segment:
                return None
        values: dict[str, str] = {}
        for variable in self.variables:
            start, end = spans[variable.start][0], spans[variable.end - 1][1]
            if end - start == 1 and self.segments[variable.start] != MULTI:
                values[variable.field_path] = decoded[start]
            else:
                values[variable.field_path] = "/".join(
                    _decode_keeping_slash(s) for s in raw[start:end]
                )
        return values


def _decode_keeping_slash(segment: str) -> str:
    pieces = _ENCODED_SLASH.split(segment)
    return "".join(
        p if _ENCODED_SLASH.fullmatch(p) else unquote(p, errors="strict") for p in pieces
    )


def parse_template(source: str) -> PathTemplate:
    """Compile `source`; raise TemplateError naming the problem when it breaks the grammar."""
    if not source.startswith("/"):
        raise TemplateError(f"path template {source!r} must start with '/'")
    body, verb = source[1:], None
    # The verb is a ':' after the last '/' that is not inside a variable.
    last_slash = body.rfind("/")
    last_brace = body.rfind("}")
    colon = body.rfind(":")
    if colon > max(last_slash, last_brace):
        body, verb = body[:colon], body[colon + 1 :]
        if not _LITERAL.fullmatch(verb):
            raise TemplateError(f"path template {source!r} has an invalid verb {verb!r}")
    segments: list[str] = []
    variables: list[Variable] = []
    position = 0
    while True:
        if body.startswith("{", position):
            close = body.find("}", position)
            if close < 0:
                raise TemplateError(f"path template {source!r} has an unclosed '{{'")
            field_path, _, pattern = body[position + 1 : close].partition("=")
            if not all(_IDENT.fullmatch(part) for part in field_path.split(".")):
                raise TemplateError(f"path template {source!r} has a bad field path {field_path!r}")
            inner = _parse_segments(pattern or SINGLE, source)
            start = len(segments)
            segments.extend(inner)
            variables.append(Variable(field_path, start, len(segments)))
            position = close + 1
        else:
            end = body.find("/", position)
            end = len(body) if end < 0 else end
            segments.extend(_parse_segments(body[position:end], source))
            position = end
        if position == len(body):
            break
        if body[position] != "/":
            raise TemplateError(f"path template {source!r} has text after a variable")
        position += 1
    if MULTI in segments[:-1]:
        raise TemplateError(f"path template {source!r} may use '**' only as its last segment")
    paths = [v.field_path for v in variables]
    if len(set(paths)) != len(paths):
        raise TemplateError(f"path template {source!r} binds a field twice")
    multi_at = segments.index(MULTI) if MULTI in segments else -1
    return PathTemplate(source, tuple(segments), tuple(variables), verb, multi_at)


def _parse_segments(text: str, source: str) -> list[str]:
    segments = text.split("/")
    for segment in segments:
        if segment not in (SINGLE, MULTI) and not _LITERAL.fullmatch(segment):
            raise TemplateError(f"path template {source!r} has an invalid segment {segment!r}")
    return segments


class SplitPath(NamedTuple):
    """A request path as segments, raw and percent-decoded; `verb_*` are the same with a
    trailing `:verb` cut from the last segment (`verb` is None when there is none)."""

    raw: list[str]
    decoded: list[str]
    verb: str | None
    verb_raw: list[str]
    verb_decoded: list[str]


def split_path(raw_path: str) -> SplitPath:
    """Split a raw (still percent-encoded) path that starts with '/'. Raise
    UnicodeDecodeError when an escape does not decode as UTF-8."""
    raw = raw_path[1:].split("/")
    decoded = [unquote(s, errors="strict") for s in raw]
    head, colon, verb = raw[-1].rpartition(":")
    if not colon:
        return SplitPath(raw, decoded, None, raw, decoded)
    verb_raw = [*raw[:-1], head]
    verb_decoded = [*decoded[:-1], unquote(head, errors="strict")]
    return SplitPath(raw, decoded, unquote(verb, errors="strict"), verb_raw, verb_decoded)
