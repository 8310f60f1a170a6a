"""Broken handshakes a real front end or PBX produces, on the wire, and recovery from each."""

from collections.abc import AsyncIterator, Awaitable, Callable
import json
from typing import Any

import aiohttp
import pytest

from custom_components.switchvox.rtapi import SwitchvoxConnectionError
from custom_components.switchvox.rtapi.wire import decode_payload
from switchvox_simulator import HANDSHAKE_FAULTS, SOCKETIO_PATH, HandshakeFault, SwitchvoxSimulator
from switchvox_simulator.tls import client_context
from tests.conftest import ipv6_loopback

from .conftest import PASSWORD, RawClient

type MakeClient = Callable[..., Awaitable[RawClient]]

POLLING = f"/{SOCKETIO_PATH}/?EIO=3&transport=polling"
WEBSOCKET = f"/{SOCKETIO_PATH}/?EIO=3&transport=websocket"


@pytest.fixture
async def http(sim: SwitchvoxSimulator) -> AsyncIterator[aiohttp.ClientSession]:
    """Return a plain HTTP client for the simulator."""
    async with aiohttp.ClientSession(base_url=sim.url) as session:
        yield session


async def _recovers(sim: SwitchvoxSimulator, make_client: MakeClient, **kwargs: Any) -> RawClient:
    """Clear the handshake fault; assert a new client connects and logs in."""
    sim.set_handshake_fault("none")
    client = await make_client(**kwargs)
    assert (await client.login("101", "secret"))["result"] is True
    return client


def _open_data(body: bytes) -> dict[str, Any]:
    """Return the JSON of the Engine.IO open packet of a long-polling body (binary framing)."""
    packets = decode_payload(body)
    assert packets[0].startswith("0{")
    data: dict[str, Any] = json.loads(packets[0][1:])
    return data


