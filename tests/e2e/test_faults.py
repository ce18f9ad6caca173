"""`GET/PUT /admin/faults` on the gateway of the real, composed OneHub: admin only, checked
before anything changes, and what it switches takes effect at once."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from starlette.applications import Starlette

from onehub.app import RunningOneHub
from onehub.services.auth import build_authenticator
from onehub.services.faults import FaultSwitchboard
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.gateway.faults import fault_routes

from .test_loadgen_process import run_loadgen

NOTHING_ON = {"faults": {}}


async def _topic(api: httpx.AsyncClient) -> str:
    response = await api.post("/api/v1/topics", json={"topic": {"name": "Faulty"}})
    assert response.status_code == 200, response.text
    return str(response.json()["topic"]["base"]["id"])


async def test_admin_switches_a_fault_on_and_off_at_run_time(api: httpx.AsyncClient) -> None:
    topic = await _topic(api)
    assert (await api.get("/admin/faults")).json()["faults"] == {}

    switched = await api.put("/admin/faults", json={"faults": {"rpc-errors": "GetTopic"}})
    failing = await api.get(f"/api/v1/topics/{topic}")
    state = await api.get("/admin/faults")
    off = await api.put("/admin/faults", json=NOTHING_ON)
    healed = await api.get(f"/api/v1/topics/{topic}")

    assert switched.status_code == 200
    assert switched.json()["faults"] == {"rpc-errors": "GetTopic"}
    assert state.json()["faults"] == {"rpc-errors": "GetTopic"}
    assert state.json()["switchable"] is True
    assert failing.status_code == 503
    assert failing.json()["code"] == 14  # UNAVAILABLE
    assert off.json()["faults"] == {}
    assert healed.status_code == 200


async def test_an_empty_value_takes_the_default_and_a_share_is_kept(
    api: httpx.AsyncClient,
) -> None:
    response = await api.put(
        "/admin/faults",
        json={"faults": {"db-latency": "", "slow-downstream": "0.5s@0.25", "n-plus-one": None}},
    )

    assert response.status_code == 200, response.text
    assert response.json()["faults"] == {
        "db-latency": "1200ms@0.3",
        "n-plus-one": "",
        "slow-downstream": "500ms@0.25",
    }


async def test_only_admin_may_see_or_switch_faults(
    hub: RunningOneHub, as_user: Callable[..., httpx.AsyncClient], api: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=hub.gateway_url) as anonymous:
        no_credentials = await anonymous.put("/admin/faults", json={"faults": {"n-plus-one": ""}})
        no_credentials_get = await anonymous.get("/admin/faults")
    wrong_password = await as_user("admin", "admin-guess").put(
        "/admin/faults", json={"faults": {"n-plus-one": ""}}
    )
    alice = await as_user("alice").put("/admin/faults", json={"faults": {"n-plus-one": ""}})
    alice_get = await as_user("alice").get("/admin/faults")

    assert no_credentials.status_code == 401
    assert no_credentials.headers["www-authenticate"].startswith("Basic")
    assert no_credentials_get.status_code == 401
    assert wrong_password.status_code == 401
    assert alice.status_code == 403
    assert alice.json()["message"] == "only admin may switch faults"
    assert alice_get.status_code == 403
    assert (await api.get("/admin/faults")).json()["faults"] == {}
    assert hub.faults.active() == {}


async def test_a_bad_fault_is_400_and_changes_nothing(api: httpx.AsyncClient) -> None:
    await api.put("/admin/faults", json={"faults": {"n-plus-one": ""}})

    cases = {
        "unknown name": {"faults": {"n-plus-one": "", "disk-full": ""}},
        "bad duration": {"faults": {"db-latency": "fast"}},
        "bad share": {"faults": {"db-latency": "200ms@2"}},
        "unknown RPC": {"faults": {"rpc-errors": "GetTopix"}},
        "value on a flag": {"faults": {"n-plus-one": "yes"}},
        "not a string": {"faults": {"db-latency": 200}},
        "wrong shape": {"db-latency": "200ms"},
    }
    answers = {case: await api.put("/admin/faults", json=body) for case, body in cases.items()}
    not_json = await api.put("/admin/faults", content=b"{", headers={"content-type": "text/x"})

    assert {case: r.status_code for case, r in answers.items()} == dict.fromkeys(cases, 400)
    assert not_json.status_code == 400
    assert "disk-full" in answers["unknown name"].json()["message"]
    assert "GetTopix" in answers["unknown RPC"].json()["message"]
    assert (await api.get("/admin/faults")).json()["faults"] == {"n-plus-one": ""}


async def _loadgen_latency_ms(hub: RunningOneHub) -> dict[str, float]:
    status, out, err = await run_loadgen(
        hub, "--count", "8", "--rate", "0", "--concurrency", "1", "--users", "2", "--topics",
        "2", "--no-progress", "--json", "--cleanup",
    )  # fmt: skip
    assert status == 0, err
    report = json.loads(out)
    assert report["overall"]["failed"] == 0, report
    return {name: float(value) for name, value in report["overall"]["latencyMs"].items()}


async def test_loadgen_shows_db_latency_in_its_percentiles(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    # Every call sleeps this long in the database with the fault on: a floor, whatever the load.
    injected_ms = 300
    calm = await _loadgen_latency_ms(hub)
    switched = await api.put("/admin/faults", json={"faults": {"db-latency": f"{injected_ms}ms"}})
    assert switched.status_code == 200
    slowed = await _loadgen_latency_ms(hub)

    assert slowed["p50"] >= injected_ms
    assert slowed["p99"] >= injected_ms
    assert calm["p50"] < slowed["p50"]


async def test_a_server_that_refuses_faults_refuses_to_switch_them() -> None:
    # What the composition root builds for a non-loopback bind without --force-faults (a real
    # public bind has no place in a test): the endpoint, but a switchboard that is not switchable.
    app = Starlette(routes=fault_routes(FaultSwitchboard(switchable=False), build_authenticator(
        "dev", memory_uow_factory(InMemoryDatabase())
    )))  # fmt: skip
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://onehub", auth=("admin", "admin123")
    ) as admin:
        state = await admin.get("/admin/faults")
        refused = await admin.put("/admin/faults", json={"faults": {"n-plus-one": ""}})

    assert (state.json()["faults"], state.json()["switchable"]) == ({}, False)
    assert refused.status_code == 403
    assert "--force-faults" in refused.json()["message"]
