"""DNS rebinding: a real `onehub serve` on loopback (gateway and web, the embedded collector's
viewer / query API and OTLP/HTTP receiver) answers only loopback host names, plus those given
with --allowed-hosts or ONEHUB_ALLOWED_HOSTS; any other Host gets 400 and a plain message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

from .processes import running_serve

REFUSED = "This server does not answer for the host name this request was sent to."


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """URLs of one request on each HTTP surface of a serve with its embedded collector."""
    ui_port, otlp_http_port = free_port(), free_port()
    with running_serve(
        tmp_path_factory.mktemp("hosts"),
        "--collector", "embedded",
        "--otlp-grpc-addr", f"127.0.0.1:{free_port()}",
        "--otlp-http-addr", f"127.0.0.1:{otlp_http_port}",
        "--ui-addr", f"127.0.0.1:{ui_port}",
        "--allowed-hosts", "chat.example, .example.org",
    ) as (url, _):  # fmt: skip
        yield {
            "gateway": f"{url}/api/v1/topics",
            "web": f"{url}/",
            "viewer": f"http://127.0.0.1:{ui_port}/jaeger/api/services",
            "otlp_http": f"http://127.0.0.1:{otlp_http_port}/v1/traces",
        }


def _request(url: str, host: str) -> httpx.Response:
    port = url.split("/")[2].split(":")[1]
    headers = {"Host": host.replace("PORT", port), "Content-Type": "application/x-protobuf"}
    if url.endswith("/v1/traces"):
        return httpx.post(url, content=b"", headers=headers, timeout=10)
    return httpx.get(url, headers=headers, auth=("admin", "admin123"), timeout=10)


@pytest.mark.parametrize("surface", ["gateway", "web", "viewer", "otlp_http"])
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:PORT", "localhost.evil.example:PORT", "example.org.evil"]
)
def test_foreign_host_is_refused(surfaces: dict[str, str], surface: str, host: str) -> None:
    response = _request(surfaces[surface], host)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith(REFUSED)


@pytest.mark.parametrize("surface", ["gateway", "web", "viewer", "otlp_http"])
@pytest.mark.parametrize(
    "host",
    [
        "localhost:PORT",
        "127.0.0.1:PORT",
        "127.0.0.1",
        "127.8.9.10:PORT",
        "[::1]:PORT",
        "app.localhost:PORT",
        "chat.example:PORT",
        "example.org",
        "a.b.example.org:PORT",
    ],
)
def test_loopback_and_allowed_hosts_are_served(
    surfaces: dict[str, str], surface: str, host: str
) -> None:
    assert _request(surfaces[surface], host).status_code == 200


def test_env_twin_extends_the_allow_list(tmp_path: Path) -> None:
    with running_serve(tmp_path, env={"ONEHUB_ALLOWED_HOSTS": "chat.example"}) as (url, _):
        assert _request(f"{url}/healthz", "chat.example:PORT").status_code == 200
        assert _request(f"{url}/healthz", "localhost:PORT").status_code == 200
        assert _request(f"{url}/healthz", "evil.example").status_code == 400
