"""One `host:port` parser for every address: the same rules and the same refusal wherever an
address is read (`onehub serve`'s flags, the CLI's --server, the collector's listen addresses,
the telemetry collector address)."""

from __future__ import annotations

import pytest

from onehub.config import ConfigError, split_host_port
from onehub.telemetry.config import TelemetryConfigError, telemetry_config_from_env
from onehub_collector.config import CollectorStartError
from onehub_collector.netaddr import AddressError, dial_host_port, join_host_port
from onehub_collector.netaddr import split_host_port as parse
from onehub_collector.servers import split_address

GOOD = [
    ("127.0.0.1:9000", ("127.0.0.1", 9000)),
    ("localhost:0", ("localhost", 0)),
    ("example.com:65535", ("example.com", 65535)),
    (":4317", ("", 4317)),
    ("[::1]:80", ("::1", 80)),
    ("[::]:0", ("::", 0)),
    ("[fe80::1%eth0]:8080", ("fe80::1%eth0", 8080)),
]

BAD = [
    ("nonsense", "'nonsense' is not host:port"),
    ("", "'' is not host:port"),
    ("host:", "'host:' is not host:port (the port is not a number)"),
    ("host:http", "'host:http' is not host:port (the port is not a number)"),
    ("host:-1", "'host:-1' is not host:port (the port is not a number)"),
    ("host:٣", "'host:٣' is not host:port (the port is not a number)"),
    ("host:65536", "'host:65536' is not host:port (the port is above 65535)"),
    ("::1:80", "'::1:80' is not host:port (an IPv6 address goes in brackets: [::1]:80)"),
    ("[host]:80", "'[host]:80' is not host:port (only an IPv6 address goes in brackets)"),
    ("[::1:80", "'[::1:80' is not host:port (an IPv6 address goes in brackets: [::1]:80)"),
    ("a/b:80", "'a/b:80' is not host:port (the host is not a name or an IP address)"),
    ("a b:80", "'a b:80' is not host:port (the host is not a name or an IP address)"),
    ("]:80", "']:80' is not host:port (the host is not a name or an IP address)"),
]


@pytest.mark.parametrize(("address", "parts"), GOOD)
def test_good_addresses_split(address: str, parts: tuple[str, int]) -> None:
    assert parse(address) == parts
    if parts[0]:
        assert parse(join_host_port(*parts)) == parts  # written back, read again


@pytest.mark.parametrize(("address", "message"), BAD)
def test_bad_addresses_are_refused_with_one_wording(address: str, message: str) -> None:
    with pytest.raises(AddressError) as raised:
        parse(address)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("address", "message"),
    [
        (":4317", "':4317' is not host:port (no host)"),
        ("collector:0", "'collector:0' is not host:port (port 0 cannot be dialled)"),
    ],
)
def test_a_dialled_address_needs_a_host_and_a_port(address: str, message: str) -> None:
    with pytest.raises(AddressError) as raised:
        dial_host_port(address)
    assert str(raised.value) == message


@pytest.mark.parametrize(("address", "message"), BAD)
def test_every_reader_applies_the_same_rules(address: str, message: str) -> None:
    with pytest.raises(ConfigError) as serve:
        split_host_port(address, "--addr")
    assert str(serve.value) == f"--addr: {message}"
    with pytest.raises(CollectorStartError) as collector:
        split_address(address, "--ui-addr")
    assert str(collector.value) == f"--ui-addr: {message}"
    with pytest.raises(TelemetryConfigError) as telemetry:
        telemetry_config_from_env({}, collector=address)
    assert str(telemetry.value) == f"--collector: {message}"


def test_an_empty_host_listens_on_every_interface() -> None:
    assert split_host_port(":9000") == ("0.0.0.0", 9000)
    assert split_address(":4318") == ("0.0.0.0", 4318)
    assert split_address("[::1]:4318") == ("::1", 4318)