async def test_normal_handshake_counted(
    sim: SwitchvoxSimulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    """A normal open packet has a sid and offers the websocket upgrade; attempts are counted."""
    assert sim.handshake_fault == "none"
    assert sim.handshake_attempts == 0
    async with http.get(POLLING) as resp:
        assert resp.status == 200
        data = _open_data(await resp.read())
    assert data["sid"]
    assert data["upgrades"] == ["websocket"]
    await make_client()
    await make_client(transports=["polling"])
    assert sim.handshake_attempts == 3
    sim.set_accepting(False)
    with pytest.raises(SwitchvoxConnectionError):
        await make_client()
    assert sim.handshake_attempts == 4


async def test_close_after_upgrade(
    sim: SwitchvoxSimulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    """The websocket is accepted then closed before the open packet; polling gets no packet."""
    sim.set_handshake_fault("close_after_upgrade")
    async with http.ws_connect(WEBSOCKET) as ws:
        message = await ws.receive(timeout=5)
        assert message.type is aiohttp.WSMsgType.CLOSE
    async with http.get(POLLING) as resp:
        assert resp.status == 200
        assert await resp.read() == b""
    with pytest.raises(SwitchvoxConnectionError, match="WebSocket ended"):
        await make_client()
    with pytest.raises(SwitchvoxConnectionError, match=r"no Engine\.IO open packet"):
        await make_client(transports=["polling"])
    assert sim.handshake_attempts == 4
    assert sim.connections == 0
    await _recovers(sim, make_client)


async def test_open_without_sid(
    sim: SwitchvoxSimulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    """The open packet lacks its sid, over websocket and long-polling alike."""
    sim.set_handshake_fault("open_without_sid")
    async with http.ws_connect(WEBSOCKET) as ws:
        text = await ws.receive_str(timeout=5)
    assert text.startswith("0{")
    data = json.loads(text[1:])
    assert "sid" not in data
    assert data["pingInterval"] == 25000
    async with http.get(POLLING) as resp:
        assert resp.status == 200
        assert "sid" not in _open_data(await resp.read())
    for transports in (["websocket"], ["polling"]):
        with pytest.raises(SwitchvoxConnectionError):
            await make_client(transports=transports)
    assert sim.connections == 0
    await _recovers(sim, make_client, transports=["polling"])


@pytest.mark.parametrize(("fault", "status"), [("html_page", 200), ("proxy_502", 502)])
async def test_html_instead_of_handshake(
    sim: SwitchvoxSimulator,
    make_client: MakeClient,
    http: aiohttp.ClientSession,
    fault: HandshakeFault,
    status: int,
) -> None:
    """A captive portal's page (200) or a proxy's error page (502) answers the socket.io path."""
    sim.set_handshake_fault(fault)
    for path in (POLLING, WEBSOCKET):
        async with http.get(path) as resp:
            assert resp.status == status
            assert resp.content_type == "text/html"
            assert "<html>" in await resp.text()
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await http.ws_connect(WEBSOCKET)
    assert err.value.status == status
    for transports in (["websocket"], ["polling"]):
        with pytest.raises(SwitchvoxConnectionError):
            await make_client(transports=transports)
    await _recovers(sim, make_client)


async def test_polling_only(
    sim: SwitchvoxSimulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    """WebSockets are refused and never offered; long-polling carries the whole session."""
    sim.set_handshake_fault("polling_only")
    async with http.get(WEBSOCKET) as resp:
        assert resp.status == 400
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(WEBSOCKET)
    async with http.get(POLLING) as resp:
        data = _open_data(await resp.read())
    assert data["sid"]
    assert data["upgrades"] == []
    with pytest.raises(SwitchvoxConnectionError):
        await make_client()
    client = await make_client(transports=["websocket", "polling"])
    assert client.transport_name == "polling"
    assert (await client.login("101", "secret"))["result"] is True
    assert (await client.subscribe("101"))["result"] is True
    await sim.ring("101", "Bob", "5551234")
    assert (await client.notification())["status"] == "ringing"
    again = await _recovers(sim, make_client, transports=["websocket", "polling"])
    assert again.transport_name == "websocket"


async def test_fault_for_n_attempts_then_success(
    sim: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A fault set for N handshakes breaks exactly N attempts, then clears itself."""
    sim.set_handshake_fault("proxy_502", times=2)
    for _ in range(2):
        with pytest.raises(SwitchvoxConnectionError):
            await make_client()
    assert sim.handshake_fault == "none"
    client = await make_client()
    assert (await client.login("101", "secret"))["result"] is True
    assert sim.handshake_attempts == 3
    sim.set_handshake_fault("html_page", times=0)
    assert sim.handshake_fault == "none"


async def test_handshake_fault_leaves_live_sessions_alone(
    sim: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """Connections made before the fault keep working over both transports."""
    clients = [await make_client(), await make_client(transports=["polling"])]
    for fault in HANDSHAKE_FAULTS:
        sim.set_handshake_fault(fault)  # type: ignore[arg-type]
        for client in clients:
            assert (await client.request("subscribe", {}))["error"]["code"] == -32000
    assert sim.connections == 2


def test_unknown_handshake_fault(sim: SwitchvoxSimulator) -> None:
    """An unknown fault name or a negative count is refused."""
    with pytest.raises(ValueError, match="Unknown handshake fault"):
        sim.set_handshake_fault("teapot")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        sim.set_handshake_fault("html_page", times=-1)
    assert sim.handshake_fault == "none"


async def test_handshake_fault_over_http_control(
    sim: SwitchvoxSimulator, make_client: MakeClient, http: aiohttp.ClientSession
) -> None:
    """POST /control/handshake sets (and clears) a fault; /control/state shows it and the count."""

    async def post(body: Any, status: int = 200) -> Any:
        async with http.post("/control/handshake", json=body) as resp:
            assert resp.status == status, await resp.text()
            return await resp.json()

    async def state() -> Any:
        async with http.get("/control/state") as resp:
            return await resp.json()

    await post({"fault": "html_page", "times": 1})
    current = await state()
    assert (current["handshake_fault"], current["handshake_attempts"]) == ("html_page", 0)
    with pytest.raises(SwitchvoxConnectionError):
        await make_client()
    assert (await state())["handshake_fault"] == "none"
    await post({"fault": "polling_only"})
    assert (await state())["handshake_fault"] == "polling_only"
    await post({"fault": "none"})
    assert (await state())["handshake_fault"] == "none"
    await post({"fault": "teapot"}, 400)
    await post({"fault": "html_page", "times": -1}, 400)
    await make_client()
    assert sim.handshake_attempts == 2


@pytest.mark.skipif(not ipv6_loopback(), reason="no IPv6 loopback on this machine")
@pytest.mark.parametrize("tls", [False, True])
async def test_ipv6_loopback(ipv6_allowed: None, tls: bool) -> None:
    """The simulator listens on ::1: bracketed URL, discoverable port, both transports."""
    async with SwitchvoxSimulator("::1", 0, tls=tls) as sim:
        sim.add_account("101", PASSWORD, "Alice Archer")
        scheme = "https" if tls else "http"
        assert sim.port > 0
        assert sim.url == f"{scheme}://[::1]:{sim.port}"
        ssl = client_context(sim.cert_path) if sim.cert_path is not None else None
        for transports in (["websocket"], ["polling"]):
            client = RawClient(sim.url, ssl=ssl, transports=transports)
            try:
                await client.connect()
                assert (await client.login())["result"] is True
            finally:
                await client.close()
        assert sim.handshake_attempts == 2
