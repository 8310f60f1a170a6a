"""Fault injection against the simulated PBX over real sockets: drops, half-open, silence, errors.

The figures these tests measure (drops survived, longest recovery, half-open detection time) are
printed (``pytest -s``) and recorded in the README's Reliability section.
"""

import asyncio
from collections import Counter
from collections.abc import AsyncGenerator
from functools import partial
import gc
import logging
import os
import random
import time
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.const import DOMAIN, SERVICE_DIAL
from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from custom_components.switchvox.rtapi.lines import MAX_CHANNELS_PER_EXTENSION
from custom_components.switchvox.rtapi.session import LOGOUT_TIMEOUT
from custom_components.switchvox.rtapi.wire import SocketIOConnection
from switchvox_simulator import HandshakeFault, SwitchvoxSimulator
from switchvox_simulator.faults import BlackholeProxy, answer_login_already_authenticated
from tests.integration.helpers import state_of

from .conftest import WATCHED, count, recovered, wait_for

DROPS = 100  # RELIABILITY_SEED=<n> replays another random sequence of drop moments
# How long the PBX sits on a login or subscribe whose answer a drop is aimed at.
HELD_REQUEST = 0.05
MODES = ("connected", "handshake", "login", "subscribe", "notification", "broken_handshake")
# What a proxy or a restarting PBX does to the handshake of the reconnect that follows a drop.
BROKEN_HANDSHAKES: tuple[HandshakeFault, ...] = (
    "close_after_upgrade",
    "open_without_sid",
    "html_page",
    "proxy_502",
)


def _alive(kind: type) -> int:
    """Return how many objects of ``kind`` are still alive."""
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, kind))


async def _settled_task_count(limit: int | None = None, within: float = 5.0) -> int:
    """Return the number of tasks once closing connections have ended theirs."""
    deadline = time.monotonic() + within
    while True:
        await asyncio.sleep(0.05)
        tasks = len(asyncio.all_tasks())
        if limit is None or tasks <= limit or time.monotonic() > deadline:
            return tasks


