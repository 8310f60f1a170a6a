"""The same client scenarios against every server: the simulator, node's socket.io 1.4.8 and 2.5.1.

Both transports, the handshake, login, subscribe, notifications, dial, logout, the ping timeout
of a half-open link, both kinds of server-side disconnect, reconnecting, messages near the size
bound and malformed frames. The figures (half-open detection, reconnect) are printed (``-s``).
"""

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
import time
from typing import Any

import pytest

from aioswitchvox import (
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxClient,
    SwitchvoxError,
    SwitchvoxLoginRefusedError,
    SwitchvoxSession,
)
from aioswitchvox.wire import MAX_MESSAGE_SIZE, TransportName
from library.tests.client.conftest import Recorder, wait_until
from library.tests.conftest import PASSWORD
from switchvox_simulator.proxy import BlackholeProxy

from .conftest import PING_INTERVAL, PING_TIMEOUT, Server

type MakeClient = Callable[..., Awaitable[SwitchvoxClient]]

# Non-BMP characters count two UTF-16 code units in a JavaScript server's framing.
NAME = "Zoë 😀 Ünïcødé 𝄞"


@pytest.fixture(params=["websocket", "polling"])
def transport(request: pytest.FixtureRequest) -> TransportName:
    """Return each Engine.IO transport."""
    name: TransportName = request.param
    return name


@pytest.fixture
async def make_client(server: Server, transport: TransportName) -> AsyncGenerator[MakeClient]:
    """Return a factory of clients of ``server`` over ``transport``, connected and logged in."""
    clients: list[SwitchvoxClient] = []

    async def factory(port: int | None = None, *, login: bool = True) -> SwitchvoxClient:
        client = SwitchvoxClient(
            "127.0.0.1",
            port=port or server.port,
            use_ssl=False,
            transports=(transport,),
            request_timeout=5.0,
        )
        clients.append(client)
        await client.connect()
        if login:
            await client.login("101", PASSWORD)
            await client.subscribe(["101"])
        return client

    yield factory
    for client in clients:
        await client.disconnect()


def params(unique_id: str, status: str = "ringing", **extra: Any) -> dict[str, Any]:
    """Return the params of a line state notification of extension 101."""
    return {
        "uniqueId": unique_id,
        "status": status,
        "account": {"extension": "101"},
        "direction": "fromPbx",
        "remotes": [{"callerIdName": NAME, "callerIdNumber": "5550101"}],
        **extra,
    }


async def test_handshake(make_client: MakeClient, transport: TransportName) -> None:
    """The open packet's parameters are the server's, over the transport asked for."""
    client = await make_client(login=False)
    assert client.connected
    assert client.transport_name == transport
    assert client.ping_interval == PING_INTERVAL
    assert client.ping_timeout == PING_TIMEOUT


async def test_login_subscribe_notify_dial_logout(server: Server, make_client: MakeClient) -> None:
    """A whole session: refused and accepted logins, notifications, a dial, the logout."""
    client = await make_client(login=False)
    with pytest.raises(SwitchvoxLoginRefusedError):
        await client.login("101", PASSWORD + "-wrong")
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxAlreadyAuthenticatedError):
        await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    recorder = Recorder(client)
    await server.notify("101", params("c.1"))
    state = await recorder.next()
    assert (state.unique_id, state.status.value) == ("c.1", "ringing")
    assert state.caller is not None
    assert state.caller.name == NAME
    await client.dial("102", dial_data={"note": NAME})
    state = await recorder.next()
    assert state.extension == "101"
    assert state.dial_data == {"note": NAME}
    assert client.received[-1].text.startswith('2["notification",')
    await client.logout()
    assert not client.connected


async def test_notifications_keep_their_order(server: Server, make_client: MakeClient) -> None:
    """Many notifications in a row arrive whole and in order."""
    client = await make_client()
    recorder = Recorder(client)
    for index in range(50):
        await server.notify("101", params(f"c.{index}", note="x" * index))
    assert [(await recorder.next()).unique_id for _ in range(50)] == [
        f"c.{index}" for index in range(50)
    ]


