"""The small rules the services share: ids, page sizes, the clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import PageRequest
from onehub.services.clock import UtcClock
from onehub.services.ids import random_id, validate_id
from onehub.services.paging import clamp_page


def test_random_ids_are_url_safe_and_distinct() -> None:
    ids = {random_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 10 and i.isascii() and i.isalnum() for i in ids)


@pytest.mark.parametrize("value", ["", "a/b", "tab\there", "new\nline", "nul\x00", "x" * 129])
def test_unusable_ids_are_refused(value: str) -> None:
    with pytest.raises(InvalidArgument, match="topic id"):
        validate_id(value, "topic id")


@pytest.mark.parametrize("value", ["a", "o'brien", "日本", "a-b_c.d:e@f", "x" * 128])
def test_usable_ids_pass(value: str) -> None:
    assert validate_id(value, "id") == value


@pytest.mark.parametrize(
    ("asked", "given"), [(0, 100), (1, 1), (1000, 1000), (1001, 1000), (2**31 - 1, 1000)]
)
def test_page_sizes_are_defaulted_and_capped(asked: int, given: int) -> None:
    assert clamp_page(PageRequest("k", asked)) == PageRequest("k", given)


def test_a_stuck_clock_still_moves_forward() -> None:
    frozen = datetime(2024, 1, 1, tzinfo=UTC)
    clock = UtcClock(lambda: frozen)
    stamps = [clock() for _ in range(3)]
    assert stamps[0] == frozen
    assert stamps[0] < stamps[1] < stamps[2]
    assert all(stamp.tzinfo is UTC for stamp in stamps)