@pytest.mark.usefixtures("fast_reconnect")
async def test_hundred_drops_at_random_moments(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """100 drops, aimed at the handshake, login, subscribe, pushes, a quiet session, a handshake.

    Some drops are followed by broken handshakes (a proxy or a restarting PBX).

    Each drop is aimed at the reconnect the previous one started, so drops land mid-login and
    mid-subscribe, not only on a settled session. Afterwards: one session, every watched
    extension subscribed exactly once, no task, listener, pending request or connection left
    behind, and pushes still reach the entities.
    """
    # Captured DEBUG records keep their exception args, whose tracebacks keep connections alive:
    # that would hide (or fake) a leak of our own. INFO records carry no exception.
    caplog.set_level(logging.INFO, logger="custom_components.switchvox")
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    client = coordinator.client
    rng = random.Random(int(os.environ.get("RELIABILITY_SEED", "20240506")))
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    tasks_before = await _settled_task_count()
    listeners_before = (
        len(client._line_listeners),
        len(client._connection_listeners),
        {ext: len(items) for ext, items in coordinator.session._subscribers.items()},
        len(coordinator._listeners),
    )

    modes: Counter[str] = Counter()
    recoveries: list[float] = []
    mode = "connected"
    aimed = 0
    last_drop: float | None = None
    for _ in range(DROPS):
        if mode in ("login", "subscribe"):
            # The delay was set before the previous drop: this reconnect's request is held.
            await wait_for(hass, partial(_received_more, simulator, mode, aimed))
            await asyncio.sleep(rng.uniform(0, HELD_REQUEST * 0.8))
        elif mode == "handshake":
            await wait_for(hass, lambda: simulator.connections >= 1)
        else:
            await wait_for(hass, lambda: recovered(coordinator, simulator))
            if last_drop is not None:
                recoveries.append(time.monotonic() - last_drop)
            if mode == "notification":
                flood = asyncio.create_task(simulator.flood(rng.choice(WATCHED), 400))
                await asyncio.sleep(rng.uniform(0, 0.02))
            else:
                await asyncio.sleep(rng.uniform(0, 0.01))
        next_mode = rng.choice(MODES)
        simulator.set_delay("login", HELD_REQUEST if next_mode == "login" else 0)
        simulator.set_delay("subscribe", HELD_REQUEST if next_mode == "subscribe" else 0)
        aimed = count(simulator, next_mode) if next_mode in ("login", "subscribe") else 0
        if next_mode == "broken_handshake":
            # The reconnect after this drop meets one or two broken handshakes first.
            simulator.set_handshake_fault(rng.choice(BROKEN_HANDSHAKES), times=rng.randint(1, 2))
        await simulator.drop_connections()
        last_drop = time.monotonic()
        modes[mode] += 1
        if mode == "notification":
            await flood
        mode = next_mode
    simulator.set_delay("login", 0)
    simulator.set_delay("subscribe", 0)
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert last_drop is not None
    recoveries.append(time.monotonic() - last_drop)

    # Still working: a push reaches the sensor.
    await simulator.ring("102", caller_name="After", caller_number="5550102")
    await wait_for(hass, lambda: coordinator.data["102"].status.value == "ringing")
    state = hass.states.get("sensor.extension_102_line")
    assert state is not None
    assert state.state == "ringing"

    # Nothing grew.
    assert simulator.sessions == 1
    assert simulator.connections == 1
    assert client.pending_requests == 0
    assert listeners_before == (
        len(client._line_listeners),
        len(client._connection_listeners),
        {ext: len(items) for ext, items in coordinator.session._subscribers.items()},
        len(coordinator._listeners),
    )
    assert all(
        len(line.channels) <= MAX_CHANNELS_PER_EXTENSION for line in coordinator.data.values()
    )
    assert _alive(SocketIOConnection) <= 2
    tasks_after = await _settled_task_count(tasks_before)
    assert tasks_after <= tasks_before, (tasks_before, tasks_after)
    print(  # noqa: T201
        f"\nRELIABILITY drops survived: {sum(modes.values())} {dict(modes)}; "
        f"reconnects: {coordinator.session.reconnects}; "
        f"longest recovery: {max(recoveries):.3f} s; "
        f"mean recovery: {sum(recoveries) / len(recoveries):.3f} s; "
        f"tasks before/after: {tasks_before}/{tasks_after}"
    )


PING_INTERVAL = 0.5
PING_TIMEOUT = 0.5
LINE_101 = "sensor.extension_101_line"


@pytest.mark.parametrize(
    "simulator_options", [{"ping_interval": PING_INTERVAL, "ping_timeout": PING_TIMEOUT}]
)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_half_open_connection_detected_and_recovered(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    mock_config_entry: MockConfigEntry,
    transport: str,
) -> None:
    """A PBX that goes silent (no pongs, nothing sent) is detected within ping interval + timeout.

    The entities turn unavailable, and once the PBX answers again the session comes back with
    the normal backoff, every extension subscribed once; over long-polling as over WebSocket.
    """
    if transport == "polling":
        simulator.set_handshake_fault("polling_only")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    coordinator: SwitchvoxCoordinator = mock_config_entry.runtime_data
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert coordinator.client.transport_name == transport
    simulator.set_responding(False)
    detection = await wait_for(
        hass,
        lambda: state_of(hass, LINE_101) == "unavailable",
        timeout=30,
    )
    assert not coordinator.session.up
    simulator.set_responding(True)
    recovery = await wait_for(hass, lambda: recovered(coordinator, simulator), timeout=60)
    await wait_for(hass, lambda: hass.states.get(LINE_101).state == "idle")  # type: ignore[union-attr]
    assert coordinator.client.transport_name == transport
    print(  # noqa: T201
        f"\nRELIABILITY half-open over {transport} detected after {detection:.3f} s "
        f"(ping interval {PING_INTERVAL} s + timeout {PING_TIMEOUT} s); "
        f"recovered {recovery:.3f} s after the PBX answered again"
    )
    assert detection <= PING_INTERVAL + PING_TIMEOUT + 0.25


# -- requests never answered ---------------------------------------------------------------------


async def test_unanswered_dial_times_out_cleanly(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A dial the PBX never answers fails after the request timeout; nothing stays pending."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    coordinator.client.request_timeout = 0.3
    simulator.set_ignore("dial")
    started = time.monotonic()
    async with asyncio.timeout(2):
        with pytest.raises(HomeAssistantError) as err:
            await _dial(hass, "102")
    assert time.monotonic() - started < 1
    assert err.value.translation_key == "communication_error"
    assert coordinator.client.pending_requests == 0
    # The session itself is fine: the next dial works.
    simulator.set_ignore("dial", False)
    await _dial(hass, "102")
    assert coordinator.client.pending_requests == 0


@pytest.mark.usefixtures("fast_reconnect")
@pytest.mark.parametrize("method", ["login", "subscribe"])
async def test_unanswered_session_requests_are_retried(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    method: str,
) -> None:
    """A login or subscribe the PBX never answers times out and the reconnect tries again."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    coordinator.client.request_timeout = 0.2
    simulator.set_ignore(method)
    before = count(simulator, method)
    await simulator.drop_connections()
    await wait_for(hass, lambda: count(simulator, method) >= before + 3)
    assert coordinator.client.pending_requests <= 1
    assert not coordinator.session.up
    simulator.set_ignore(method, False)
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert coordinator.client.pending_requests == 0


# -- dial while down or reconnecting -------------------------------------------------------------


async def _dial(hass: HomeAssistant, extension: str) -> None:
    """Call the dial action and wait for it."""
    await hass.services.async_call(DOMAIN, SERVICE_DIAL, {"extension": extension}, blocking=True)


async def test_dial_while_reconnecting(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Dialing while the session is being re-established fails at once, translated."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    simulator.set_delay("login", 1.0)
    logins = count(simulator, "login")
    await simulator.drop_connections()
    await wait_for(hass, lambda: count(simulator, "login") > logins)
    assert coordinator.client.connected  # the new connection is up, its login is not done
    async with asyncio.timeout(1):
        with pytest.raises(HomeAssistantError) as err:
            await _dial(hass, "102")
    assert err.value.translation_key == "not_connected"
    assert not any(method == "dial" for method, _ in simulator.requests)
    simulator.set_delay("login", 0)
    await wait_for(hass, lambda: recovered(coordinator, simulator))


@pytest.mark.usefixtures("fast_reconnect")
async def test_dials_during_drops_never_hang(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Dials fired at random moments around 20 drops each succeed or fail translated, in time."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    coordinator.client.request_timeout = 1.0
    simulator.set_delay("dial", 0.02)
    rng = random.Random(6)
    outcomes: Counter[str] = Counter()

    async def dial_once() -> None:
        try:
            async with asyncio.timeout(coordinator.client.request_timeout + 1):
                await _dial(hass, "102")
        except HomeAssistantError as err:
            outcomes[err.translation_key or "untranslated"] += 1
        else:
            outcomes["ok"] += 1

    for _ in range(20):
        dials = [asyncio.create_task(dial_once()) for _ in range(3)]
        await asyncio.sleep(rng.uniform(0, 0.03))
        await simulator.drop_connections()
        dials.append(asyncio.create_task(dial_once()))
        await asyncio.gather(*dials)
        await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert sum(outcomes.values()) == 80
    assert set(outcomes) <= {"ok", "not_connected", "communication_error"}, outcomes
    assert outcomes["not_connected"] + outcomes["communication_error"] > 0
    assert coordinator.client.pending_requests == 0


# -- JSON-RPC errors from the PBX -----------------------------------------------------------------


@pytest.mark.usefixtures("fast_reconnect")
@pytest.mark.parametrize(
    ("method", "code"),
    [("login", -32603), ("login", -32001), ("subscribe", -32002), ("subscribe", -32603)],
)
async def test_rpc_error_on_reconnect_logged_once(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
    method: str,
    code: int,
) -> None:
    """A PBX answering the session's requests with an error: retried, reported once per outage."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    simulator.set_error(method, code, "Computer says no")
    before = count(simulator, method)
    await simulator.drop_connections()
    await wait_for(hass, lambda: count(simulator, method) >= before + 10)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)  # no reauth
    simulator.set_error(method, None)
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    reports = [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and "Computer says no" in record.getMessage()
    ]
    assert len(reports) == 1, [record.getMessage() for record in reports]
    assert str(code) in reports[0].getMessage()


async def test_already_authenticated_login_is_accepted(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """-32002 to a login means the session is logged in already: carry on and subscribe."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    undo = answer_login_already_authenticated(simulator)
    await simulator.drop_connections()
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert coordinator.session.reconnects == 1
    undo()


@pytest.mark.usefixtures("fast_reconnect")
async def test_not_authenticated_subscribe_is_not_a_refused_login(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """-32000 to a subscribe after a successful login is retried; it does not start reauth."""
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    simulator.set_error("subscribe", -32000, "Not authenticated")
    before = count(simulator, "subscribe")
    await simulator.drop_connections()
    await wait_for(hass, lambda: count(simulator, "subscribe") >= before + 5)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    simulator.set_error("subscribe", None)
    await wait_for(hass, lambda: recovered(coordinator, simulator))


@pytest.fixture
async def blackhole(simulator: SwitchvoxSimulator) -> AsyncGenerator[BlackholeProxy]:
    """Return a proxy to the simulator that can black-hole the link."""
    proxy = BlackholeProxy("127.0.0.1", simulator.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


@pytest.mark.parametrize(
    "simulator_options", [{"ping_interval": PING_INTERVAL, "ping_timeout": PING_TIMEOUT}]
)
@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_blackholed_link_detected_and_recovered(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    blackhole: BlackholeProxy,
    mock_config_entry: MockConfigEntry,
    transport: str,
) -> None:
    """A link that silently loses every packet (not even a close frame answered) is detected.

    This is the true half-open case: the PBX never answers the WebSocket close handshake, so
    detection must not wait for it.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        data={**mock_config_entry.data, CONF_PORT: blackhole.port},
        options=dict(mock_config_entry.options),
        minor_version=2,
    )
    if transport == "polling":
        simulator.set_handshake_fault("polling_only")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    coordinator: SwitchvoxCoordinator = entry.runtime_data
    coordinator.client.connect_timeout = 1.0  # attempts into the black hole end sooner
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    assert coordinator.client.transport_name == transport
    blackhole.blackhole = True
    detection = await wait_for(
        hass,
        lambda: hass.states.get(LINE_101).state == "unavailable",  # type: ignore[union-attr]
        timeout=30,
    )
    blackhole.blackhole = False
    recovery = await wait_for(hass, lambda: recovered(coordinator, simulator), timeout=30)
    print(  # noqa: T201
        f"\nRELIABILITY black-holed {transport} link detected after {detection:.3f} s "
        f"(ping interval {PING_INTERVAL} s + timeout {PING_TIMEOUT} s); "
        f"recovered {recovery:.3f} s after the link came back"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert detection <= PING_INTERVAL + PING_TIMEOUT + 0.25


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_unload_on_a_dead_link_is_prompt(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    blackhole: BlackholeProxy,
    mock_config_entry: MockConfigEntry,
    transport: str,
) -> None:
    """Unloading while the link is dead (not yet detected) takes the logout timeout, not more.

    Nothing answers the logout nor the WebSocket close handshake; the default ping (25 s + 60 s)
    has not noticed anything yet.
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=mock_config_entry.title,
        data={**mock_config_entry.data, CONF_PORT: blackhole.port},
        options=dict(mock_config_entry.options),
        minor_version=2,
    )
    if transport == "polling":
        simulator.set_handshake_fault("polling_only")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: recovered(entry.runtime_data, simulator))
    client = entry.runtime_data.client
    assert client.transport_name == transport
    blackhole.blackhole = True
    started = time.monotonic()
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    elapsed = time.monotonic() - started
    print(f"\nRELIABILITY unload on a dead {transport} link took {elapsed:.3f} s")  # noqa: T201
    assert elapsed < LOGOUT_TIMEOUT + 1.5
    assert client._transport is None
    assert not client.connected


async def test_single_drop_recovery_with_the_shipped_backoff(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """One drop with the real backoff: how long the entities stay unavailable.

    Each drop follows a session that settled (made quick here: 0.2 s rather than 30 s), as a
    single drop does; drops in a row are flapping, which backs off (test_flapping.py).
    """
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    times = []
    with patch("custom_components.switchvox.rtapi.session.STABLE_SESSION", 0.2):
        for _ in range(5):
            await wait_for(
                hass,
                lambda: recovered(coordinator, simulator) and coordinator.session.outage is None,
            )
            await simulator.drop_connections()
            times.append(await wait_for(hass, lambda: recovered(coordinator, simulator)))
    print(  # noqa: T201
        f"\nRELIABILITY recovery with the shipped backoff: longest {max(times):.3f} s, "
        f"mean {sum(times) / len(times):.3f} s"
    )
    assert max(times) < 2


async def test_not_authenticated_subscribe_at_setup_retries(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, mock_config_entry: MockConfigEntry
) -> None:
    """-32000 to the first subscribe is not a refused password: setup retries, no reauth."""
    simulator.set_error("subscribe", -32000, "Not authenticated")
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


def _received_more(simulator: SwitchvoxSimulator, method: str, than: int) -> bool:
    """Return whether the simulator received more than ``than`` requests of ``method``."""
    return count(simulator, method) > than
