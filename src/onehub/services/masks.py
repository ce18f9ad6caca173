"""Field masks: which fields of an entity an update replaces, and which it appends to.

Paths here are the domain's field names (`name`, `content_text`, ...); transports translate
their own spellings (`content_base.content_text`) before calling a service.

Append semantics: a string field gets the new value concatenated to the stored one; a JSON
object field (`content_data`, `profile_data`) gets the new object's keys merged over the stored
object's, shallowly (a key present in both takes the new value; nested objects are replaced, not
merged). Appending to an unset object stores the new object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from onehub.domain.errors import InvalidArgument

ALL_FIELDS = "*"
_MAX_SHOWN = 64

E = TypeVar("E")


def _shown(path: str) -> str:
    return repr(path if len(path) <= _MAX_SHOWN else path[:_MAX_SHOWN] + "...")


def _resolve(paths: Sequence[str], allowed: frozenset[str], mask: str, entity: str) -> set[str]:
    if ALL_FIELDS in paths:
        if len(set(paths)) > 1:
            raise InvalidArgument(f"{mask}: '*' must be the only path")
        return set(allowed)
    unknown = [path for path in paths if path not in allowed]
    if unknown:
        raise InvalidArgument(
            f"{mask} names a field of {entity} that cannot be changed: {_shown(unknown[0])}"
            f" (allowed: {', '.join(sorted(allowed))})"
        )
    return set(paths)


def resolve_masks(
    entity: str,
    update_mask: Sequence[str],
    append_mask: Sequence[str] = (),
    *,
    updatable: Iterable[str],
    appendable: Iterable[str] = (),
) -> tuple[frozenset[str], frozenset[str]]:
    """Validate the masks and return (fields to replace, fields to append to).

    "*" alone stands for every allowed field. Raise InvalidArgument for an unknown path, for
    "*" mixed with other paths, and for a field named in both masks. An empty result is the
    caller's to judge (an update that changes nothing may still be valid, e.g. membership edits).
    """
    replaced = _resolve(update_mask, frozenset(updatable), "update_mask", entity)
    appended = _resolve(append_mask, frozenset(appendable), "append_mask", entity)
    both = replaced & appended
    if both:
        raise InvalidArgument(f"field {_shown(min(both))} is in both update_mask and append_mask")
    return frozenset(replaced), frozenset(appended)


def _appended(current: Any, addition: Any) -> Any:
    if current is None:
        return addition
    if isinstance(current, str) and isinstance(addition, str):
        return current + addition
    if isinstance(current, Mapping) and isinstance(addition, Mapping):
        return {**current, **addition}
    if addition is None:
        return current
    raise TypeError(f"cannot append {type(addition).__name__} to {type(current).__name__}")


def apply_masks(stored: E, patch: E, replaced: Iterable[str], appended: Iterable[str]) -> E:
    """Return `stored` with the `replaced` fields taken from `patch` and `patch`'s values of the
    `appended` fields appended (see the module docstring). `stored` and `patch` are dataclasses."""
    changes = {name: getattr(patch, name) for name in replaced}
    for name in appended:
        changes[name] = _appended(getattr(stored, name), getattr(patch, name))
    return dataclasses.replace(stored, **changes)  # type: ignore[type-var]
