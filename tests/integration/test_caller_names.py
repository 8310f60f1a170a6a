"""A caller-id placeholder ("Unknown", "WIRELESS CALLER") is shown nowhere as a name."""

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.switchvox.const import EVENT_SWITCHVOX
from custom_components.switchvox.missed_calls import STORAGE_VERSION, storage_key
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for
from .test_missed_calls import MISSED, get_items

LINE_102 = "sensor.extension_102_line"
EVENT_102 = "event.extension_102_call"


@pytest.mark.parametrize(
    "placeholder", ["Unknown", "WIRELESS CALLER", "CELL PHONE   CA", "2125550142"]
)
async def test_placeholder_name_shows_the_number(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    init_integration: MockConfigEntry,
    placeholder: str,
) -> None:
    """The line sensor, the call event, the bus event and the missed call show the number."""
    bus = async_capture_events(hass, EVENT_SWITCHVOX)
    uid = await simulator.ring("102", caller_name=placeholder, caller_number="2125550142")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    line = hass.states.get(LINE_102)
    event = hass.states.get(EVENT_102)
    assert line is not None
    assert event is not None
    assert line.attributes["caller_name"] is None
    assert line.attributes["caller_number"] == "2125550142"
    assert event.attributes["caller_name"] is None
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    assert [e.data["caller_name"] for e in bus] == [None, None]
    [item] = await get_items(hass)
    assert item["summary"] == "Call back 2125550142"


@pytest.fixture
def stored_placeholder(hass_storage: dict[str, Any], mock_config_entry: MockConfigEntry) -> None:
    """Store a missed call kept before its caller's "Unknown" was known as no name."""
    hass_storage[storage_key(mock_config_entry.entry_id)] = {
        "version": STORAGE_VERSION,
        "minor_version": 1,
        "key": storage_key(mock_config_entry.entry_id),
        "data": {
            "items": [
                {
                    "uid": "old",
                    "number": "5550111",
                    "name": "Unknown",
                    "extensions": ["101"],
                    "first_missed": "2026-01-01T00:00:00+00:00",
                    "last_missed": "2026-01-01T00:00:00+00:00",
                    "ring_end": "2026-01-01T00:00:00+00:00",
                    "count": 1,
                    "completed": None,
                    "summary": None,
                }
            ]
        },
    }


@pytest.mark.usefixtures("stored_placeholder", "init_integration")
async def test_stored_placeholder_shows_the_number(hass: HomeAssistant) -> None:
    """An item stored with "Unknown" as its name says "Call back 5550111"."""
    assert state_of(hass, MISSED) == "1"
    [item] = await get_items(hass)
    assert item["summary"] == "Call back 5550111"
