"""The servers of the conformance tests: the simulator (python-socketio 4.x) and node's socket.io.

Every server listens on a free port of 127.0.0.1, pings every PING_INTERVAL and gives a ping
PING_TIMEOUT, knows extensions 101 and 102 (PASSWORD) and can be told, from the test, to send a
notification, to send an Engine.IO message as it is, to end the socket.io namespace ("41") or
to close the Engine.IO session.
"""

import asyncio
from collections.abc import AsyncGenerator
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator

NODE_DIR = Path(__file__).parents[3] / "tests" / "servers" / "node"
PING_INTERVAL = 0.5
PING_TIMEOUT = 0.5
EXTENSIONS = ("101", "102")
SERVERS = ("simulator", "node-socket.io-1.4.8", "node-socket.io-2.5.1")


class Server:
    """What a conformance test does to a server."""

    name = ""
    port = 0

    @property
    def url(self) -> str:
        """Return the server's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def notify(self, extension: str, params: dict[str, Any]) -> None:
        """Send a line state notification of exactly ``params`` to ``extension``'s subscribers."""
        raise NotImplementedError

    async def raw(self, packet: str) -> None:
        """Send an Engine.IO message carrying ``packet`` (a socket.io packet, or not) as it is."""
        raise NotImplementedError

    async def burst(self, notifications: list[tuple[str, dict[str, Any]]]) -> None:
        """Send every (extension, params) notification at once, as fast as the server can."""
        raise NotImplementedError

    async def engines(self) -> int:
        """Return how many Engine.IO sessions the server holds open."""
        raise NotImplementedError

    async def disconnect_namespace(self) -> None:
        """End every connection's socket.io namespace: the packet "41", nothing else."""
        raise NotImplementedError

    async def close_engine(self) -> None:
        """End every connection's Engine.IO session (its close), without a socket.io disconnect."""
        raise NotImplementedError


class SimulatorServer(Server):
    """The simulator: python-socketio 4.x on aiohttp."""

    name = "simulator"

    def __init__(self, simulator: SwitchvoxSimulator) -> None:
        self.simulator = simulator
        self.port = simulator.port

    async def notify(self, extension: str, params: dict[str, Any]) -> None:
        """Send through the simulator's raw notification."""
        await self.simulator.notify(extension, params, raw=True)

    async def raw(self, packet: str) -> None:
        """Send to every connection."""
        for session in self.simulator.session_table:
            await self.simulator.send_packet(session.sid, packet)

    async def burst(self, notifications: list[tuple[str, dict[str, Any]]]) -> None:
        """Queue every notification before the Engine.IO writer runs."""
        for extension, params in notifications:
            await self.simulator.notify(extension, params, raw=True)

    async def engines(self) -> int:
        """Count the simulator's Engine.IO sockets."""
        return self.simulator.engine_sessions

    async def disconnect_namespace(self) -> None:
        """Send socket.io's disconnect packet to every connection."""
        await self.raw("1")

    async def close_engine(self) -> None:
        """Close every Engine.IO session."""
        await self.simulator.close_engines()


class NodeServer(Server):
    """tests/servers/node/server.js on one of node's socket.io versions."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, port: int) -> None:
        self.name = name
        self.process = process
        self.port = port

    async def _control(self, command: dict[str, Any]) -> None:
        """Send one command to the server's control endpoint."""
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{self.url}/control", json=command) as response,
        ):
            assert response.status == 200, await response.text()

    async def notify(self, extension: str, params: dict[str, Any]) -> None:
        """Send through server.js."""
        await self._control({"cmd": "notify", "extension": extension, "params": params})

    async def raw(self, packet: str) -> None:
        """Send through engine.io's socket.send."""
        await self._control({"cmd": "raw", "packet": packet})

    async def burst(self, notifications: list[tuple[str, dict[str, Any]]]) -> None:
        """Emit them all in one tick of node's loop."""
        items = [{"extension": ext, "params": params} for ext, params in notifications]
        await self._control({"cmd": "burst", "burst": items})

    async def engines(self) -> int:
        """Ask server.js."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/control/state") as response,
        ):
            state: dict[str, int] = await response.json()
        return state["engines"]

    async def disconnect_namespace(self) -> None:
        """socket.disconnect(false): the packet "41"."""
        await self._control({"cmd": "disconnect"})

    async def close_engine(self) -> None:
        """socket.conn.close(): engine.io's close."""
        await self._control({"cmd": "close"})


async def start_node(name: str, ping: tuple[float, float]) -> NodeServer:
    """Start server.js with the socket.io version ``name`` ends with."""
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.fail(f"{NODE_DIR}/node_modules is missing: run ./scripts/setup")
    major = name.rsplit("-", 1)[1].split(".")[0]
    process = await asyncio.create_subprocess_exec(
        "node",
        str(NODE_DIR / "server.js"),
        "--io",
        major,
        "--ping-interval",
        str(int(ping[0] * 1000)),
        "--ping-timeout",
        str(int(ping[1] * 1000)),
        "--accounts",
        json.dumps(dict.fromkeys(EXTENSIONS, PASSWORD)),
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(20):
        line = await process.stdout.readline()
    return NodeServer(name, process, json.loads(line)["port"])


@pytest.fixture
def ping() -> tuple[float, float]:
    """Return the ping interval and timeout the servers announce (seconds)."""
    return (PING_INTERVAL, PING_TIMEOUT)


@pytest.fixture(params=SERVERS)
async def server(
    request: pytest.FixtureRequest, socket_enabled: None, ping: tuple[float, float]
) -> AsyncGenerator[Server]:
    """Return a running server of each kind."""
    name: str = request.param
    if name == "simulator":
        simulator = SwitchvoxSimulator("127.0.0.1", 0, ping_interval=ping[0], ping_timeout=ping[1])
        for extension in EXTENSIONS:
            simulator.add_account(extension, PASSWORD, f"User {extension}")
        async with simulator:
            yield SimulatorServer(simulator)
        return
    node = await start_node(name, ping)
    try:
        yield node
    finally:
        node.process.terminate()
        await node.process.wait()
