"""Tests of the Assist dial intent."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.switchvox.intent import INTENT_DIAL
from switchvox_simulator import SwitchvoxSimulator

from .helpers import state_of, wait_for


@pytest.fixture(autouse=True)
async def setup_intent_component(hass: HomeAssistant) -> None:
    """Load Home Assistant's intent integration, which loads the intent platforms."""
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()


async def _handle(hass: HomeAssistant, target: str) -> intent.IntentResponse:
    """Handle the dial intent for ``target``."""
    return await intent.async_handle(hass, "test", INTENT_DIAL, {"target": {"value": target}})


async def test_dial_by_number(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Saying "call 1 0 2" dials 102."""
    response = await _handle(hass, "1-0-2")
    assert response.speech["plain"]["speech"] == "Calling 1-0-2"
    dial = next(params for method, params in simulator.requests if method == "dial")
    assert dial == {"extension": "102", "dialData": {"home_assistant": True}}


async def test_dial_by_name(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """Saying "call Bob" dials the watched extension whose account is Bob's, once it was seen."""
    response = await _handle(hass, "Bob Baker")
    assert response.speech["plain"]["speech"] == "I don't know who Bob Baker is."
    uid = await simulator.ring("102", caller_name="X", caller_number="5550000")
    await wait_for(hass, lambda: state_of(hass, "sensor.extension_102_line") == "ringing")
    await simulator.hang_up(uid)
    await _handle(hass, "bob baker")
    await _handle(hass, "Bob")
    dials = [params["extension"] for method, params in simulator.requests if method == "dial"]
    assert dials == ["102", "102"]


async def test_dial_errors(
    hass: HomeAssistant, simulator: SwitchvoxSimulator, init_integration: MockConfigEntry
) -> None:
    """A PBX refusal and a missing entry are error responses that say what went wrong."""
    simulator.set_can_dial("101", False)
    response = await _handle(hass, "102")
    assert response.response_type is intent.IntentResponseType.ERROR
    assert response.error_code is intent.IntentResponseErrorCode.FAILED_TO_HANDLE
    assert "does not allow this extension to use dial" in response.speech["plain"]["speech"]
    await hass.config_entries.async_unload(init_integration.entry_id)
    response = await _handle(hass, "102")
    assert response.speech["plain"]["speech"] == "No Switchvox PBX is loaded."
