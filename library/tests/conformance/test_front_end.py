"""Where real servers, proxies and networks differ from ours, against every server.

A front end before the server swallows or refuses the WebSocket upgrade, rewrites the open
packet's ping values or serves broken long-polling payloads; the server itself sends a burst of
notifications at once and ends socket.io without Engine.IO.
"""

import asyncio
from collections.abc import AsyncGenerator
import json
import re
import time
from typing import Any

import pytest

from aioswitchvox import SwitchvoxClient, SwitchvoxSession
from aioswitchvox.client import DEFAULT_CONNECT_TIMEOUT
from aioswitchvox.wire import (
    DEFAULT_PING_INTERVAL,
    DEFAULT_PING_TIMEOUT,
    PACKETS_PER_STEP,
    TransportName,
)
from library.tests.client.conftest import Recorder, wait_until
from library.tests.conftest import PASSWORD
from switchvox_simulator.frontend import FrontEnd, WebSocketMode, binary_payload, text_payload

from .conftest import EXTENSIONS, Server
from .test_conformance import _Observer, params

TOPIC = "state.change.extension.line"


@pytest.fixture
async def front_end(server: Server) -> AsyncGenerator[FrontEnd]:
    """Return a front end before ``server`` that passes WebSocket on (tests may change that)."""
    async with FrontEnd(server.port, websocket="pass") as front:
        yield front


async def connected(
    port: int, transports: tuple[TransportName, ...] = ("websocket", "polling")
) -> SwitchvoxClient:
    """Return a client of ``port``, connected, logged in as 101 and subscribed to 101 and 102."""
    client = SwitchvoxClient("127.0.0.1", port=port, use_ssl=False, transports=transports)
    await client.connect()
    await client.login("101", PASSWORD)
    await client.subscribe(EXTENSIONS)
    return client


# -- a front end that swallows the WebSocket upgrade ----------------------------------------------


@pytest.mark.parametrize("mode", ["swallow", "refuse"])
async def test_websocket_swallowed_or_refused(
    server: Server, front_end: FrontEnd, mode: WebSocketMode
) -> None:
    """Long-polling is reached within the config flow's budget; reconnects go straight to it."""
    front_end.websocket = mode
    client = SwitchvoxClient("127.0.0.1", port=front_end.port, use_ssl=False)
    assert client.connect_timeout == DEFAULT_CONNECT_TIMEOUT
    observer = _Observer()
    session = SwitchvoxSession(
        client=client, extension="101", password=PASSWORD, watched=["101"], observer=observer
    )
    started = time.monotonic()
    await session.start()
    runner = asyncio.get_running_loop().create_task(session.run())
    try:
        first = time.monotonic() - started
        assert client.transport_name == "polling"
        assert first < DEFAULT_CONNECT_TIMEOUT
        started = time.monotonic()
        await server.close_engine()
        await wait_until(lambda: observer.up == 2)
        again = observer.at - started
        print(  # noqa: T201
            f"\nFRONT END {server.name} {mode}: connected in {first:.2f} s, back in {again:.2f} s"
        )
        assert again < 2.0  # the first retry comes after 0.1 s; old code: 10 s, then failed
        assert client.transport_name == "polling"
        assert front_end.swallowed == (1 if mode == "swallow" else 0)
        recorder = Recorder(client)
        await server.notify("101", params("after"))
        assert (await recorder.next()).unique_id == "after"
    finally:
        await session.close()
        await runner


# -- the open packet's ping values ---------------------------------------------------------------


