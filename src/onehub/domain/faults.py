"""Faults to find: the problems `onehub serve --fault NAME[=VALUE]` switches on, as values.

A person learning tracing needs something to find. Each fault is off by default and, when on,
makes a real problem that a trace shows and the trace findings name:

- `db-latency=DURATION[@SHARE]` (default 1200ms@0.3): that share of database statements is
  preceded by a statement that makes the database wait DURATION.
- `rpc-errors=RPC[@SHARE]` (default GetTopic@0.5): that share of calls to the RPC fail with
  UNAVAILABLE (HTTP 503).
- `n-plus-one` (no value): ListTopics reloads each topic of its page with one query per topic.
- `slow-downstream=DURATION[@SHARE]` (default 1200ms): topic reads first call a simulated
  downstream over loopback HTTP that answers after DURATION, then a second one that answers
  after a quarter of it.

DURATION is a number with `ms` or `s`; SHARE a fraction in (0, 1].
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from onehub.domain.errors import InvalidArgument

DB_LATENCY = "db-latency"
RPC_ERRORS = "rpc-errors"
N_PLUS_ONE = "n-plus-one"
SLOW_DOWNSTREAM = "slow-downstream"
FAULT_NAMES = (DB_LATENCY, RPC_ERRORS, N_PLUS_ONE, SLOW_DOWNSTREAM)

# The defaults are chosen so that the trace findings catch each fault: `slow_span` looks only at
# traces of 1 s or more, so the latencies are above that.
DEFAULT_VALUES = {
    DB_LATENCY: "1200ms@0.3",
    RPC_ERRORS: "GetTopic@0.5",
    N_PLUS_ONE: "",
    SLOW_DOWNSTREAM: "1200ms",
}
MAX_DELAY_SECONDS = 60.0

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
_RPC = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True, slots=True)
class Fault:
    """One switched-on fault: `value` is its canonical text, the other fields what it means."""

    name: str
    value: str = ""
    delay: float = 0.0  # seconds (db-latency, slow-downstream)
    share: float = 1.0  # the fraction of chances at which it strikes
    rpc: str = ""  # rpc-errors: the RPC that fails

    @property
    def text(self) -> str:
        """`name=value`, or the bare name when it takes no value."""
        return f"{self.name}={self.value}" if self.value else self.name


def parse_fault(text: str) -> Fault:
    """Parse `NAME[=VALUE]`; a missing value takes the fault's default.

    Raise InvalidArgument (one line naming the fault) for an unknown name or a bad value.
    """
    name, has_value, value = text.strip().partition("=")
    name, value = name.strip(), value.strip()
    if name not in FAULT_NAMES:
        raise InvalidArgument(f"unknown fault {name!r}: expected one of {', '.join(FAULT_NAMES)}")
    if name == N_PLUS_ONE:
        if value:
            raise InvalidArgument(f"fault {name} takes no value, not {value!r}")
        return Fault(name)
    if not has_value or not value:
        value = DEFAULT_VALUES[name]
    head, has_share, share_text = value.partition("@")
    share = _share(name, share_text) if has_share else 1.0
    if name == RPC_ERRORS:
        if not _RPC.match(head):
            raise InvalidArgument(f"fault {name}: {head!r} is not an RPC name such as GetTopic")
        return Fault(name, _canonical(head, share), share=share, rpc=head)
    delay = _delay(name, head)
    return Fault(name, _canonical(_duration_text(delay), share), delay=delay, share=share)


def _canonical(head: str, share: float) -> str:
    return head if share == 1.0 else f"{head}@{share:g}"


def _share(name: str, text: str) -> float:
    try:
        share = float(text)
    except ValueError:
        share = -1.0
    if not 0.0 < share <= 1.0:
        raise InvalidArgument(f"fault {name}: share {text!r} must be a fraction in (0, 1]")
    return share


def _delay(name: str, text: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise InvalidArgument(f"fault {name}: {text!r} is not a duration such as 200ms or 1.5s")
    seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
    if not 0.0 < seconds <= MAX_DELAY_SECONDS:
        raise InvalidArgument(f"fault {name}: {text!r} must be above 0 and at most 60s")
    return seconds


def _duration_text(seconds: float) -> str:
    return f"{seconds * 1000:g}ms"
