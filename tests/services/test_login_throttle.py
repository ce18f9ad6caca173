"""The sign-in throttling policy, on a clock the test moves (the real-server behaviour is in
tests/e2e/test_login_throttle.py)."""

from __future__ import annotations

import pytest

from onehub.domain.errors import ResourceExhausted, Unauthenticated
from onehub.services.auth import Authenticator, DevChecker
from onehub.services.login_throttle import LoginThrottle, ThrottlePolicy, address_key

POLICY = ThrottlePolicy(address_failures=3, user_failures=2, window_s=100, base_delay_s=10)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def auth(clock: Clock) -> Authenticator:
    return Authenticator(DevChecker(), LoginThrottle(POLICY, clock=clock))


async def _outcome(auth: Authenticator, user: str, password: str, client: str) -> str:
    try:
        await auth.authenticate(user, password, client)
    except Unauthenticated:
        return "wrong"
    except ResourceExhausted as exc:
        return f"wait {exc.retry_after_s:g}"
    return "ok"


async def test_an_address_backs_off_doubling_then_forgets_after_the_window(
    auth: Authenticator, clock: Clock
) -> None:
    for user in ("a", "b", "c"):
        assert await _outcome(auth, user, "nope", "10.0.0.1") == "wrong"
    assert await _outcome(auth, "admin", "admin123", "10.0.0.1") == "wait 10"
    clock.now += 10
    assert await _outcome(auth, "d", "nope", "10.0.0.1") == "wrong"
    assert await _outcome(auth, "d", "nope", "10.0.0.1") == "wait 20"
    clock.now += 20
    assert await _outcome(auth, "admin", "admin123", "10.0.0.1") == "ok"
    assert await _outcome(auth, "e", "nope", "10.0.0.1") == "wrong"
    assert await _outcome(auth, "e", "nope", "10.0.0.1") == "wait 40"
    clock.now += 101
    assert await _outcome(auth, "e", "nope", "10.0.0.1") == "wrong"


async def test_a_user_under_attack_still_signs_in_from_elsewhere(
    auth: Authenticator, clock: Clock
) -> None:
    assert await _outcome(auth, "admin", "x", "10.0.0.1") == "wrong"
    assert await _outcome(auth, "admin", "x", "10.0.0.2") == "wrong"
    assert await _outcome(auth, "admin", "admin123", "10.0.0.1") == "wait 10"
    assert await _outcome(auth, "admin", "admin123", "10.0.0.2") == "wait 10"
    for _ in range(5):  # successes are never counted
        assert await _outcome(auth, "admin", "admin123", "10.0.0.3") == "ok"
    assert await _outcome(auth, "bob", "bob123", "10.0.0.1") == "ok"  # other users: unaffected
    clock.now += 10
    assert await _outcome(auth, "admin", "admin123", "10.0.0.1") == "ok"
    # That success forgave 10.0.0.1's failures for admin, so a slip there costs nothing yet.
    assert await _outcome(auth, "admin", "x", "10.0.0.1") == "wrong"


def test_ipv6_addresses_count_by_their_64_network() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::2")
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key("unix") == "unix"


def test_memory_is_bounded(clock: Clock) -> None:
    throttle = LoginThrottle(ThrottlePolicy(address_failures=1, max_keys=3), clock=clock)
    for n in range(10):
        throttle.failed(f"user{n}", f"10.0.0.{n}")
    assert throttle.retry_after(None, "10.0.0.9") is not None
    assert throttle.retry_after(None, "10.0.0.0") is None  # forgotten first
