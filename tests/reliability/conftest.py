"""Fixtures and helpers of the reliability tests."""

import asyncio
from collections.abc import Callable
import time

from homeassistant.core import HomeAssistant

from custom_components.switchvox.coordinator import SwitchvoxCoordinator
from switchvox_simulator import SwitchvoxSimulator

WATCHED = ("101", "102")


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 10.0
) -> float:
    """Wait until ``predicate`` holds; return how long it took (seconds)."""
    started = time.monotonic()
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)
    await hass.async_block_till_done()
    return time.monotonic() - started


def recovered(
    coordinator: SwitchvoxCoordinator,
    simulator: SwitchvoxSimulator,
    extensions: tuple[str, ...] = WATCHED,
) -> bool:
    """Return whether the session is back: connected, one session, every extension subscribed."""
    subscriptions = simulator.subscriptions
    return (
        coordinator.session.up
        and coordinator.last_update_success
        and simulator.sessions == 1
        and all(subscriptions.get(extension) == 1 for extension in extensions)
    )


def count(simulator: SwitchvoxSimulator, method: str) -> int:
    """Return how many requests of ``method`` the simulator received."""
    return sum(1 for name, _ in simulator.requests if name == method)
