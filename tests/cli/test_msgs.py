"""`onehub msgs ...` against a real server."""

from __future__ import annotations

import io
import json

import pytest

from onehub.domain.models import Message, Principal

from .conftest import Cli, RunningServer

ADMIN = Principal("admin")


@pytest.fixture
def topic(cli: Cli) -> str:
    assert cli("topics", "create", "Dinner", "--id", "dinner").status == 0
    return "dinner"


def test_send_shows_the_stored_message(cli: Cli, topic: str) -> None:
    sent = cli("msgs", "send", topic, "see you at eight", "--id", "m1")

    assert sent.status == 0, sent.err
    assert "id:      m1" in sent.out
    assert "topic:   dinner" in sent.out
    assert "sender:  admin" in sent.out
    assert "text:    see you at eight" in sent.out


def test_send_reads_the_text_from_stdin_with_a_dash(
    cli: Cli, topic: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("piped in\n"))

    sent = cli("msgs", "send", topic, "-", "--json")

    body = json.loads(sent.out)
    (message,) = body["messages"]
    assert message["contentBase"]["contentText"] == "piped in"
    assert message["topicId"] == "dinner"
    assert message["parentMessageId"] == ""


def test_list_is_a_table_oldest_first_and_all_follows_cursors(cli: Cli, topic: str) -> None:
    for i in range(5):
        assert cli("msgs", "send", topic, f"message number {i}", "--id", f"m{i}").status == 0

    page = cli("msgs", "list", topic, "--page-size", "2")
    header, *rows = page.out.splitlines()
    assert header.split() == ["ID", "TOPIC", "SENDER", "CREATED", "TEXT"]
    assert [row.split()[0] for row in rows] == ["m0", "m1"]
    assert "more results" in page.err

    everything = cli("msgs", "list", topic, "--page-size", "2", "--all")
    rows = everything.out.splitlines()[1:]
    assert [row.split()[0] for row in rows] == [f"m{i}" for i in range(5)]
    assert rows[4].endswith("message number 4")


def test_long_texts_are_cut_in_tables_but_whole_in_get(cli: Cli, topic: str) -> None:
    text = "word " * 40
    cli("msgs", "send", topic, text, "--id", "long")

    row = cli("msgs", "list", topic).out.splitlines()[1]
    assert row.endswith("…")
    assert len(row) < 140

    assert (
        json.loads(cli("msgs", "get", "long", "--json").out)["message"]["contentBase"][
            "contentText"
        ]
        == text
    )


def test_search_filters_by_phrase_and_sender(cli: Cli, topic: str, server: RunningServer) -> None:
    drafts = [
        Message("s1", "alice", topic, content_text="pizza tonight"),
        Message("s2", "bob", topic, content_text="pizza again"),
        Message("s3", "alice", topic, content_text="salad please"),
    ]
    server.run(server.services.messages.create_messages(ADMIN, topic, drafts, allow_userids=True))

    by_phrase = cli("msgs", "search", "--phrase", "pizza", "--order-by", "created_at")
    assert [row.split()[0] for row in by_phrase.out.splitlines()[1:]] == ["s1", "s2"]

    by_both = cli("msgs", "search", "-q", "pizza", "--sender", "alice", "--json")
    assert [m["base"]["id"] for m in json.loads(by_both.out)["messages"]] == ["s1"]


def test_get_and_delete(cli: Cli, topic: str) -> None:
    cli("msgs", "send", topic, "short lived", "--id", "m9")

    shown = cli("msgs", "get", "m9")
    assert "text:    short lived" in shown.out

    assert cli("msgs", "delete", "m9").out.strip() == "deleted message: m9"
    missing = cli("msgs", "get", "m9")
    assert (missing.status, missing.err.strip()) == (1, "error: NOT_FOUND: message 'm9' not found")


def test_sending_to_a_missing_topic_is_not_found(cli: Cli) -> None:
    result = cli("msgs", "send", "nowhere", "hello")
    assert result.status == 1
    assert result.err.startswith("error: NOT_FOUND: ")
    assert "nowhere" in result.err
