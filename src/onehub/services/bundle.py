"""The three services as one bundle, built together so they share their collaborators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from argon2 import PasswordHasher

from onehub.services.clock import Clock, UtcClock
from onehub.services.events import EventHub
from onehub.services.faults import FaultSwitchboard
from onehub.services.ids import IdGenerator, random_id
from onehub.services.instrumentation import ServiceInstruments
from onehub.services.messages import MessageService
from onehub.services.paging import PageKeys, process_page_key_secret
from onehub.services.ports import UnitOfWorkFactory
from onehub.services.topics import TopicService
from onehub.services.users import UserService

# The services that publish what they commit to the event hub.
_Publishing = TypeVar("_Publishing", TopicService, MessageService)


@dataclass(frozen=True, slots=True)
class Services:
    topics: TopicService
    messages: MessageService
    users: UserService
    events: EventHub


def build_services(
    uow_factory: UnitOfWorkFactory,
    *,
    new_id: IdGenerator = random_id,
    clock: Clock | None = None,
    instruments: ServiceInstruments | None = None,
    password_hasher: PasswordHasher | None = None,
    page_key_secret: bytes | None = None,
    faults: FaultSwitchboard | None = None,
    events: EventHub | None = None,
) -> Services:
    """Build the services over one unit-of-work factory, sharing one clock, instruments,
    fault switchboard (none switched on when omitted) and event hub (the topic and message
    services publish what they commit to it).

    `page_key_secret` signs page keys (see `onehub.services.paging`): pass the deployment's
    secret; without it, a random one made once per process is used. Raise ValueError for a
    secret shorter than 16 bytes.
    """
    shared_clock = clock or UtcClock()
    shared = instruments or ServiceInstruments.create()
    keys = PageKeys(page_key_secret or process_page_key_secret())
    switchboard = faults or FaultSwitchboard()
    hub = events or EventHub()

    def publishing(kind: type[_Publishing]) -> _Publishing:
        return kind(
            uow_factory,
            new_id=new_id,
            clock=shared_clock,
            instruments=shared,
            page_keys=keys,
            faults=switchboard,
            events=hub,
        )

    return Services(
        topics=publishing(TopicService),
        messages=publishing(MessageService),
        users=UserService(
            uow_factory,
            new_id=new_id,
            clock=shared_clock,
            instruments=shared,
            page_keys=keys,
            faults=switchboard,
            password_hasher=password_hasher,
        ),
        events=hub,
    )
