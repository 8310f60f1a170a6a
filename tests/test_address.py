"""The PBX address parser: every form people type or paste, and what it rejects."""

import pytest

from custom_components.switchvox.address import InvalidAddressError, PbxAddress, parse_address


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A host name or IPv4 address, as the field asks for it.
        ("pbx.example.lan", PbxAddress("pbx.example.lan")),
        ("localhost", PbxAddress("localhost")),
        ("192.0.2.10", PbxAddress("192.0.2.10")),
        # Stray spaces and capitals, a final dot.
        ("  PBX.Example.LAN \t", PbxAddress("pbx.example.lan")),
        ("pbx.example.lan.", PbxAddress("pbx.example.lan")),
        # host:port
        ("127.0.0.1:8443", PbxAddress("127.0.0.1", port=8443)),
        ("pbx.example.lan:443", PbxAddress("pbx.example.lan", port=443)),
        # A URL: the scheme sets HTTPS, and the port when the URL has none; the path goes.
        ("http://127.0.0.1:8443/", PbxAddress("127.0.0.1", port=8443, ssl=False)),
        ("https://pbx.example.lan:8443/admin/", PbxAddress("pbx.example.lan", 8443, ssl=True)),
        ("HTTPS://PBX.example.lan/?x=1#top", PbxAddress("pbx.example.lan", 443, ssl=True)),
        ("http://pbx.example.lan", PbxAddress("pbx.example.lan", port=80, ssl=False)),
        (" https://pbx.example.lan ", PbxAddress("pbx.example.lan", port=443, ssl=True)),
        # A path without a scheme.
        ("pbx.example.lan/rtapi", PbxAddress("pbx.example.lan")),
        # IPv6 literals: bare, bracketed, with a port, in a URL, with a zone.
        ("::1", PbxAddress("::1")),
        ("2001:DB8:0:0::10", PbxAddress("2001:db8::10")),
        ("[::1]", PbxAddress("::1")),
        ("[::1]:8443", PbxAddress("::1", port=8443)),
        ("https://[::1]:8443/", PbxAddress("::1", port=8443, ssl=True)),
        ("http://[2001:db8::10]/", PbxAddress("2001:db8::10", port=80, ssl=False)),
        ("fe80::1%eth0", PbxAddress("fe80::1%eth0")),
        ("[fe80::1%25eth0]:443", PbxAddress("fe80::1%eth0", port=443)),
    ],
)
def test_address_forms(text: str, expected: PbxAddress) -> None:
    """Each form gives the host, and the port and HTTPS setting it names."""
    assert parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "invalid_host"),
        ("   ", "invalid_host"),
        ("pbx example lan", "invalid_host"),
        ("pbx_example.lan", "invalid_host"),
        ("-pbx.lan", "invalid_host"),
        ("pbx..lan", "invalid_host"),
        ("999.1.1.1", "invalid_host"),
        ("https://", "invalid_host"),
        (":8443", "invalid_host"),
        ("[::1", "invalid_host"),
        ("[pbx.lan]:8443", "invalid_host"),
        ("[v1.pbx]:8443", "invalid_host"),  # an IPvFuture literal: no IPv6 address
        ("pbx.lan:0", "invalid_host_port"),
        ("pbx.lan:65536", "invalid_host_port"),
        ("pbx.lan:https", "invalid_host_port"),
        ("[::1]:port", "invalid_host_port"),
        ("ftp://pbx.lan", "invalid_host_scheme"),
        ("wss://pbx.lan/rtapi", "invalid_host_scheme"),
        ("admin:secret@pbx.lan", "invalid_host_credentials"),
        ("https://admin@pbx.lan/", "invalid_host_credentials"),
    ],
)
def test_address_rejected(text: str, reason: str) -> None:
    """What is no address names the reason the form shows."""
    with pytest.raises(InvalidAddressError) as err:
        parse_address(text)
    assert err.value.reason == reason
