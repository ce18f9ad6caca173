"""A small in-memory stand-in for the few REST endpoints the web front end calls.

It answers in the gateway's JSON shapes (lowerCamelCase, error envelope, `traceresponse` header)
with the dev credential scheme (password = user id + "123"), so the page can be developed and
checked in a browser without the whole server. Tests against the real `onehub serve` use the
same page and the same assertions.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from onehub.web import web_routes

Json = dict[str, Any]
# Codes and statuses as grpc-gateway maps them.
UNAUTHENTICATED, NOT_FOUND, INVALID_ARGUMENT = (16, 401), (5, 404), (3, 400)
PERMISSION_DENIED = (7, 403)


class FakeOneHub:
    """In-memory topics, messages and users behind the REST paths under /api/v1."""

    def __init__(self) -> None:
        self.topics: dict[str, Json] = {}
        self.messages: list[Json] = []
        self.users: dict[str, Json] = {
            uid: {"id": uid, "name": name, "avatar": ""}
            for uid, name in (("admin", "Admin"), ("alice", "Alice Liddell"), ("bob", "Bob"))
        }
        self.last_trace_id = ""
        # A strictly increasing clock, so creation order is the order of the calls.
        self._clock = (
            datetime(2024, 5, 1, 9, 0, tzinfo=UTC) + timedelta(seconds=n) for n in itertools.count()
        )

    def routes(self, viewer_url: str | None) -> list[BaseRoute]:
        api = [
            Route("/api/v1/topics", self.list_topics, methods=["GET"]),
            Route("/api/v1/topics", self.create_topic, methods=["POST"]),
            Route("/api/v1/topics/{topic_id}", self.get_topic, methods=["GET"]),
            Route("/api/v1/topics/{topic_id}", self.update_topic, methods=["PATCH"]),
            Route("/api/v1/topics/{topic_id}/messages", self.create_messages, methods=["POST"]),
            Route("/api/v1/messages", self.search_messages, methods=["GET"]),
            Route("/api/v1/users:batchGet", self.get_users, methods=["GET"]),
        ]
        return [*api, *web_routes(viewer_url)]

    def app(self, viewer_url: str | None = None) -> Starlette:
        return Starlette(routes=self.routes(viewer_url))

    # ---- plumbing ----

    def _reply(self, body: Json, status: int = 200) -> JSONResponse:
        self.last_trace_id = secrets.token_hex(16)
        traceresponse = f"00-{self.last_trace_id}-{secrets.token_hex(8)}-01"
        return JSONResponse(body, status_code=status, headers={"traceresponse": traceresponse})

    def _error(self, kind: tuple[int, int], message: str) -> JSONResponse:
        code, status = kind
        return self._reply({"code": code, "message": message, "details": []}, status)

    def _caller(self, request: Request) -> str | None:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user if user in self.users and password == f"{user}123" else None

    def _now(self) -> str:
        return next(self._clock).isoformat().replace("+00:00", "Z")

    def _base(self, creator: str) -> Json:
        now = self._now()
        return {
            "id": secrets.token_hex(4),
            "creatorId": creator,
            "createdAt": now,
            "updatedAt": now,
        }

    # ---- endpoints ----

    async def list_topics(self, request: Request) -> JSONResponse:
        if not self._caller(request):
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        topics = sorted(self.topics.values(), key=lambda t: t["name"])
        pagination = {"nextPageKey": "", "hasMoreResults": False, "totalNumResults": len(topics)}
        return self._reply({"topics": topics, "pagination": pagination})

    async def create_topic(self, request: Request) -> JSONResponse:
        caller = self._caller(request)
        if not caller:
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        name = ((await request.json()).get("topic") or {}).get("name", "")
        if not name:
            return self._error(INVALID_ARGUMENT, "topic.name is required")
        topic = {"base": self._base(caller), "name": name, "users": {caller: True}}
        self.topics[topic["base"]["id"]] = topic
        return self._reply({"topic": topic})

    async def get_topic(self, request: Request) -> JSONResponse:
        if not self._caller(request):
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        topic = self.topics.get(request.path_params["topic_id"])
        if topic is None:
            return self._error(NOT_FOUND, f"topic {request.path_params['topic_id']} not found")
        return self._reply({"topic": topic})

    async def update_topic(self, request: Request) -> JSONResponse:
        caller = self._caller(request)
        if not caller:
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        topic = self.topics.get(request.path_params["topic_id"])
        if topic is None:
            return self._error(NOT_FOUND, f"topic {request.path_params['topic_id']} not found")
        if caller not in (topic["base"]["creatorId"], "admin"):
            return self._error(PERMISSION_DENIED, "only the topic's creator or admin may update it")
        body = await request.json()
        for user in body.get("addUsers", []):
            topic["users"][user] = True
        for user in body.get("removeUsers", []):
            topic["users"].pop(user, None)
        return self._reply({"topic": topic})

    async def create_messages(self, request: Request) -> JSONResponse:
        caller = self._caller(request)
        if not caller:
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        topic_id = request.path_params["topic_id"]
        if topic_id not in self.topics:
            return self._error(NOT_FOUND, f"topic {topic_id} not found")
        created = []
        for message in (await request.json()).get("messages", []):
            content = message.get("contentBase") or {}
            created.append(
                {
                    "base": self._base(caller),
                    "contentBase": {
                        "contentType": content.get("contentType", ""),
                        "contentText": content.get("contentText", ""),
                        "contentData": {},
                    },
                    "topicId": topic_id,
                    "parentMessageId": "",
                }
            )
        self.messages.extend(created)
        return self._reply({"messages": created})

    async def search_messages(self, request: Request) -> JSONResponse:
        if not self._caller(request):
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        query = request.query_params
        found = [
            m
            for m in self.messages
            if (not query.get("topic_id") or m["topicId"] == query["topic_id"])
            and query.get("search_phrase", "").lower() in m["contentBase"]["contentText"].lower()
        ]
        if query.get("order_by") == "-created_at":
            found.reverse()
        size = int(query.get("pagination.page_size") or 100)
        start = int(query.get("pagination.page_key") or 0)
        page = found[start : start + size]
        more = start + size < len(found)
        pagination = {
            "nextPageKey": str(start + size) if more else "",
            "hasMoreResults": more,
            "totalNumResults": len(found),
        }
        return self._reply({"messages": page, "pagination": pagination})

    async def get_users(self, request: Request) -> JSONResponse:
        if not self._caller(request):
            return self._error(UNAUTHENTICATED, "missing or invalid credentials")
        ids = request.query_params.getlist("ids")
        return self._reply({"users": {uid: self.users[uid] for uid in ids if uid in self.users}})
