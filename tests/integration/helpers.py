"""Helpers for waiting on pushed state in integration tests."""

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant, State

from custom_components.switchvox.const import EVENT_SWITCHVOX


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


def assert_origin_is_bus_event(hass: HomeAssistant, unique_id: str, *entity_ids: str) -> None:
    """Assert each entity's state was written under a context originating in a switchvox_event.

    That event is the one of channel ``unique_id``, and it holds no state: the reference cycle
    of a context and its origin event keeps only the event's own data.
    """
    for entity_id in entity_ids:
        state = hass.states.get(entity_id)
        assert state is not None
        origin = state.context.origin_event
        assert origin is not None
        assert origin.event_type == EVENT_SWITCHVOX
        assert origin.data["unique_id"] == unique_id
        assert not any(isinstance(value, State) for value in origin.data.values())
