"""The fault switchboard: which faults are on, asked at each place a fault can strike.

One switchboard per process, built by the composition root and handed to the services, the
storage unit of work and the admin endpoint; it is used from one event loop only. When a fault
strikes, the current span gets the event `fault.injected` (attributes `fault.name`,
`fault.value`) and the attribute `fault.name`, so the trace says what was done to it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Final, Protocol

from opentelemetry import trace

from onehub.domain.errors import InvalidArgument, Unavailable
from onehub.domain.faults import (
    DB_LATENCY,
    N_PLUS_ONE,
    RPC_ERRORS,
    SLOW_DOWNSTREAM,
    Fault,
)

FAULT_EVENT: Final = "fault.injected"
FAULT_NAME: Final = "fault.name"
FAULT_VALUE: Final = "fault.value"


class SlowDependency(Protocol):
    """A downstream service the slow-downstream fault calls (a real call over the network)."""

    async def call(self, name: str, delay: float) -> None:
        """Call the downstream called `name`, which answers after `delay` seconds; raise
        Unavailable if it cannot be reached."""
        ...


class FaultSwitchboard:
    """The faults that are on. `switchable` is False where run-time switching is refused
    (a public bind without --force-faults); the composition root decides."""

    def __init__(
        self,
        faults: Iterable[Fault] = (),
        *,
        known_rpcs: Iterable[str] = (),
        switchable: bool = True,
        dependency: SlowDependency | None = None,
        chance: Callable[[], float] = random.random,
    ) -> None:
        self._known_rpcs = frozenset(known_rpcs)
        self.switchable = switchable
        self._dependency = dependency
        self._chance = chance
        self._on: dict[str, Fault] = {}
        for fault in faults:
            self.switch_on(fault)

    def active(self) -> Mapping[str, Fault]:
        """The faults that are on, by name."""
        return dict(self._on)

    def switch_on(self, fault: Fault) -> None:
        """Switch `fault` on (replacing its earlier value). InvalidArgument for an RPC that
        does not exist."""
        if fault.rpc and self._known_rpcs and fault.rpc not in self._known_rpcs:
            known = ", ".join(sorted(self._known_rpcs))
            raise InvalidArgument(f"fault {fault.name}: no RPC {fault.rpc!r}; one of {known}")
        if fault.name == SLOW_DOWNSTREAM and self._dependency is None:
            raise InvalidArgument(f"fault {fault.name}: this server has no downstream to call")
        self._on[fault.name] = fault

    def switch_off(self, name: str) -> None:
        self._on.pop(name, None)

    def replace(self, faults: Iterable[Fault]) -> None:
        """Switch exactly `faults` on and every other fault off; on InvalidArgument for any of
        them, nothing changes."""
        wanted = list(faults)
        previous = self._on
        self._on = {}
        try:
            for fault in wanted:
                self.switch_on(fault)
        except InvalidArgument:
            self._on = previous
            raise

    def _strikes(self, name: str) -> Fault | None:
        fault = self._on.get(name)
        if fault is None or (fault.share < 1.0 and self._chance() >= fault.share):
            return None
        span = trace.get_current_span()
        span.add_event(FAULT_EVENT, {FAULT_NAME: fault.name, FAULT_VALUE: fault.value})
        span.set_attribute(FAULT_NAME, fault.name)
        return fault

    def db_delay(self) -> float:
        """Seconds the next database statement should wait first: 0.0 unless db-latency strikes."""
        if not self._on:
            return 0.0
        fault = self._strikes(DB_LATENCY)
        return 0.0 if fault is None else fault.delay

    def check_rpc(self, rpc: str) -> None:
        """Raise Unavailable when rpc-errors strikes this call of `rpc`."""
        fault = self._on.get(RPC_ERRORS)
        if fault is not None and fault.rpc == rpc and self._strikes(RPC_ERRORS) is not None:
            raise Unavailable(f"{rpc} is unavailable (fault injected: {fault.text})")

    def n_plus_one(self) -> bool:
        """Whether a list should load each item's details with one query per item."""
        return bool(self._on) and self._strikes(N_PLUS_ONE) is not None

    async def slow_downstream(self) -> None:
        """When slow-downstream strikes, call the downstream directory, then recommendations
        (one after the other, a quarter of the delay), as a careless client would."""
        if not self._on or self._dependency is None:
            return
        fault = self._strikes(SLOW_DOWNSTREAM)
        if fault is not None:
            await self._dependency.call("directory", fault.delay)
            await self._dependency.call("recommendations", fault.delay / 4)
