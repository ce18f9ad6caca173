"""`onehub users ...` against a real server."""

from __future__ import annotations

import json

from .conftest import Cli


def test_create_list_get_delete(cli: Cli) -> None:
    created = cli("users", "create", "alice", "--name", "Alice Liddell", "--avatar", "a.png")
    assert created.status == 0, created.err
    assert "name:    Alice Liddell" in created.out
    assert "avatar:  a.png" in created.out
    assert cli("users", "create", "bob").status == 0

    listed = cli("users", "list")
    header, *rows = listed.out.splitlines()
    assert header.split() == ["ID", "NAME", "AVATAR", "CREATED"]
    assert [row.split()[:2] for row in rows] == [["alice", "Alice"], ["bob", "bob"]]

    shown = json.loads(cli("users", "get", "bob", "--json").out)["user"]
    assert shown["id"] == "bob"
    assert shown["name"] == "bob"  # the name defaults to the id
    assert shown["avatar"] == ""

    assert cli("users", "delete", "bob").out.strip() == "deleted user: bob"
    missing = cli("users", "get", "bob")
    assert (missing.status, missing.err.strip()) == (1, "error: NOT_FOUND: user 'bob' not found")


def test_paging_all_users(cli: Cli) -> None:
    for i in range(5):
        cli("users", "create", f"u{i}")

    everything = json.loads(cli("users", "list", "--page-size", "2", "--all", "--json").out)

    assert [u["id"] for u in everything["users"]] == [f"u{i}" for i in range(5)]


def test_only_admin_creates_users(cli: Cli) -> None:
    denied = cli("--user", "alice", "--password", "alice123", "users", "create", "mallory")

    assert denied.status == 1
    assert denied.err.startswith("error: PERMISSION_DENIED: ")


def test_duplicate_user_is_already_exists(cli: Cli) -> None:
    cli("users", "create", "dup")
    again = cli("users", "create", "dup")
    assert again.status == 1
    assert again.err.startswith("error: ALREADY_EXISTS: ")
