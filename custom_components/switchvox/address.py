"""The PBX address as people type or paste it: a host, ``host:port``, an IPv6 literal or a URL."""

from dataclasses import dataclass
import ipaddress
import re
from urllib.parse import urlsplit

# A DNS name: dot-separated labels of letters, digits and inner hyphens (a final dot allowed).
_HOST_NAME = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.?$")
_SCHEME_PORTS = {"http": 80, "https": 443}


class InvalidAddressError(ValueError):
    """The text is no PBX address; ``reason`` is the form's error key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class PbxAddress:
    """What an address says: the host, and the port and HTTPS setting when it names them."""

    host: str
    port: int | None = None
    ssl: bool | None = None


def parse_address(text: str) -> PbxAddress:
    """Read a PBX address; raise ``InvalidAddressError`` when it is none.

    A URL's scheme sets HTTPS and, without a port, the scheme's port; a path, query or
    fragment is dropped (the Realtime API has a path of its own). The host is lower-cased,
    without a final dot, and an IPv6 literal is kept without its brackets.
    """
    text = text.strip()
    if not text:
        raise InvalidAddressError("invalid_host")
    if (address := _ipv6(text)) is not None:  # a bare IPv6 literal: its colons are no port
        return PbxAddress(host=address)
    scheme, separator, _ = text.partition("://")
    has_scheme = bool(separator)
    scheme = scheme.lower()
    if has_scheme and scheme not in _SCHEME_PORTS:
        raise InvalidAddressError("invalid_host_scheme")
    try:
        parts = urlsplit(text if has_scheme else f"//{text}")
    except ValueError as err:  # brackets around something that is no IPv6 address
        raise InvalidAddressError("invalid_host") from err
    try:
        port = parts.port
    except ValueError as err:  # no number, or out of range
        raise InvalidAddressError("invalid_host_port") from err
    if parts.username is not None or parts.password is not None:
        raise InvalidAddressError("invalid_host_credentials")
    host = _host(parts.hostname or "", bracketed="[" in parts.netloc)
    if port == 0:
        raise InvalidAddressError("invalid_host_port")
    if has_scheme:
        return PbxAddress(host=host, port=port or _SCHEME_PORTS[scheme], ssl=scheme == "https")
    return PbxAddress(host=host, port=port)


def _ipv6(text: str) -> str | None:
    """Return ``text`` as a compressed IPv6 address (scope kept), or None if it is none."""
    try:
        return ipaddress.IPv6Address(text).compressed
    except ValueError:
        return None


def _host(host: str, *, bracketed: bool) -> str:
    """Check the host part of an address and return it as it is stored."""
    if bracketed:
        # A zone in a URL is percent-encoded (RFC 6874): fe80::1%25eth0.
        if (address := _ipv6(host.replace("%25", "%"))) is None:
            raise InvalidAddressError("invalid_host")
        return address
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    if not _HOST_NAME.match(host) or host.replace(".", "").isdigit():
        raise InvalidAddressError("invalid_host")
    return host.removesuffix(".")
