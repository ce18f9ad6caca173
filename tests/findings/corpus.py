"""A labelled corpus for the trace findings.

Ordinary traffic comes from the real OneHub (composition root, REST gateway, gRPC services,
SQL store) driven through its REST API the way the load generator and the web page drive it,
including the 4xx answers a user meets every day; its traces must carry no finding.

The injected cases are OneHub-shaped traces built span by span (gateway SERVER -> gRPC CLIENT
-> gRPC SERVER -> method -> store -> statements) with one real problem each, or with a near
miss that must not be reported. Each case names the findings it must produce.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from collector_tests.otlp_builders import CLIENT, ERROR, SERVER, SpanSpec, new_trace_id

MS = 1000
GATEWAY, BACKEND = "onehub.gateway", "onehub.backend"


def trace_id_of(response: httpx.Response) -> str:
    return response.headers["traceresponse"].split("-")[1]


async def drive_ordinary_traffic(gateway_url: str) -> dict[str, int]:
    """The load script's and the web page's flows plus expected 4xx, through the REST gateway.

    Returns {trace id: HTTP status}; every call's status is the one a user expects.
    """
    seen: dict[str, int] = {}

    async def call(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> None:
        response = await client.request(method, path, **kw)  # type: ignore[arg-type]
        seen[trace_id_of(response)] = response.status_code

    auth = ("admin", "admin123")
    async with httpx.AsyncClient(base_url=gateway_url, auth=auth, timeout=20) as admin:
        users = ["alice", "bob", "carol"]
        # The load script: users, then topics with every user a member, then messages.
        await asyncio.gather(
            *(call(admin, "POST", "/v1/users", json={"user": {"id": u, "name": u}}) for u in users)
        )
        members = dict.fromkeys(users, True)
        await asyncio.gather(
            *(
                call(
                    admin,
                    "POST",
                    "/v1/topics",
                    json={"topic": {"base": {"id": t}, "name": t, "users": members}},
                )
                for t in ("t1", "t2")
            )
        )
        bulk = [
            {
                "base": {"creatorId": users[i % 3]},
                "contentBase": {"contentType": "text/plain", "contentText": f"imported {i}"},
                "topicId": "t1",
            }
            for i in range(40)
        ]
        await call(admin, "POST", "/v1/messages:import", json={"messages": bulk})

        def send(topic: str, creator: str, text: str) -> dict[str, object]:
            message = {
                "base": {"creatorId": creator},
                "contentBase": {"contentType": "text/plain", "contentText": text},
                "topicId": topic,
            }
            return {"messages": [message], "allowUserids": True}

        await asyncio.gather(
            *(
                call(
                    admin,
                    "POST",
                    f"/v1/topics/{t}/messages",
                    json=send(t, users[i % 3], f"hello {i}"),
                )
                for i, t in enumerate(["t1", "t2", "t1", "t2", "t1", "t2"])
            )
        )
        # The web page: list topics, open one, its messages newest first, who wrote them, send.
        for topic in ("t1", "t2"):
            await asyncio.gather(
                call(admin, "GET", "/v1/topics", params={"pagination.page_size": 50}),
                call(admin, "GET", f"/v1/topics/{topic}"),
                call(
                    admin,
                    "GET",
                    "/v1/messages",
                    params={
                        "topic_id": topic,
                        "order_by": "-created_at",
                        "pagination.page_size": 50,
                    },
                ),
                call(admin, "GET", "/v1/users:batchGet", params=[("ids", u) for u in users]),
            )
            await call(
                admin,
                "POST",
                f"/v1/topics/{topic}/messages",
                json={
                    "messages": [
                        {"contentBase": {"contentType": "text/plain", "contentText": "hi"}}
                    ]
                },
            )
        await call(admin, "GET", "/v1/messages", params={"search_phrase": "imported"})
        await call(admin, "GET", "/v1/topics/t1/messages")
        # What users get wrong every day: a topic that is not there, a user that exists.
        await call(admin, "GET", "/v1/topics/no-such-topic")
        await call(admin, "GET", "/v1/users/nobody")
        await call(admin, "POST", "/v1/users", json={"user": {"id": "alice", "name": "again"}})
    async with httpx.AsyncClient(base_url=gateway_url, auth=("admin", "wrong"), timeout=20) as bad:
        await call(bad, "GET", "/v1/topics")
    return seen


@dataclass
class Case:
    """One injected trace: its spans, and the findings it must produce as (kind, span ids)."""

    name: str
    trace_id: bytes
    spans: list[SpanSpec]
    expected: list[tuple[str, list[bytes]]] = field(default_factory=list)


class _Builder:
    """OneHub's span tree for one request, with times in microseconds from the trace's start."""

    def __init__(self, start_us: int, route: str, rpc: str, duration_ms: float, status: int = 200):
        self.trace_id = new_trace_id()
        self.start = start_us
        self.spans: list[SpanSpec] = []
        total = int(duration_ms * MS)
        self.gateway = self.add(
            GATEWAY,
            f"gateway {route}",
            0,
            total,
            None,
            kind=SERVER,
            attributes={
                "http.request.method": route.split()[0],
                "http.response.status_code": status,
            },
        )
        rpc_attrs = {"rpc.system.name": "grpc", "rpc.method": rpc}
        self.client = self.add(
            GATEWAY, rpc, 200, total - 400, self.gateway, kind=CLIENT, attributes=rpc_attrs
        )
        self.server = self.add(
            BACKEND, rpc, 400, total - 800, self.client, kind=SERVER, attributes=rpc_attrs
        )
        self.method = self.add(BACKEND, rpc.rsplit("/", 1)[1], 500, total - 1000, self.server)

    def add(
        self,
        service: str,
        name: str,
        offset_us: int,
        duration_us: int,
        parent: SpanSpec | None,
        **kw: object,
    ) -> SpanSpec:
        spec = SpanSpec(
            service,
            name,
            self.start + offset_us,
            duration_us,
            self.trace_id,
            parent_id=parent.span_id if parent else b"",
            **kw,  # type: ignore[arg-type]
        )
        self.spans.append(spec)
        return spec

    def statement(
        self, parent: SpanSpec, text: str, offset_us: int, duration_us: int, **kw: object
    ) -> SpanSpec:
        verb = text.split()[0]
        attributes = {
            "db.system.name": "sqlite",
            "db.query.text": text,
            "db.operation.name": f"{verb} db",
        }
        return self.add(
            BACKEND,
            f"{verb} db",
            offset_us,
            duration_us,
            parent,
            kind=CLIENT,
            attributes=attributes,
            **kw,
        )

    def transaction(self, parent: SpanSpec, offset_us: int, writes: list[str]) -> int:
        """BEGIN, SAVEPOINTs, the writes and RELEASEs in turn, as SQLAlchemy issues them."""
        at = offset_us
        texts = ["BEGIN IMMEDIATE", "SAVEPOINT sa_savepoint_1", "SAVEPOINT sa_savepoint_2"]
        texts += [*writes, "RELEASE SAVEPOINT sa_savepoint_2", "RELEASE SAVEPOINT sa_savepoint_1"]
        for text in texts:
            self.statement(parent, text, at, 300)
            at += 350
        return at

    def case(self, name: str, expected: list[tuple[str, list[SpanSpec]]]) -> Case:
        return Case(
            name, self.trace_id, self.spans, [(k, [s.span_id for s in ss]) for k, ss in expected]
        )


def injected_cases(start_us: int) -> list[Case]:
    """Traces with one real problem each (expected findings), and near misses (none)."""
    cases: list[Case] = []
    at: Callable[[int], int] = lambda i: start_us + i * 5_000 * MS  # noqa: E731

    # An N+1: one SELECT per user, same shape with a different literal each time.
    b = _Builder(at(0), "GET /v1/topics", "onehub.v1.TopicService/ListTopics", 20)
    store = b.add(BACKEND, "db.ListTopics", 600, 18_000, b.method)
    selects = [
        b.statement(
            store,
            f"SELECT users.id, users.name FROM users WHERE users.id = '{u}'",
            700 + i * 1_500,
            1_400,
        )
        for i, u in enumerate(["u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8"])
    ]
    cases.append(b.case("n+1 statements", [("n_plus_one", selects)]))

    # An N+1 of RPCs: a method asking another service once per topic.
    b = _Builder(at(1), "GET /v1/topics", "onehub.v1.TopicService/ListTopics", 40)
    rpc = {"rpc.system.name": "grpc", "rpc.method": "onehub.v1.UserService/GetUser"}
    calls = [
        b.add(
            BACKEND,
            "onehub.v1.UserService/GetUser",
            600 + i * 6_000,
            5_500,
            b.method,
            kind=CLIENT,
            attributes=rpc,
        )
        for i in range(6)
    ]
    cases.append(b.case("n+1 calls", [("n_plus_one", calls)]))

    # Independent calls to three different services, one after the other.
    b = _Builder(at(2), "GET /v1/dashboard", "onehub.v1.DashboardService/Get", 70)
    seq = []
    for i, target in enumerate(
        ["UserService/GetUsers", "TopicService/ListTopics", "MessageService/SearchMessages"]
    ):
        rpc = {"rpc.system.name": "grpc", "rpc.method": f"onehub.v1.{target}"}
        seq.append(
            b.add(
                BACKEND,
                f"onehub.v1.{target}",
                1_000 + i * 21_000,
                20_000,
                b.method,
                kind=CLIENT,
                attributes=rpc,
            )
        )
    cases.append(b.case("sequential rpcs", [("sequential", seq)]))

    # Independent HTTP calls to two peers named by peer.service.
    b = _Builder(at(3), "POST /v1/checkout", "onehub.v1.CheckoutService/Checkout", 50)
    pricing = b.add(
        BACKEND, "GET", 1_000, 20_000, b.method, kind=CLIENT, attributes={"peer.service": "pricing"}
    )
    stock = b.add(
        BACKEND, "GET", 22_000, 20_000, b.method, kind=CLIENT, attributes={"peer.service": "stock"}
    )
    cases.append(b.case("sequential peers", [("sequential", [pricing, stock])]))

    # A slow statement that is most of a slow request.
    b = _Builder(at(4), "GET /v1/messages", "onehub.v1.MessageService/SearchMessages", 2_400)
    store = b.add(BACKEND, "db.SearchMessages", 600, 2_390_000, b.method)
    slow = b.statement(
        store, "SELECT messages.id FROM messages WHERE messages.content_text LIKE ?", 700, 2_200_000
    )
    b.statement(store, "SELECT count(*) FROM messages", 2_201_000, 5_000)
    cases.append(b.case("slow statement", [("slow_span", [slow])]))

    # A failed downstream call the method ignored: the client got a 200.
    b = _Builder(
        at(5), "POST /v1/topics/{topic_id}/messages", "onehub.v1.MessageService/CreateMessages", 30
    )
    b.transaction(
        b.add(BACKEND, "db.SaveMessages", 600, 5_000, b.method),
        700,
        ["INSERT INTO messages (id) VALUES (?)"],
    )
    notify = b.add(
        BACKEND,
        "onehub.v1.PushService/Notify",
        6_000,
        20_000,
        b.method,
        kind=CLIENT,
        status=ERROR,
        status_message="UNAVAILABLE: push gateway down",
        attributes={"rpc.system.name": "grpc", "rpc.method": "onehub.v1.PushService/Notify"},
    )
    cases.append(b.case("swallowed rpc error", [("swallowed_error", [notify, b.server])]))

    # A failed statement the store turned into success.
    b = _Builder(at(6), "POST /v1/users", "onehub.v1.UserService/CreateUser", 20)
    store = b.add(BACKEND, "db.SaveUser", 600, 8_000, b.method)
    failed = b.statement(
        store,
        "INSERT INTO users (id, name) VALUES (?, ?)",
        700,
        2_000,
        status=ERROR,
        status_message="UNIQUE constraint failed",
    )
    cases.append(b.case("swallowed db error", [("swallowed_error", [failed, b.server])]))

    # Near misses: none of these is worth an engineer's time.
    b = _Builder(at(7), "POST /v1/messages:import", "onehub.v1.MessageService/ImportMessages", 30)
    store = b.add(BACKEND, "db.SaveMessages", 600, 25_000, b.method)
    b.transaction(store, 700, [f"INSERT INTO messages (id) VALUES ('m{i}')" for i in range(4)])
    cases.append(b.case("a transaction of four writes", []))

    b = _Builder(at(8), "GET /v1/topics/{id}", "onehub.v1.TopicService/GetTopic", 30)
    rpc = {"rpc.system.name": "grpc", "rpc.method": "onehub.v1.UserService/GetUser"}
    b.add(
        BACKEND,
        "onehub.v1.UserService/GetUser",
        600,
        5_000,
        b.method,
        kind=CLIENT,
        status=ERROR,
        attributes=rpc,
    )
    b.add(
        BACKEND,
        "onehub.v1.UserService/GetUser",
        6_000,
        5_000,
        b.method,
        kind=CLIENT,
        attributes=rpc,
    )
    cases.append(b.case("a retry that succeeded", []))

    b = _Builder(at(9), "GET /v1/topics/{id}", "onehub.v1.TopicService/GetTopic", 30, status=404)
    b.client.status, b.client.status_message = ERROR, "NOT_FOUND: no topic 'x'"
    cases.append(b.case("an expected 404", []))

    b = _Builder(at(10), "GET /v1/dashboard", "onehub.v1.DashboardService/Get", 30)
    for i, target in enumerate(["UserService/GetUsers", "TopicService/ListTopics"]):
        rpc = {"rpc.system.name": "grpc", "rpc.method": f"onehub.v1.{target}"}
        b.add(
            BACKEND,
            f"onehub.v1.{target}",
            1_000 + i * 500,
            20_000,
            b.method,
            kind=CLIENT,
            attributes=rpc,
        )
    cases.append(b.case("calls already in parallel", []))

    b = _Builder(at(11), "GET /v1/dashboard", "onehub.v1.DashboardService/Get", 100)
    for i, target in enumerate(["UserService/GetUsers", "TopicService/ListTopics"]):
        rpc = {"rpc.system.name": "grpc", "rpc.method": f"onehub.v1.{target}"}
        b.add(
            BACKEND,
            f"onehub.v1.{target}",
            1_000 + i * 1_200,
            1_000,
            b.method,
            kind=CLIENT,
            attributes=rpc,
        )
    cases.append(b.case("sequential calls too short to matter", []))

    b = _Builder(at(12), "GET /v1/topics", "onehub.v1.TopicService/ListTopics", 20)
    store = b.add(BACKEND, "db.ListTopics", 600, 18_000, b.method)
    for i in range(4):
        b.statement(
            store, f"SELECT topics.id FROM topics WHERE topics.id = {i}", 700 + i * 1_500, 1_400
        )
    cases.append(b.case("four repeats, below the threshold", []))

    b = _Builder(at(13), "GET /v1/messages", "onehub.v1.MessageService/SearchMessages", 1_500)
    store = b.add(BACKEND, "db.SearchMessages", 600, 1_490_000, b.method)
    for i, text in enumerate(
        ["SELECT a FROM x", "SELECT b FROM y", "SELECT c FROM z", "SELECT d FROM w"]
    ):
        b.statement(store, text, 700 + i * 370_000, 360_000)
    cases.append(b.case("a slow request with no one culprit", []))

    b = _Builder(at(14), "GET /v1/messages", "onehub.v1.MessageService/SearchMessages", 200)
    store = b.add(BACKEND, "db.SearchMessages", 600, 198_000, b.method)
    b.statement(store, "SELECT messages.id FROM messages", 700, 190_000)
    cases.append(b.case("one statement is most of a quick request", []))

    # An overloaded server: the gRPC server span waits 900 ms before its method runs.
    b = _Builder(at(15), "POST /v1/users", "onehub.v1.UserService/CreateUser", 1_200)
    b.method.start_us += 900_000
    b.method.duration_us -= 900_000
    store = b.add(BACKEND, "db.SaveUser", 901_000, 8_000, b.method)
    b.transaction(store, 901_100, ["INSERT INTO users (id, name) VALUES (?, ?)"])
    cases.append(b.case("a gap while the server was busy", []))

    # An N+1 through a repository: the method calls the store once per topic, and each store
    # span wraps its one SELECT; the store spans are the repeats.
    b = _Builder(at(16), "GET /v1/topics", "onehub.v1.TopicService/ListTopics", 20)
    gets = []
    for i in range(6):
        get = b.add(BACKEND, "db.GetTopic", 700 + i * 2_000, 1_800, b.method)
        b.statement(
            get, f"SELECT topics.id FROM topics WHERE topics.id = 't{i}'", 750 + i * 2_000, 1_600
        )
        gets.append(get)
    cases.append(b.case("n+1 through store spans", [("n_plus_one", gets)]))

    # Store spans that each run two different statements are units of work, not one query
    # in a loop: not counted as repeats of either.
    b = _Builder(at(17), "POST /v1/topics", "onehub.v1.TopicService/UpdateTopic", 30)
    for i in range(6):
        update = b.add(BACKEND, "db.UpdateTopic", 700 + i * 4_000, 3_800, b.method)
        b.statement(
            update, f"UPDATE topics SET version = 2 WHERE id = 't{i}'", 750 + i * 4_000, 1_600
        )
        b.statement(
            update, f"SELECT version FROM topics WHERE id = 't{i}'", 2_400 + i * 4_000, 1_600
        )
    cases.append(b.case("store spans of two statements each", []))
    return cases
