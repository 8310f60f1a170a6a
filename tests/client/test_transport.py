"""Tests of the typed seam over socketio_v4: events, drops, clean shutdown and quiet logging."""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from typing import Any

import aiohttp
import engineio_v3.asyncio_client
import engineio_v3.client
import pytest
import socketio_v4.client

from custom_components.switchvox.rtapi import (
    SwitchvoxClient,
    SwitchvoxConnectionError,
    SwitchvoxTLSError,
    client as client_module,
    transport as transport_module,
)
from custom_components.switchvox.rtapi.transport import (
    SocketIOTransport,
    _connection_error,
    _QuietLogger,
    disarm_signal_handlers,
)
from switchvox_simulator import SwitchvoxSimulator
from tests.conftest import PASSWORD

from .conftest import MakeClient, Recorder, wait_until

TRANSPORT_LOGGER = "custom_components.switchvox.rtapi.transport"
# Coroutines of the client side of a connection (the simulator's own are AsyncServer/AsyncSocket).
CLIENT_COROUTINES = ("AsyncClient.", "ClientSession.", "SocketIOTransport.", "SwitchvoxClient.")


def client_tasks(before: set[asyncio.Task[Any]]) -> list[str]:
    """Return the client-side tasks started since ``before`` that are still running."""
    names = [task.get_coro().__qualname__ for task in asyncio.all_tasks() - before]  # type: ignore[union-attr]
    return [name for name in names if name.startswith(CLIENT_COROUTINES)]


class Events:
    """Record what a transport reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.drops = 0

    def on_event(self, event: str, args: tuple[Any, ...]) -> None:
        """Record an event."""
        self.events.append((event, args))

    def on_drop(self) -> None:
        """Record a drop."""
        self.drops += 1


async def test_not_connected_transport(socket_enabled: None) -> None:
    """A transport that never connected is not connected, refuses to emit, and closes quietly."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop)
    assert not transport.connected
    with pytest.raises(SwitchvoxConnectionError):
        await transport.emit("request", {})
    await transport.disconnect()
    await transport.disconnect()
    assert events.drops == 0


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_events_and_arguments_forwarded(
    simulator: SwitchvoxSimulator, transports: tuple[str, ...]
) -> None:
    """Registered events reach the handler with all their arguments; others do not."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop, transports=transports)
    await transport.connect(simulator.url, events=("notification",))
    try:
        assert transport.connected
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
        await transport.disconnect()
    assert not transport.connected
    assert events.drops == 0


@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_messages_delivered_in_order_whichever_path(
    simulator: SwitchvoxSimulator, transports: tuple[str, ...], caplog: pytest.LogCaptureFixture
) -> None:
    """Plain events (delivered at once) and the rest (through socketio) keep their order.

    Malformed packets and other namespaces are dropped without ending the connection.
    """
    caplog.set_level(logging.DEBUG, logger=TRANSPORT_LOGGER)
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop, transports=transports)
    await transport.connect(simulator.url, events=("notification",))
    try:
        await wait_until(lambda: simulator.connections == 1)
        (sid,) = [session.sid for session in simulator.session_table]
        packets = [
            '21["notification",{"n":1}]',  # with an acknowledgement id: socketio's path
            '2["notification",{"n":2}]',
            '2["notification",',  # malformed: socketio's path, which fails
            '2/other,["notification",{"n":0}]',  # another namespace: not ours
            '2["notification",{"n":3}] ',  # trailing space: still one JSON document
            '2["other",{"n":0}]',  # an event not asked for
            '2["notification",{"n":4},"x"]',
        ]
        for packet in packets:
            await simulator.send_packet(sid, packet)
        await wait_until(lambda: len(events.events) == 4)
        await asyncio.sleep(0.05)
        assert events.events == [
            ("notification", ({"n": 1},)),
            ("notification", ({"n": 2},)),
            ("notification", ({"n": 3},)),
            ("notification", ({"n": 4}, "x")),
        ]
        assert transport.connected
        assert "could not handle" in caplog.text
    finally:
        await transport.disconnect()
    assert events.drops == 0


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


async def test_stuck_loops_are_cancelled(
    monkeypatch: pytest.MonkeyPatch, simulator: SwitchvoxSimulator
) -> None:
    """Loops that do not end within the grace period are cancelled by disconnect."""
    monkeypatch.setattr(transport_module, "CLOSE_GRACE", 0.1)
    before = asyncio.all_tasks()
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop, transports=("polling",))
    await transport.connect(simulator.url, events=("response",))
    simulator.set_responding(False)
    async with asyncio.timeout(2):
        await transport.disconnect()
    simulator.set_responding(True)
    assert client_tasks(before) == []


async def test_session_opened_by_engineio_is_closed(simulator: SwitchvoxSimulator) -> None:
    """A session engineio opened in place of ours is closed with the connection."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop, transports=("polling",))
    await transport.connect(simulator.url, events=("response",))
    replacement = aiohttp.ClientSession()
    transport._sio.eio.http = replacement
    await transport.disconnect()
    assert replacement.closed


