"""Tests of the socket.io 1.x client (rtapi/wire.py): events, drops, framing, clean shutdown."""

import asyncio
from collections.abc import AsyncGenerator
import logging
import ssl
import time
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from aioswitchvox import (
    SwitchvoxClient,
    SwitchvoxConnectionError,
    SwitchvoxTLSError,
    client as client_module,
)
from aioswitchvox.wire import (
    CLOSE_GRACE,
    MAX_MESSAGE_SIZE,
    DroppedPackets,
    SocketIOConnection,
    TransportName,
    _connection_error,
    decode_payload,
    encode_payload,
)
from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator

from .conftest import MakeClient, Recorder, wait_until

WIRE_LOGGER = "aioswitchvox.wire"
# Coroutines of the client side of a connection (the simulator's own are AsyncServer/AsyncSocket).
CLIENT_COROUTINES = ("ClientSession.", "SocketIOConnection.", "SwitchvoxClient.")
TRANSPORTS: list[TransportName] = ["websocket", "polling"]


def client_tasks(before: set[asyncio.Task[Any]]) -> list[str]:
    """Return the client-side tasks started since ``before`` that are still running."""
    names = [task.get_coro().__qualname__ for task in asyncio.all_tasks() - before]  # type: ignore[union-attr]
    return [name for name in names if name.startswith(CLIENT_COROUTINES)]


class Events:
    """Record what a connection reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.drops = 0

    def on_event(self, event: str, args: tuple[Any, ...]) -> None:
        """Record an event."""
        self.events.append((event, args))

    def on_drop(self) -> None:
        """Record a drop."""
        self.drops += 1


@pytest.fixture
async def http(socket_enabled: None) -> AsyncGenerator[aiohttp.ClientSession]:
    """Return an aiohttp session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


def connection(
    http: aiohttp.ClientSession, events: Events, transport: TransportName = "websocket"
) -> SocketIOConnection:
    """Return a connection reporting to ``events``."""
    return SocketIOConnection(http, events.on_event, events.on_drop, transport=transport)


