"""The serving process's garbage-collector settings."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from onehub.app.gc_tuning import YOUNG_GENERATION_THRESHOLD, tune_for_serving


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_gc")
def test_start_up_objects_are_frozen_and_young_collections_are_rarer() -> None:
    gc.unfreeze()
    before = gc.get_threshold()
    survivor = [object()]  # alive at "start-up", so it must end up frozen
    tune_for_serving()
    assert gc.get_freeze_count() > 0
    # get_objects() lists the generations a collection scans; frozen objects are in none.
    assert not any(survivor is o for o in gc.get_objects())
    assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, before[1], before[2])


@pytest.mark.usefixtures("restored_gc")
def test_start_up_garbage_is_collected_not_frozen() -> None:
    gc.unfreeze()

    class Cycle:
        other: object

    first, second = Cycle(), Cycle()
    first.other, second.other = second, first
    alive = weakref.ref(first)
    del first, second
    tune_for_serving()
    assert alive() is None, "an unreachable cycle was frozen instead of collected"
