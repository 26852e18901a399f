"""The outbound URL guard: webhooks reach public addresses only, checked after DNS resolution and on every redirect,
unless an operator allow-lists the host or its network."""

from __future__ import annotations

import ipaddress

import pytest

from portal.notifications import outbound

PUBLIC_IP = "93.184.216.34"


@pytest.fixture(autouse=True)
def no_allowlist(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = []


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:8080/hook", "a loopback address"),
        ("http://localhost/hook", "resolves to 127.0.0.1, which is a loopback address"),
        ("http://10.1.2.3/hook", "a private address"),
        ("https://192.168.0.10/hook", "a private address"),
        ("http://172.16.5.5/hook", "a private address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
        ("http://[::1]/hook", "a loopback address"),
        ("http://[fe80::1]/hook", "a link-local address"),
        ("http://[fd00::1]/hook", "a private address"),
        ("http://[::ffff:127.0.0.1]/hook", "a loopback address"),
        ("http://224.0.0.251/hook", "a multicast address"),
        ("http://0.0.0.0/hook", "an unspecified address"),
        ("http://100.64.0.1/hook", "not a public address"),
        ("http://240.0.0.1/hook", "a private address"),
    ],
)
def test_internal_addresses_are_refused_with_the_reason(url, problem):
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url(url)

    assert problem in str(refused.value)
    assert "LAUNCHPAD_OUTBOUND_ALLOWLIST" in str(refused.value)


EMBEDDED_IPV4 = {
    "6to4 of 127.0.0.1": ("2002:7f00:1::", "a 6to4 address embedding 127.0.0.1, which is a loopback address"),
    "6to4 of 10.0.0.1": ("2002:a00:1::1", "a 6to4 address embedding 10.0.0.1, which is a private address"),
    "6to4 of 169.254.169.254": ("2002:a9fe:a9fe::", "embedding 169.254.169.254, which is a link-local address"),
    "Teredo client 127.0.0.1": ("2001:0:808:808:0:0:80ff:fffe", "(client) embedding 127.0.0.1, which is a loopback"),
    "Teredo server 10.1.2.3": ("2001:0:a01:203::", "(server) embedding 10.1.2.3, which is a private address"),
    "NAT64 of 127.0.0.1": ("64:ff9b::7f00:1", "a NAT64 address embedding 127.0.0.1, which is a loopback address"),
    "NAT64 of 169.254.169.254": ("64:ff9b::a9fe:a9fe", "NAT64 address embedding 169.254.169.254"),
    "NAT64 local-use /96": ("64:ff9b:1::a00:1", "local-use address (read with a /96 prefix) embedding 10.0.0.1"),
    # 127.0.0.1 behind a /48 prefix; read with a /64 one it is 0.1.0.0: every reading is refused, the first named.
    "NAT64 local-use /48": ("64:ff9b:1:7f00:0:100::", "local-use address (read with a /64 prefix) embedding 0.1.0.0"),
    "IPv4-mapped 10.0.0.1": ("::ffff:a00:1", "an IPv4-mapped address embedding 10.0.0.1, which is a private"),
    "IPv4-compatible 127.0.0.1": ("::127.0.0.1", "an IPv4-compatible address embedding 127.0.0.1"),
}


@pytest.mark.parametrize(("address", "problem"), EMBEDDED_IPV4.values(), ids=EMBEDDED_IPV4.keys())
def test_an_ipv6_address_carrying_an_internal_ipv4_address_is_refused_naming_it(address, problem):
    with pytest.raises(outbound.OutboundRefused) as refused:
        outbound.check_url(f"http://[{address}]/hook")

    assert problem in str(refused.value)


@pytest.mark.parametrize("address", ["2002:7f00:1::", "64:ff9b::a9fe:a9fe"])
def test_a_name_resolving_to_an_ipv6_address_carrying_an_internal_one_is_refused(address):
    def resolve(host, port, **kwargs):
        return [(10, 1, 6, "", (address, port, 0, 0))]

    with pytest.raises(outbound.OutboundRefused, match=f"hooks.example.org resolves to {address}, which is a"):
        outbound.check_url("https://hooks.example.org/x", resolve=resolve)


@pytest.mark.parametrize("address", ["2002:808:808::1", "::ffff:8.8.8.8"])
def test_an_ipv6_address_carrying_a_public_ipv4_address_is_accepted(address):
    checked = outbound.check_url(f"http://[{address}]/hook").address

    assert ipaddress.ip_address(checked) == ipaddress.ip_address(address)


