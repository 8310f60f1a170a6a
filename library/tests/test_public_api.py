"""The public API: what ``aioswitchvox`` exports, and that everything it returns is among it."""

from collections.abc import Iterator
import dataclasses
import inspect
from pathlib import Path
import re
import typing

import aioswitchvox

PUBLIC = {
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_PORT",
    "DEFAULT_REQUEST_TIMEOUT",
    "MAX_DIAL_DATA_BYTES",
    "MAX_DIAL_DATA_DEPTH",
    "TOPIC_LINE_STATE",
    "Account",
    "CallEvent",
    "Channel",
    "Clock",
    "ConnectionListener",
    "Direction",
    "DroppedPackets",
    "Endpoint",
    "EngineIOPacket",
    "JsonObject",
    "Line",
    "LineCallback",
    "LineChange",
    "LineState",
    "LineStateListener",
    "LineStatus",
    "LineTracker",
    "MonotonicClock",
    "Outage",
    "ReceivedMessage",
    "RecentMessage",
    "Remote",
    "RpcResponse",
    "SessionDiagnostics",
    "SessionEvent",
    "SessionObserver",
    "SocketIOPacket",
    "SwitchvoxAlreadyAuthenticatedError",
    "SwitchvoxAuthenticationError",
    "SwitchvoxClient",
    "SwitchvoxConnectionError",
    "SwitchvoxError",
    "SwitchvoxLoginNotAllowedError",
    "SwitchvoxLoginRefusedError",
    "SwitchvoxMessageError",
    "SwitchvoxNotAuthorizedError",
    "SwitchvoxRequestNotAllowedError",
    "SwitchvoxRpcError",
    "SwitchvoxSession",
    "SwitchvoxSessionExpiredError",
    "SwitchvoxTLSError",
    "SwitchvoxTimeoutError",
    "TransportName",
    "bounded_json_object",
    "caller_id_name",
    "parse_timestamp",
}
# Words of the application the library was first written for: the library serves any.
APPLICATION_WORDS = re.compile(
    r"home assistant|\bhass\b|\bentit(y|ies)\b|\brepairs?\b|coordinator|config entr|\bHA\b",
    re.IGNORECASE,
)


def test_public_names() -> None:
    """``__all__`` is exactly the public API, and each of its names can be imported."""
    assert set(aioswitchvox.__all__) == PUBLIC
    assert len(aioswitchvox.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert getattr(aioswitchvox, name) is not None


def _library_types(hint: object) -> Iterator[str]:
    """Yield the names of the library's own types that a type hint mentions."""
    if isinstance(hint, typing.TypeAliasType):
        if (hint.__module__ or "").startswith("aioswitchvox"):
            yield hint.__name__
        return
    if isinstance(hint, type) and hint.__module__.startswith("aioswitchvox"):
        yield hint.__name__
    for argument in typing.get_args(hint):
        yield from _library_types(argument)


def _hints(owner: type) -> Iterator[tuple[str, object]]:
    """Yield what a class's public methods, properties and fields accept and return."""
    if dataclasses.is_dataclass(owner):
        for name, hint in typing.get_type_hints(owner).items():
            if not name.startswith("_"):
                yield f"{owner.__name__}.{name}", hint
    for name, member in inspect.getmembers(owner):
        if name.startswith("_") and name != "__init__":
            continue
        function = member.fget if isinstance(member, property) else member
        if inspect.isfunction(function):
            for argument, hint in typing.get_type_hints(function).items():
                yield f"{owner.__name__}.{name}({argument})", hint


def test_every_type_the_api_uses_is_exported() -> None:
    """What a public class accepts or returns can be named from ``aioswitchvox`` alone."""
    missing: set[str] = set()
    for name in PUBLIC:
        value = getattr(aioswitchvox, name)
        if not isinstance(value, type):
            continue
        for where, hint in _hints(value):
            missing.update(
                f"{where}: {used}" for used in _library_types(hint) if used not in PUBLIC
            )
    assert missing == set()


def test_keyword_only_constructors() -> None:
    """Every argument of the client but the host, and every one of the session, is named."""
    client = inspect.signature(aioswitchvox.SwitchvoxClient).parameters
    assert [name for name, p in client.items() if p.kind is not p.KEYWORD_ONLY] == ["host"]
    session = inspect.signature(aioswitchvox.SwitchvoxSession).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in session.values())


def test_no_application_words() -> None:
    """The library's code and comments speak of the PBX and its API, not of one application."""
    source = Path(aioswitchvox.__file__).parent
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted(source.glob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if APPLICATION_WORDS.search(line)
    ]
    assert offenders == []


def test_packet_types() -> None:
    """The packet type enums name the protocols' digits, as they travel."""
    assert [packet.value for packet in aioswitchvox.EngineIOPacket] == list("0123456")
    assert [packet.value for packet in aioswitchvox.SocketIOPacket] == list("0123456")
    assert f"{aioswitchvox.EngineIOPacket.MESSAGE}{aioswitchvox.SocketIOPacket.EVENT}" == "42"
