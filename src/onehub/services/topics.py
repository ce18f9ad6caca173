"""Topic use cases."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from onehub.domain.errors import InvalidArgument, NotFound
from onehub.domain.limits import MAX_TOPIC_MEMBERS
from onehub.domain.models import Page, PageRequest, Principal, Topic
from onehub.services.authz import require_owner_or_admin
from onehub.services.base import ServiceBase
from onehub.services.content import ReportOnce, check_members, readable_topic
from onehub.services.ids import MAX_BATCH_SIZE, id_or_new, validate_id, validate_ids, validate_name
from onehub.services.instrumentation import rpc_span
from onehub.services.masks import apply_masks, resolve_masks
from onehub.services.ports import UnitOfWork

TOPIC_UPDATABLE_FIELDS = frozenset({"name", "users"})


def _members(user_ids: Sequence[str] | frozenset[str], field: str) -> frozenset[str]:
    if len(user_ids) > MAX_BATCH_SIZE:
        raise InvalidArgument(
            f"{field}: at most {MAX_BATCH_SIZE} user ids may be given at once (a topic may "
            f"have at most {MAX_TOPIC_MEMBERS} members)"
        )
    return frozenset(validate_id(user_id, "user id") for user_id in user_ids)


_MAX_UNKNOWN_SHOWN = 5


async def _require_known_users(
    uow: UnitOfWork, principal: Principal, user_ids: frozenset[str]
) -> None:
    """Raise InvalidArgument naming the ids among `user_ids` that have no user record. The
    caller counts as known: with `--auth dev` a signed-in caller (admin) may have no record."""
    wanted = sorted(user_ids - {principal.user_id})
    if not wanted:
        return
    found = await uow.users.get_many(wanted)
    unknown = [user_id for user_id in wanted if user_id not in found]
    if unknown:
        shown = ", ".join(repr(user_id) for user_id in unknown[:_MAX_UNKNOWN_SHOWN])
        more = (
            f" and {len(unknown) - _MAX_UNKNOWN_SHOWN} more"
            if len(unknown) > _MAX_UNKNOWN_SHOWN
            else ""
        )
        raise InvalidArgument(
            f"users: every member must be an existing user; no user has the id {shown}{more}"
        )


def _readable_page(page: Page[Topic], report: ReportOnce) -> Page[Topic]:
    return dataclasses.replace(page, items=[readable_topic(t, report) for t in page.items])


async def _existing_topic(uow: UnitOfWork, topic_id: str) -> Topic:
    topic = await uow.topics.get(validate_id(topic_id, "topic id"))
    if topic is None:
        raise NotFound(f"topic {topic_id!r} not found")
    return topic


async def _reload_each(uow: UnitOfWork, listed: Page[Topic]) -> Page[Topic]:
    """The n-plus-one fault: load each listed topic's details again, one query per topic."""
    reloaded = []
    for topic in listed.items:
        again = await uow.topics.get(topic.id)
        reloaded.append(again or topic)
    return dataclasses.replace(listed, items=tuple(reloaded))


