"""Message use cases."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from onehub.domain.errors import AlreadyExists, InvalidArgument, NotFound
from onehub.domain.models import Message, MessageQuery, Page, PageRequest, Principal
from onehub.services.authz import require_admin, require_owner_or_admin
from onehub.services.base import ServiceBase
from onehub.services.content import ReportOnce, check_message_content, readable_message
from onehub.services.ids import (
    MAX_BATCH_SIZE,
    MAX_IMPORT_BATCH_SIZE,
    MAX_NAME_LENGTH,
    id_or_new,
    validate_id,
    validate_ids,
)
from onehub.services.instrumentation import rpc_span
from onehub.services.masks import apply_masks, resolve_masks
from onehub.services.ports import UnitOfWork

MESSAGE_UPDATABLE_FIELDS = frozenset(
    {"content_type", "content_text", "content_data", "parent_message_id"}
)
MESSAGE_APPENDABLE_FIELDS = frozenset({"content_type", "content_text", "content_data"})
MAX_SEARCH_PHRASE_LENGTH = 1000
# A create that lost a race for one of its ids runs again, and then finds the winner's row: one
# more attempt settles it; the third is headroom for a batch that raced on two ids.
CREATE_ATTEMPTS = 3


@contextmanager
def _at_index(index: int) -> Iterator[None]:
    """Prefix a validation error with the index of the message it concerns."""
    try:
        yield
    except InvalidArgument as exc:
        raise InvalidArgument(f"messages[{index}]: {exc.message}") from exc


def _check_batch_size(messages: Sequence[Message], limit: int = MAX_BATCH_SIZE) -> None:
    if len(messages) > limit:
        raise InvalidArgument(f"at most {limit} messages may be sent at once")


def _check_unique_ids(messages: Sequence[Message]) -> None:
    seen: dict[str, int] = {}
    for index, message in enumerate(messages):
        if message.id in seen:
            raise InvalidArgument(
                f"messages[{index}]: id {message.id!r} repeats messages[{seen[message.id]}]"
            )
        seen[message.id] = index


def _check_content(message: Message) -> Message:
    if len(message.content_type) > MAX_NAME_LENGTH:
        raise InvalidArgument(f"content_type is longer than {MAX_NAME_LENGTH} characters")
    if message.parent_message_id:
        validate_id(message.parent_message_id, "parent_message_id")
    check_message_content(message)
    return message


def _readable_page(page: Page[Message], report: ReportOnce) -> Page[Message]:
    return dataclasses.replace(page, items=[readable_message(m, report) for m in page.items])


async def _existing_message(uow: UnitOfWork, message_id: str) -> Message:
    message = await uow.messages.get(validate_id(message_id, "message id"))
    if message is None:
        raise NotFound(f"message {message_id!r} not found")
    return message


class _LostRace(AlreadyExists):
    """An id was free when read and taken when written: another create of it committed first."""


def _same_post(stored: Message, draft: Message) -> bool:
    """True when `draft` asks for exactly what `stored` holds: a retry, not a clash."""
    return (
        stored.topic_id == draft.topic_id
        and stored.creator_id == draft.creator_id
        and stored.content_type == draft.content_type
        and stored.content_text == draft.content_text
        and (stored.content_data or None) == (draft.content_data or None)
        and stored.parent_message_id == draft.parent_message_id
    )


async def _post_once(
    uow: UnitOfWork, drafts: Sequence[Message], given_ids: Sequence[str]
) -> tuple[Sequence[Message], Sequence[Message]]:
    """Store the drafts whose ids are free and answer the ones already stored with the same
    content; return (every message as stored in order, the newly stored ones). AlreadyExists if
    an id holds a different message."""
    stored = await uow.messages.get_many(given_ids) if given_ids else {}
    for draft in drafts:
        earlier = stored.get(draft.id)
        if earlier is not None and not _same_post(earlier, draft):
            raise AlreadyExists(f"message {draft.id!r} already exists")
    fresh = [draft for draft in drafts if draft.id not in stored]
    try:
        created = {m.id: m for m in await uow.messages.add_many(fresh)} if fresh else {}
    except AlreadyExists as exc:
        raise _LostRace(exc.message) from None
    return [stored.get(d.id) or created[d.id] for d in drafts], list(created.values())


async def _require_topic(uow: UnitOfWork, topic_id: str) -> None:
    if await uow.topics.get(topic_id) is None:
        raise NotFound(f"topic {topic_id!r} not found")


class MessageService(ServiceBase):
    """Post, read, search, update and delete messages. Anyone signed in may read any message;
    only its creator or admin may change or delete it."""

    @rpc_span("CreateMessages")
    async def create_messages(
        self,
        principal: Principal,
        topic_id: str,
        messages: Sequence[Message],
        allow_userids: bool = False,
    ) -> Sequence[Message]:
        """Post `messages` to the topic, all or none, and return them as stored, in order.

        Each message keeps its id when given, else gets a random one; its `topic_id` may be empty
        or `topic_id`. Its creator is the caller, unless the caller is admin and `allow_userids`
        is set, in which case a non-empty `creator_id` is kept. Raise InvalidArgument naming the
        index of a bad message, NotFound if the topic does not exist, AlreadyExists if an id is
        taken by a different message.

        A given id that already holds the same message (topic, creator and content) is answered
        with the stored message rather than refused: a client that lost the answer to a create
        may send it again, through any replica, and still ends up with one message. Two such
        creates racing each other both succeed with one row.
        """
        validate_id(topic_id, "topic_id")
        _check_batch_size(messages)
        keep_creators = allow_userids and principal.is_admin
        drafts = []
        for index, message in enumerate(messages):
            with _at_index(index):
                if message.topic_id and message.topic_id != topic_id:
                    raise InvalidArgument("topic_id differs from the topic posted to")
                creator = message.creator_id if keep_creators and message.creator_id else ""
                now = self._clock()
                drafts.append(
                    dataclasses.replace(
                        _check_content(message),
                        id=id_or_new(message.id, "id", self._new_id),
                        topic_id=topic_id,
                        creator_id=validate_id(creator, "creator_id")
                        if creator
                        else principal.user_id,
                        created_at=now,
                        updated_at=now,
                        version=0,
                    )
                )
        _check_unique_ids(drafts)
        given_ids = [message.id for message in messages if message.id]
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            try:
                async with self._uow_factory() as uow:
                    await _require_topic(uow, topic_id)
                    answer, created = await _post_once(uow, drafts, given_ids)
                    await uow.commit()
                break
            except _LostRace:
                # The next attempt reads the winner's row, and answers it if it is the same
                # message or refuses it if not.
                if attempt == CREATE_ATTEMPTS or not given_ids:
                    raise
        self._instruments.messages_created.add(len(created))
        if created:
            self._events.messages_posted(topic_id, created)
        return answer

    @rpc_span("ImportMessages")
    async def import_messages(
        self, principal: Principal, messages: Sequence[Message]
    ) -> Sequence[Message]:
        """Store `messages` as given, all or none (admin only), and return them as stored.

        Every message needs `topic_id` and `creator_id`; ids and timestamps are kept when given
        (else assigned); at most MAX_IMPORT_BATCH_SIZE of them. Raise PermissionDenied for
        anyone but admin, InvalidArgument naming the index of a bad message (or for too many),
        NotFound naming the index of one whose topic does not exist, AlreadyExists if an id is
        taken.
        """
        require_admin(principal, "import messages")
        _check_batch_size(messages, MAX_IMPORT_BATCH_SIZE)
        drafts = []
        for index, message in enumerate(messages):
            with _at_index(index):
                validate_id(message.topic_id, "topic_id")
                validate_id(message.creator_id, "creator_id")
                _check_content(message)
                created_at = message.created_at or self._clock()
                # A new Message rather than dataclasses.replace: this runs once per message of
                # batches of thousands, and replace() costs several times the constructor.
                drafts.append(
                    Message(
                        id=id_or_new(message.id, "id", self._new_id),
                        creator_id=message.creator_id,
                        topic_id=message.topic_id,
                        content_type=message.content_type,
                        content_text=message.content_text,
                        content_data=message.content_data,
                        parent_message_id=message.parent_message_id,
                        created_at=created_at,
                        updated_at=message.updated_at or created_at,
                        version=0,
                    )
                )
        _check_unique_ids(drafts)
        async with self._uow_factory() as uow:
            topics = await uow.topics.get_many(list({m.topic_id for m in drafts}))
            for index, draft in enumerate(drafts):
                if draft.topic_id not in topics:
                    raise NotFound(f"messages[{index}]: topic {draft.topic_id!r} not found")
            created = await uow.messages.add_many(drafts) if drafts else []
            await uow.commit()
        self._instruments.messages_created.add(len(created))
        return created

    @rpc_span("ListMessages")
    async def list_messages(
        self, principal: Principal, topic_id: str, page: PageRequest
    ) -> Page[Message]:
        """Return one page of the topic's messages, oldest first. NotFound if the topic does
        not exist, InvalidArgument for a bad page request."""
        validate_id(topic_id, "topic_id")
        request = self._page_keys.open(page)
        async with self._uow_factory() as uow:
            await _require_topic(uow, topic_id)
            found = await uow.messages.list_in_topic(topic_id, request)
        return self._page_keys.seal(_readable_page(found, self._report_cut))

    @rpc_span("SearchMessages")
    async def search_messages(
        self, principal: Principal, query: MessageQuery, page: PageRequest
    ) -> Page[Message]:
        """Return one page of messages matching every non-empty filter of `query` (phrase by
        full text, sender, topic), in `query.order_by` order (default newest first). An unknown
        topic or sender simply matches nothing. Raise InvalidArgument for a bad filter, sort
        key or page request."""
        if len(query.phrase) > MAX_SEARCH_PHRASE_LENGTH:
            raise InvalidArgument(
                f"search_phrase is longer than {MAX_SEARCH_PHRASE_LENGTH} characters"
            )
        if query.sender_id:
            validate_id(query.sender_id, "sender_id")
        if query.topic_id:
            validate_id(query.topic_id, "topic_id")
        request = self._page_keys.open(page)
        async with self._uow_factory() as uow:
            found = await uow.messages.search(query, request)
        return self._page_keys.seal(_readable_page(found, self._report_cut))

    @rpc_span("GetMessage")
    async def get_message(self, principal: Principal, message_id: str) -> Message:
        """Return the message; NotFound if there is none with that id."""
        async with self._uow_factory() as uow:
            return readable_message(await _existing_message(uow, message_id), self._report_cut)

    @rpc_span("GetMessages")
    async def get_messages(
        self, principal: Principal, message_ids: Sequence[str]
    ) -> Mapping[str, Message]:
        """Return the messages that exist among `message_ids` (at most 1000), keyed by id."""
        ids = validate_ids(message_ids, "message id")
        if not ids:
            return {}
        async with self._uow_factory() as uow:
            found = await uow.messages.get_many(ids)
        return {
            message_id: readable_message(m, self._report_cut) for message_id, m in found.items()
        }

    @rpc_span("DeleteMessage")
    async def delete_message(self, principal: Principal, message_id: str) -> None:
        """Delete the message. NotFound if it does not exist, PermissionDenied unless the
        caller created it or is admin."""
        async with self._uow_factory() as uow:
            message = await _existing_message(uow, message_id)
            require_owner_or_admin(principal, message.creator_id, "delete a message")
            if not await uow.messages.delete(message.id):
                raise NotFound(f"message {message_id!r} not found")
            await uow.commit()

    @rpc_span("UpdateMessage")
    async def update_message(
        self,
        principal: Principal,
        message: Message,
        update_mask: Sequence[str],
        append_mask: Sequence[str] = (),
    ) -> Message:
        """Update the message `message.id` and return it as stored.

        `update_mask` names the fields replaced by `message`'s values (content_type,
        content_text, content_data, parent_message_id; "*" for all); `append_mask` names those
        appended to instead (strings concatenated, content_data merged key by key: see
        `onehub.services.masks`). Raise InvalidArgument when both masks are empty or name an
        unknown field, NotFound if the message does not exist, PermissionDenied unless the
        caller created it or is admin, Aborted if someone else updated it meanwhile.
        """
        replaced, appended = resolve_masks(
            "message",
            update_mask,
            append_mask,
            updatable=MESSAGE_UPDATABLE_FIELDS,
            appendable=MESSAGE_APPENDABLE_FIELDS,
        )
        if not replaced and not appended:
            raise InvalidArgument("update_mask or append_mask must name a field to change")
        async with self._uow_factory() as uow:
            stored = await _existing_message(uow, message.id)
            require_owner_or_admin(principal, stored.creator_id, "update a message")
            changed = _check_content(apply_masks(stored, message, replaced, appended))
            changed = dataclasses.replace(changed, updated_at=self._clock())
            updated = await uow.messages.update(changed, expected_version=stored.version)
            await uow.commit()
        return updated
