"""Fixtures for the simulator tests: a running simulator and a raw socket.io 1.x client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
import gc
import itertools
from typing import Any

import aiohttp
import pytest
import socketio_v4
import socketio_v4.client

from custom_components.switchvox.rtapi.transport import disarm_signal_handlers
from switchvox_simulator import SOCKETIO_PATH, SwitchvoxSimulator, with_control_api

TIMEOUT = 5.0
PASSWORD = "secret"


class RawClient:
    """A bare python-socketio 4.x client speaking JSON-RPC to the simulator."""

    def __init__(self, url: str, *, ssl: Any = None, transports: list[str] | None = None) -> None:
        self.url = url
        self._ssl = ssl
        self._transports = transports or ["websocket"]
        self._ids = itertools.count(1)
        self.responses: dict[Any, asyncio.Future[dict[str, Any]]] = {}
        self.unmatched: asyncio.Queue[Any] = asyncio.Queue()
        self.notifications: asyncio.Queue[Any] = asyncio.Queue()
        self.events: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None
        self.sio: Any = None

    async def connect(self, **kwargs: Any) -> None:
        """Connect (Engine.IO v3, socket.io path /rtapi/socket.io)."""
        disarm_signal_handlers()
        connector = aiohttp.TCPConnector(ssl=self._ssl) if self._ssl is not None else None
        self.session = aiohttp.ClientSession(connector=connector)
        self.sio = socketio_v4.AsyncClient(reconnection=False, http_session=self.session, **kwargs)
        self.sio.on("response", self._on_response)
        self.sio.on("notification", self._on_notification)
        self.sio.on("disconnect", self._on_disconnect)
        for event in ("message", "weird"):
            self.sio.on(event, self._make_handler(event))
        await self.sio.connect(
            self.url, transports=self._transports, socketio_v4_path=SOCKETIO_PATH
        )

    def _make_handler(self, event: str) -> Callable[[Any], Awaitable[None]]:
        """Return a handler recording ``event``."""

        async def handler(data: Any = None) -> None:
            await self.events.put((event, data))

        return handler

    async def _on_response(self, data: Any = None) -> None:
        """Resolve the request waiting for this response."""
        future = self.responses.pop(data.get("id") if isinstance(data, dict) else None, None)
        if future is not None and not future.done():
            future.set_result(data)
        else:
            await self.unmatched.put(data)

    async def _on_notification(self, data: Any = None) -> None:
        """Queue a notification."""
        await self.notifications.put(data)

    async def _on_disconnect(self) -> None:
        """Record the disconnect."""
        self.disconnected.set()

    async def send(self, payload: Any) -> None:
        """Emit a raw ``request`` event."""
        await self.sio.emit("request", payload)

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
        if self.sio is not None:
            await self.sio.disconnect()
        # engineio_v3 ends its background tasks only after they notice the disconnect
        for _ in range(50):
            if not self._lingering():
                break
            await asyncio.sleep(0.02)
        if self.session is not None:
            await self.session.close()
        # engineio_v3 opens a session of its own when a request finds ours closed: close it too.
        own = getattr(getattr(self.sio, "eio", None), "http", None)
        if isinstance(own, aiohttp.ClientSession) and own is not self.session:
            await own.close()

    def _lingering(self) -> bool:
        """Return whether the client still has background tasks running."""
        eio = getattr(self.sio, "eio", None)
        tasks = [
            getattr(eio, name, None)
            for name in ("ping_loop_task", "write_loop_task", "read_loop_task")
        ]
        return any(t is not None and not t.done() for t in tasks)


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
