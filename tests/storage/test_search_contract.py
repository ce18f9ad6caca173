"""MessageStore.search contract: full-text words, filters, orders, paging; every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import MessageQuery, PageRequest
from onehub.services.ports import UnitOfWorkFactory

from .helpers import message, seed, topic, walk_pages

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

TEXTS = {
    "m1": "Apples and pears at the market",
    "m2": "apples, APPLES everywhere!",
    "m3": "The pear tree is in bloom",
    "m4": "Robert'); DROP TABLE messages;-- said hello",
    "m5": 'Use NEAR(a b) OR "quoted" * like an FTS query ^x',
    "m6": "日本語 のテキスト and ünïcödé café",
    "m7": "snake_case words and 100% sure",
}


@pytest.fixture
async def corpus(uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """Seven messages in two topics by two senders, created one minute apart (m1 oldest)."""
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    messages = [
        replace(
            message(mid, "t1" if i % 2 else "t2", text, creator="ann" if i < 4 else "bob"),
            created_at=T0 + timedelta(minutes=i),
        )
        for i, (mid, text) in enumerate(TEXTS.items(), start=1)
    ]
    await seed(uow_factory, messages=messages)
    return uow_factory


async def search_ids(factory: UnitOfWorkFactory, query: MessageQuery, size: int = 50) -> list[str]:
    async with factory() as uow:
        pages = await walk_pages(lambda p: uow.messages.search(query, p), size)
    return [m.id for p in pages for m in p.items]


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("apples", ["m2", "m1"]),
        ("APPLES Pears", ["m1"]),
        ("pears apples", ["m1"]),
        ("app", []),
        ("pear", ["m3"]),
        ("drop table", ["m4"]),
        ("Robert'); DROP TABLE messages;--", ["m4"]),
        ('NEAR(a b) OR "quoted" *', ["m5"]),
        ('"unbalanced', []),
        ("quoted ^x", ["m5"]),
        ("日本語", ["m6"]),
        ("ünïcödé café", ["m6"]),
        ("cafe", []),
        ("snake_case", ["m7"]),
        ("100%", ["m7"]),
        ("%", []),
        ("' OR 1=1 --", []),
        ("🚀 !!! ***", []),
    ],
)
async def test_phrase_matches_messages_containing_every_word(
    corpus: UnitOfWorkFactory, phrase: str, expected: list[str]
) -> None:
    assert await search_ids(corpus, MessageQuery(phrase)) == expected


async def test_filters_combine(corpus: UnitOfWorkFactory) -> None:
    assert await search_ids(corpus, MessageQuery()) == ["m7", "m6", "m5", "m4", "m3", "m2", "m1"]
    assert await search_ids(corpus, MessageQuery(sender_id="ann")) == ["m3", "m2", "m1"]
    assert await search_ids(corpus, MessageQuery(topic_id="t1")) == ["m7", "m5", "m3", "m1"]
    assert await search_ids(corpus, MessageQuery("and", sender_id="bob")) == ["m7", "m6"]
    assert await search_ids(corpus, MessageQuery("apples", topic_id="t1")) == ["m1"]
    assert await search_ids(corpus, MessageQuery(sender_id="nobody")) == []


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ((), ["m7", "m6", "m5", "m4", "m3", "m2", "m1"]),
        (("-created_at",), ["m7", "m6", "m5", "m4", "m3", "m2", "m1"]),
        (("created_at",), ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]),
        (("-id",), ["m7", "m6", "m5", "m4", "m3", "m2", "m1"]),
        (("id",), ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]),
    ],
)
async def test_order_by_pages_in_that_order(
    corpus: UnitOfWorkFactory, order_by: tuple[str, ...], expected: list[str]
) -> None:
    async with corpus() as uow:
        pages = await walk_pages(
            lambda p: uow.messages.search(MessageQuery(order_by=order_by), p), 3
        )
    assert [m.id for p in pages for m in p.items] == expected
    assert [p.total for p in pages] == [7, 7, 7]
    assert [p.has_more for p in pages] == [True, True, False]


async def test_order_by_updated_at_follows_edits(corpus: UnitOfWorkFactory) -> None:
    async with corpus() as uow:
        for mid in ("m2", "m5"):
            current = await uow.messages.get(mid)
            assert current is not None
            await uow.messages.update(
                replace(current, content_text="edited", updated_at=None), current.version
            )
        await uow.commit()
    newest = await search_ids(corpus, MessageQuery(order_by=["-updated_at"]), size=2)
    oldest = await search_ids(corpus, MessageQuery(order_by=["updated_at", "-id"]), size=2)
    assert newest == ["m5", "m2", "m7", "m6", "m4", "m3", "m1"]
    assert oldest == ["m1", "m3", "m4", "m6", "m7", "m2", "m5"]


async def test_mixed_directions_page_correctly(corpus: UnitOfWorkFactory) -> None:
    query = MessageQuery(sender_id="", order_by=["created_at", "-id"])
    assert await search_ids(corpus, query, size=2) == ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]


@pytest.mark.parametrize(
    "order_by",
    [["name"], ["created_at; DROP TABLE messages"], ["created_at", "-created_at"], [""], ["+id"]],
)
async def test_unknown_or_repeated_sort_keys_are_invalid(
    corpus: UnitOfWorkFactory, order_by: list[str]
) -> None:
    async with corpus() as uow:
        with pytest.raises(InvalidArgument, match="order_by"):
            await uow.messages.search(MessageQuery(order_by=order_by), PageRequest(page_size=5))


async def test_a_cursor_only_resumes_the_search_that_made_it(corpus: UnitOfWorkFactory) -> None:
    async with corpus() as uow:
        first = await uow.messages.search(MessageQuery("and"), PageRequest(page_size=1))
        cursor = first.next_page_key
        assert cursor
        for other in (
            MessageQuery("and", order_by=["id"]),
            MessageQuery("apples"),
            MessageQuery("and", sender_id="bob"),
            MessageQuery("!!!"),
        ):
            with pytest.raises(InvalidArgument, match="page_key"):
                await uow.messages.search(other, PageRequest(cursor, 1))


@pytest.mark.parametrize(
    "phrase",
    ["example", "alice example com", "docs", "org b", "v1", "x y", "3 14"],
)
async def test_words_inside_addresses_urls_and_dotted_names_are_found_on_every_backend(
    uow_factory: UnitOfWorkFactory, phrase: str
) -> None:
    # PostgreSQL's parser reads an e-mail address, a host or a version as one token; the other
    # backends split them into their words, and so must it.
    await seed(uow_factory, topics=[topic("t1")])
    text = "mail alice@example.com, see https://docs.example.org/a/b for v1.2.3 of x.y (3.14)"
    await seed(uow_factory, messages=[message("m1", "t1", text)])
    assert await search_ids(uow_factory, MessageQuery(phrase)) == ["m1"]
