"""Fixtures for the simulator tests: a running simulator and a raw socket.io 1.x client."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import gc
import itertools
from typing import Any

import aiohttp
import pytest

from custom_components.switchvox.rtapi import SwitchvoxConnectionError
from custom_components.switchvox.rtapi.wire import SocketIOConnection, TransportName
from switchvox_simulator import SwitchvoxSimulator, with_control_api

TIMEOUT = 5.0
EVENTS = ("response", "notification", "message", "weird")
PASSWORD = "secret"


class RawClient:
    """A bare socket.io 1.x client (the integration's wire, no session logic) speaking JSON-RPC."""

    def __init__(self, url: str, *, ssl: Any = None, transports: list[str] | None = None) -> None:
        self.url = url
        self._ssl = ssl
        self._transports: list[TransportName] = transports or ["websocket"]  # type: ignore[assignment]
        self._ids = itertools.count(1)
        self.responses: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.unmatched: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[Any] = asyncio.Queue()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None
        self.conn: SocketIOConnection | None = None

    @property
    def transport_name(self) -> str | None:
        """Return the transport of the connection."""
        return self.conn.transport_name if self.conn is not None else None

    async def connect(self) -> None:
        """Connect (Engine.IO v3, socket.io path /rtapi/socket.io), transports in order."""
        connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None
        self.session = aiohttp.ClientSession(connector=connector)
        for index, transport in enumerate(self._transports):
            self.conn = SocketIOConnection(
                self.session, self._on_event, self.disconnected.set, transport=transport
            )
            try:
                await self.conn.connect(self.url, events=EVENTS)
            except SwitchvoxConnectionError:
                if index == len(self._transports) - 1:
                    await self.session.close()
                    raise
            else:
                return

    def _on_event(self, event: str, args: tuple[Any, ...]) -> None:
        """Route one event."""
        data = args[0] if args else None
        if event == "response":
            future = self.responses.pop(data.get("id") if isinstance(data, dict) else None, None)
            if isinstance(data, dict) and future is not None and not future.done():
                future.set_result(data)
            else:
                self.unmatched.put_nowait(data)
        elif event == "notification":
            self.notifications.put_nowait(data)
        else:
            self.events.put_nowait((event, data))

    async def send(self, payload: Any) -> None:
        """Emit a raw ``request`` event."""
        assert self.conn is not None
        await self.conn.emit("request", payload)

    def start(self, method: str, params: Any = None) -> asyncio.Future[dict[str, Any]]:
        """Send a request without waiting; return the future of its response."""
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.responses[request_id] = future
        payload: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            payload["params"] = params
        asyncio.get_running_loop().create_task(self.send(payload))
        return future

    async def request(
        self, method: str, params: Any = None, wait: float = TIMEOUT
    ) -> dict[str, Any]:
        """Send a request and wait up to ``wait`` seconds for its response."""
        return await asyncio.wait_for(self.start(method, params), wait)

    async def login(self, extension: str = "101", password: str = PASSWORD) -> dict[str, Any]:
        """Log in."""
        return await self.request("login", {"extension": extension, "password": password})

    async def subscribe(self, *extensions: str) -> dict[str, Any]:
        """Subscribe to line state of extensions."""
        return await self.request(
            "subscribe",
            {
                "topic": "state.change.extension.line",
                "targets": [{"account": {"extension": e}} for e in extensions],
            },
        )

    async def notification(self, wait: float = TIMEOUT) -> dict[str, Any]:
        """Return the params of the next notification (waiting up to ``wait`` seconds)."""
        message = await asyncio.wait_for(self.notifications.get(), wait)
        assert message["jsonrpc"] == "2.0"
        assert message["method"] == "state.change.extension.line"
        assert "id" not in message
        params: dict[str, Any] = message["params"]
        return params

    async def close(self) -> None:
        """Disconnect and close the HTTP session."""
        if self.conn is not None:
            await self.conn.disconnect()
        if self.session is not None:
            await self.session.close()


@contextlib.asynccontextmanager
async def loop_reports_ignored(
    accept: Callable[[dict[str, Any]], bool], *, expect: bool = False
) -> AsyncIterator[None]:
    """Swallow the event loop's reports that ``accept`` matches; pass every other one on.

    In debug mode (the test harness's) asyncio reports, for instance, a failed server-side TLS
    handshake or an aiohttp response a client left unclosed to the loop's exception handler,
    which the harness turns into a test error. Such reports come late (after a garbage
    collection, or after the client gave up), so leaving collects garbage and, with ``expect``,
    waits briefly for one.
    """
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    seen = asyncio.Event()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if accept(context):
            seen.set()
        elif previous is None:
            loop.default_exception_handler(context)
        else:
            previous(loop, context)

    loop.set_exception_handler(handler)
    try:
        yield
        gc.collect()
        if expect and loop.get_debug():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(seen.wait(), 2)
    finally:
        loop.set_exception_handler(previous)


@pytest.fixture
async def sim(socket_enabled: None) -> AsyncIterator[SwitchvoxSimulator]:
    """Return a running simulator (with its control API) with accounts 101-105 on 127.0.0.1."""
    simulator = with_control_api(SwitchvoxSimulator(outside_answer_delay=0.05))
    simulator.add_account("101", "secret", "Alice Archer")
    simulator.add_account("102", "secret2", "Bruno Baptiste")
    simulator.add_account("103", "secret3", "Chloé Chen", can_watch={"101"}, can_dial=False)
    simulator.add_account("104", "secret4", "Dmitri Dvořák")
    simulator.add_account("105", "secret5", "Esther Eze")
    async with simulator:
        yield simulator


@pytest.fixture
async def make_client(
    sim: SwitchvoxSimulator,
) -> AsyncIterator[Callable[..., Awaitable[RawClient]]]:
    """Return a factory of connected raw clients, all closed at teardown."""
    clients: list[RawClient] = []

    async def factory(url: str | None = None, **kwargs: Any) -> RawClient:
        client = RawClient(url or sim.url, **kwargs)
        clients.append(client)
        await client.connect()
        return client

    yield factory
    for client in clients:
        await client.close()