def test_a_public_address_is_accepted_and_the_connection_goes_to_it():
    destination = outbound.check_url(f"https://{PUBLIC_IP}:8443/hooks/launchpad?team=audio")

    assert destination.address == PUBLIC_IP
    assert (destination.host, destination.port, destination.target) == (PUBLIC_IP, 8443, "/hooks/launchpad?team=audio")


def test_a_name_is_refused_when_any_of_its_addresses_is_internal():
    def resolve(host, port, **kwargs):
        return [(2, 1, 6, "", (PUBLIC_IP, port)), (2, 1, 6, "", ("10.0.0.7", port))]

    with pytest.raises(outbound.OutboundRefused, match="hooks.example.org resolves to 10.0.0.7"):
        outbound.check_url("https://hooks.example.org/x", resolve=resolve)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/hook", "not an http:// or https:// URL"),
        ("https://user:pw@example.org/hook", "no credentials"),
        ("https:///hook", "has no host"),
        ("https://launchpad-test.invalid/hook", "does not resolve"),
    ],
)
def test_urls_that_cannot_be_checked_are_refused(url, message):
    with pytest.raises(outbound.OutboundRefused, match=message):
        outbound.check_url(url)


def test_an_operator_allow_lists_a_host_by_name(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["localhost"]

    assert outbound.check_url("http://localhost:9000/hook").address in ("127.0.0.1", "::1")
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("http://127.0.0.2/hook")


def test_an_operator_allow_lists_a_network(settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["10.8.0.0/16", "fd00::/8"]

    assert outbound.check_url("http://10.8.3.4/hook").address == "10.8.3.4"
    assert outbound.check_url("http://[fd00::5]/hook").address == "fd00::5"
    with pytest.raises(outbound.OutboundRefused):
        outbound.check_url("http://10.9.0.1/hook")


def test_a_redirect_to_an_internal_address_is_refused_before_it_is_followed(receiver):
    receiver.answers["/hop"] = (307, {"Location": "http://169.254.169.254/latest/meta-data/"})

    with pytest.raises(outbound.OutboundRefused, match="169.254.169.254 is a link-local address"):
        outbound.post(receiver.url("/hop"), b"{}", {}, timeout=5)

    assert [request.path for request in receiver.received] == ["/hop"]


@pytest.mark.parametrize("location", ["http://[2002:7f00:1::]/", "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/"])
def test_a_redirect_to_an_ipv6_address_carrying_an_internal_one_is_refused_before_it_is_followed(receiver, location):
    receiver.answers["/hop"] = (302, {"Location": location})

    with pytest.raises(outbound.OutboundRefused, match="embedding (127.0.0.1|169.254.169.254)"):
        outbound.post(receiver.url("/hop"), b"{}", {}, timeout=5)

    assert [request.path for request in receiver.received] == ["/hop"]


def test_allowed_redirects_are_followed_with_the_same_request_up_to_three_hops(receiver):
    receiver.answers["/one"] = (307, {"Location": "/two"})
    receiver.answers["/two"] = (308, {"Location": receiver.url("/final")})

    reply = outbound.post(receiver.url("/one"), b'{"a":1}', {"X-Test": "yes"}, timeout=5)

    assert reply.status == 200
    assert reply.hops == [receiver.url("/one"), receiver.url("/two"), receiver.url("/final")]
    assert [request.path for request in receiver.received] == ["/one", "/two", "/final"]
    assert all(request.body == b'{"a":1}' and request.headers["X-Test"] == "yes" for request in receiver.received)


def test_a_redirect_loop_is_given_up_after_three_hops(receiver):
    receiver.answers["/loop"] = (302, {"Location": "/loop"})

    with pytest.raises(outbound.OutboundError, match="redirected more than 3 times"):
        outbound.post(receiver.url("/loop"), b"{}", {}, timeout=5)

    assert len(receiver.received) == 4


def test_the_host_header_is_the_urls_host_while_the_checked_address_is_connected(receiver, settings):
    settings.LAUNCHPAD_OUTBOUND_ALLOWLIST = ["127.0.0.1", "hooks.spotmusic.test"]
    port = receiver.server.server_address[1]

    def resolve(host, port, **kwargs):
        assert host == "hooks.spotmusic.test"
        return [(2, 1, 6, "", ("127.0.0.1", port))]

    reply = outbound.post(f"http://hooks.spotmusic.test:{port}/named", b"{}", {}, timeout=5, resolve=resolve)

    assert reply.status == 200
    assert receiver.at("/named")[0].headers["Host"] == f"hooks.spotmusic.test:{port}"