class TopicService(ServiceBase):
    """Create, read, update and delete topics. Anyone signed in may read any topic; only its
    creator or admin may change or delete it."""

    @rpc_span("CreateTopic")
    async def create_topic(self, principal: Principal, topic: Topic) -> Topic:
        """Create `topic` with the caller as creator and return it as stored.

        `topic.id` is kept when given, else a random id is assigned; `creator_id`, timestamps
        and `version` of the argument are ignored. Raise InvalidArgument for a missing name, a
        malformed id, members over the limits or members that are not users (the caller
        excepted), AlreadyExists when the id is taken; nothing is stored then.
        """
        now = self._clock()
        draft = Topic(
            id=id_or_new(topic.id, "topic id", self._new_id),
            creator_id=principal.user_id,
            name=validate_name(topic.name, "topic name"),
            users=_members(topic.users, "users"),
            created_at=now,
            updated_at=now,
        )
        check_members(draft.users)
        async with self._uow_factory() as uow:
            await _require_known_users(uow, principal, draft.users)
            created = await uow.topics.add(draft)
            await uow.commit()
        self._instruments.topics_created.add(1)
        self._events.topic_changed(created)
        return created

    @rpc_span("ListTopics")
    async def list_topics(self, principal: Principal, page: PageRequest) -> Page[Topic]:
        """Return one page of topics ordered by name. InvalidArgument for a bad page request."""
        request = self._page_keys.open(page)
        await self._faults.slow_downstream()
        async with self._uow_factory() as uow:
            listed = await uow.topics.list(request)
            if self._faults.n_plus_one():
                listed = await _reload_each(uow, listed)
        return self._page_keys.seal(_readable_page(listed, self._report_cut))

    @rpc_span("GetTopic")
    async def get_topic(self, principal: Principal, topic_id: str) -> Topic:
        """Return the topic; NotFound if there is none with that id."""
        await self._faults.slow_downstream()
        async with self._uow_factory() as uow:
            return readable_topic(await _existing_topic(uow, topic_id), self._report_cut)

    @rpc_span("GetTopics")
    async def get_topics(
        self, principal: Principal, topic_ids: Sequence[str]
    ) -> Mapping[str, Topic]:
        """Return the topics that exist among `topic_ids` (at most 1000), keyed by id."""
        ids = validate_ids(topic_ids, "topic id")
        if not ids:
            return {}
        async with self._uow_factory() as uow:
            found = await uow.topics.get_many(ids)
        return {topic_id: readable_topic(t, self._report_cut) for topic_id, t in found.items()}

    @rpc_span("DeleteTopic")
    async def delete_topic(self, principal: Principal, topic_id: str) -> None:
        """Delete the topic and all its messages. NotFound if it does not exist,
        PermissionDenied unless the caller created it or is admin."""
        async with self._uow_factory() as uow:
            topic = await _existing_topic(uow, topic_id)
            require_owner_or_admin(principal, topic.creator_id, "delete a topic")
            if not await uow.topics.delete(topic.id):
                raise NotFound(f"topic {topic_id!r} not found")
            await uow.commit()
        self._events.topic_deleted(topic.id)

    @rpc_span("UpdateTopic")
    async def update_topic(
        self,
        principal: Principal,
        topic: Topic,
        update_mask: Sequence[str],
        add_users: Sequence[str] = (),
        remove_users: Sequence[str] = (),
    ) -> Topic:
        """Update the topic `topic.id` and return it as stored.

        `update_mask` names the fields taken from `topic` ("name", "users"; "*" for both);
        then `add_users` join and `remove_users` leave the members. Raise InvalidArgument when
        nothing is asked (no mask and no membership edit), for an unknown path or bad value, for
        joining ids that are not users (the caller excepted) and for members over the limits
        (unless the update only removes members: a topic stored before the limits may shrink),
        NotFound if the topic does not exist, PermissionDenied unless the caller created it or
        is admin, Aborted if someone else updated it meanwhile (re-read and retry).
        """
        replaced, _ = resolve_masks("topic", update_mask, updatable=TOPIC_UPDATABLE_FIELDS)
        if not replaced and not add_users and not remove_users:
            raise InvalidArgument("update_mask, add_users or remove_users must name a change")
        patch = dataclasses.replace(topic, users=_members(topic.users, "users"))
        joining = _members(add_users, "add_users")
        leaving = _members(remove_users, "remove_users")
        async with self._uow_factory() as uow:
            stored = await _existing_topic(uow, topic.id)
            require_owner_or_admin(principal, stored.creator_id, "update a topic")
            changed = apply_masks(stored, patch, replaced, ())
            changed = dataclasses.replace(
                changed,
                name=validate_name(changed.name, "topic name"),
                users=(changed.users | joining) - leaving,
                updated_at=self._clock(),
            )
            # A topic stored over the limits (before they existed) may still shrink.
            if not changed.users <= stored.users:
                check_members(changed.users)
                await _require_known_users(uow, principal, changed.users - stored.users)
            updated = await uow.topics.update(changed, expected_version=stored.version)
            await uow.commit()
        served = readable_topic(updated, self._report_cut)
        self._events.topic_changed(served)
        return served
