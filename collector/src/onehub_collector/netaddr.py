"""`host:port` addresses: the one parser every server, client and the collector use.

A leaf module (standard library only, and cheap to import: the package's `__init__` loads the
rest of the collector only on demand), so that OneHub, which depends on this distribution, and
the collector, which knows nothing of OneHub, share it. The rules:

- `HOST:PORT`, `[IPV6]:PORT` or `:PORT`; an empty host means every interface when listening.
- An IPv6 address goes in brackets, and only an IPv6 address may; a host has no `/` or spaces.
- The port is 0 to 65535 in decimal digits (0: the system picks a free one when listening).
- Where something dials the address (`dial_host_port`), it needs a host and a port above 0.

Every refusal says `'<address>' is not host:port`, with the reason in brackets where there is
one; callers put the setting's name in front.
"""

from __future__ import annotations

import ipaddress

ALL_INTERFACES = "0.0.0.0"


class AddressError(ValueError):
    """An address that is not host:port; str() is one line fit for the user."""

    def __init__(self, address: str, reason: str = "") -> None:
        detail = f" ({reason})" if reason else ""
        super().__init__(f"{address!r} is not host:port{detail}")


def split_host_port(address: str) -> tuple[str, int]:
    """(host, port) of `address`, brackets removed, host "" for `:PORT`.

    Raise AddressError if it breaks a rule of this module.
    """
    host, sep, port_text = address.rpartition(":")
    if not sep:
        raise AddressError(address)
    if not (port_text.isascii() and port_text.isdigit()):
        raise AddressError(address, "the port is not a number")
    port = int(port_text)
    if port > 65535:
        raise AddressError(address, "the port is above 65535")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if not _is_ipv6(host):
            raise AddressError(address, "only an IPv6 address goes in brackets")
    elif ":" in host:
        raise AddressError(address, "an IPv6 address goes in brackets: [::1]:80")
    elif "[" in host or "]" in host or any(c == "/" or c.isspace() for c in host):
        raise AddressError(address, "the host is not a name or an IP address")
    return host, port


def dial_host_port(address: str) -> tuple[str, int]:
    """(host, port) of an address something connects to: a host and a port above 0 required.

    Raise AddressError otherwise.
    """
    host, port = split_host_port(address)
    if not host:
        raise AddressError(address, "no host")
    if port == 0:
        raise AddressError(address, "port 0 cannot be dialled")
    return host, port


def listen_host(host: str) -> str:
    """The host to bind for `host` as split_host_port gave it ("" is every interface)."""
    return host or ALL_INTERFACES


def join_host_port(host: str, port: int) -> str:
    """`host:port`, an IPv6 host in brackets: what split_host_port reads back."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _is_ipv6(host: str) -> bool:
    # A zone ("fe80::1%eth0") is allowed: the part before it must be the address.
    try:
        ipaddress.IPv6Address(host.partition("%")[0])
    except ValueError:
        return False
    return True
