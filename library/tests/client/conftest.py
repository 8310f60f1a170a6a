"""Fixtures for the client tests: connected clients and recorders of pushed line states."""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import pytest

from aioswitchvox import LineState, SwitchvoxClient
from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator

TIMEOUT = 5.0

type MakeClient = Callable[..., Awaitable[SwitchvoxClient]]


class Recorder:
    """Collect line states and connection changes pushed by a client."""

    def __init__(self, client: SwitchvoxClient) -> None:
        self.states: asyncio.Queue[LineState] = asyncio.Queue()
        self.connection: list[bool] = []
        self._changed = asyncio.Event()
        client.add_line_state_listener(self.states.put_nowait)
        client.add_connection_listener(self._on_connection)

    def _on_connection(self, connected: bool) -> None:
        """Record a connection change."""
        self.connection.append(connected)
        self._changed.set()

    async def next(self, timeout: float = TIMEOUT) -> LineState:
        """Return the next line state."""
        async with asyncio.timeout(timeout):
            return await self.states.get()

    async def wait_connection(self, value: bool, timeout: float = TIMEOUT) -> None:
        """Wait until the last recorded connection change is ``value``."""
        async with asyncio.timeout(timeout):
            while not self.connection or self.connection[-1] is not value:
                self._changed.clear()
                await self._changed.wait()


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait until ``predicate`` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.fixture
def simulator_options() -> dict[str, Any]:
    """Answer outside calls quickly so dial tests stay fast."""
    return {"outside_answer_delay": 0.05}


@pytest.fixture
async def make_client(
    simulator: SwitchvoxSimulator,
) -> AsyncGenerator[MakeClient]:
    """Return a factory of clients for the simulator (connected unless told otherwise)."""
    clients: list[SwitchvoxClient] = []

    async def factory(*, connect: bool = True, **kwargs: Any) -> SwitchvoxClient:
        options: dict[str, Any] = {"use_ssl": simulator.tls, "request_timeout": 2.0}
        options.update(kwargs)
        client = SwitchvoxClient("127.0.0.1", port=simulator.port, **options)
        clients.append(client)
        if connect:
            await client.connect()
        return client

    yield factory
    for client in clients:
        await client.disconnect()


@pytest.fixture
async def client(make_client: MakeClient) -> SwitchvoxClient:
    """Return a connected, not yet logged in client."""
    return await make_client()


@pytest.fixture
async def logged_in(client: SwitchvoxClient) -> SwitchvoxClient:
    """Return a client logged in as 101 and subscribed to 101 and 102."""
    await client.login("101", PASSWORD)
    await client.subscribe(["101", "102"])
    return client
