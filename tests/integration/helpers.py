"""Helpers for waiting on pushed state in integration tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant


async def wait_for(
    hass: HomeAssistant, predicate: Callable[[], bool], timeout: float = 5.0
) -> None:
    """Wait until ``predicate`` holds, letting the simulator and Home Assistant run."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)
            await hass.async_block_till_done()


def state_of(hass: HomeAssistant, entity_id: str) -> str | None:
    """Return the state string of an entity, or None if it does not exist."""
    state = hass.states.get(entity_id)
    return state.state if state else None
