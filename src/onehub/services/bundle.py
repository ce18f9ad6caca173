"""The three services as one bundle, built together so they share their collaborators."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher

from onehub.services.clock import Clock, UtcClock
from onehub.services.events import EventHub
from onehub.services.ids import IdGenerator, random_id
from onehub.services.instrumentation import ServiceInstruments
from onehub.services.messages import MessageService
from onehub.services.ports import UnitOfWorkFactory
from onehub.services.topics import TopicService
from onehub.services.users import UserService


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
    events: EventHub | None = None,
) -> Services:
    """Build the services over one unit-of-work factory, sharing one clock, instruments and
    event hub (the topic and message services publish what they commit to it)."""
    shared_clock = clock or UtcClock()
    shared = instruments or ServiceInstruments.create()
    hub = events or EventHub()
    return Services(
        topics=TopicService(
            uow_factory, new_id=new_id, clock=shared_clock, instruments=shared, events=hub
        ),
        messages=MessageService(
            uow_factory, new_id=new_id, clock=shared_clock, instruments=shared, events=hub
        ),
        users=UserService(
            uow_factory,
            new_id=new_id,
            clock=shared_clock,
            instruments=shared,
            password_hasher=password_hasher,
        ),
        events=hub,
    )
