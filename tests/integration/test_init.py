"""Tests of setup, unload, reconnect and stale-state handling."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for

LINE_101 = "sensor.extension_101_line"


async def test_setup_and_unload(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """The entry logs in, subscribes, creates entities and logs out on unload."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert state_of(hass, LINE_101) == "idle"
    assert simulator.sessions == 1
    await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()
    await wait_for(hass, lambda: simulator.sessions == 0)
    assert state_of(hass, LINE_101) == STATE_UNAVAILABLE


async def test_ring_answer_hangup(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A call shows as ringing, then on the phone, then idle."""
    uid = await simulator.ring("101", caller_name="Zed", caller_number="5550100")
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "ringing")
    state = hass.states.get(LINE_101)
    assert state is not None
    assert state.attributes["caller_name"] == "Zed"
    await simulator.answer(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "on_the_phone")
    await simulator.hang_up(uid)
    await wait_for(hass, lambda: state_of(hass, LINE_101) == "idle")
