"""`onehub topics ...` against a real server."""

from __future__ import annotations

import json

from onehub.domain.models import Principal, Topic, User

from .conftest import Cli, RunningServer

ADMIN = Principal("admin")


def people(server: RunningServer, *user_ids: str) -> None:
    """Create the users a test names as members (members must be existing users)."""
    for user_id in user_ids:
        server.run(server.services.users.create_user(ADMIN, User(user_id, user_id.title())))


def test_create_then_get_shows_the_topic_as_fields(cli: Cli, server: RunningServer) -> None:
    people(server, "alice")
    created = cli("topics", "create", "Book club", "--id", "books", "--member", "alice")
    assert created.status == 0, created.err
    assert "id:      books" in created.out
    assert "name:    Book club" in created.out
    assert "creator: admin" in created.out
    assert "members: alice" in created.out

    shown = cli("topics", "get", "books")
    assert shown.status == 0
    assert shown.out.splitlines()[:4] == [
        "id:      books",
        "name:    Book club",
        "creator: admin",
        "members: alice",
    ]


def test_list_prints_an_aligned_table_sorted_by_name(cli: Cli, server: RunningServer) -> None:
    people(server, "alice", "bob")
    cli("topics", "create", "Zebras", "--id", "z1")
    cli("topics", "create", "Apples", "--id", "a1", "--member", "bob", "--member", "alice")

    listed = cli("topics", "list")

    assert listed.status == 0
    header, *rows = listed.out.splitlines()
    assert header.split() == ["ID", "NAME", "CREATOR", "MEMBERS", "CREATED"]
    assert [row.split()[:3] for row in rows] == [
        ["a1", "Apples", "admin"],
        ["z1", "Zebras", "admin"],
    ]
    assert rows[0].split()[3] == "alice,bob"
    # Columns line up: every row's NAME starts where the header's does.
    name_at = header.index("NAME")
    assert all(row[name_at : name_at + 6] in ("Apples", "Zebras") for row in rows)


def test_json_output_is_the_gateway_shape(cli: Cli) -> None:
    cli("topics", "create", "Plans", "--id", "p1")

    listed = cli("topics", "list", "--json")

    body = json.loads(listed.out)
    assert body["pagination"]["nextPageKey"] == ""
    assert body["pagination"]["hasMoreResults"] is False
    (topic,) = body["topics"]
    assert topic["name"] == "Plans"
    assert topic["base"]["id"] == "p1"
    assert topic["base"]["creatorId"] == "admin"
    # Unpopulated fields are emitted, as grpc-gateway does.
    assert topic["users"] == {}


def test_paging_one_page_points_at_the_next_and_all_follows_every_cursor(
    cli: Cli, server: RunningServer
) -> None:
    for i in range(7):
        server.run(server.services.topics.create_topic(ADMIN, Topic(f"t{i}", "", f"topic {i}")))

    first = cli("topics", "list", "--page-size", "3")
    assert len(first.out.splitlines()) == 1 + 3
    assert "more results: add --page-key" in first.err
    next_key = first.err.split("--page-key ")[1].split()[0]

    second = cli("topics", "list", "--page-size", "3", "--page-key", next_key)
    assert [line.split()[0] for line in second.out.splitlines()[1:]] == ["t3", "t4", "t5"]

    everything = cli("topics", "list", "--page-size", "3", "--all")
    assert [line.split()[0] for line in everything.out.splitlines()[1:]] == [
        f"t{i}" for i in range(7)
    ]
    assert everything.err == ""

    as_json = json.loads(cli("topics", "list", "--page-size", "2", "--all", "--json").out)
    assert [t["base"]["id"] for t in as_json["topics"]] == [f"t{i}" for i in range(7)]
    assert as_json["pagination"]["nextPageKey"] == ""


def test_update_renames_and_changes_members(cli: Cli, server: RunningServer) -> None:
    people(server, "bob", "carol")
    cli("topics", "create", "Old", "--id", "t1", "--member", "bob")

    renamed = cli("topics", "update", "t1", "--name", "New", "--add-user", "carol")
    assert renamed.status == 0, renamed.err
    assert "name:    New" in renamed.out
    assert "members: bob,carol" in renamed.out

    removed = cli("topics", "update", "t1", "--remove-user", "bob")
    assert "name:    New" in removed.out
    assert "members: carol" in removed.out


def test_update_without_a_change_is_a_usage_error(cli: Cli) -> None:
    result = cli("topics", "update", "t1")
    assert result.status == 2
    assert (
        result.err.strip() == "error: nothing to change: give --name, --add-user or --remove-user"
    )


def test_delete_then_get_is_not_found(cli: Cli) -> None:
    cli("topics", "create", "Doomed", "--id", "gone")

    deleted = cli("topics", "delete", "gone")
    assert deleted.status == 0
    assert deleted.out.strip() == "deleted topic: gone"

    missing = cli("topics", "get", "gone")
    assert missing.status == 1
    assert missing.out == ""
    assert missing.err.strip() == "error: NOT_FOUND: topic 'gone' not found"


def test_empty_list_says_so(cli: Cli) -> None:
    assert cli("topics", "list").out.strip() == "(none)"


def test_create_quiet_prints_only_the_new_id_for_the_next_command(
    cli: Cli, server: RunningServer
) -> None:
    created = cli("topics", "create", "Weekend plans", "-q")

    assert created.status == 0, created.err
    topic_id = created.out.strip()
    assert created.out == topic_id + "\n"
    stored = server.run(server.services.topics.get_topic(ADMIN, topic_id))
    assert stored.name == "Weekend plans"
    sent = cli("msgs", "send", topic_id, "hello")
    assert sent.status == 0, sent.err
