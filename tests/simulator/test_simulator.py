"""Tests for the Switchvox PBX simulator (wire protocol, call flows, control, faults)."""

import asyncio
from collections.abc import Awaitable, Callable
import re
import ssl
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from custom_components.switchvox.rtapi import SwitchvoxConnectionError
from switchvox_simulator import (
    Pbx,
    PbxError,
    SwitchvoxSimulator,
    UnknownChannelError,
    start_demo,
)
from switchvox_simulator.__main__ import build_parser, parse_extensions
from switchvox_simulator.tls import client_context

from .conftest import RawClient, loop_reports_ignored

PACIFIC = ZoneInfo("US/Pacific")

type MakeClient = Callable[..., Awaitable[RawClient]]

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
LINE = "state.change.extension.line"


async def _ready(make_client: MakeClient, *watch: str, extension: str = "101") -> RawClient:
    """Return a client logged in as ``extension`` and subscribed to ``watch``."""
    client = await make_client()
    password = {"101": "secret"}.get(extension, f"secret{extension[-1]}")
    assert (await client.login(extension, password))["result"] is True
    if watch:
        assert (await client.subscribe(*watch))["result"] is True
    return client


async def _statuses(client: RawClient, count: int) -> list[tuple[str, str, str]]:
    """Return (extension, uniqueId, status) of the next ``count`` notifications."""
    result = []
    for _ in range(count):
        params = await client.notification()
        result.append((params["account"]["extension"], params["uniqueId"], params["status"]))
    return result


async def _silent(client: RawClient, delay: float = 0.2) -> None:
    """Assert no notification arrives within ``delay`` seconds."""
    with pytest.raises(TimeoutError):
        await client.notification(wait=delay)


# -- login and errors -------------------------------------------------------------------------


