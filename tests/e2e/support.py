"""Helpers the e2e tests share: a gRPC channel signed in as admin, rows written straight into
the database (as data from before a rule existed would be), and a second database."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from sqlalchemy import insert, update

from onehub.app import RunningOneHub
from onehub.config import Settings
from onehub.storage.engine import create_engine
from onehub.storage.tables import messages, topics, users
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS
from tests.conftest import _database_url

ADMIN_METADATA = (("onehubusername", "admin"), ("onehubpassword", "admin123"))


@asynccontextmanager
async def grpc_channel(hub: RunningOneHub) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(hub.grpc_target, options=GRPC_SIZE_OPTIONS) as channel:
        yield channel


async def insert_message_row(
    database_url: str, message_id: str, topic_id: str, text: str, data: Any = None
) -> None:
    """Store a message bypassing every check, as an old version of OneHub might have."""
    now = datetime.now(UTC)
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(messages).values(
                    id=message_id,
                    topic_id=topic_id,
                    creator_id="admin",
                    content_type="text/plain",
                    content_text=text,
                    content_data=data,
                    parent_message_id="",
                    created_at=now,
                    updated_at=now,
                    version=1,
                )
            )
    finally:
        await engine.dispose()


async def set_profile_row(database_url: str, user_id: str, profile: Mapping[str, Any]) -> None:
    """Overwrite a user's stored profile_data bypassing every check."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(users).where(users.c.id == user_id).values(profile_data=dict(profile))
            )
    finally:
        await engine.dispose()


async def set_topic_members_row(database_url: str, topic_id: str, members: list[str]) -> None:
    """Overwrite a topic's stored member ids bypassing every check."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                update(topics).where(topics.c.id == topic_id).values(users=members)
            )
    finally:
        await engine.dispose()


@asynccontextmanager
async def another_database(database_url: str, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database of the same kind as `database_url`."""
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    async with _database_url(backend, tmp_path / "other") as url:
        yield url


def nested(levels: int) -> dict[str, Any]:
    """A JSON object `levels` objects deep: nested(1) == {"a": 1}."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    result: dict[str, Any] = value
    return result


def depth_of(value: Any) -> int:
    depth = 0
    while isinstance(value, dict):
        depth += 1
        value = value.get("a")
    return depth


def embedded_collector_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a hub on loopback port 0 with every listener (gRPC, gateway, OTLP, viewer),
    SQLite and the embedded collector's data under `tmp_path`, a one-second grace; `overrides`
    replace any of them."""
    settings = Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        otlp_grpc_addr="127.0.0.1:0",
        otlp_http_addr="127.0.0.1:0",
        ui_addr="127.0.0.1:0",
        db_endpoint=f"sqlite:///{tmp_path}/onehub.db",
        collector_data_dir=str(tmp_path / "collector"),
        collector="embedded",
        grace_seconds=1.0,
    )
    return dataclasses.replace(settings, **overrides)
