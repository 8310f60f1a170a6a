"""Tests of SwitchvoxClient over real sockets against the simulated PBX."""

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
import gc
import logging
import signal
import ssl
import time
from typing import Any
import warnings

import pytest

from aioswitchvox import (
    TOPIC_LINE_STATE,
    Direction,
    LineStatus,
    Remote,
    SwitchvoxAlreadyAuthenticatedError,
    SwitchvoxClient,
    SwitchvoxConnectionError,
    SwitchvoxLoginNotAllowedError,
    SwitchvoxLoginRefusedError,
    SwitchvoxRequestNotAllowedError,
    SwitchvoxRpcError,
    SwitchvoxSessionExpiredError,
    SwitchvoxTimeoutError,
    SwitchvoxTLSError,
)
from library.tests.conftest import PASSWORD
from switchvox_simulator import SwitchvoxSimulator, format_timestamp

from .conftest import MakeClient, Recorder, wait_until

CLIENT_LOGGER = "aioswitchvox"
WHEN = datetime(2024, 5, 17, 9, 30, 15, tzinfo=UTC)


def sent(simulator: SwitchvoxSimulator, method: str) -> list[Any]:
    """Return the params of every ``method`` request the simulator received."""
    return [params for name, params in simulator.requests if name == method]


async def next_request_id(client: SwitchvoxClient) -> int:
    """Wait until the client has a request pending and return its id."""
    await wait_until(lambda: client.pending_requests == 1)
    return int(next(iter(client._pending)))


# -- connection ------------------------------------------------------------------------------------