async def test_login(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Login succeeds with the right password; passwords are redacted in sim.requests."""
    client = await make_client()
    assert sim.connections == 1
    assert sim.sessions == 0
    response = await client.login()
    assert response == {"jsonrpc": "2.0", "id": 1, "result": True}
    assert sim.sessions == 1
    assert sim.requests == [("login", {"extension": "101", "password": "***"})]


@pytest.mark.parametrize(("extension", "password"), [("101", "wrong"), ("999", "secret")])
async def test_login_invalid(
    sim: SwitchvoxSimulator, make_client: MakeClient, extension: str, password: str
) -> None:
    """A wrong password or unknown extension answers -32000 Invalid credentials."""
    client = await make_client()
    response = await client.login(extension, password)
    assert response["error"] == {"code": -32000, "message": "Invalid credentials"}
    assert "result" not in response
    assert sim.sessions == 0


async def test_double_login(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """A second login on one connection answers -32002."""
    client = await _ready(make_client)
    response = await client.login("102", "secret2")
    assert response["error"]["code"] == -32002
    assert sim.sessions == 1


async def test_not_authenticated(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Every method but login needs a session."""
    client = await make_client()
    for method in ("subscribe", "unsubscribe", "dial", "logout"):
        response = await client.request(method, {})
        assert response["error"] == {"code": -32000, "message": "Not authenticated"}


async def test_invalid_requests(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Malformed requests get -32600, unknown methods -32601, bad params -32602."""
    client = await make_client()
    for payload in ("hello", [1, 2], {"jsonrpc": "2.0", "id": 7}, {"id": 8, "method": "login"}):
        await client.send(payload)
        response = await asyncio.wait_for(client.unmatched.get(), 5)
        assert response["error"]["code"] == -32600
        expected_id = payload.get("id") if isinstance(payload, dict) else None
        assert response["id"] == expected_id
    assert (await client.request("frobnicate", {}))["error"]["code"] == -32601
    assert (await client.request("login", ["101", "secret"]))["error"]["code"] == -32602
    assert (await client.request("login", {"extension": 101}))["error"]["code"] == -32602
    await client.login()
    bad_subscribes: list[Any] = [
        {"targets": [{"account": {"extension": "101"}}]},
        {"topic": "state.change.parkingSpace", "targets": [{"account": {"extension": "1"}}]},
        {"topic": LINE},
        {"topic": LINE, "targets": []},
        {"topic": LINE, "targets": [{"extension": "101"}]},
    ]
    for params in bad_subscribes:
        response = await client.request("subscribe", params)
        assert response["error"]["code"] == -32602, params
    assert (await client.request("dial", {}))["error"]["code"] == -32602
    assert (await client.request("dial", {"extension": "1", "dialData": 3}))["error"]["code"] == (
        -32602
    )


# -- subscriptions and permissions ------------------------------------------------------------


async def test_subscribe_permissions(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """103 may watch itself and 101 only; a refusal names the extensions and subscribes nothing."""
    client = await _ready(make_client, extension="103")
    assert (await client.subscribe("101", "103"))["result"] is True
    response = await client.subscribe("101", "102", "105")
    assert response["error"] == {
        "code": -32001,
        "message": "Not authorized to watch 102, 105",
        "data": {"method": "subscribe", "extensions": ["102", "105"]},
    }
    response = await client.subscribe("999")
    assert response["error"]["data"]["extensions"] == ["999"]
    assert sim.subscriptions == {"101": 1, "103": 1}
    response = await client.request(
        "unsubscribe", {"topic": LINE, "targets": [{"account": {"extension": "102"}}]}
    )
    assert response["error"]["data"] == {"method": "unsubscribe", "extensions": ["102"]}


async def test_unsubscribe(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """After unsubscribe no more notifications arrive for that extension."""
    client = await _ready(make_client, "101", "102")
    response = await client.request(
        "unsubscribe", {"topic": LINE, "targets": [{"account": {"extension": "102"}}]}
    )
    assert response["result"] is True
    assert sim.subscriptions == {"101": 1}
    await sim.ring("102", "Bob", "5551234")
    await _silent(client)
    await sim.ring("101", "Bob", "5551234")
    assert (await client.notification())["account"]["extension"] == "101"


async def test_revoke_grant_password(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Revoking drops live subscriptions; granting restores; a new password applies to logins."""
    client = await _ready(make_client, "105")
    sim.revoke_watch("101", "105")
    assert sim.subscriptions == {}
    await sim.ring("105", "Bob", "5551234")
    await _silent(client)
    assert (await client.subscribe("105"))["error"]["code"] == -32001
    sim.grant_watch("101", "105")
    assert (await client.subscribe("105"))["result"] is True
    sim.set_password("101", "new")
    other = await make_client()
    assert (await other.login("101", "secret"))["error"]["code"] == -32000
    assert (await other.login("101", "new"))["result"] is True


async def test_logout(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Logout answers true, then the server drops the connection."""
    client = await _ready(make_client, "101")
    assert (await client.request("logout"))["result"] is True
    await asyncio.wait_for(client.disconnected.wait(), 5)
    assert sim.sessions == 0
    assert sim.connections == 0


# -- call flows -------------------------------------------------------------------------------


async def test_incoming_call_flow(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Ring -> answer -> hold -> resume -> hang_up, one notification per step."""
    client = await _ready(make_client, "101")
    uid = await sim.ring("101", caller_name="Bob", caller_number="5551234")
    params = await client.notification()
    assert params["uniqueId"] == uid
    assert params["status"] == "ringing"
    assert params["direction"] == "fromPbx"
    assert params["account"] == {
        "extension": "101",
        "accountId": "1101",
        "displayName": "Alice Archer",
    }
    assert params["endpoint"] == {"id": "ep-101", "name": "SIP/101"}
    assert params["remotes"] == [{"callerIdName": "Bob", "callerIdNumber": "5551234"}]
    assert ISO.match(params["startTime"])
    assert ISO.match(params["serverTime"])
    assert "dialData" not in params
    assert "queueId" not in params
    assert sim.channels("101") == [uid]
    for step, status in (
        (sim.answer, "onThePhone"),
        (sim.hold, "onHold"),
        (sim.resume, "onThePhone"),
        (sim.hang_up, "idle"),
    ):
        await step(uid)
        params = await client.notification()
        assert (params["uniqueId"], params["status"]) == (uid, status)
        assert params["remotes"] == [{"callerIdName": "Bob", "callerIdNumber": "5551234"}]
        assert params["direction"] == "fromPbx"
    assert sim.channels("101") == []
    with pytest.raises(UnknownChannelError):
        await sim.answer(uid)


async def test_missed_call_and_queue(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """A missed call is ringing then idle; a queue call carries queueId."""
    client = await _ready(make_client, "101")
    uid = await sim.ring("101", "Carol", "5550000", queue="105")
    first = await client.notification()
    assert first["queueId"] == {
        "extension": "105",
        "accountId": "1105",
        "displayName": "Esther Eze",
    }
    await sim.hang_up(uid)
    assert await _statuses(client, 1) == [("101", uid, "idle")]


async def test_several_channels(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """One extension holds a call while another rings."""
    client = await _ready(make_client, "101")
    first = await sim.ring("101", "Bob", "5551234")
    await sim.answer(first)
    await sim.hold(first)
    second = await sim.ring("101", "Dan", "5555678")
    assert first != second
    assert sorted(sim.channels("101")) == sorted([first, second])
    assert await _statuses(client, 4) == [
        ("101", first, "ringing"),
        ("101", first, "onThePhone"),
        ("101", first, "onHold"),
        ("101", second, "ringing"),
    ]
    await sim.hang_up(second)
    await sim.resume(first)
    assert await _statuses(client, 2) == [("101", second, "idle"), ("101", first, "onThePhone")]


async def test_internal_call(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """A->B: A starting/calling (toPbx), B ringing (fromPbx); answer joins; hang-up ends both."""
    client = await _ready(make_client, "101", "102")
    a_uid, b_uid = await sim.call("101", "102")
    assert b_uid is not None
    events = [await client.notification() for _ in range(3)]
    assert [(e["uniqueId"], e["status"], e["direction"]) for e in events] == [
        (a_uid, "starting", "toPbx"),
        (a_uid, "calling", "toPbx"),
        (b_uid, "ringing", "fromPbx"),
    ]
    assert events[0]["remotes"] == []
    assert events[1]["remotes"] == [{"callerIdName": "Bruno Baptiste", "callerIdNumber": "102"}]
    assert events[2]["remotes"] == [{"callerIdName": "Alice Archer", "callerIdNumber": "101"}]
    await sim.answer(b_uid)
    assert sorted(await _statuses(client, 2)) == sorted(
        [("102", b_uid, "onThePhone"), ("101", a_uid, "onThePhone")]
    )
    await sim.hang_up(b_uid)
    assert sorted(await _statuses(client, 2)) == sorted(
        [("102", b_uid, "idle"), ("101", a_uid, "idle")]
    )
    assert sim.channels("101") == sim.channels("102") == []


async def test_dial(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Dial echoes dialData on the initiating channel only; outside numbers answer by themselves."""
    client = await _ready(make_client, "101", "102")
    dial_data = {"ticket": 42, "note": "héllo"}
    response = await client.request("dial", {"extension": "102", "dialData": dial_data})
    assert response["result"] is True
    events = [await client.notification() for _ in range(3)]
    assert [(e["account"]["extension"], e["status"]) for e in events] == [
        ("101", "starting"),
        ("101", "calling"),
        ("102", "ringing"),
    ]
    assert events[0]["dialData"] == dial_data
    assert events[1]["dialData"] == dial_data
    assert "dialData" not in events[2]
    assert sim.requests[-1] == ("dial", {"extension": "102", "dialData": dial_data})

    response = await client.request("dial", {"extension": "5551234", "convergedDeviceId": "x"})
    assert response["result"] is True
    events = [await client.notification() for _ in range(3)]
    assert [e["status"] for e in events] == ["starting", "calling", "onThePhone"]
    assert events[1]["remotes"] == [{"callerIdName": "", "callerIdNumber": "5551234"}]
    assert "dialData" not in events[0]


async def test_dial_not_authorized(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """An account without the dial permission gets -32001."""
    client = await _ready(make_client, extension="103")
    response = await client.request("dial", {"extension": "101"})
    assert response["error"]["code"] == -32001
    assert response["error"]["data"] == {"method": "dial"}
    sim.set_can_dial("103", True)
    assert (await client.request("dial", {"extension": "101"}))["result"] is True


@pytest.mark.parametrize(("fmt", "kind"), [("epoch", int), ("epoch_ms", int)])
async def test_timestamp_formats(socket_enabled: None, fmt: str, kind: type) -> None:
    """startTime/serverTime can be epoch seconds or milliseconds."""
    async with SwitchvoxSimulator(timestamp_format=fmt) as sim:
        sim.add_account("101", "secret", "Alice Archer")
        client = RawClient(sim.url)
        try:
            await client.connect()
            await client.login()
            await client.subscribe("101")
            await sim.ring("101", "Bob", "5551234")
            params = await client.notification()
        finally:
            await client.close()
    now = time.time() * (1000 if fmt == "epoch_ms" else 1)
    assert isinstance(params["startTime"], kind)
    assert abs(params["serverTime"] - now) < 10 * (1000 if fmt == "epoch_ms" else 1)


async def test_pbx_rules() -> None:
    """The pure PBX model rejects impossible transitions."""
    pbx = Pbx(clock=lambda: 1_764_172_800.0)
    pbx.add_account("101", "x", "Alice")
    uid, events = pbx.ring("101", "Bob", "5551234")
    assert events[0].params["startTime"] == "2025-11-26T16:00:00Z"
    assert uid.startswith("1764172800.")
    with pytest.raises(PbxError):
        pbx.hold(uid)
    with pytest.raises(PbxError):
        pbx.resume(uid)
    pbx.answer(uid)
    with pytest.raises(PbxError):
        pbx.answer(uid)
    with pytest.raises(PbxError):
        pbx.ring("999", "Bob", "1")
    with pytest.raises(ValueError, match="timestamp_format"):
        Pbx(timestamp_format="rfc822")


@pytest.mark.parametrize(
    ("timestamp_format", "start", "server"),
    [
        ("local", "2025-11-26 08:00:00", "2025-11-26 08:00:42"),
        ("iso_offset", "2025-11-26T08:00:00-08:00", "2025-11-26T08:00:42-08:00"),
        ("iso", "2025-11-26T16:00:00Z", "2025-11-26T16:00:42Z"),
    ],
)
def test_pbx_time_zone(timestamp_format: str, start: str, server: str) -> None:
    """A PBX in US/Pacific sends its times in its zone where the format has one."""
    now = [1_764_172_800.0]
    pbx = Pbx(clock=lambda: now[0], timestamp_format=timestamp_format, zone=PACIFIC)
    pbx.add_account("101", "x", "Alice")
    uid, _ = pbx.ring("101", "Bob", "5551234")
    now[0] += 42
    params = pbx.params(pbx.channel(uid))
    assert (params["startTime"], params["serverTime"]) == (start, server)


async def test_clock_drift(socket_enabled: None) -> None:
    """The simulator's PBX clock can be off the true time, as a real PBX's may be."""
    async with SwitchvoxSimulator(timestamp_format="epoch", clock_drift=-3600) as sim:
        sim.add_account("101", "secret", "Alice Archer")
        uid = await sim.ring("101", "Bob", "5551234")
        params = sim.pbx.params(sim.pbx.channel(uid))
    assert abs(params["serverTime"] - (time.time() - 3600)) < 5


# -- injection helpers ------------------------------------------------------------------------


async def test_notify_send_raw_flood(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Notify merges over defaults (or sends raw), send_raw reaches everyone, flood is fast."""
    client = await _ready(make_client, "101")
    await sim.notify("101", {"status": "weird", "extra": {"x": 1}})
    params = await client.notification()
    assert params["status"] == "weird"
    assert params["extra"] == {"x": 1}
    assert params["account"]["extension"] == "101"
    await sim.notify("101", {"only": "this"}, raw=True)
    assert await client.notification() == {"only": "this"}
    await sim.send_raw("response", {"jsonrpc": "2.0", "id": 999, "result": "x" * 100_000})
    assert len((await asyncio.wait_for(client.unmatched.get(), 5))["result"]) == 100_000
    await sim.send_raw("weird", [1, 2, 3])
    assert await asyncio.wait_for(client.events.get(), 5) == ("weird", [1, 2, 3])
    await sim.flood("101", 200)
    statuses = [(await client.notification())["status"] for _ in range(200)]
    assert statuses == ["ringing", "idle"] * 100


async def test_delay_and_ignore(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Delayed responses arrive out of order; ignored methods are never answered."""
    client = await _ready(make_client)
    sim.set_delay("subscribe", 0.3)
    slow = client.start("subscribe", {"topic": LINE, "targets": [{"account": {"extension": "1"}}]})
    fast = client.start(
        "unsubscribe", {"topic": LINE, "targets": [{"account": {"extension": "101"}}]}
    )
    done, _ = await asyncio.wait([slow, fast], return_when=asyncio.FIRST_COMPLETED, timeout=5)
    assert done == {fast}
    assert (await asyncio.wait_for(slow, 5))["error"]["code"] == -32001
    sim.set_delay("subscribe", 0)
    sim.set_ignore("dial", True)
    with pytest.raises(TimeoutError):
        await client.request("dial", {"extension": "102"}, wait=0.3)
    assert sim.channels("101") == []
    sim.set_ignore("dial", False)
    assert (await client.request("dial", {"extension": "102"}))["result"] is True
    sim.set_error("dial", -32603, "Internal error", {"why": "test"})
    response = await client.request("dial", {"extension": "102"})
    assert response["error"] == {
        "code": -32603,
        "message": "Internal error",
        "data": {"why": "test"},
    }
    sim.set_error("dial", None)
    assert (await client.request("dial", {"extension": "102"}))["result"] is True
    sim.set_error("login", -32001, "Realtime API not allowed")
    other = await make_client()
    assert (await other.login())["error"]["code"] == -32001
    assert sim.sessions == 1


# -- connection faults ------------------------------------------------------------------------


async def test_drop_connections(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """drop_connections cuts every client; new ones can connect afterwards."""
    first = await _ready(make_client, "101")
    second = await make_client(transports=["polling"])
    await second.login("102", "secret2")
    await sim.drop_connections()
    await asyncio.wait_for(first.disconnected.wait(), 5)
    await asyncio.wait_for(second.disconnected.wait(), 5)
    assert sim.connections == 0
    assert sim.sessions == 0
    third = await _ready(make_client, "101")
    await sim.ring("101", "Bob", "5551234")
    assert (await third.notification())["status"] == "ringing"


async def test_expire_sessions(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """An expired session keeps its socket: -32000 to requests, no notifications, login again."""
    client = await _ready(make_client, "101")
    idle = await make_client()  # connected, never logged in: nothing to expire
    async with (
        aiohttp.ClientSession(base_url=sim.url) as http,
        http.post("/control/expire", json={}) as resp,
    ):
        assert resp.status == 200
        assert await resp.json() == {"expired": 1}
    assert sim.connections == 2
    assert sim.sessions == 0
    assert sim.subscriptions == {}
    await sim.ring("101", "Bob", "5551234")
    with pytest.raises(TimeoutError):
        await client.notification(wait=0.2)
    for method in ("subscribe", "dial"):
        response = await client.request(method, {})
        assert response["error"] == {"code": -32000, "message": "Not authenticated"}
    assert not client.disconnected.is_set()
    assert not idle.disconnected.is_set()
    # A new login on the same connection starts a new session.
    assert (await client.login())["result"] is True
    assert (await client.subscribe("101"))["result"] is True
    await sim.ring("101", "Zed", "5550100")
    assert (await client.notification())["status"] == "ringing"


async def test_polling_transport(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """The long-polling transport works too."""
    client = await make_client(transports=["polling"])
    assert (await client.login())["result"] is True
    await client.subscribe("101")
    await sim.ring("101", "Bob", "5551234")
    assert (await client.notification())["status"] == "ringing"


async def test_half_open(socket_enabled: None) -> None:
    """set_responding(False) silences requests and pings until the client's ping timeout fires."""
    async with SwitchvoxSimulator(ping_interval=0.3, ping_timeout=0.5) as sim:
        sim.add_account("101", "secret", "Alice Archer")
        client = RawClient(sim.url)
        try:
            await client.connect()
            await client.login()
            await client.subscribe("101")
            sim.set_responding(False)
            pending = client.start("dial", {"extension": "5551234"})
            await sim.ring("101", "Bob", "5551234")
            started = time.monotonic()
            await asyncio.wait_for(client.disconnected.wait(), 5)
            assert time.monotonic() - started < 3
            assert not pending.done()
            assert client.notifications.empty()
            pending.cancel()
            sim.set_responding(True)
            again = RawClient(sim.url)
            try:
                await again.connect()
                assert (await again.login())["result"] is True
            finally:
                await again.close()
        finally:
            await client.close()


async def test_accepting_and_listening(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Refused handshakes (HTTP 503) and a closed listener both fail; both recover."""
    existing = await _ready(make_client, "101")
    sim.set_accepting(False)
    with pytest.raises(SwitchvoxConnectionError):
        await make_client()
    assert (await existing.subscribe("101"))["result"] is True
    sim.set_accepting(True)
    await make_client()
    port = sim.port
    await sim.set_listening(False)
    assert not sim.listening
    with pytest.raises(SwitchvoxConnectionError):
        await make_client(transports=["polling"])
    await sim.set_listening(True)
    assert sim.port == port
    client = await make_client()
    assert (await client.login())["result"] is True


async def test_stop_with_connected_clients(socket_enabled: None) -> None:
    """stop() is quick even with clients connected (websocket, polling, frozen) and mid-delay."""
    sim = SwitchvoxSimulator()
    sim.add_account("101", "secret", "Alice Archer")
    await sim.start()
    clients = [RawClient(sim.url), RawClient(sim.url, transports=["polling"])]
    try:
        for client in clients:
            await client.connect()
            await client.login()
        sim.set_delay("subscribe", 30)
        clients[0].start("subscribe", {"topic": LINE, "targets": []})
        await sim.call("101", "5551234")
        sim.set_responding(False)
        started = time.monotonic()
        await sim.stop()
        assert time.monotonic() - started < 2
        for client in clients:
            await asyncio.wait_for(client.disconnected.wait(), 5)
    finally:
        for client in clients:
            await client.close()


async def test_restart_same_port(socket_enabled: None) -> None:
    """stop() then start() serves again on the same port with the same accounts (PBX restart)."""
    sim = SwitchvoxSimulator()
    sim.add_account("101", "secret", "Alice Archer")
    await sim.start()
    try:
        port = sim.port
        await sim.stop()
        await sim.start()
        assert sim.port == port
        client = RawClient(sim.url)
        try:
            await client.connect()
            assert (await client.login())["result"] is True
        finally:
            await client.close()
    finally:
        await sim.stop()
        await sim.stop()


def _rejected_certificate(context: dict[str, Any]) -> bool:
    """Return whether a loop report is the server's view of a client refusing its certificate."""
    return context.get("message") == "Error on transport creation for incoming connection" and (
        isinstance(context.get("exception"), (ssl.SSLError, ConnectionResetError))
    )


async def test_tls(socket_enabled: None) -> None:
    """TLS mode serves a self-signed cert for 127.0.0.1 that clients can trust explicitly."""
    async with SwitchvoxSimulator(tls=True) as sim:
        sim.add_account("101", "secret", "Alice Archer")
        assert sim.url.startswith("https://127.0.0.1:")
        assert sim.cert_path is not None
        cert_path = sim.cert_path
        assert cert_path.read_text().startswith("-----BEGIN CERTIFICATE-----")
        trusted = RawClient(sim.url, ssl=client_context(cert_path))
        untrusted = RawClient(sim.url)
        try:
            await trusted.connect()
            assert (await trusted.login())["result"] is True
            async with loop_reports_ignored(_rejected_certificate, expect=True):
                with pytest.raises(SwitchvoxConnectionError):
                    await untrusted.connect()
        finally:
            await trusted.close()
            await untrusted.close()
    assert not cert_path.exists()


# -- HTTP control surface ---------------------------------------------------------------------


async def test_http_control(sim: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """The /control/ endpoints drive calls, permissions and faults."""
    client = await _ready(make_client, "101", "102")
    async with aiohttp.ClientSession(base_url=sim.url) as http:

        async def post(action: str, body: Any, status: int = 200) -> Any:
            async with http.post(f"/control/{action}", json=body) as resp:
                assert resp.status == status, await resp.text()
                return await resp.json()

        uid = (
            await post("ring", {"extension": "101", "caller_name": "Bob", "caller_number": "1"})
        )["unique_id"]
        for action in ("answer", "hold", "resume", "hang_up"):
            await post(action, {"unique_id": uid})
        statuses = await _statuses(client, 5)
        assert [s[2] for s in statuses] == ["ringing", "onThePhone", "onHold", "onThePhone", "idle"]
        await post("answer", {"unique_id": uid}, 404)
        await post("ring", {"extension": "999"}, 404)
        await post("ring", {}, 400)
        uid = (await post("ring", {"extension": "101"}))["unique_id"]
        await post("hold", {"unique_id": uid}, 409)
        call = await post("call", {"from": "101", "to": "102"})
        assert call["to_unique_id"] in sim.channels("102")

        async with http.get("/control/state") as resp:
            state = await resp.json()
        assert state["sessions"] == 1
        assert state["subscriptions"] == {"101": 1, "102": 1}
        assert {a["extension"] for a in state["accounts"]} >= {"101", "102", "103"}
        assert len(state["channels"]) == 3

        async with http.post("/control/drop", data="{}") as resp:  # text/plain: refused
            assert resp.status == 415
        await post("nope", {}, 404)
        await post("password", {"extension": "102", "password": "pw"})
        await post("revoke", {"extension": "101", "target": "102"})
        assert sim.subscriptions == {"101": 1}
        await post("grant", {"extension": "101", "target": "102"})
        await post("flood", {"extension": "101", "count": 4})
        await post("notify", {"extension": "101", "params": {"status": "onHold"}})
        await post("responding", {"value": True})
        await post("accepting", {"value": True})
        await post("delay", {"method": "dial", "seconds": 0})
        await post("ignore", {"method": "dial", "value": False})
        await post("error", {"method": "dial", "code": -32603, "message": "boom"})
        await post("error", {"method": "dial", "code": None})
        await post("can_dial", {"extension": "101", "value": True})
        await post("account", {"extension": "107", "password": "p", "display_name": "Gus"})
        await post("responding", {"value": "yes"}, 400)
        await post("drop", {})
        await asyncio.wait_for(client.disconnected.wait(), 5)
    other = await make_client()
    assert (await other.login("102", "pw"))["result"] is True


# -- CLI and demo -----------------------------------------------------------------------------


def test_cli_parsing() -> None:
    """Extension ranges and flags parse."""
    assert parse_extensions("101-103,200") == ["101", "102", "103", "200"]
    args = build_parser().parse_args(
        ["--port", "0", "--tls", "--demo", "--demo-rate", "30", "--timestamp-format", "epoch"]
    )
    assert args.extensions == ["101", "102", "103", "104", "105", "106"]
    assert (args.port, args.tls, args.demo, args.demo_rate) == (0, True, True, 30.0)
    assert (args.timezone, args.clock_drift) == (ZoneInfo("UTC"), 0.0)
    args = build_parser().parse_args(
        ["--timestamp-format", "local", "--timezone", "US/Pacific", "--clock-drift", "-90"]
    )
    assert (args.timestamp_format, args.timezone, args.clock_drift) == ("local", PACIFIC, -90.0)


async def test_demo_traffic(socket_enabled: None) -> None:
    """Demo traffic creates calls and stop() cancels it without leftovers."""
    async with SwitchvoxSimulator() as sim:
        for index, extension in enumerate(("101", "102", "103")):
            sim.add_account(extension, "demo", f"User {index}")
        start_demo(sim, calls_per_minute=6000, max_concurrent=3, seed=1)
        await sim.wait_until(lambda: any(sim.channels(e) for e in ("101", "102", "103")))
        with pytest.raises(TimeoutError):
            await sim.wait_until(lambda: False, within=0.05)