def ping_values(interval: str, timeout: str) -> Any:
    """Return a rewrite of the open packet that sets its ping values to these JSON texts."""

    def rewrite(packet: str) -> str:
        packet = re.sub(r'"pingInterval":[^,}]+', f'"pingInterval":{interval}', packet)
        return re.sub(r'"pingTimeout":[^,}]+', f'"pingTimeout":{timeout}', packet)

    return rewrite


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("ping", [(5.0, 5.0)])
async def test_ping_flood_refused(
    server: Server, front_end: FrontEnd, transport: TransportName
) -> None:
    """A ping interval and timeout of 1 ms become 0.25 s: a few pings a second, the link kept."""
    front_end.open_packet = ping_values("1", "1")
    client = await connected(front_end.port, (transport,))
    try:
        assert (client.ping_interval, client.ping_timeout) == (0.25, 0.25)
        pings = front_end.pings
        await asyncio.sleep(1.0)
        assert front_end.pings - pings <= 6
        assert client.connected
    finally:
        await client.disconnect()


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("ping", [(5.0, 5.0)])
@pytest.mark.parametrize(
    ("value", "interval", "timeout"),
    [
        ("Infinity", 60.0, 60.0),
        ("1e400", 60.0, 60.0),
        ("1" + "0" * 400, 60.0, 60.0),
        ("3600000", 60.0, 60.0),
        ("NaN", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ("-Infinity", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ("-5", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ("0", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ('"25000"', DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ("null", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
        ("true", DEFAULT_PING_INTERVAL, DEFAULT_PING_TIMEOUT),
    ],
    ids=lambda value: value[:12] if isinstance(value, str) else None,
)
async def test_ping_values_bounded(
    server: Server,
    front_end: FrontEnd,
    transport: TransportName,
    value: str,
    interval: float,
    timeout: float,
) -> None:
    """A heartbeat that would stop is capped at 60 s; a value that is no number is the default."""
    front_end.open_packet = ping_values(value, value)
    client = await connected(front_end.port, (transport,))
    try:
        assert (client.ping_interval, client.ping_timeout) == (interval, timeout)
        assert client.connected
    finally:
        await client.disconnect()


# -- a burst of notifications at once --------------------------------------------------------------


class _Steps:
    """Notifications delivered per event loop step, told apart by a task that runs between."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.last: dict[str, str] = {}
        self.most = 0
        self.longest = 0.0
        self._ticks = 0
        self._seen = -1
        self._count = 0
        self._began = 0.0

    async def tick(self) -> None:
        """Run once every loop iteration."""
        while True:
            self._ticks += 1
            await asyncio.sleep(0)

    def on_state(self, state: Any) -> None:
        """Count a notification into the step it arrived in."""
        now = time.perf_counter()
        if self._ticks != self._seen:
            self._seen, self._count, self._began = self._ticks, 0, now
        self._count += 1
        self.most = max(self.most, self._count)
        self.longest = max(self.longest, now - self._began)
        self.ids.append(state.unique_id)
        self.last[state.extension] = state.status.value


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("ping", [(5.0, 5.0)])
async def test_burst_does_not_hold_the_loop(server: Server, transport: TransportName) -> None:
    """5,000 notifications sent at once: at most PACKETS_PER_STEP a loop step, all in order."""
    client = await connected(server.port, (transport,))
    steps = _Steps()
    client.add_line_state_listener(steps.on_state)
    statuses = ("ringing", "onThePhone", "onHold", "idle")
    burst = [
        (
            EXTENSIONS[index % 2],
            {
                "uniqueId": f"b.{index}",
                "status": statuses[index % 4],
                "account": {"extension": EXTENSIONS[index % 2]},
                "direction": "fromPbx",
                "remotes": [{"callerIdName": f"Caller {index}", "callerIdNumber": "5550101"}],
            },
        )
        for index in range(5000)
    ]
    ticker = asyncio.get_running_loop().create_task(steps.tick())
    try:
        started = time.monotonic()
        await server.burst(burst)
        await wait_until(lambda: len(steps.ids) == len(burst), timeout=30)
        elapsed = time.monotonic() - started
    finally:
        ticker.cancel()
        await client.disconnect()
    print(  # noqa: T201
        f"\nBURST {server.name} {transport}: {elapsed:.2f} s, at most {steps.most} a step,"
        f" longest step {steps.longest * 1000:.1f} ms"
    )
    assert steps.ids == [params["uniqueId"] for _, params in burst]
    assert steps.last == {"101": "onHold", "102": "idle"}
    assert steps.most <= PACKETS_PER_STEP
    assert steps.longest < 0.5  # generous: ours take a few ms; a loaded machine stretches them


# -- socket.io's disconnect, and broken long-polling payloads ------------------------------------


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("ping", [(5.0, 5.0)])
async def test_namespace_disconnect_closes_the_engine(
    server: Server, transport: TransportName
) -> None:
    """After the server's "41" the client closes Engine.IO too: no session left to time out."""
    client = await connected(server.port, (transport,))
    recorder = Recorder(client)
    try:
        assert await server.engines() == 1
        await server.disconnect_namespace()
        await recorder.wait_connection(False)
        started = time.monotonic()
        while await server.engines():
            assert time.monotonic() - started < 2.0  # the server's own timeout: 10 s
            await asyncio.sleep(0.05)
    finally:
        await client.disconnect()


def notification(unique_id: str) -> str:
    """Return the Engine.IO message of a line state notification of 101."""
    payload = {"jsonrpc": "2.0", "method": TOPIC, "params": params(unique_id)}
    return "42" + json.dumps(["notification", payload])


@pytest.mark.parametrize(
    ("payload", "malformed", "not_utf8"),
    [
        # Binary framing: a packet that is not UTF-8 between two good ones.
        (
            binary_payload(
                [
                    notification("a").encode(),
                    b'42["notification",\xff\xfe]',
                    notification("b").encode(),
                ]
            ),
            0,
            1,
        ),
        # Text framing: the same; then a last packet cut short.
        (
            text_payload([notification("a")])
            + b'14:42["n",\xff\xfe"xx"]'
            + text_payload([notification("b")]),
            0,
            1,
        ),
        (text_payload([notification("a"), notification("b")]) + b"99:42[", 1, 0),
        # A length that is no number: what follows cannot be delimited.
        (text_payload([notification("a"), notification("b")]) + b"x:3" + text_payload(["3"]), 1, 0),
    ],
    ids=["binary-not-utf8", "text-not-utf8", "text-truncated", "text-bad-length"],
)
async def test_broken_payload_drops_only_the_bad_packet(
    server: Server, front_end: FrontEnd, payload: bytes, malformed: int, not_utf8: int
) -> None:
    """The good packets of a broken long-polling payload arrive; the bad one is counted."""
    client = await connected(front_end.port, ("polling",))
    recorder = Recorder(client)
    try:
        front_end.payloads.append(payload)
        # Ends the GET pending at the backend, if any: the next one gets the payload.
        await server.notify("101", params("kick"))
        ids = [(await recorder.next()).unique_id for _ in range(3)]
        assert sorted(ids) == ["a", "b", "kick"]
        assert ids.index("a") < ids.index("b")
        await server.notify("101", params("after"))
        assert (await recorder.next()).unique_id == "after"
        assert (client.dropped_packets.malformed, client.dropped_packets.not_utf8) == (
            malformed,
            not_utf8,
        )
        assert client.connected
    finally:
        await client.disconnect()