async def test_connect_and_disconnect(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """Connecting calls the listeners with True; disconnecting closes the socket quietly."""
    client = await make_client(connect=False)
    recorder = Recorder(client)
    assert not client.connected
    assert client.url == f"http://127.0.0.1:{simulator.port}"
    await client.connect()
    assert client.connected
    assert recorder.connection == [True]
    await wait_until(lambda: simulator.connections == 1)
    await client.disconnect()
    assert not client.connected
    assert recorder.connection == [True]
    await wait_until(lambda: simulator.connections == 0)
    await client.disconnect()


async def test_context_manager(simulator: SwitchvoxSimulator) -> None:
    """The client connects on entering its context and disconnects on leaving it."""
    async with SwitchvoxClient("127.0.0.1", port=simulator.port, use_ssl=False) as client:
        assert client.connected
        await client.login("101", PASSWORD)
        assert client.extension == "101"
    assert not client.connected
    assert client.extension is None
    await wait_until(lambda: simulator.connections == 0)


def test_url() -> None:
    """The URL uses https by default and brackets IPv6 addresses."""
    assert SwitchvoxClient("pbx.lan").url == "https://pbx.lan:443"
    assert SwitchvoxClient("::1", port=8443).url == "https://[::1]:8443"
    assert SwitchvoxClient("10.0.0.2", port=80, use_ssl=False).url == "http://10.0.0.2:80"


async def test_reconnect_replaces_connection(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """Connecting again closes the previous connection and opens a new session."""
    await client.login("101", PASSWORD)
    await client.connect()
    assert client.extension is None
    await wait_until(lambda: simulator.connections == 1 and simulator.sessions == 0)
    await client.login("101", PASSWORD)
    assert simulator.sessions == 1


async def test_request_when_not_connected(make_client: MakeClient) -> None:
    """Requests without a connection fail at once with SwitchvoxConnectionError."""
    client = await make_client(connect=False)
    with pytest.raises(SwitchvoxConnectionError, match="Not connected"):
        await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxConnectionError, match="Not connected"):
        await client.logout()
    assert client.pending_requests == 0


async def test_listener_removal(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """Removed listeners are no longer called."""
    client = await make_client(connect=False)
    calls: list[object] = []
    remove_connection = client.add_connection_listener(calls.append)
    remove_line = client.add_line_state_listener(calls.append)
    remove_connection()
    remove_line()
    await client.connect()
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    recorder = Recorder(client)
    await simulator.ring("101")
    await recorder.next()
    assert calls == []


async def test_failing_listeners_are_logged(
    simulator: SwitchvoxSimulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A listener raising is logged and does not stop the other listeners."""

    def broken(_value: object) -> None:
        raise RuntimeError("listener bug")

    client = await make_client(connect=False)
    client.add_connection_listener(broken)
    client.add_line_state_listener(broken)
    recorder = Recorder(client)
    await client.connect()
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    await simulator.ring("101")
    assert (await recorder.next()).status is LineStatus.RINGING
    messages = [r.getMessage() for r in caplog.records if r.name.startswith(CLIENT_LOGGER)]
    assert "Connection listener failed" in messages
    assert "Line state listener failed" in messages
    assert recorder.connection == [True]


# -- methods ---------------------------------------------------------------------------------------


async def test_login(simulator: SwitchvoxSimulator, client: SwitchvoxClient) -> None:
    """Login authenticates the session and remembers the extension."""
    assert client.extension is None
    await client.login("101", PASSWORD)
    assert client.extension == "101"
    assert simulator.sessions == 1
    assert sent(simulator, "login") == [{"extension": "101", "password": "***"}]
    assert client.pending_requests == 0


async def test_logout(simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient) -> None:
    """Logout ends the session; the PBX drops the connection and the client closes its side."""
    recorder = Recorder(logged_in)
    await logged_in.logout()
    assert not logged_in.connected
    assert logged_in.extension is None
    assert recorder.connection in ([], [False])
    await wait_until(lambda: simulator.connections == 0)
    assert sent(simulator, "logout") == [{}]


async def test_logout_when_pbx_drops_before_responding(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """A PBX that drops the connection without answering logout is a successful logout."""
    simulator.set_ignore("logout")
    task = asyncio.create_task(logged_in.logout())
    await wait_until(lambda: bool(sent(simulator, "logout")))
    await simulator.drop_connections()
    await task
    assert not logged_in.connected
    assert logged_in.pending_requests == 0


async def test_logout_timeout_raises(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A logout that is never answered times out, and the connection is closed anyway."""
    client = await make_client(request_timeout=0.2)
    await client.login("101", PASSWORD)
    simulator.set_ignore("logout")
    with pytest.raises(SwitchvoxTimeoutError):
        await client.logout()
    assert not client.connected
    assert client.pending_requests == 0


async def test_subscribe_and_notifications(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """Subscribed extensions push parsed, typed line states through a whole call."""
    recorder = Recorder(logged_in)
    assert simulator.subscriptions == {"101": 1, "102": 1}
    assert sent(simulator, "subscribe") == [
        {
            "topic": TOPIC_LINE_STATE,
            "targets": [{"account": {"extension": "101"}}, {"account": {"extension": "102"}}],
        }
    ]
    uid = await simulator.ring("102", caller_name="Zed Zimmer", caller_number="5550100")
    state = await recorder.next()
    assert state.unique_id == uid
    assert state.extension == "102"
    assert state.account.name == "Bob Baker"
    assert state.status is LineStatus.RINGING
    assert state.direction is Direction.FROM_PBX
    assert state.caller == Remote("Zed Zimmer", "5550100")
    assert state.endpoint is not None
    assert state.start_time is not None
    assert state.start_time.tzinfo is not None
    await simulator.answer(uid)
    assert (await recorder.next()).status is LineStatus.ON_THE_PHONE
    await simulator.hold(uid)
    assert (await recorder.next()).status is LineStatus.ON_HOLD
    await simulator.resume(uid)
    assert (await recorder.next()).status is LineStatus.ON_THE_PHONE
    await simulator.hang_up(uid)
    assert (await recorder.next()).status is LineStatus.IDLE


async def test_unsubscribe(simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient) -> None:
    """After unsubscribing an extension its notifications stop; others continue."""
    recorder = Recorder(logged_in)
    await logged_in.unsubscribe(["102"])
    assert simulator.subscriptions == {"101": 1}
    await simulator.ring("102")
    uid = await simulator.ring("101")
    assert (await recorder.next()).unique_id == uid
    assert recorder.states.empty()


async def test_subscribe_permitted_all(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """When everything is permitted one request subscribes all (duplicates removed)."""
    await client.login("101", PASSWORD)
    assert await client.subscribe_permitted(["101", "102", "101", "103"]) == ()
    assert len(sent(simulator, "subscribe")) == 1
    assert simulator.subscriptions == {"101": 1, "102": 1, "103": 1}


async def test_subscribe_permitted_nothing(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """No extensions means no request at all."""
    await client.login("101", PASSWORD)
    assert await client.subscribe_permitted([]) == ()
    assert sent(simulator, "subscribe") == []


async def test_subscribe_permitted_falls_back_per_extension(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """A refused batch is retried per extension; the refused ones are returned."""
    await client.login("104", PASSWORD)
    refused = await client.subscribe_permitted(["101", "104", "102", "999"])
    assert refused == ("101", "102", "999")
    assert simulator.subscriptions == {"104": 1}
    assert len(sent(simulator, "subscribe")) == 5
    assert client.pending_requests == 0


async def test_subscribe_permitted_reraises_other_errors(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """Errors other than a refusal during the fallback are raised, not reported as refused."""
    await client.login("104", PASSWORD)
    simulator.set_delay("subscribe", 0.3)
    task = asyncio.create_task(client.subscribe_permitted(["101", "104"]))
    await wait_until(lambda: len(sent(simulator, "subscribe")) == 3)
    await simulator.drop_connections()
    with pytest.raises(SwitchvoxConnectionError, match="Connection lost"):
        await task
    assert client.pending_requests == 0


async def test_subscribe_permitted_batch_error_raised(client: SwitchvoxClient) -> None:
    """An error of the batch that is not a refusal is raised without a fallback."""
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxRpcError) as err:
        await client.subscribe_permitted(["101", ""])
    assert err.value.code == -32602


async def test_dial_internal(simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient) -> None:
    """Dial places a call: the caller's channel starts and calls, the callee rings."""
    recorder = Recorder(logged_in)
    await logged_in.dial("102")
    assert sent(simulator, "dial") == [{"extension": "102"}]
    states = [await recorder.next() for _ in range(3)]
    assert [(s.extension, s.status) for s in states] == [
        ("101", LineStatus.STARTING),
        ("101", LineStatus.CALLING),
        ("102", LineStatus.RINGING),
    ]
    assert states[0].direction is Direction.TO_PBX
    assert states[0].dial_data is None
    assert states[1].caller == Remote("Bob Baker", "102")
    assert states[2].caller == Remote("Alice Archer", "101")


async def test_dial_with_device_and_dial_data(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """The device id and dialData are sent; dialData is echoed in the caller's channel."""
    recorder = Recorder(logged_in)
    dial_data = {"ticket": 4711, "source": "home-assistant", "nested": {"ok": True}}
    await logged_in.dial("5550100", converged_device_id="cd-7", dial_data=dial_data)
    assert sent(simulator, "dial") == [
        {"extension": "5550100", "convergedDeviceId": "cd-7", "dialData": dial_data}
    ]
    starting = await recorder.next()
    assert starting.status is LineStatus.STARTING
    assert starting.dial_data == dial_data
    calling = await recorder.next()
    assert calling.status is LineStatus.CALLING
    assert calling.caller == Remote(None, "5550100")
    answered = await recorder.next()
    assert answered.status is LineStatus.ON_THE_PHONE
    assert answered.dial_data == dial_data


# -- errors ----------------------------------------------------------------------------------------


async def test_login_wrong_password(simulator: SwitchvoxSimulator, client: SwitchvoxClient) -> None:
    """A wrong password raises SwitchvoxLoginRefusedError (-32000 to login)."""
    with pytest.raises(SwitchvoxLoginRefusedError) as err:
        await client.login("101", "wrong")
    assert err.value.code == -32000
    assert err.value.method == "login"
    assert err.value.rpc_message == "Invalid credentials"
    assert client.extension is None
    assert simulator.sessions == 0
    assert client.connected


async def test_unauthenticated_request(client: SwitchvoxClient) -> None:
    """A request before login raises SwitchvoxSessionExpiredError (-32000) naming it."""
    with pytest.raises(SwitchvoxSessionExpiredError) as err:
        await client.subscribe(["101"])
    assert err.value.code == -32000
    assert err.value.method == "subscribe"


async def test_expired_session_closes_the_connection(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """A request answered "not authenticated" after login: the connection is closed as dropped.

    The PBX ended the session but kept the socket; nothing more comes over it, so the client
    lets it go and tells its listeners, who open a new session. A refused login does not.
    """
    recorder = Recorder(logged_in)
    simulator.set_ignore("unanswered")
    pending = asyncio.ensure_future(logged_in.request("unanswered", {}))
    simulator.expire_sessions()
    with pytest.raises(SwitchvoxSessionExpiredError) as err:
        await logged_in.dial("102")
    assert err.value.method == "dial"
    await recorder.wait_connection(False)
    assert logged_in.session_expired
    assert not logged_in.connected
    assert logged_in.extension is None
    with pytest.raises(SwitchvoxConnectionError):
        await pending  # the connection's other requests fail with it
    await wait_until(lambda: simulator.connections == 0)
    await logged_in.connect()
    assert not logged_in.session_expired
    with pytest.raises(SwitchvoxLoginRefusedError):
        await logged_in.login("101", "wrong")
    assert logged_in.connected
    assert not logged_in.session_expired


async def test_not_authorized_subscribe(client: SwitchvoxClient) -> None:
    """Subscribing to an extension the admin has not granted raises -32001 naming subscribe."""
    await client.login("104", PASSWORD)
    with pytest.raises(SwitchvoxRequestNotAllowedError) as err:
        await client.subscribe(["101"])
    assert err.value.code == -32001
    assert err.value.method == "subscribe"
    with pytest.raises(SwitchvoxRequestNotAllowedError) as err:
        await client.unsubscribe(["101"])
    assert err.value.method == "unsubscribe"


async def test_login_not_allowed(simulator: SwitchvoxSimulator, client: SwitchvoxClient) -> None:
    """An extension the admin has not allowed the API raises SwitchvoxLoginNotAllowedError."""
    simulator.set_error("login", -32001, "Realtime API not allowed")
    with pytest.raises(SwitchvoxLoginNotAllowedError) as err:
        await client.login("101", PASSWORD)
    assert err.value.code == -32001
    assert err.value.method == "login"
    assert client.extension is None


async def test_not_authorized_dial(simulator: SwitchvoxSimulator, client: SwitchvoxClient) -> None:
    """Dialing without the dial permission raises -32001 naming dial."""
    simulator.set_can_dial("101", False)
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxRequestNotAllowedError) as err:
        await client.dial("102")
    assert err.value.code == -32001
    assert err.value.method == "dial"
    assert "dial" in str(err.value)


async def test_double_login(client: SwitchvoxClient) -> None:
    """A second login on one session raises SwitchvoxAlreadyAuthenticatedError (-32002)."""
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxAlreadyAuthenticatedError) as err:
        await client.login("101", PASSWORD)
    assert err.value.code == -32002
    assert err.value.method == "login"


@pytest.mark.parametrize(
    ("method", "params", "code"),
    [
        ("frobnicate", {}, -32601),
        ("dial", {"extension": ""}, -32602),
        ("subscribe", {"topic": "state.change.parkingSpace"}, -32602),
    ],
)
async def test_other_rpc_errors(
    client: SwitchvoxClient, method: str, params: dict[str, Any], code: int
) -> None:
    """Other JSON-RPC error codes raise SwitchvoxRpcError with the code and message."""
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxRpcError) as err:
        await client.request(method, params)
    assert type(err.value) is SwitchvoxRpcError
    assert err.value.code == code
    assert err.value.method == method
    assert err.value.rpc_message
    assert client.pending_requests == 0


async def test_vendor_specific_error_code(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """An undocumented error code, and an error that is not an object, become SwitchvoxRpcError."""
    simulator.set_ignore("dial")
    task = asyncio.create_task(logged_in.dial("102"))
    request_id = await next_request_id(logged_in)
    error = {"code": 4711, "message": "Phone is unplugged", "data": {"x": 1}}
    await simulator.send_raw("response", {"jsonrpc": "2.0", "id": request_id, "error": error})
    with pytest.raises(SwitchvoxRpcError) as err:
        await task
    assert (err.value.code, err.value.rpc_message, err.value.method) == (
        4711,
        "Phone is unplugged",
        "dial",
    )
    task = asyncio.create_task(logged_in.dial("102"))
    request_id = await next_request_id(logged_in)
    await simulator.send_raw("response", {"jsonrpc": "2.0", "id": request_id, "error": "busy"})
    with pytest.raises(SwitchvoxRpcError) as err:
        await task
    assert (err.value.code, err.value.rpc_message) == (-32603, "busy")


# -- timeouts and ordering -------------------------------------------------------------------------


async def test_request_timeout(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """An unanswered request raises SwitchvoxTimeoutError and leaves nothing pending."""
    client = await make_client(request_timeout=0.2)
    await client.login("101", PASSWORD)
    simulator.set_ignore("dial")
    started = time.monotonic()
    with pytest.raises(SwitchvoxTimeoutError, match="dial"):
        await client.dial("102")
    assert time.monotonic() - started < 2
    assert client.pending_requests == 0
    assert client.connected
    simulator.set_ignore("dial", False)
    await client.dial("102")


async def test_late_response_is_ignored(
    simulator: SwitchvoxSimulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A response arriving after its request timed out is ignored, and later ones still work."""
    client = await make_client(request_timeout=0.2)
    await client.login("101", PASSWORD)
    simulator.set_delay("subscribe", 0.5)
    with pytest.raises(SwitchvoxTimeoutError):
        await client.subscribe(["101"])
    with caplog.at_level(logging.DEBUG, logger=CLIENT_LOGGER):
        await wait_until(lambda: "expired request" in caplog.text)
    assert client.malformed_messages == 0
    simulator.set_delay("subscribe", 0)
    await client.subscribe(["102"])


async def test_ids_echoed_as_strings_match(
    simulator: SwitchvoxSimulator,
    client: SwitchvoxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A server that echoes the id 1 as "1" is understood: a number and its text are one id."""
    simulator.set_string_ids()
    await client.login("101", PASSWORD)
    await client.subscribe(["101", "102"])
    with pytest.raises(SwitchvoxRpcError, match="-32601"):
        await client.request("frobnicate", {})
    assert simulator.subscriptions == {"101": 1, "102": 1}
    assert client.pending_requests == 0
    assert client.malformed_messages == 0
    # An id that matches no request (as text either) is logged at debug and dropped.
    with caplog.at_level(logging.DEBUG, logger=CLIENT_LOGGER):
        await simulator.send_raw("response", {"jsonrpc": "2.0", "id": "77", "result": True})
        await simulator.send_raw("response", {"jsonrpc": "2.0", "id": 2**70, "result": True})
        await wait_until(lambda: caplog.text.count("unknown or expired request") == 2)
    assert client.malformed_messages == 0
    assert not [r for r in caplog.records if r.levelno > logging.DEBUG]
    await client.dial("102")


async def test_out_of_order_responses(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """A slow response does not hold up a later request's faster one."""
    await client.login("101", PASSWORD)
    simulator.set_delay("subscribe", 0.3)
    done: list[str] = []

    async def run(name: str, coro: Any) -> None:
        await coro
        done.append(name)

    slow = asyncio.create_task(run("subscribe", client.subscribe(["101"])))
    await wait_until(lambda: bool(sent(simulator, "subscribe")))
    await run("dial", client.dial("102"))
    assert not slow.done()
    assert client.pending_requests == 1
    await slow
    assert done == ["dial", "subscribe"]
    assert client.pending_requests == 0


async def test_concurrent_requests_match_their_responses(
    simulator: SwitchvoxSimulator, client: SwitchvoxClient
) -> None:
    """Many concurrent requests each get their own response, whatever the order."""
    await client.login("101", PASSWORD)
    simulator.set_delay("unsubscribe", 0.1)
    results = await asyncio.gather(
        *(client.subscribe([ext]) for ext in ("101", "102", "103")),
        client.unsubscribe(["103"]),
        client.request("frobnicate", {}),
        return_exceptions=True,
    )
    assert results[:4] == [None, None, None, None]
    assert isinstance(results[4], SwitchvoxRpcError)
    assert simulator.subscriptions == {"101": 1, "102": 1}


# -- malformed input -------------------------------------------------------------------------------

BAD_NOTIFICATIONS: list[Any] = [
    "not an object",
    [1, 2, 3],
    42,
    {"jsonrpc": "2.0", "method": TOPIC_LINE_STATE},
    {"jsonrpc": "2.0", "method": TOPIC_LINE_STATE, "params": "ringing"},
    {"jsonrpc": "2.0", "method": TOPIC_LINE_STATE, "params": []},
    {"jsonrpc": "2.0", "method": TOPIC_LINE_STATE, "params": {"status": "ringing"}},
    {
        "jsonrpc": "2.0",
        "method": TOPIC_LINE_STATE,
        "params": {"uniqueId": "1", "account": {"name": "x"}, "status": "ringing"},
    },
    {
        "jsonrpc": "2.0",
        "method": TOPIC_LINE_STATE,
        "params": {"uniqueId": "1", "account": {"extension": "101"}, "status": 7},
    },
    ("two", "arguments"),
    None,
]


async def test_malformed_notifications_are_dropped(
    simulator: SwitchvoxSimulator,
    logged_in: SwitchvoxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed notifications are counted, logged once (rate-limited) and dropped."""
    recorder = Recorder(logged_in)
    for payload in BAD_NOTIFICATIONS:
        await simulator.send_raw("notification", payload)
    await simulator.send_raw("notification", {"jsonrpc": "2.0", "method": "other.topic"})
    await simulator.send_raw("unknown-event", {"x": 1})
    uid = await simulator.ring("101")
    assert (await recorder.next()).unique_id == uid
    assert recorder.states.empty()
    assert logged_in.malformed_messages == len(BAD_NOTIFICATIONS)
    warnings_logged = [
        r
        for r in caplog.records
        if r.name.startswith(CLIENT_LOGGER) and r.levelno >= logging.WARNING
    ]
    assert len(warnings_logged) == 1
    assert "Dropped a malformed notification" in warnings_logged[0].getMessage()
    assert "more since the last report" not in warnings_logged[0].getMessage()
    assert logged_in.connected


async def test_malformed_warning_reports_suppressed_count(
    simulator: SwitchvoxSimulator,
    logged_in: SwitchvoxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Once the interval has passed, the next warning counts the suppressed ones."""
    for _ in range(4):
        await simulator.send_raw("notification", "junk")
    await wait_until(lambda: logged_in.malformed_messages == 4)
    logged_in._warn_malformed._last -= 3600
    await simulator.send_raw("notification", "junk")
    await wait_until(lambda: logged_in.malformed_messages == 5)
    messages = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(CLIENT_LOGGER) and r.levelno == logging.WARNING
    ]
    assert len(messages) == 2
    assert "(and 3 more since the last report)" in messages[1]


async def test_odd_but_usable_notifications(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """Unknown status, wrong types, huge strings and deep nesting still deliver a state."""
    recorder = Recorder(logged_in)
    await simulator.notify("101", {"status": "parked"})
    state = await recorder.next()
    assert state.status is LineStatus.UNKNOWN
    assert state.raw_status == "parked"

    await simulator.notify(
        "101",
        {
            "remotes": "nobody",
            "startTime": 10**400,
            "serverTime": "not a time",
            "direction": 5,
            "dialData": [1],
            "displayUrl": {"a": 1},
            "endpoint": None,
            "extraField": {"anything": [1, 2]},
        },
    )
    state = await recorder.next()
    assert state.remotes == ()
    assert state.start_time is None
    assert state.server_time is None
    assert state.direction is Direction.UNKNOWN
    assert state.dial_data is None
    assert state.display_url is None
    assert state.endpoint is None

    huge = "x" * 300_000
    await simulator.notify("101", {"uniqueId": huge, "remotes": [{"callerIdName": huge}]})
    state = await recorder.next()
    assert len(state.unique_id) == 256
    assert state.caller is not None
    assert state.caller.name is not None
    assert len(state.caller.name) == 1024

    nested: dict[str, Any] = {}
    inner = nested
    for _ in range(400):
        inner["a"] = {}
        inner = inner["a"]
    await simulator.notify("101", {"dialData": nested, "conference": nested})
    state = await recorder.next()
    # Dial data is stored by Home Assistant, whose JSON encoder stops at 254 levels: dropped.
    assert state.dial_data is None
    assert state.conference is not None
    assert logged_in.malformed_messages == 0


async def test_malformed_responses_are_dropped(
    simulator: SwitchvoxSimulator,
    logged_in: SwitchvoxClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed responses are dropped, the pending request still gets its real response."""
    simulator.set_delay("dial", 0.3)
    task = asyncio.create_task(logged_in.dial("102"))
    request_id = await next_request_id(logged_in)
    for payload in (
        "nope",
        [request_id],
        {"jsonrpc": "2.0", "result": True},
        {"jsonrpc": "2.0", "id": True, "result": True},
        {"jsonrpc": "2.0", "id": request_id},
        (1, 2),
    ):
        await simulator.send_raw("response", payload)
    with caplog.at_level(logging.DEBUG, logger=CLIENT_LOGGER):
        await simulator.send_raw("response", {"jsonrpc": "2.0", "id": 99999, "result": True})
        await simulator.send_raw("response", {"jsonrpc": "2.0", "id": "x", "result": True})
        await task
    assert logged_in.malformed_messages == 6
    assert caplog.text.count("unknown or expired request") == 2
    assert logged_in.pending_requests == 0


async def test_duplicate_response_is_ignored(logged_in: SwitchvoxClient) -> None:
    """A second response to a request already resolved (same loop turn) changes nothing."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    logged_in._pending["424242"] = ("dial", future)
    try:
        logged_in._handle_event("response", ({"id": 424242, "result": 1},))
        logged_in._handle_event("response", ({"id": 424242, "error": {"code": 1}},))
        assert future.result() == 1
    finally:
        logged_in._pending.pop("424242")


# -- drops -----------------------------------------------------------------------------------------


async def test_drop_fails_pending_request_at_once(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A drop fails the pending request with SwitchvoxConnectionError and tells listeners."""
    client = await make_client(connect=False, request_timeout=30)
    recorder = Recorder(client)
    await client.connect()
    await client.login("101", PASSWORD)
    simulator.set_ignore("dial")
    task = asyncio.create_task(client.dial("102"))
    await wait_until(lambda: bool(sent(simulator, "dial")))
    started = time.monotonic()
    await simulator.drop_connections()
    with pytest.raises(SwitchvoxConnectionError, match="Connection lost") as err:
        await task
    assert not isinstance(err.value, SwitchvoxTimeoutError)
    assert time.monotonic() - started < 2
    await recorder.wait_connection(False)
    assert recorder.connection == [True, False]
    assert not client.connected
    assert client.extension is None
    assert client.pending_requests == 0
    with pytest.raises(SwitchvoxConnectionError):
        await client.dial("102")

    simulator.set_ignore("dial", False)
    await client.connect()
    assert recorder.connection == [True, False, True]
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    await client.dial("102")
    assert (await recorder.next()).status is LineStatus.STARTING


async def test_pbx_closing_the_session(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """A server-side disconnect (socket.io close) is reported once as a drop."""
    recorder = Recorder(logged_in)
    await simulator.stop()
    await recorder.wait_connection(False)
    assert recorder.connection == [False]
    assert not logged_in.connected


async def test_disconnect_fails_pending_request(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient
) -> None:
    """Disconnecting fails a pending request with 'Connection closed'."""
    simulator.set_ignore("dial")
    task = asyncio.create_task(logged_in.dial("102"))
    await wait_until(lambda: bool(sent(simulator, "dial")))
    await logged_in.disconnect()
    with pytest.raises(SwitchvoxConnectionError, match="Connection closed"):
        await task
    assert logged_in.pending_requests == 0


async def test_half_open_connection_times_out(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A PBX that stops answering makes requests time out."""
    client = await make_client(request_timeout=0.2)
    await client.login("101", PASSWORD)
    simulator.set_responding(False)
    with pytest.raises(SwitchvoxTimeoutError):
        await client.subscribe(["101"])
    assert client.pending_requests == 0
    simulator.set_responding(True)


# -- connection failures ---------------------------------------------------------------------------


async def test_connection_refused(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """A closed port raises SwitchvoxConnectionError and leaves no unclosed HTTP session."""
    await simulator.set_listening(False)
    loop = asyncio.get_running_loop()
    problems: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: problems.append(context))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for transports in (("websocket",), ("polling",)):
                client = await make_client(connect=False, transports=transports)
                with pytest.raises(SwitchvoxConnectionError, match="Cannot connect") as err:
                    await client.connect()
                assert not isinstance(err.value, SwitchvoxTLSError)
                assert not client.connected
            await asyncio.sleep(0.05)
            gc.collect()
            await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert not [p for p in problems if "Unclosed" in str(p.get("message"))]
    assert not [w for w in caught if "Unclosed" in str(w.message)]


async def test_connection_rejected_with_503(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """A PBX refusing handshakes raises SwitchvoxConnectionError; accepting again works."""
    simulator.set_accepting(False)
    client = await make_client(connect=False, transports=("polling",))
    with pytest.raises(SwitchvoxConnectionError):
        await client.connect()
    client = await make_client(connect=False)
    with pytest.raises(SwitchvoxConnectionError):
        await client.connect()
    simulator.set_accepting(True)
    await client.connect()
    await client.login("101", PASSWORD)


@pytest.fixture
async def silent_server() -> AsyncGenerator[int]:
    """Return the port of a TCP server that accepts connections and never says anything."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_connect_timeout(socket_enabled: None, silent_server: int) -> None:
    """A PBX that accepts TCP but never answers the handshake times out the connect."""
    client = SwitchvoxClient("127.0.0.1", port=silent_server, use_ssl=False, connect_timeout=0.3)
    recorder = Recorder(client)
    # Long-polling's first request times out, or the whole connect does: either way it fails.
    with pytest.raises(SwitchvoxConnectionError):
        await client.connect()
    assert not client.connected
    assert recorder.connection == []


async def test_polling_transport(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """The long-polling transport works end to end too."""
    client = await make_client(transports=("polling",))
    recorder = Recorder(client)
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    uid = await simulator.ring("101")
    assert (await recorder.next()).unique_id == uid
    await client.logout()
    await wait_until(lambda: simulator.connections == 0)


# -- TLS -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
@pytest.mark.parametrize("transports", [("websocket",), ("polling",)])
async def test_tls_self_signed(
    simulator: SwitchvoxSimulator, make_client: MakeClient, transports: tuple[str, ...]
) -> None:
    """A self-signed certificate fails verification, and works when verification is off."""
    client = await make_client(connect=False, transports=transports)
    assert client.url.startswith("https://")
    with pytest.raises(SwitchvoxTLSError, match="certificate"):
        await client.connect()
    assert not client.connected
    client = await make_client(verify_ssl=False, transports=transports)
    recorder = Recorder(client)
    await client.login("101", PASSWORD)
    await client.subscribe(["101"])
    uid = await simulator.ring("101")
    assert (await recorder.next()).unique_id == uid


@pytest.mark.parametrize("simulator_options", [{"tls": True}])
@pytest.mark.parametrize("verify_ssl", [True, False])
async def test_connect_loads_no_certificates_in_the_loop(
    simulator: SwitchvoxSimulator,
    make_client: MakeClient,
    monkeypatch: pytest.MonkeyPatch,
    verify_ssl: bool,
) -> None:
    """Connecting builds no SSL context: loading the CA store is blocking I/O in the loop."""
    client = await make_client(connect=False, verify_ssl=verify_ssl)

    def blocking(*args: object, **kwargs: object) -> None:
        raise AssertionError("SSL context built in the event loop")

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", blocking)
    monkeypatch.setattr(ssl.SSLContext, "set_default_verify_paths", blocking)
    if verify_ssl:
        with pytest.raises(SwitchvoxTLSError):
            await client.connect()
    else:
        await client.connect()
        assert client.connected


async def test_tls_to_plain_server(simulator: SwitchvoxSimulator, make_client: MakeClient) -> None:
    """TLS to a plain HTTP port is a connection error, not a certificate error."""
    client = await make_client(connect=False, use_ssl=True)
    with pytest.raises(SwitchvoxConnectionError) as err:
        await client.connect()
    assert not isinstance(err.value, SwitchvoxTLSError)


# -- timestamps ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "simulator_options",
    [{"timestamp_format": fmt} for fmt in ("iso", "epoch", "epoch_ms")],
    ids=["iso", "epoch", "epoch_ms"],
)
async def test_timestamp_formats(
    simulator: SwitchvoxSimulator, logged_in: SwitchvoxClient, simulator_options: dict[str, str]
) -> None:
    """Timestamps in every encoding parse to aware datetimes of the same instant."""
    recorder = Recorder(logged_in)
    before = datetime.now(UTC).replace(microsecond=0)
    await simulator.ring("101")
    state = await recorder.next()
    assert state.start_time is not None
    assert state.server_time is not None
    assert state.start_time.tzinfo is not None
    assert before.timestamp() - 1 <= state.start_time.timestamp() <= time.time() + 1
    encoded = format_timestamp(WHEN.timestamp(), simulator_options["timestamp_format"])
    await simulator.notify("101", {"startTime": encoded, "serverTime": encoded})
    state = await recorder.next()
    assert state.start_time == WHEN
    assert state.server_time == WHEN


# -- hygiene ---------------------------------------------------------------------------------------


async def test_sigint_handler_untouched(
    simulator: SwitchvoxSimulator, make_client: MakeClient
) -> None:
    """Connecting installs no SIGINT handler, neither signal.signal nor a loop reader."""
    loop = asyncio.get_running_loop()

    def application_handler(signum: int, frame: object) -> None:
        """Stand in for the application's own SIGINT handler."""

    previous = signal.signal(signal.SIGINT, application_handler)
    try:
        client = await make_client()
        await client.login("101", PASSWORD)
        assert signal.getsignal(signal.SIGINT) is application_handler
        assert signal.SIGINT not in getattr(loop, "_signal_handlers", {})
        await client.disconnect()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        await client.connect()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.SIGINT not in getattr(loop, "_signal_handlers", {})
    finally:
        signal.signal(signal.SIGINT, previous)


async def test_password_never_logged(
    simulator: SwitchvoxSimulator,
    make_client: MakeClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No log record at DEBUG, from any logger, contains the password over a whole life cycle."""
    caplog.set_level(logging.DEBUG)
    for name in ("aiohttp", CLIENT_LOGGER):
        caplog.set_level(logging.DEBUG, logger=name)
    client = await make_client(request_timeout=0.3)
    recorder = Recorder(client)
    with pytest.raises(SwitchvoxLoginRefusedError):
        await client.login("101", PASSWORD + "-wrong")
    await client.login("101", PASSWORD)
    with pytest.raises(SwitchvoxAlreadyAuthenticatedError):
        await client.login("101", PASSWORD)
    await client.subscribe(["101", "102"])
    await client.dial("102", dial_data={"note": "hello"})
    for _ in range(3):
        await recorder.next()
    await simulator.send_raw("notification", {"password": PASSWORD})
    simulator.set_ignore("login")
    await client.connect()
    with pytest.raises(SwitchvoxTimeoutError):
        await client.login("101", PASSWORD)
    simulator.set_ignore("login", False)
    await client.connect()
    await client.login("101", PASSWORD)
    await client.logout()
    await wait_until(lambda: simulator.connections == 0)
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "") + repr(record.args)
        assert PASSWORD not in text, record
