"""The call log in the Logbook, read as the frontend reads it (``logbook/get_events``)."""

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.switchvox.const import DOMAIN
from custom_components.switchvox.helpers import extension_device_key
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

LINE_101 = "sensor.extension_101_line"
CALL_101 = "event.extension_101_call"
MARIA = {"caller_name": "Maria Gonzalez", "caller_number": "212 555 0142"}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """Prepare the database before Home Assistant starts (the recorder must come first)."""


@pytest.fixture
async def logged_integration(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    mock_config_entry: MockConfigEntry,
) -> AsyncGenerator[MockConfigEntry]:
    """Set up a stock logbook, then the integration, in a Home Assistant that records."""
    assert await async_setup_component(hass, "logbook", {})
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def logbook(
    hass: HomeAssistant, ws: WebSocketGenerator, start: datetime, **filters: Any
) -> list[dict[str, Any]]:
    """Return the logbook's entries since ``start``, as the frontend gets them."""
    await async_wait_recording_done(hass)
    client = await ws()
    await client.send_json_auto_id(
        {"type": "logbook/get_events", "start_time": start.isoformat(), **filters}
    )
    response = await client.receive_json()
    assert response["success"], response
    entries: list[dict[str, Any]] = response["result"]
    return entries


async def test_one_readable_line_per_call_step(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    simulator: SwitchvoxSimulator,
    logged_integration: MockConfigEntry,
) -> None:
    """Each step of a call is one line in words, on the extension's device page too."""
    simulator.outside_answer_delay = 60  # answered by the test, not by the simulator's timer
    start = dt_util.utcnow()
    uid = await simulator.ring("101", **MARIA)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
    uid, _ = await simulator.call("101", "2125550142", auto_answer=False)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "calling")
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")

    entries = await logbook(hass, hass_ws_client, start)
    calls = [
        f"{entry['name']} {entry['message']}" for entry in entries if entry.get("domain") == DOMAIN
    ]
    assert calls == [
        "Maria Gonzalez (212 555 0142) called 101: ringing",
        "Maria Gonzalez (212 555 0142) called 101: missed",
        "101 started a call: dialing",
        "101 called 2125550142: calling",
        "101 called 2125550142: answered",
        "101 called 2125550142: hung up",
    ]
    described = [entry for entry in entries if entry.get("domain") == DOMAIN]
    # No entity: the frontend would show the entity's name ("Call") in place of the caller's.
    assert all("entity_id" not in entry for entry in described)
    assert [entry["icon"] for entry in described][:2] == ["mdi:phone-ring", "mdi:phone-missed"]
    # The entities' rows of the same moments say only the new state, "via" that call step.
    vias = [
        (entry["entity_id"], entry["context_name"], entry["context_message"])
        for entry in entries
        if entry.get("entity_id") in (LINE_101, CALL_101)
    ][:4]
    caller = "Maria Gonzalez (212 555 0142)"
    assert set(vias) == {
        (LINE_101, caller, "called 101: ringing"),
        (CALL_101, caller, "called 101: ringing"),
        (LINE_101, caller, "called 101: missed"),
        (CALL_101, caller, "called 101: missed"),
    }

    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, extension_device_key(logged_integration, "101")), logged_integration.entry_id
    )
    assert device is not None
    on_device = await logbook(hass, hass_ws_client, start, device_ids=[device.id])
    assert [entry["message"] for entry in on_device if entry.get("domain") == DOMAIN] == [
        entry["message"] for entry in described
    ]