async def test_not_connected(http: aiohttp.ClientSession) -> None:
    """A connection that never connected refuses to emit and closes quietly, twice."""
    events = Events()
    conn = connection(http, events)
    assert not conn.connected
    with pytest.raises(SwitchvoxConnectionError):
        await conn.emit("request", {})
    await conn.disconnect()
    await conn.disconnect()
    assert events.drops == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_events_and_arguments_forwarded(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession, transport: TransportName
) -> None:
    """Events asked for reach the handler with all their arguments; others do not."""
    events = Events()
    conn = connection(http, events, transport)
    await conn.connect(simulator.url, events=("notification",))
    try:
        assert conn.connected
        assert conn.transport_name == transport
        assert conn.ping_interval == simulator.ping_interval
        assert conn.ping_timeout == simulator.ping_timeout
        await wait_until(lambda: simulator.connections == 1)
        await simulator.send_raw("other", {"a": 1})
        await simulator.send_raw("notification", ("one", {"two": 2}))
        await simulator.send_raw("notification", {"three": 3})
        await wait_until(lambda: len(events.events) == 2)
        assert events.events == [
            ("notification", ("one", {"two": 2})),
            ("notification", ({"three": 3},)),
        ]
    finally:
        await conn.disconnect()
    assert not conn.connected
    assert events.drops == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bad_packets_dropped_in_order(
    simulator: SwitchvoxSimulator,
    http: aiohttp.ClientSession,
    transport: TransportName,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed packets, other namespaces and packet kinds are dropped; the rest keeps order."""
    caplog.set_level(logging.DEBUG, logger=WIRE_LOGGER)
    events = Events()
    conn = connection(http, events, transport)
    await conn.connect(simulator.url, events=("notification",))
    try:
        await wait_until(lambda: simulator.connections == 1)
        (sid,) = [session.sid for session in simulator.session_table]
        packets = [
            '21["notification",{"n":1}]',  # with an acknowledgement id
            '2["notification",{"n":2}]',
            '2["notification",',  # not JSON
            '2/other,["notification",{"n":0}]',  # another namespace: not ours
            '2["notification",{"n":3}] ',  # trailing space: still one JSON document
            '2["other",{"n":0}]',  # an event not asked for
            '2[["notification"],{"n":0}]',  # an event name that is no text
            '2{"notification":0}',  # no list
            "3[1]",  # an acknowledgement
            '5-["notification",{"_placeholder":true,"num":0}]',  # a binary event
            "9",  # no socket.io packet type
            "",  # empty
            '2["notification",' + "[" * 100_000 + "]" * 100_000 + "]",  # nested past recursion
            "0" + "[" * 100_000,  # an open packet nested past recursion, once connected
            '2["notification",{"n":4},"x"]',
        ]
        for packet in packets:
            await simulator.send_packet(sid, packet)
        await wait_until(lambda: len(events.events) == 4)
        assert events.events == [
            ("notification", ({"n": 1},)),
            ("notification", ({"n": 2},)),
            ("notification", ({"n": 3},)),
            ("notification", ({"n": 4}, "x")),
        ]
        assert conn.connected
        assert "not JSON" in caplog.text
        assert "namespace '/other'" in caplog.text
    finally:
        await conn.disconnect()
    assert events.drops == 0


async def test_handler_failure_is_logged(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises is logged with its traceback; the connection stays up."""

    def failing(event: str, args: tuple[Any, ...]) -> None:
        raise RuntimeError("handler bug")

    events = Events()
    conn = SocketIOConnection(http, failing, events.on_drop)
    await conn.connect(simulator.url, events=("notification",))
    try:
        await wait_until(lambda: simulator.connections == 1)
        await simulator.send_raw("notification", {"n": 1})
        await wait_until(lambda: "Handling a notification event failed" in caplog.text)
        assert conn.connected
    finally:
        await conn.disconnect()


async def test_failing_loop_is_logged_and_ends_the_connection(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop that fails (here: the owner's drop handler raising) is logged, never silent."""

    def failing_drop() -> None:
        raise RuntimeError("drop handler bug")

    events = Events()
    conn = SocketIOConnection(http, events.on_event, failing_drop)
    await conn.connect(simulator.url, events=("notification",))
    try:
        await simulator.drop_connections()
        await wait_until(lambda: "The socket.io connection failed" in caplog.text)
        assert "drop handler bug" in caplog.text
        assert not conn.connected
    finally:
        await conn.disconnect()


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_disconnect_leaves_nothing_running(
    simulator: SwitchvoxSimulator, make_client: MakeClient, transports: tuple[str, ...]
) -> None:
    """After disconnect, logout or a drop, no task of the client side is left running."""
    before = asyncio.all_tasks()
    client = await make_client(transports=transports)
    await client.login("101", PASSWORD)
    await client.disconnect()
    assert client_tasks(before) == []

    await client.connect()
    await client.login("101", PASSWORD)
    await client.logout()
    await client.disconnect()
    assert client_tasks(before) == []

    recorder = Recorder(client)
    await client.connect()
    await client.login("101", PASSWORD)
    await simulator.drop_connections()
    await recorder.wait_connection(False)
    await client.disconnect()
    assert client_tasks(before) == []


async def test_frozen_polling_link_closes_within_the_grace(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession
) -> None:
    """Closing a long-polling link that answers nothing takes CLOSE_GRACE, not a timeout."""
    before = asyncio.all_tasks()
    events = Events()
    conn = connection(http, events, "polling")
    await conn.connect(simulator.url, events=("response",))
    simulator.set_responding(False)
    started = time.monotonic()
    await conn.disconnect()
    assert time.monotonic() - started < CLOSE_GRACE + 0.5
    simulator.set_responding(True)
    assert client_tasks(before) == []
    assert events.drops == 0


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_drop_reported_once(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession, transport: TransportName
) -> None:
    """A dropped connection is reported exactly once, and not again when closed."""
    events = Events()
    conn = connection(http, events, transport)
    await conn.connect(simulator.url, events=("response",))
    await wait_until(lambda: simulator.connections == 1)
    await simulator.drop_connections()
    await wait_until(lambda: events.drops == 1)
    assert not conn.connected
    conn._lost("again")
    await conn.disconnect()
    assert events.drops == 1
    with pytest.raises(SwitchvoxConnectionError):
        await conn.emit("request", {})


async def test_cancelled_connect_releases_everything(
    socket_enabled: None, http: aiohttp.ClientSession
) -> None:
    """Cancelling a connect in progress leaves no task behind."""
    server_ready = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_ready.set()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    before = asyncio.all_tasks()
    events = Events()
    conn = connection(http, events)
    task = asyncio.create_task(conn.connect(f"http://127.0.0.1:{port}", events=()))
    try:
        await server_ready.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not conn.connected
        assert client_tasks(before) == []
    finally:
        server.close()
        await server.wait_closed()


async def test_own_session_only_when_given_none(
    simulator: SwitchvoxSimulator, http: aiohttp.ClientSession
) -> None:
    """A client given a session uses it and leaves it open; given none, it closes its own."""
    given = SwitchvoxClient("127.0.0.1", port=simulator.port, use_ssl=False, session=http)
    await given.connect()
    await given.login("101", PASSWORD)
    await given.disconnect()
    assert not http.closed
    own = SwitchvoxClient("127.0.0.1", port=simulator.port, use_ssl=False)
    await own.connect()
    session = own._own_session
    assert session is not None
    assert not session.closed
    await own.disconnect()
    assert session.closed
    assert own._own_session is None


# -- a scripted Engine.IO server: what the real ones cannot be made to send -----------------------

OPEN = '0{"sid":"s1","upgrades":[],"pingInterval":300,"pingTimeout":300}'


class Scripted:
    """A running scripted server: its URL, and how to end it (hanging requests answer 410)."""

    def __init__(self, runner: web.AppRunner, release: asyncio.Event) -> None:
        self.runner = runner
        self.release = release
        self.url = f"http://127.0.0.1:{runner.addresses[0][1]}"

    async def stop(self) -> None:
        """Release the hanging requests and stop."""
        self.release.set()
        await self.runner.cleanup()


async def scripted(
    frames: list[str | bytes], *, post_status: int = 200, hang_posts: bool = False
) -> Scripted:
    """Serve ``frames`` on a WebSocket, or as long-polling payloads.

    Over long-polling the first GET answers the open packet and "40", the next ones each answer
    one frame of ``frames`` (binary framing), then hang; POSTs answer ``post_status``, or hang.
    """
    pending = list(frames)
    release = asyncio.Event()

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.query["transport"] == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            for frame in [OPEN, "40", *frames]:
                await (ws.send_bytes(frame) if isinstance(frame, bytes) else ws.send_str(frame))
            async for _ in ws:
                pass
            return ws
        if request.method == "POST":
            if hang_posts:
                await release.wait()
            return web.Response(status=post_status, text="ok")
        if "sid" not in request.query:
            body = b"".join(encode_payload(packet) for packet in (OPEN, "40"))
        elif pending:
            frame = pending.pop(0)
            body = frame if isinstance(frame, bytes) else encode_payload(frame)
        else:
            await release.wait()
            return web.Response(status=410)
        return web.Response(body=body)

    app = web.Application()
    app.router.add_route("*", "/rtapi/socket.io/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return Scripted(runner, release)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unknown_packets_are_dropped(
    http: aiohttp.ClientSession, transport: TransportName, caplog: pytest.LogCaptureFixture
) -> None:
    """Unknown Engine.IO packets, binary frames and late socket.io errors change nothing."""
    caplog.set_level(logging.DEBUG, logger=WIRE_LOGGER)
    frames: list[str | bytes] = ["9", '44{"message":"late"}', '42["n",1]']
    if transport == "websocket":
        frames.insert(0, b"\x04binary")
    server = await scripted(frames)
    events = Events()
    conn = connection(http, events, transport)
    try:
        await conn.connect(server.url, events=("n",))
        await wait_until(lambda: events.events == [("n", (1,))])
        assert conn.connected
        assert "unknown type '9'" in caplog.text
        assert "Dropped a socket.io packet: '4{" in caplog.text
        if transport == "websocket":
            assert "binary WebSocket frame" in caplog.text
    finally:
        await conn.disconnect()
        await server.stop()


@pytest.mark.parametrize(
    ("first", "match"),
    [
        ('0{"upgrades":[],"pingInterval":1,"pingTimeout":1}', "malformed Engine.IO open"),
        ('0{"sid":1,"pingInterval":1,"pingTimeout":1}', "malformed Engine.IO open"),
        ("0[1]", "malformed Engine.IO open"),
        ('44{"message":"Not allowed"}', "refused"),
    ],
)
async def test_bad_handshake_fails_connect(
    http: aiohttp.ClientSession, first: str, match: str
) -> None:
    """An open packet with bad values, or a socket.io error instead of connect, fails connect."""

    async def handle(request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(OPEN if first.startswith("4") else first)
        await ws.send_str(first)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/rtapi/socket.io/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    conn = connection(http, Events())
    try:
        with pytest.raises(SwitchvoxConnectionError, match=match):
            async with asyncio.timeout(5):
                await conn.connect(f"http://127.0.0.1:{runner.addresses[0][1]}", events=())
        assert not conn.connected
    finally:
        await runner.cleanup()


async def test_oversized_polling_payload_ends_the_link(http: aiohttp.ClientSession) -> None:
    """A long-polling response beyond four times MAX_MESSAGE_SIZE ends the link at once."""
    server = await scripted([b"\x00" + b"x" * (4 * MAX_MESSAGE_SIZE + 1)])
    events = Events()
    conn = connection(http, events, "polling")
    try:
        await conn.connect(server.url, events=())
        await wait_until(lambda: events.drops == 1)
    finally:
        await conn.disconnect()
        await server.stop()


@pytest.mark.parametrize(("status", "hang"), [(400, False), (200, True)])
async def test_polling_ping_that_fails_or_hangs(
    http: aiohttp.ClientSession, status: int, hang: bool
) -> None:
    """A ping POST refused ends the link at once; one never answered, at the deadline."""
    server = await scripted([], post_status=status, hang_posts=hang)
    events = Events()
    conn = connection(http, events, "polling")
    try:
        await conn.connect(server.url, events=())
        started = time.monotonic()
        await wait_until(lambda: events.drops == 1)
        elapsed = time.monotonic() - started
        assert elapsed < 0.6 + 0.5  # interval + timeout + 0.5 s, at most
        if not hang:
            assert elapsed < 0.3 + 0.2  # at the first ping
    finally:
        await conn.disconnect()
        await server.stop()


# -- framing ---------------------------------------------------------------------------------------


def test_text_payload_counts_utf16_code_units() -> None:
    """A length counts UTF-16 code units, as JavaScript does: two for a non-BMP character."""
    packets = [r'42["n","\u00e9"]', '42["n","é😀"]', "3", "6"]
    body = b"".join(encode_payload(packet) for packet in packets)
    assert body.startswith(rb'16:42["n","\u00e9"]13:42')
    assert encode_payload('42["n","é😀"]') == '13:42["n","é😀"]'.encode()
    assert decode_payload(body) == packets
    assert decode_payload(b"0:") == []
    assert decode_payload(b"") == []


def test_binary_payload() -> None:
    """Binary framing: a 0 (text) or 1 (binary, dropped), the length's digits, 255, the packet."""
    text = '42["n","é"]'.encode()
    body = b"\x00" + bytes([1, 2]) + b"\xff" + text + b"\x01\x03\xff\x04\x01\x02" + b"\x00\x01\xff3"
    assert decode_payload(body) == ['42["n","é"]', "3"]


@pytest.mark.parametrize(
    ("body", "packets", "malformed", "not_utf8"),
    [
        (b"3:abc5:3", ["abc"], 1, 0),  # truncated: the packets before it are kept
        (b"1:3x:3", ["3"], 1, 0),  # no length
        (b"3", [], 1, 0),  # no colon
        (b"12345678901:3", [], 1, 0),  # a length beyond any bound
        ("\u3a41\u01001:3".encode(), [], 1, 0),  # a colon's bytes astride two code units
        (b"2:\xff\xfe1:3", ["3"], 0, 1),  # not UTF-8: that packet alone
        (b"\x00\x01\xff3\x00\x05\xff3", ["3"], 1, 0),  # truncated binary
        (b"\x00\xff3", [], 1, 0),  # binary without a length
        (b"\x00\x0a\xff3", [], 1, 0),  # a length digit beyond 9
        (b"\x00\x01", [], 1, 0),  # binary without 255
        (b"\x00\x01\xff3\x02\x01\xff3", ["3"], 1, 0),  # neither text (0) nor binary (1)
        (b"\x00\x02\xff\xff\xfe\x00\x01\xff3", ["3"], 0, 1),  # not UTF-8: that packet alone
    ],
)
def test_malformed_payload(body: bytes, packets: list[str], malformed: int, not_utf8: int) -> None:
    """Only the bad packet is dropped, or the rest where the framing breaks; each is counted."""
    dropped = DroppedPackets()
    assert decode_payload(body, dropped) == packets
    assert (dropped.malformed, dropped.not_utf8) == (malformed, not_utf8)


# -- errors ---------------------------------------------------------------------------------------


def test_connection_error_finds_certificate_failure_in_chain() -> None:
    """A certificate failure anywhere in the cause or context chain is a TLS error."""
    cert = ssl.SSLCertVerificationError("self-signed certificate")
    outer = RuntimeError("wrapper")
    outer.__cause__ = OSError("middle")
    outer.__cause__.__context__ = cert
    error = _connection_error(outer, "https://pbx")
    assert isinstance(error, SwitchvoxTLSError)
    assert "https://pbx" in str(error)
    plain = _connection_error(OSError("refused"), "https://pbx")
    assert type(plain) is SwitchvoxConnectionError
    assert str(plain) == "Cannot connect to https://pbx: OSError: refused"
    same = SwitchvoxConnectionError("as it is")
    assert _connection_error(same, "https://pbx") is same


# -- client internals around drops ----------------------------------------------------------------


async def test_drop_without_connection_is_quiet() -> None:
    """A drop reported when no connection is open changes nothing and tells no listener."""
    client = SwitchvoxClient("127.0.0.1")
    calls: list[bool] = []
    client.add_connection_listener(calls.append)
    client._handle_drop()
    assert calls == []
    assert not client.connected


async def test_failed_release_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    """A failure while releasing a dropped connection is logged at debug, never raised."""

    async def fail() -> None:
        raise RuntimeError("release failed")

    async def hang() -> None:
        await asyncio.sleep(3600)

    caplog.set_level(logging.DEBUG, logger="aioswitchvox.client")
    failed = asyncio.create_task(fail())
    cancelled = asyncio.create_task(hang())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.wait([failed, cancelled])
    client_module._discard_result(failed)
    client_module._discard_result(cancelled)
    assert "Closing a dropped connection failed: release failed" in caplog.text
