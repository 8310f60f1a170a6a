"""The device's Activity (the logbook) around a reconnect: no call event the PBX did not send."""

from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

CALL_102 = "event.extension_102_call"
LINE_102 = "sensor.extension_102_line"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """Prepare the database before Home Assistant starts (the recorder must come first)."""


@pytest.fixture
async def logged_integration(
    recorder_mock: Recorder, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the logbook, then the integration, as in a real install."""
    assert await async_setup_component(hass, "logbook", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def _activity(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, entity_id: str
) -> list[dict[str, Any]]:
    """Return the logbook entries of ``entity_id``, as the frontend asks for them."""
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "logbook/get_events",
            "start_time": (dt_util.utcnow() - timedelta(hours=1)).isoformat(),
            "end_time": (dt_util.utcnow() + timedelta(hours=1)).isoformat(),
            "entity_ids": [entity_id],
        }
    )
    response = await client.receive_json()
    assert response["success"]
    entries: list[dict[str, Any]] = response["result"]
    return entries


async def test_no_phantom_call_event_after_a_reconnect(
    hass: HomeAssistant,
    simulator: SwitchvoxSimulator,
    logged_integration: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """A missed call, then a reconnect: the Activity shows the ring and the miss, nothing more."""
    uid = await simulator.ring("102", caller_name="Maria Gonzalez", caller_number="2125550142")
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "ringing")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    before = await _activity(hass, hass_ws_client, CALL_102)
    assert [entry["attributes"]["event_type"] for entry in before] == ["ringing", "missed"]

    coordinator = logged_integration.runtime_data
    await simulator.drop_connections()
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "unavailable")
    await wait_for(hass, lambda: coordinator.session.up, timeout=10)
    await wait_for(hass, lambda: state_of(hass, LINE_102) == "idle")
    assert await _activity(hass, hass_ws_client, CALL_102) == before
