"""What every tripwire says when it trips: the library, its installed version, what changed,
and the compat module to review."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib import metadata
from typing import Any, NoReturn

import pytest


def installed(distribution: str) -> str:
    return metadata.version(distribution)


def trip(distribution: str, compat_module: str, what: str) -> NoReturn:
    """Fail the test, loudly: `what` no longer holds for the installed `distribution`."""
    pytest.fail(
        f"{distribution} {installed(distribution)}: {what}. OneHub relies on this private part;"
        f" review {compat_module} (its docstring lists every private name it touches) before"
        " moving the exact pin in pyproject.toml.",
        pytrace=False,
    )


def check(condition: object, distribution: str, compat_module: str, what: str) -> None:
    """`trip` unless `condition` holds; `what` says what should hold."""
    if not condition:
        trip(distribution, compat_module, f"expected {what}")


def parameters(function: Callable[..., Any]) -> list[tuple[str, str]]:
    """(name, kind) of each parameter, `self`/`cls` included when unbound."""
    return [
        (parameter.name, parameter.kind.name)
        for parameter in inspect.signature(function).parameters.values()
    ]


def check_parameters(
    function: Callable[..., Any],
    expected: list[str],
    distribution: str,
    compat_module: str,
) -> None:
    """The parameters of `function`, as `name` or `*args`/`**kw`, are exactly `expected`."""
    prefixes = {"VAR_POSITIONAL": "*", "VAR_KEYWORD": "**"}
    actual = [prefixes.get(kind, "") + name for name, kind in parameters(function)]
    check(
        actual == expected,
        distribution,
        compat_module,
        f"{function.__qualname__}({', '.join(expected)}), found ({', '.join(actual)})",
    )
