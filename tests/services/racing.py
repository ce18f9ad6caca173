"""A unit-of-work wrapper that lets a competing writer in at the worst moment: after a
service has read an entity and before it writes it back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any, Self

from onehub.services.ports import UnitOfWork, UnitOfWorkFactory


class _RacingStore:
    def __init__(self, inner: Any, race: RacingUowFactory) -> None:
        self._inner = inner
        self._race = race

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def update(self, entity: Any, expected_version: int) -> Any:
        await self._race.run_competitor_once()
        return await self._inner.update(entity, expected_version)


class _RacingUow:
    def __init__(self, inner: UnitOfWork, race: RacingUowFactory) -> None:
        self._inner = inner
        self.users: Any = _RacingStore(inner.users, race)
        self.topics: Any = _RacingStore(inner.topics, race)
        self.messages: Any = _RacingStore(inner.messages, race)

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    async def commit(self) -> None:
        await self._inner.commit()


class RacingUowFactory:
    """Units of work over `inner`; the first `update` any of them makes first awaits
    `competitor` (which should write through `inner`, not through this factory)."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.competitor: Callable[[], Awaitable[None]] | None = None

    async def run_competitor_once(self) -> None:
        competitor, self.competitor = self.competitor, None
        if competitor is not None:
            await competitor()

    def __call__(self) -> UnitOfWork:
        return _RacingUow(self.inner(), self)
