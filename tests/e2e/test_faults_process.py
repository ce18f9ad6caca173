"""`onehub serve --fault ...` and its twin `ONEHUB_FAULT` as a person runs them: a real process."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.ports import free_port

from .processes import STARTUP_TIMEOUT_S, running_serve, start_serve, stop, wait_healthy

ADMIN = ("admin", "admin123")


def _loopback() -> tuple[str, str, str]:
    """Free loopback ports: the gateway's URL, then the --addr and --gw-addr values."""
    grpc_port, gw_port = free_port(), free_port()
    return f"http://127.0.0.1:{gw_port}", f"127.0.0.1:{grpc_port}", f"127.0.0.1:{gw_port}"


def test_faults_from_the_environment_twin_are_on_from_the_start(tmp_path: Path) -> None:
    url, addr, gw_addr = _loopback()
    process = start_serve(
        tmp_path,
        "--addr",
        addr,
        "--gw-addr",
        gw_addr,
        env={"ONEHUB_FAULT": "rpc-errors=GetTopic, n-plus-one"},
    )
    try:
        wait_healthy(url, process)
        state = httpx.get(f"{url}/admin/faults", auth=ADMIN).json()
        created = httpx.post(f"{url}/api/v1/topics", json={"topic": {"name": "t"}}, auth=ADMIN)
        topic = created.json()["topic"]["base"]["id"]
        got = httpx.get(f"{url}/api/v1/topics/{topic}", auth=ADMIN)
    finally:
        out, err = stop(process)
    assert state["faults"] == {"rpc-errors": "GetTopic", "n-plus-one": ""}
    assert got.status_code == 503
    assert "faults on       rpc-errors=GetTopic, n-plus-one" in out
    assert "Traceback" not in err


def test_a_fault_flag_wins_over_the_twin(tmp_path: Path) -> None:
    flags = ("--fault", "db-latency=5ms", "--fault", "slow-downstream")
    with running_serve(tmp_path, *flags, env={"ONEHUB_FAULT": "rpc-errors=GetTopic"}) as (url, _):
        state = httpx.get(f"{url}/admin/faults", auth=ADMIN).json()
    assert state["faults"] == {"db-latency": "5ms", "slow-downstream": "1200ms"}


def test_faults_refused_on_a_public_address_without_force(tmp_path: Path) -> None:
    process = start_serve(
        tmp_path, "--auth", "password", "--addr", "0.0.0.0:0", "--fault", "n-plus-one"
    )
    _, err = process.communicate(timeout=STARTUP_TIMEOUT_S)

    assert process.returncode == 2
    assert err.splitlines() == [
        "onehub: --fault refused on a non-loopback address (it degrades the service on purpose);"
        " use --force-faults if you really mean it"
    ]


def test_a_bad_fault_is_one_line_and_no_start(tmp_path: Path) -> None:
    bad_value = start_serve(tmp_path, "--fault", "db-latency=soon")
    _, value_err = bad_value.communicate(timeout=STARTUP_TIMEOUT_S)
    _, addr, gw_addr = _loopback()
    bad_rpc = start_serve(
        tmp_path, "--addr", addr, "--gw-addr", gw_addr, "--fault", "rpc-errors=GetTopix"
    )
    _, rpc_err = bad_rpc.communicate(timeout=STARTUP_TIMEOUT_S)

    assert bad_value.returncode == 2
    assert value_err.splitlines() == [
        "onehub: --fault: fault db-latency: 'soon' is not a duration such as 200ms or 1.5s"
    ]
    assert bad_rpc.returncode == 1
    assert len(rpc_err.splitlines()) == 1, rpc_err
    assert rpc_err.startswith("onehub: --fault: fault rpc-errors: no RPC 'GetTopix'")
