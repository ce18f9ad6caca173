"""Throttling of password guessing: failed sign-ins slow down further attempts.

The policy (documented for operators in README.md):

- Failures are counted per client address (an IPv6 address by its /64, which one host
  usually holds whole) and per user, in a sliding window (`window_s`, 15 minutes); a count
  starts again once its last failure is that old.
- An address with `address_failures` (10) recent failures is throttled: its attempts, right or
  wrong and for any user, are refused without being checked until `delay` has passed since its
  last failure, a delay that doubles with each further failure (30 s, 1 min, 2 min ... at most
  `max_delay_s`, 15 minutes).
- A user with `user_failures` (5) recent failures, from anywhere, is throttled in the same way,
  but only towards addresses that have themselves failed for that user, each measured from its
  own last failure. An attacker guessing from many addresses therefore gets one guess per
  address and back-off after that, while the real user, signing in from an address that has not
  failed for them, is never held up: nobody can lock a user out by failing in their name.
- A successful sign-in is never counted and forgives that user's failures from that address (but
  not the address's own count, or one valid account would let an attacker reset it).
- A refused attempt says when to try again (HTTP 429 with `Retry-After`, gRPC RESOURCE_EXHAUSTED
  with `grpc-retry-pushback-ms`), and is not counted as a failure.

The state lives in this process's memory (bounded: the least recently failed keys are forgotten
first) and starts empty at every start; replicas keep their own.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from opentelemetry import metrics
from opentelemetry.metrics import MeterProvider

_SCOPE = "onehub.services"
AUTH_FAILURES = "onehub.auth.failures"
AUTH_THROTTLED = "onehub.auth.throttled"


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    address_failures: int = 10
    user_failures: int = 5
    window_s: float = 15 * 60
    base_delay_s: float = 30.0
    max_delay_s: float = 15 * 60
    #: Keys remembered per table; the least recently failed go first past it.
    max_keys: int = 100_000

    def delay(self, excess: int) -> float:
        """The back-off after `excess` failures beyond the threshold (0 for the first)."""
        return min(self.base_delay_s * float(2 ** min(excess, 32)), self.max_delay_s)


@dataclass(slots=True)
class _Failures:
    count: int
    last: float


def address_key(address: str) -> str:
    """The key an address is counted under: itself, or its /64 network for IPv6."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed)


class LoginThrottle:
    """Counts failed sign-ins and says when an attempt must wait (see the module docstring)."""

    def __init__(
        self,
        policy: ThrottlePolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        self.policy = policy or ThrottlePolicy()
        self._clock = clock
        self._by_address: OrderedDict[str, _Failures] = OrderedDict()
        self._by_user: OrderedDict[str, _Failures] = OrderedDict()
        self._pairs: OrderedDict[tuple[str, str], float] = OrderedDict()
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        self._failures = meter.create_counter(
            AUTH_FAILURES, unit="{attempt}", description="Failed sign-ins (wrong credentials)"
        )
        self._throttled = meter.create_counter(
            AUTH_THROTTLED,
            unit="{attempt}",
            description="Sign-in attempts refused unchecked after too many failures",
        )

    def retry_after(self, user: str | None, address: str) -> float | None:
        """Seconds until `user` (None: not a possible user id) may try from `address`, or None
        when the attempt may be checked now. A refusal is counted in `onehub.auth.throttled`."""
        now = self._clock()
        policy = self.policy
        key = address_key(address)
        waits = [0.0]
        by_address = self._fresh(self._by_address, key, now)
        if by_address is not None and by_address.count >= policy.address_failures:
            excess = by_address.count - policy.address_failures
            waits.append(by_address.last + policy.delay(excess) - now)
        if user is not None:
            by_user = self._fresh(self._by_user, user, now)
            pair_last = self._pairs.get((user, key))
            if (
                by_user is not None
                and by_user.count >= policy.user_failures
                and pair_last is not None
                and now - pair_last <= policy.window_s
            ):
                excess = by_user.count - policy.user_failures
                waits.append(pair_last + policy.delay(excess) - now)
        wait = max(waits)
        if wait <= 0:
            return None
        self._throttled.add(1)
        return wait

    def failed(self, user: str | None, address: str) -> None:
        """Count a failed sign-in (in `onehub.auth.failures` too)."""
        now = self._clock()
        key = address_key(address)
        self._count(self._by_address, key, now)
        if user is not None:
            self._count(self._by_user, user, now)
            self._pairs[(user, key)] = now
            self._pairs.move_to_end((user, key))
            self._trim(self._pairs)
        self._failures.add(1)

    def succeeded(self, user: str, address: str) -> None:
        """Forgive `user`'s failures from `address`; the counts themselves stay."""
        self._pairs.pop((user, address_key(address)), None)

    def _fresh(self, table: OrderedDict[str, _Failures], key: str, now: float) -> _Failures | None:
        entry = table.get(key)
        if entry is not None and now - entry.last > self.policy.window_s:
            del table[key]
            return None
        return entry

    def _count(self, table: OrderedDict[str, _Failures], key: str, now: float) -> None:
        entry = self._fresh(table, key, now)
        if entry is None:
            table[key] = _Failures(1, now)
        else:
            entry.count += 1
            entry.last = now
            table.move_to_end(key)
        self._trim(table)

    def _trim(
        self, table: OrderedDict[str, _Failures] | OrderedDict[tuple[str, str], float]
    ) -> None:
        while len(table) > self.policy.max_keys:
            table.popitem(last=False)


def whole_seconds(seconds: float) -> int:
    """`seconds` rounded up, at least 1: what a person is told to wait."""
    return max(math.ceil(seconds), 1)