async def test_half_open_link_noticed(
    server: Server, make_client: MakeClient, transport: TransportName
) -> None:
    """A link that stops carrying anything is declared dead within interval + timeout + 0.5 s."""
    proxy = BlackholeProxy("127.0.0.1", server.port)
    await proxy.start()
    try:
        client = await make_client(proxy.port)
        recorder = Recorder(client)
        proxy.blackhole = True
        started = time.monotonic()
        await recorder.wait_connection(False)
        elapsed = time.monotonic() - started
        print(  # noqa: T201
            f"\nCONFORMANCE {server.name} {transport}: half-open link noticed after {elapsed:.3f} s"
        )
        assert elapsed <= PING_INTERVAL + PING_TIMEOUT + 0.5
        started = time.monotonic()
        await client.disconnect()
        assert time.monotonic() - started < 1.5
    finally:
        await proxy.stop()


@pytest.mark.parametrize("how", ["namespace", "engine"])
async def test_server_side_disconnect_then_reconnect(
    server: Server, make_client: MakeClient, transport: TransportName, how: str
) -> None:
    """A socket.io disconnect ("41") or an Engine.IO close drops the link; a new one works."""
    client = await make_client()
    recorder = Recorder(client)
    if how == "namespace":
        await server.disconnect_namespace()
    else:
        await server.close_engine()
    await recorder.wait_connection(False)
    assert not client.connected
    await client.connect()
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    await server.notify("101", params("after"))
    assert (await recorder.next()).unique_id == "after"


class _Observer:
    """Count the session coming up."""

    def __init__(self) -> None:
        self.up = 0
        self.at = 0.0

    def session_up(self, refused: frozenset[str]) -> None:
        """Note the time."""
        self.up += 1
        self.at = time.monotonic()

    def session_down(self) -> None:
        """Ignore."""

    def reconnect_failed(self, error: SwitchvoxError, attempt: int) -> None:
        """Ignore."""

    def login_refused(self, error: SwitchvoxError) -> None:
        """Ignore."""

    def sessions_unstable(self, unstable: bool) -> None:
        """Ignore."""


async def test_session_reconnects(
    server: Server, transport: TransportName, socket_enabled: None
) -> None:
    """The session, with its shipped backoff, reopens itself after the server closes the link."""
    client = SwitchvoxClient(
        "127.0.0.1", port=server.port, use_ssl=False, transports=(transport,), request_timeout=5.0
    )
    observer = _Observer()
    session = SwitchvoxSession(
        client=client, extension="101", password=PASSWORD, watched=["101"], observer=observer
    )
    await session.start()
    runner = asyncio.get_running_loop().create_task(session.run())
    try:
        started = time.monotonic()
        await server.close_engine()
        await wait_until(lambda: observer.up == 2)
        elapsed = observer.at - started
        print(f"\nCONFORMANCE {server.name} {transport}: reconnected in {elapsed:.3f} s")  # noqa: T201
        assert elapsed < 1.0
        assert session.up
    finally:
        await session.close()
        await runner


# node 1.x takes more than a second to frame 4 MiB for long-polling: a ping timeout of 0.5 s
# would call that link dead.
@pytest.mark.parametrize("ping", [(5.0, 5.0)])
async def test_messages_near_the_size_bound(server: Server, make_client: MakeClient) -> None:
    """A message just under MAX_MESSAGE_SIZE arrives; one over it ends the link, survived."""
    client = await make_client()
    recorder = Recorder(client)
    await server.notify("101", params("big", padding="x" * (MAX_MESSAGE_SIZE - 4096)))
    assert (await recorder.next(timeout=20)).unique_id == "big"
    assert len(client.received[-1].text) == 8192  # what diagnostics keep of it
    await server.notify("101", params("huge", padding="x" * (MAX_MESSAGE_SIZE + 4096)))
    await recorder.wait_connection(False, timeout=20)
    assert recorder.states.empty()
    await client.connect()
    await client.login("101", PASSWORD)
    assert client.connected


async def test_malformed_frames_survived(server: Server, make_client: MakeClient) -> None:
    """Bad socket.io packets are dropped one by one; the link and what follows are unharmed."""
    client = await make_client()
    recorder = Recorder(client)
    for packet in (
        '2["notification",',  # not JSON
        "2[]",  # no event name
        '2[{"notification":1}]',  # a name that is no text
        '2/other,["notification",{}]',  # another namespace
        '2["unknown",{}]',  # an event not asked for
        '2["notification",1]',  # not an object: the client counts it
        '2["response",{"jsonrpc":"2.0","id":999,"result":true}]',  # nobody asked
        "3[1]",  # an acknowledgement
        "7",  # no such socket.io packet
        "",  # nothing at all
    ):
        await server.raw(packet)
    await server.notify("101", params("after"))
    assert (await recorder.next()).unique_id == "after"
    assert client.connected
    assert client.malformed_messages == 1
    assert recorder.connection == []
