"""Outbound HTTP to user-given URLs (webhooks), refusing internal addresses.

A webhook URL is the user's choice, so without a guard it would let anyone make Launchpad's workers call
the cloud metadata service (169.254.169.254), the database or an admin port on localhost. Every URL is
resolved and refused when any address it resolves to is loopback, link-local, private, reserved,
multicast or otherwise not public (IPv4 and IPv6; an IPv6 address that carries an IPv4 one, as IPv4-mapped,
IPv4-compatible, 6to4, Teredo and NAT64 addresses do, is refused when that IPv4 address is), unless an operator
allow-lists the host name or a network in LAUNCHPAD_OUTBOUND_ALLOWLIST. The check is made when a webhook
is saved and again on every delivery and every redirect hop, and the connection goes to the very address
that was checked (the Host header and TLS name stay the URL's host), so a DNS answer that changes between
the check and the connection (DNS rebinding) cannot send the request elsewhere.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from django.conf import settings

MAX_REDIRECTS = 3
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
Resolver = Callable[..., list]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundError(ValueError):
    """A request to a user-given URL cannot be made; the message says why, for the user."""


class OutboundRefused(OutboundError):
    """The URL points at an address Launchpad does not send to."""


@dataclass(frozen=True)
class Destination:
    """A checked URL and the address the connection must go to."""

    url: str
    scheme: str
    host: str
    port: int
    target: str  # path and query
    address: str


@dataclass
class Reply:
    status: int
    url: str
    body: bytes
    hops: list[str] = field(default_factory=list)


def allowlist() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    """The operator's allow-listed host names and networks (settings.LAUNCHPAD_OUTBOUND_ALLOWLIST)."""
    hosts, networks = set(), []
    for entry in settings.LAUNCHPAD_OUTBOUND_ALLOWLIST:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            hosts.add(entry.lower().rstrip("."))
    return hosts, networks


# NAT64 (RFC 6052): the well-known prefix, and the local-use one (RFC 8215) whose prefix length is the network's.
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def _rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address a NAT64 address with a ``prefix_length`` prefix carries (RFC 6052, section 2.2)."""
    value = int(address)
    if prefix_length == 96:
        return ipaddress.IPv4Address(value & 0xFFFFFFFF)
    # Shorter prefixes split the IPv4 address around bits 64-71, which are always zero: take them out first.
    without_u = ((value >> 64) << 56) | (value & ((1 << 56) - 1))
    return ipaddress.IPv4Address((without_u >> (120 - prefix_length - 32)) & 0xFFFFFFFF)


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries, each with the kind of address that carries it.

    A packet to such an address ends up at the IPv4 one (a 6to4 relay, a Teredo server or client, a NAT64
    gateway, a dual-stack socket), so that one must be public too: 2002:7f00:1:: reaches 127.0.0.1, and
    Python's ipaddress counts it as global.
    """
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.ipv4_mapped is not None:
        found.append(("an IPv4-mapped address", address.ipv4_mapped))
    if address.sixtofour is not None:
        found.append(("a 6to4 address", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("a Teredo address (server)", server), ("a Teredo address (client)", client)]
    if address in NAT64_WELL_KNOWN:
        found.append(("a NAT64 address", _rfc6052_ipv4(address, 96)))
    elif address in NAT64_LOCAL_USE:
        # The network chooses the prefix length (48 to 96 inside this /48): every reading must be public. A reading
        # of 0.0.0.0 is the zero padding of another length, not a destination (the block is reserved anyway).
        readings = [(length, _rfc6052_ipv4(address, length)) for length in (96, 64, 56, 48)]
        found += [
            (f"a NAT64 local-use address (read with a /{length} prefix)", ipv4)
            for length, ipv4 in readings
            if not ipv4.is_unspecified
        ]
    elif address in IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1, which are IPv6's own
        found.append(("an IPv4-compatible address", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    return found


def address_problem(address: IPAddress) -> str | None:
    """Why Launchpad does not send to ``address`` ("a loopback address"), or None for a public address."""
    if isinstance(address, ipaddress.IPv6Address):
        for kind, ipv4 in embedded_ipv4(address):
            problem = address_problem(ipv4)
            if problem:
                return f"{kind} embedding {ipv4}, which is {problem}"
        if address.ipv4_mapped is not None:
            return None  # ::ffff:8.8.8.8 is 8.8.8.8, public: the ::ffff:0:0/96 block itself says nothing
    checks = (
        ("is_unspecified", "an unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    )
    for attribute, problem in checks:
        if getattr(address, attribute):
            return problem
    if not address.is_global:
        return "not a public address"
    return None


def check_url(url: str, resolve: Resolver = socket.getaddrinfo) -> Destination:
    """Check ``url`` for an outbound request; raise :class:`OutboundRefused` with the reason when refused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise OutboundRefused(f"{url!r} is not a valid URL: {error}.") from error
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(f"{url!r} is not an http:// or https:// URL.")
    if not parts.hostname:
        raise OutboundRefused(f"{url!r} has no host.")
    if parts.username or parts.password:
        raise OutboundRefused(
            "Put no credentials in a webhook URL: receivers check the signature made with the secret."
        )
    host = parts.hostname.lower().rstrip(".")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        answers = resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise OutboundRefused(f"The host {host} of {url} does not resolve ({error}).") from error
    addresses: list[IPAddress] = []
    for answer in answers:
        address = ipaddress.ip_address(answer[4][0].split("%", 1)[0])  # fe80::1%eth0: drop the zone
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise OutboundRefused(f"The host {host} of {url} resolves to no address.")
    allowed_hosts, allowed_networks = allowlist()
    if host not in allowed_hosts:
        for address in addresses:
            problem = address_problem(address)
            if problem and not any(address in network for network in allowed_networks):
                shown = host if host == str(address) else f"{host} resolves to {address}, which"
                raise OutboundRefused(
                    f"{url} is refused: {shown} is {problem}. Launchpad sends webhooks only to public "
                    "addresses unless an operator allow-lists the host or its network (LAUNCHPAD_OUTBOUND_ALLOWLIST)."
                )
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(url=url, scheme=parts.scheme, host=host, port=port, target=target, address=str(addresses[0]))


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to a checked address; the Host header stays the URL's host."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout)
        self.address = destination.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """An HTTPS connection to a checked address; SNI and certificate checks use the URL's host."""

    def __init__(self, destination: Destination, timeout: float) -> None:
        super().__init__(destination.host, destination.port, timeout=timeout, context=ssl.create_default_context())
        self.address = destination.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float,
    max_redirects: int = MAX_REDIRECTS,
    resolve: Resolver = socket.getaddrinfo,
) -> Reply:
    """POST ``body`` to ``url``, following up to ``max_redirects`` redirects with the same request.

    Each hop is checked before it is connected to. Raises :class:`OutboundRefused` for a refused hop,
    :class:`OutboundError` for too many redirects, ``OSError`` / ``http.client.HTTPException`` for
    network failures (the caller retries those).
    """
    current, hops = url, []
    for _ in range(max_redirects + 1):
        destination = check_url(current, resolve)
        hops.append(current)
        connection_class = _PinnedHTTPSConnection if destination.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(destination, timeout)
        try:
            connection.request("POST", destination.target, body=body, headers=dict(headers))
            response = connection.getresponse()
            location = response.getheader("Location")
            excerpt = response.read(2048)
        finally:
            connection.close()
        if response.status in REDIRECT_CODES and location:
            current = urljoin(current, location)
            continue
        return Reply(status=response.status, url=current, body=excerpt, hops=hops)
    raise OutboundError(f"{url} redirected more than {max_redirects} times; Launchpad stopped following it.")
