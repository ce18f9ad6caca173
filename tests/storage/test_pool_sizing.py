"""PostgreSQL pools of several workers share the server's connections."""

from __future__ import annotations

import pytest

from onehub.storage.engine import POSTGRES_CONNECTIONS, create_engine, postgres_pool_limits

URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.mark.parametrize("workers", [1, 2, 3, 4, 7])
def test_workers_together_open_no_more_than_one_process_did(workers: int) -> None:
    kept, overflow = postgres_pool_limits(workers)
    assert workers * (kept + overflow) <= POSTGRES_CONNECTIONS
    assert kept + overflow == max(2, POSTGRES_CONNECTIONS // workers)


def test_a_pool_keeps_every_connection_it_may_open() -> None:
    assert postgres_pool_limits(1) == (POSTGRES_CONNECTIONS, 0)
    assert postgres_pool_limits(32) == (2, 0)


async def test_the_engine_of_a_worker_gets_its_share() -> None:
    engine = create_engine(URL, workers=2)
    try:
        pool = engine.sync_engine.pool
        assert (pool.size(), pool._max_overflow) == postgres_pool_limits(2)  # type: ignore[attr-defined]
    finally:
        await engine.dispose()
