"""What the recorder keeps of a call, with the recorder set up as in every real install."""

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

from homeassistant.components.recorder import history
from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from switchvox_simulator import SwitchvoxSimulator

from .helpers import assert_origin_is_bus_event, state_of, wait_for

LINE_101 = "sensor.extension_101_line"
CALL_101 = "event.extension_101_call"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_db_url: str, enable_custom_integrations: None) -> None:
    """Prepare the database before Home Assistant starts (the recorder must come first)."""


@pytest.fixture
async def recorded_integration(
    recorder_mock: Recorder, hass: HomeAssistant, mock_config_entry: MockConfigEntry
) -> AsyncGenerator[MockConfigEntry]:
    """Set up the integration in a Home Assistant that records (the recorder first)."""
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield mock_config_entry
    await hass.config_entries.async_unload(mock_config_entry.entry_id)
    await hass.async_block_till_done()


async def _recorded_states(
    hass: HomeAssistant, recorder: Recorder, start: datetime, entity_id: str
) -> list[State]:
    """Return the states of ``entity_id`` the database holds since ``start``."""
    await async_wait_recording_done(hass)
    states: dict[str, list[State | dict[str, Any]]] = await recorder.async_add_executor_job(
        history.get_significant_states,
        hass,
        start,
        None,
        [entity_id],
        None,
        True,  # include_start_time_state
        False,  # significant_changes_only
    )
    return [state for state in states[entity_id] if isinstance(state, State)]


@pytest.mark.usefixtures("recorded_integration")
async def test_recorder_keeps_status_and_caller_not_bulk(
    hass: HomeAssistant, recorder_mock: Recorder, simulator: SwitchvoxSimulator
) -> None:
    """The history has each status with the caller; not the constant or bulky attributes."""
    start = dt_util.utcnow()
    uid = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")

    live = hass.states.get(LINE_101)
    assert live is not None
    assert {"extension", "call_start", "active_channels", "dial_data"} <= set(live.attributes)

    lines = await _recorded_states(hass, recorder_mock, start, LINE_101)
    ringing = next(state for state in lines if state.state == "ringing")
    assert ringing.attributes["caller_name"] == "Zed Zhou"
    assert ringing.attributes["caller_number"] == "5550100"
    assert ringing.attributes["direction"] == "from_pbx"
    for state in lines:
        assert not {"extension", "call_start", "active_channels", "dial_data"} & set(
            state.attributes
        ), state.attributes
    assert [state.state for state in lines][-3:] == ["ringing", "on_the_phone", "idle"]

    calls = await _recorded_states(hass, recorder_mock, start, CALL_101)
    assert [state.attributes.get("event_type") for state in calls][-3:] == [
        "ringing",
        "answered",
        "hung_up",
    ]
    for state in calls:
        assert not {"unique_id", "caller_name", "caller_number", "direction", "dial_data"} & set(
            state.attributes
        ), state.attributes


@pytest.mark.usefixtures("recorded_integration")
async def test_context_originates_in_the_bus_event_with_the_recorder(
    hass: HomeAssistant, simulator: SwitchvoxSimulator
) -> None:
    """With the recorder listening to all events, every switchvox_event is a real Event.

    So each notification's context originates in its small bus event, not in the state_changed
    event of a write (which would hold the states in a reference cycle).
    """
    uid = await simulator.ring("101", caller_name="Zed Zhou", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    assert_origin_is_bus_event(hass, uid, LINE_101, CALL_101)
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