async def test_session_opened_during_disconnect_is_closed(simulator: SwitchvoxSimulator) -> None:
    """A session engineio opens while disconnecting is kept and closed, not overwritten."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop)
    await transport.connect(simulator.url, events=("response",))
    eio = transport._sio.eio
    original = eio.disconnect
    replacement = aiohttp.ClientSession()

    async def disconnect_opening_a_session(abort: bool = False) -> None:
        eio.http = replacement
        await original(abort=abort)

    eio.disconnect = disconnect_opening_a_session
    await transport.disconnect()
    assert eio.http is replacement
    assert replacement.closed


async def test_drop_reported_once(simulator: SwitchvoxSimulator) -> None:
    """A dropped connection is reported exactly once."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop)
    await transport.connect(simulator.url, events=("response",))
    await wait_until(lambda: simulator.connections == 1)
    await simulator.drop_connections()
    await wait_until(lambda: events.drops == 1)
    await transport._handle_disconnect()
    assert events.drops == 1
    await transport.disconnect()
    assert events.drops == 1


async def test_drop_during_requested_close_is_not_reported() -> None:
    """A drop noticed while we are closing ourselves is not reported as a drop."""
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop)
    task = asyncio.create_task(transport._handle_disconnect())
    await asyncio.sleep(0)
    transport._closing = True
    await task
    await transport._handle_disconnect()
    assert events.drops == 0


async def test_cancelled_connect_releases_everything(
    socket_enabled: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cancelling a connect in progress closes its session and leaves no task behind."""
    server_ready = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        server_ready.set()
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    before = asyncio.all_tasks()
    events = Events()
    transport = SocketIOTransport(events.on_event, events.on_drop)
    task = asyncio.create_task(transport.connect(f"http://127.0.0.1:{port}", events=()))
    try:
        await server_ready.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert transport._session is None
        assert not transport.connected
        assert client_tasks(before) == []
    finally:
        server.close()
        await server.wait_closed()


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


def test_connection_error_uses_side_channel_error() -> None:
    """A certificate failure reported on the side (long-polling) is a TLS error too."""
    cert = ssl.SSLCertVerificationError("self-signed certificate")
    assert isinstance(_connection_error(OSError("refused"), "https://pbx", cert), SwitchvoxTLSError)
    plain = _connection_error(OSError("refused"), "https://pbx", OSError("other"))
    assert type(plain) is SwitchvoxConnectionError
    assert str(plain) == "Cannot connect to https://pbx: refused"


def test_quiet_logger(caplog: pytest.LogCaptureFixture) -> None:
    """Packet traces are dropped; warnings and errors are forwarded at lower levels."""
    caplog.set_level(logging.DEBUG, logger=TRANSPORT_LOGGER)
    quiet = _QuietLogger()
    failure = OSError("certificate verify failed")
    quiet.info("Sending packet %s data %s", "MESSAGE", {"password": PASSWORD})
    quiet.debug("HTTP %s request to %s failed with error %s.", "GET", "url", failure)
    assert quiet.last_error is failure
    assert caplog.records == []
    quiet.warning("transport %s", "warning")
    quiet.error("transport %s", "error")
    try:
        _ = dict[str, int]()["missing"]
    except KeyError:
        quiet.exception("message async handler error")
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.DEBUG, "transport warning"),
        (logging.WARNING, "transport error"),
        (logging.WARNING, "message async handler error"),
    ]
    assert caplog.records[2].exc_info is not None
    assert PASSWORD not in caplog.text


# -- signal handlers ------------------------------------------------------------------------------


def test_disarm_signal_handlers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Disarming marks the handlers as installed, keeping an existing marker."""
    monkeypatch.setattr(engineio_v3.asyncio_client, "async_signal_handler_set", False)
    monkeypatch.setattr(engineio_v3.client, "original_signal_handler", None)
    monkeypatch.setattr(socketio_v4.client, "original_signal_handler", print)
    before = signal.getsignal(signal.SIGINT)
    disarm_signal_handlers()
    assert signal.getsignal(signal.SIGINT) is before
    assert engineio_v3.asyncio_client.async_signal_handler_set is True
    expected = before if callable(before) else signal.default_int_handler
    assert engineio_v3.client.original_signal_handler is expected
    assert socketio_v4.client.original_signal_handler is print


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

    caplog.set_level(logging.DEBUG, logger="custom_components.switchvox.rtapi.client")
    failed = asyncio.create_task(fail())
    cancelled = asyncio.create_task(hang())
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.wait([failed, cancelled])
    client_module._discard_result(failed)
    client_module._discard_result(cancelled)
    assert "Closing a dropped connection failed: release failed" in caplog.text
