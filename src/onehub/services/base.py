"""What every service holds: the unit-of-work factory and its small collaborators."""

from __future__ import annotations

from onehub.services.clock import Clock, UtcClock
from onehub.services.content import ReportOnce
from onehub.services.events import EventHub
from onehub.services.faults import FaultSwitchboard
from onehub.services.ids import IdGenerator, random_id
from onehub.services.instrumentation import ServiceInstruments
from onehub.services.paging import PageKeys, process_page_key_secret
from onehub.services.ports import UnitOfWorkFactory


class ServiceBase:
    """Holds the collaborators; each public method of a subclass opens one unit of work."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        new_id: IdGenerator = random_id,
        clock: Clock | None = None,
        instruments: ServiceInstruments | None = None,
        page_keys: PageKeys | None = None,
        faults: FaultSwitchboard | None = None,
        events: EventHub | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        # Without a deployment's secret, keys are only good within this process.
        self._page_keys = page_keys or PageKeys(process_page_key_secret())
        self._report_cut = ReportOnce()
        self._new_id = new_id
        self._clock: Clock = clock or UtcClock()
        self._instruments = instruments or ServiceInstruments.create()
        self._faults = faults or FaultSwitchboard()
        # Told what committed, for pages that listen (nobody listens to a hub of its own).
        self._events = events or EventHub()

    @property
    def instruments(self) -> ServiceInstruments:
        return self._instruments

    @property
    def faults(self) -> FaultSwitchboard:
        return self._faults
