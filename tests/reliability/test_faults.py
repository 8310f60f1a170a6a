"""Fault injection against the simulated PBX over real sockets: drops, half-open, silence, errors.

The figures these tests measure (drops survived, longest recovery, half-open detection time) are
printed (``pytest -s``) and recorded in the README's Reliability section.
"""

from __future__ import annotations

import asyncio
from collections import Counter
import gc
import logging
import os
import random
import time

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import socketio_v4

from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from custom_components.switchvox.rtapi.lines import MAX_CHANNELS_PER_EXTENSION
from custom_components.switchvox.rtapi.transport import SocketIOTransport
from switchvox_simulator import SwitchvoxSimulator

from .conftest import WATCHED, count, recovered, wait_for

DROPS = 100  # RELIABILITY_SEED=<n> replays another random sequence of drop moments
# How long the PBX sits on a login or subscribe whose answer a drop is aimed at.
HELD_REQUEST = 0.05
MODES = ("connected", "handshake", "login", "subscribe", "notification")


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
    """100 drops in a row, aimed at the handshake, login, subscribe, pushes or a quiet session.

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
        {ext: len(items) for ext, items in coordinator._line_listeners.items()},
    )

    modes: Counter[str] = Counter()
    recoveries: list[float] = []
    mode = "connected"
    aimed = 0
    last_drop: float | None = None
    for _ in range(DROPS):
        if mode in ("login", "subscribe"):
            # The delay was set before the previous drop: this reconnect's request is held.
            await wait_for(hass, lambda m=mode, n=aimed: count(simulator, m) > n)
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
        {ext: len(items) for ext, items in coordinator._line_listeners.items()},
    )
    assert all(
        len(line.channels) <= MAX_CHANNELS_PER_EXTENSION for line in coordinator.data.values()
    )
    assert _alive(SocketIOTransport) <= 2
    assert _alive(socketio_v4.AsyncClient) <= 2
    tasks_after = await _settled_task_count(tasks_before)
    assert tasks_after <= tasks_before, (tasks_before, tasks_after)
    print(  # noqa: T201
        f"\nRELIABILITY drops survived: {sum(modes.values())} {dict(modes)}; "
        f"reconnects: {coordinator.reconnects}; "
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
async def test_half_open_connection_detected_and_recovered(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX that goes silent (no pongs, nothing sent) is detected within ping interval + timeout.

    The entities turn unavailable, and once the PBX answers again the session comes back with
    the normal backoff, every extension subscribed once.
    """
    coordinator: SwitchvoxCoordinator = init_integration.runtime_data
    await wait_for(hass, lambda: recovered(coordinator, simulator))
    simulator.set_responding(False)
    detection = await wait_for(
        hass,
        lambda: hass.states.get(LINE_101).state == "unavailable",
        timeout=30,  # type: ignore[union-attr]
    )
    assert not coordinator.connected
    simulator.set_responding(True)
    recovery = await wait_for(hass, lambda: recovered(coordinator, simulator), timeout=60)
    await wait_for(hass, lambda: hass.states.get(LINE_101).state == "idle")  # type: ignore[union-attr]
    print(  # noqa: T201
        f"\nRELIABILITY half-open detected after {detection:.3f} s "
        f"(ping interval {PING_INTERVAL} s + timeout {PING_TIMEOUT} s); "
        f"recovered {recovery:.3f} s after the PBX answered again"
    )
    assert detection <= PING_INTERVAL + PING_TIMEOUT + 0.25
